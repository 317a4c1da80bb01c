import Foundation

/// The network namespaces labs create, and their `/etc/netns` directories. Every name is
/// `rpcnet-<pid>-…`, the pid being the test process that made it, so the namespaces a crashed
/// run left behind can be told from those of a run still going.
enum LabNamespaces {
    /// What every lab namespace's name starts with.
    static let prefix = "rpcnet-"
    /// Where `ip netns exec` finds files to bind over `/etc` (`hosts`) inside a namespace.
    static let etcDirectory = URL(fileURLWithPath: "/etc/netns")

    /// The names of the namespaces that exist now.
    static func list(_ tools: LabTools) throws -> [String] {
        // Lines are `name` or `name (id: 3)`.
        try tools.ip("netns", "list").split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
    }

    /// Removes the namespace `name` if it exists: kills every process still inside it (a lab's
    /// children and anything they started), deletes it, and removes its `/etc/netns` directory.
    /// Errors are ignored: this also cleans up after a partial or failed set-up.
    static func remove(_ name: String, _ tools: LabTools) {
        if let pids = try? tools.ip("netns", "pids", name) {
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? tools.ip("netns", "delete", name)
        try? FileManager.default.removeItem(at: etcDirectory.appendingPathComponent(name))
    }

    /// Removes the lab namespaces and `/etc/netns` directories of test processes that no longer
    /// run (a run that crashed or was killed before its teardown).
    static func removeStale(_ tools: LabTools) throws {
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: etcDirectory.path)) ?? []
        for name in Set(try list(tools) + directories) where isStale(name) {
            remove(name, tools)
        }
    }

    /// Whether `name` is a lab namespace whose test process is gone.
    private static func isStale(_ name: String) -> Bool {
        guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }) else {
            return false
        }
        // EPERM: the process exists under another user.
        return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Writes the `hosts` file `ip netns exec` shows as `/etc/hosts` inside `namespace`.
    static func writeHosts(_ entries: [(address: String, name: String)], for namespace: String) throws {
        let directory = etcDirectory.appendingPathComponent(namespace)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"] + entries.map { "\($0.address) \($0.name)" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("hosts"))
    }
}
