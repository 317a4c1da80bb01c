/// Fault injection, per host, with iptables inside the host's namespace (the kernel here has no
/// netem): random loss of what the host receives, and partitions that cut the host off the
/// switch while its loopback keeps working.
extension NetworkLab {
    /// Drops each packet `host` receives from the switch with `probability` (0 removes the loss;
    /// 1 drops everything). Replaces the host's previous loss setting.
    func setLoss(_ host: String, probability: Double) throws {
        precondition((0...1).contains(probability), "a probability is between 0 and 1")
        let namespace = try self[host].namespace
        let rule =
            probability == 0
            ? nil
            : [
                "INPUT", "-i", LabHost.interface, "-m", "statistic", "--mode", "random", "--probability",
                "\(probability)", "-j", "DROP",
            ]
        try updateFaults(of: host) { faults in
            if let old = faults.loss { try tools.iptables(in: namespace, ["-D"] + old) }
            faults.loss = nil
            if let rule { try tools.iptables(in: namespace, ["-A"] + rule) }
            faults.loss = rule
        }
    }

    /// Cuts `host` off: every packet it sends to or receives from the switch is dropped; its
    /// loopback still works. Does nothing if it is already partitioned.
    func partition(_ host: String) throws {
        let namespace = try self[host].namespace
        try updateFaults(of: host) { faults in
            guard !faults.partitioned else { return }
            for rule in HostFaults.partitionRules { try tools.iptables(in: namespace, ["-I"] + rule) }
            faults.partitioned = true
        }
    }

    /// Reconnects a partitioned `host`. Does nothing if it is not partitioned.
    func heal(_ host: String) throws {
        let namespace = try self[host].namespace
        try updateFaults(of: host) { faults in
            guard faults.partitioned else { return }
            for rule in HostFaults.partitionRules { try tools.iptables(in: namespace, ["-D"] + rule) }
            faults.partitioned = false
        }
    }

    /// Changes `host`'s fault rules and their record under the lab's lock, so that changes do
    /// not interleave and none follows the teardown.
    private func updateFaults(of host: String, _ change: (inout HostFaults) throws -> Void) throws {
        try state.withLock { state in
            guard !state.tornDown else { throw LabError(description: "the lab has been torn down") }
            var faults = state.faults[host, default: HostFaults()]
            defer { state.faults[host] = faults }
            try change(&faults)
        }
    }
}

/// The fault rules in force on one host: the rule specifications, as given to `iptables -A`
/// and `-D`, so a rule can be removed exactly.
struct HostFaults: Sendable {
    /// The rules that cut a host off the switch (loopback is another interface, so untouched).
    static let partitionRules = [
        ["INPUT", "-i", LabHost.interface, "-j", "DROP"],
        ["OUTPUT", "-o", LabHost.interface, "-j", "DROP"],
    ]

    /// The random-loss rule, if any.
    var loss: [String]?
    /// Whether ``partitionRules`` are in force.
    var partitioned = false
}
