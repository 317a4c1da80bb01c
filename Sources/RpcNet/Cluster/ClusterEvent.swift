/// A change in the cluster as seen from this member, in the order it was observed.
public enum ClusterEvent: Sendable, Equatable, CustomStringConvertible {
    /// A member was seen for the first time, or came back after leaving.
    case nodeJoined(ClusterMember)
    /// A member left gracefully.
    case nodeLeft(ClusterMember)
    /// A member's suspicion timed out: it is considered failed.
    case nodeFailed(ClusterMember)
    /// A member declared failed is alive again (it refuted, or restarted and rejoined).
    case nodeRecovered(ClusterMember)
    /// A member published new tags; `previous` holds the old ones.
    case nodeTagsUpdated(ClusterMember, previous: [String: String])
    /// This member has been cut off from a large part of the cluster for longer than the grace
    /// period (see ``PartitionStatus``).
    case partitionDetected(PartitionStatus)
    /// The partition reported before is over.
    case partitionHealed(reachable: Int, known: Int)
    /// This subscriber fell behind and `dropped` events were discarded; the current membership
    /// (``ClusterMembership/members``) is the way to resynchronise.
    case lagged(dropped: Int)

    /// The event as one line: its case, then the member as ``ClusterMember/description`` prints it.
    public var description: String {
        switch self {
        case .nodeJoined(let member): "nodeJoined(\(member))"
        case .nodeLeft(let member): "nodeLeft(\(member))"
        case .nodeFailed(let member): "nodeFailed(\(member))"
        case .nodeRecovered(let member): "nodeRecovered(\(member))"
        case .nodeTagsUpdated(let member, let previous):
            "nodeTagsUpdated(\(member), previous: \(previous.isEmpty ? "none" : TagFilter.format(previous)))"
        case .partitionDetected(let status): "partitionDetected(\(status))"
        case .partitionHealed(let reachable, let known): "partitionHealed(reachable: \(reachable) of \(known))"
        case .lagged(let dropped): "lagged(dropped: \(dropped))"
        }
    }
}

/// A partition as one member sees it.
///
/// "Known" members are the last known membership: everyone alive, suspect or failed (not those
/// that left). A member that can reach only a minority of them is on the minority side; one
/// that can reach a majority but has lost at least a third of them (and more than one) reports the
/// majority side, so both sides of a split report it.
public struct PartitionStatus: Sendable, Equatable, CustomStringConvertible {
    /// Members reachable from here, this one included.
    public var reachable: Int
    /// The last known membership's size, this member included.
    public var known: Int
    /// Whether this member is on the side that holds at most half of the known members.
    public var isMinority: Bool

    /// `reachable of known reachable, minority side` (or `majority side`).
    public var description: String {
        "\(reachable) of \(known) reachable, \(isMinority ? "minority" : "majority") side"
    }
}
