import Logging

extension ClusterEvent {
    /// The level the membership logs the event at: warning for a failure or a partition, info
    /// otherwise.
    var logLevel: Logger.Level {
        switch self {
        case .nodeFailed, .partitionDetected: .warning
        case .nodeJoined, .nodeLeft, .nodeRecovered, .nodeTagsUpdated, .partitionHealed, .lagged: .info
        }
    }

    /// What happened, in words that stay the same from one occurrence to the next; the details
    /// are in ``logMetadata``.
    var logMessage: Logger.Message {
        switch self {
        case .nodeJoined: "member joined"
        case .nodeLeft: "member left"
        case .nodeFailed: "member failed"
        case .nodeRecovered: "member recovered"
        case .nodeTagsUpdated: "member tags updated"
        case .partitionDetected: "partition detected"
        case .partitionHealed: "partition healed"
        case .lagged: "event subscriber lagged"
        }
    }

    /// The event's details: the member's (see ``ClusterMember/logMetadata``), with the tags it
    /// had before as `tags.previous` for a tag update; the counts of a partition.
    var logMetadata: Logger.Metadata {
        switch self {
        case .nodeJoined(let member), .nodeLeft(let member), .nodeFailed(let member), .nodeRecovered(let member):
            member.logMetadata
        case .nodeTagsUpdated(let member, let previous):
            member.logMetadata.merging(["tags.previous": "\(TagFilter.format(previous))"]) { $1 }
        case .partitionDetected(let partition):
            [
                "reachable": "\(partition.reachable)", "known": "\(partition.known)",
                "side": "\(partition.isMinority ? "minority" : "majority")",
            ]
        case .partitionHealed(let reachable, let known):
            ["reachable": "\(reachable)", "known": "\(known)"]
        case .lagged(let dropped):
            ["dropped": "\(dropped)"]
        }
    }
}

extension ClusterMember {
    /// The member as log metadata: `member` (its name), `address`, `status`, `incarnation` and
    /// `tags` as `key=value` pairs in key order, comma-separated (``TagFilter/format(_:)``).
    var logMetadata: Logger.Metadata {
        [
            "member": "\(name)", "address": "\(address)", "status": "\(status)", "incarnation": "\(incarnation)",
            "tags": "\(TagFilter.format(tags))",
        ]
    }
}
