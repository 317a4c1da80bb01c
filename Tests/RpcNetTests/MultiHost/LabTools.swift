import Foundation

/// The system tools a network lab drives, found once per test process: `ip` (iproute2) for the
/// namespaces and links, `iptables` for fault injection, `certtool` (GnuTLS) for certificates.
struct LabTools: Sendable {
    /// The path of `ip`.
    let ip: String
    /// The path of `iptables`.
    let iptables: String
    /// The path of `certtool`.
    let certtool: String

    /// The tools if all are installed, else which one is missing (`scripts/setup.sh` installs
    /// them on Debian).
    static let installed: Result<LabTools, LabUnavailable> = {
        var found: [String: String] = [:]
        for tool in ["ip", "iptables", "certtool"] {
            guard let path = HostCommand.find(tool) else {
                return .failure(LabUnavailable(reason: "`\(tool)` is not installed (run scripts/setup.sh)"))
            }
            found[tool] = path
        }
        return .success(LabTools(ip: found["ip"]!, iptables: found["iptables"]!, certtool: found["certtool"]!))
    }()

    /// Runs `ip` with `arguments`.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        try HostCommand.run(ip, arguments)
    }

    /// Runs `iptables` with `arguments` inside the namespace `namespace`, waiting for the
    /// xtables lock rather than failing when another lab holds it.
    func iptables(in namespace: String, _ arguments: [String]) throws {
        try HostCommand.run(ip, ["netns", "exec", namespace, iptables, "-w"] + arguments)
    }
}

/// Why this machine cannot host a network lab.
struct LabUnavailable: Error, CustomStringConvertible {
    /// The reason, for the skipped test's message.
    let reason: String

    var description: String { "multi-host tests need network namespaces: \(reason)" }
}
