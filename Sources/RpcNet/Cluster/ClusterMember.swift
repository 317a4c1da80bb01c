public import Transports

/// What the cluster believes about a member (SWIM §4.2, with Lifeguard's refinements).
public enum MemberStatus: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Answering probes, or refuted every suspicion.
    case alive = 0
    /// A probe failed; the member has until its suspicion times out to refute.
    case suspect = 1
    /// The suspicion timed out: declared failed. Kept as a tombstone for a while.
    case failed = 2
    /// Left gracefully. Kept as a tombstone for a while.
    case left = 3

    /// `alive`, `suspect`, `failed` or `left`.
    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .failed: "failed"
        case .left: "left"
        }
    }

    /// Alive and suspect members take part in the protocol; failed and left ones are tombstones.
    public var isActive: Bool { self == .alive || self == .suspect }
}

/// One member of the cluster as seen from here.
public struct ClusterMember: Sendable, Hashable, CustomStringConvertible {
    /// The member's unique name (its identity across restarts and address changes).
    public var name: String
    /// Where its gossip endpoint listens.
    public var address: SocketAddress
    /// Its status.
    public var status: MemberStatus
    /// Its incarnation: only the member itself increments it, to refute suspicion or publish new
    /// tags (SWIM §4.2).
    public var incarnation: UInt64
    /// Its metadata, e.g. `role=worker`, `label=gpu-a`, `rpc=127.0.0.1:62001`.
    public var tags: [String: String]
    /// The Phi Accrual suspicion level of this member as seen from here (0 = just heard from it);
    /// `nil` for ourselves and for members we have too few samples of.
    public var phi: Double?

    /// Creates a member view.
    public init(
        name: String, address: SocketAddress, status: MemberStatus, incarnation: UInt64, tags: [String: String],
        phi: Double? = nil
    ) {
        self.name = name
        self.address = address
        self.status = status
        self.incarnation = incarnation
        self.tags = tags
        self.phi = phi
    }

    /// Whether every `key=value` in `filter` is among the member's tags.
    public func matches(_ filter: [String: String]) -> Bool {
        filter.allSatisfy { tags[$0.key] == $0.value }
    }

    /// `name@address status #incarnation key=value,…`, e.g. `w1@10.0.0.2:7946 alive #3 role=worker`.
    public var description: String {
        "\(name)@\(address) \(status) #\(incarnation)\(tags.isEmpty ? "" : " \(TagFilter.format(tags))")"
    }
}
