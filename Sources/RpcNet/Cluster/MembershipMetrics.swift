import Metrics

/// swift-metrics instruments of one member, labelled with its name.
struct MembershipMetrics: Sendable {
    let sent: Counter
    let received: Counter
    private let drops: [String: Counter]

    init(member: String) {
        let dimensions = [("member", member)]
        sent = Counter(label: "rpcnet_gossip_datagrams_sent_total", dimensions: dimensions)
        received = Counter(label: "rpcnet_gossip_datagrams_received_total", dimensions: dimensions)
        drops = Dictionary(
            uniqueKeysWithValues: GossipDropReason.allCases.map { reason in
                (
                    reason.rawValue,
                    Counter(
                        label: "rpcnet_gossip_datagrams_dropped_total",
                        dimensions: dimensions + [("reason", reason.rawValue)])
                )
            })
    }

    func dropped(_ reason: GossipDropReason) -> Counter {
        drops[reason.rawValue]!
    }
}
