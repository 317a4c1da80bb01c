import Foundation
import Testing

/// Whether this machine can host a lab, for the multi-host suites' condition trait.
extension NetworkLab {
    /// Why labs cannot be made here (not root, a tool missing, namespaces refused), or nil if
    /// they can: found out once, by making and deleting a namespace.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return LabUnavailable(reason: "not running as root").description }
        let tools: LabTools
        switch LabTools.installed {
        case .success(let found): tools = found
        case .failure(let unavailable): return unavailable.description
        }
        let probe = "\(LabNamespaces.prefix)\(getpid())-probe"
        do {
            try tools.ip("netns", "add", probe)
            try tools.ip("netns", "delete", probe)
            return nil
        } catch {
            LabNamespaces.remove(probe, tools)
            return LabUnavailable(reason: "\(error)").description
        }
    }()

    /// Enables a suite or test only where labs can be made; the skip says why not.
    static var available: ConditionTrait {
        .enabled(if: unavailableReason == nil, Comment(rawValue: unavailableReason ?? "network labs are available"))
    }
}
