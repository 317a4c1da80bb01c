import ClusterExample
import Foundation
import Synchronization

/// A set of "hosts" for multi-host tests, made of Linux network namespaces: a switch namespace
/// holding a bridge, and one namespace per host joined to it by a veth pair, with its own address
/// (``LabHost``), an `/etc/hosts` naming every host, and the lab's certificates
/// (``certificates``). Processes run inside a host (``start(_:on:command:environment:timeLimit:onLine:)``)
/// and faults are injected per host (`NetworkLab+Faults`). Nothing is created in the root
/// namespace but the namespaces themselves, and no traffic leaves them.
///
/// Use ``withNetworkLab(hosts:_:)``, which always tears the lab down; `deinit` does too.
final class NetworkLab: Sendable {
    /// The switch namespace's bridge.
    private static let bridge = "br0"
    /// Numbers the labs of this test process, so each has its own names.
    private static let created = Atomic<Int>(0)

    /// The hosts, in the order they were asked for.
    let hosts: [LabHost]
    /// The namespace holding the bridge.
    let switchNamespace: String
    /// The directory of the lab's certificates: pass it as the example's `CERTS_DIR`.
    let certificates: URL
    /// The system tools the lab drives.
    let tools: LabTools
    /// The lab's processes, fault rules, and whether it has been torn down.
    let state = Mutex(LabState())

    /// Makes a lab of hosts called `names` (distinct; lower-case letters, digits and `-`), after
    /// removing what crashed test runs left behind. Throws ``LabUnavailable`` if a tool is
    /// missing, ``LabError`` for bad names, ``HostCommandError`` if the system refuses a step
    /// (what was made by then is removed).
    init(hosts names: [String]) throws {
        tools = try LabTools.installed.get()
        try Self.validate(names)
        let prefix = "\(LabNamespaces.prefix)\(getpid())-\(Self.created.add(1, ordering: .relaxed).newValue)"
        hosts = names.enumerated().map { LabHost(name: $1, index: $0, prefix: prefix) }
        switchNamespace = "\(prefix)-switch"
        certificates = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-certs")
        do {
            try LabNamespaces.removeStale(tools)
            try build()
        } catch {
            tearDown()
            throw error
        }
    }

    deinit {
        tearDown()
    }

    /// The host called `name`.
    subscript(_ name: String) -> LabHost {
        get throws {
            guard let host = hosts.first(where: { $0.name == name }) else {
                throw LabError(description: "no host '\(name)' in the lab")
            }
            return host
        }
    }

    /// Every namespace of the lab, the switch's last.
    var namespaces: [String] { hosts.map(\.namespace) + [switchNamespace] }

    /// Creates the switch, the hosts and their links, the hosts files and the certificates.
    private func build() throws {
        try tools.ip("netns", "add", switchNamespace)
        try tools.ip("-n", switchNamespace, "link", "set", "lo", "up")
        try tools.ip("-n", switchNamespace, "link", "add", Self.bridge, "type", "bridge")
        try tools.ip("-n", switchNamespace, "link", "set", Self.bridge, "up")
        let names = hosts.map { (address: $0.address, name: $0.name) }
        for (index, host) in hosts.enumerated() {
            let port = "port\(index)"
            try tools.ip("netns", "add", host.namespace)
            try tools.ip("-n", host.namespace, "link", "set", "lo", "up")
            try tools.ip(
                "-n", host.namespace, "link", "add", LabHost.interface, "type", "veth", "peer", "name", port, "netns",
                switchNamespace)
            try tools.ip("-n", switchNamespace, "link", "set", port, "master", Self.bridge, "up")
            try tools.ip(
                "-n", host.namespace, "address", "add", "\(host.address)/\(LabHost.prefixLength)", "dev",
                LabHost.interface)
            try tools.ip("-n", host.namespace, "link", "set", LabHost.interface, "up")
            try LabNamespaces.writeHosts(names, for: host.namespace)
        }
        try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
        try LabCertificates.generate(in: certificates, names: hosts.map(\.name), addresses: hosts.map(\.address), tools)
    }

    /// Kills every process started in the lab, removes its namespaces, their `/etc/netns`
    /// directories and the certificates. Safe after a partial set-up; later calls do nothing.
    func tearDown() {
        let taken = state.withLock { state -> ([ChildProcess], [Task<Void, Never>])? in
            guard !state.tornDown else { return nil }
            defer { state.children = []; state.watchdogs = []; state.tornDown = true }
            return (state.children, state.watchdogs)
        }
        guard let (children, watchdogs) = taken else { return }
        for watchdog in watchdogs { watchdog.cancel() }
        for child in children {
            child.signal(SIGKILL)
            child.waitUntilExit()
        }
        // Kills what the children started too, before deleting each namespace.
        for namespace in namespaces { LabNamespaces.remove(namespace, tools) }
        // /etc/netns itself too, unless another lab still uses it (rmdir fails if not empty).
        rmdir(LabNamespaces.etcDirectory.path)
        try? FileManager.default.removeItem(at: certificates)
    }

    /// Checks the host names can name namespaces and hosts-file entries.
    private static func validate(_ names: [String]) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard !names.isEmpty, names.count < 250, Set(names).count == names.count,
            names.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && $0.allSatisfy(allowed.contains) }),
            !names.contains("switch")
        else {
            throw LabError(
                description: "bad host names \(names): want distinct [a-z0-9-] names other than 'switch'")
        }
    }
}

/// What a ``NetworkLab`` changes as it is used.
struct LabState: Sendable {
    /// Every process started in the lab.
    var children: [ChildProcess] = []
    /// The tasks that kill each child at its time limit.
    var watchdogs: [Task<Void, Never>] = []
    /// The fault rules in force, per host name.
    var faults: [String: HostFaults] = [:]
    /// Set by ``NetworkLab/tearDown()``: nothing more may start.
    var tornDown = false
}

/// A lab used wrongly (a host it does not have, a bad name, a change after the teardown), or a
/// process in it that did not get going.
struct LabError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body` with a new lab of `hosts`, and tears the lab down when `body` returns or throws.
func withNetworkLab<Result>(
    hosts: [String], _ body: (NetworkLab) async throws -> Result
) async throws -> Result {
    let lab = try NetworkLab(hosts: hosts)
    defer { lab.tearDown() }
    return try await body(lab)
}
