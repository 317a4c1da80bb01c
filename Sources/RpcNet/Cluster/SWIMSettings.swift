/// Every setting of the membership protocol, with its default and where the default comes from.
///
/// Times are multiplied by the local health multiplier (Lifeguard §4.3) while this member is
/// struggling, so a slow member probes less and waits longer instead of accusing healthy peers.
public struct SWIMSettings: Sendable, Equatable {
    /// The protocol period: one member is probed per period (SWIM §3.1). 1 s, as SWIM's
    /// evaluation and memberlist's LAN profile use.
    public var probeInterval: Duration = .seconds(1)
    /// How long to wait for a direct ack before asking others to probe (SWIM §3.1). 500 ms:
    /// memberlist's LAN profile; it covers a LAN round trip with a wide margin.
    public var probeTimeout: Duration = .milliseconds(500)
    /// Members asked to probe indirectly when a direct probe fails, `k` in SWIM §3.1. 3, as in
    /// the paper's evaluation and memberlist.
    public var indirectProbes = 3
    /// A helper that has not heard the target's ack by this fraction of the probe timeout sends
    /// a nack, so the prober can tell its own trouble from the target's (Lifeguard §4.2). 0.8, as
    /// in memberlist.
    public var nackFraction = 0.8
    /// Suspicion timeout scale α: the shortest timeout is α × max(1, log10 n) × probe interval
    /// (Lifeguard §4.4). memberlist uses 4; RpcNet uses 1 because every member that hears of a
    /// suspicion probes the suspect at once (carrying the suspicion, so a live suspect refutes
    /// in its ack): a real failure is confirmed by K members within about one probe, and a false
    /// one gathers no confirmations and runs for β times as long. Measured: zero false failures
    /// under 10 % loss in the 100-member hour-long simulation, and a `kill -9` seen by every
    /// member of five in under 3 s (docs/BENCHMARKS.md).
    public var suspicionMultiplier = 1.0
    /// Suspicion timeout ceiling β: the timeout starts at β × the shortest and falls towards it
    /// as independent confirmations arrive (Lifeguard §4.4). 6, as in the paper and memberlist.
    public var suspicionMaxMultiplier = 6.0
    /// Confirmations after which a suspicion runs for its shortest timeout, `K` in Lifeguard
    /// §4.4; capped at n − 2 (who else could confirm). 3, one per indirect prober.
    public var suspicionConfirmations = 3
    /// Ceiling of the local health multiplier (Lifeguard §4.3, "LHM"): probe interval and
    /// timeouts stretch up to (1 + this) times. 8, as in memberlist.
    public var maxLocalHealth = 8
    /// Each update is piggybacked about λ × ceil(log10(n + 1)) times (SWIM §4.1). λ = 4, as in
    /// memberlist's LAN profile.
    public var retransmitMultiplier = 4
    /// A gossip round sends pending updates to this many random members (memberlist's
    /// GossipNodes, 3), so news spreads between probes.
    public var gossipFanout = 3
    /// Shortest time between gossip rounds while updates are pending. 200 ms, as in memberlist's
    /// LAN profile. Unlike memberlist's fixed ticker, news found in a quiet cluster goes out at
    /// once rather than on the next tick; nothing is sent while there is nothing new.
    public var gossipInterval: Duration = .milliseconds(200)
    /// Full-state exchange with one random member, so lost updates are eventually repaired
    /// (anti-entropy; memberlist's push/pull). 30 s, memberlist's LAN profile; beyond 32
    /// members it grows by one step per doubling of the cluster, as memberlist's does.
    public var syncInterval: Duration = .seconds(30)
    /// How often a full-state exchange is offered to one member believed failed, so the two
    /// sides of a healed partition find each other again (Serf's reconnect, every 30 s there).
    /// 10 s; nothing is sent while no member is failed.
    public var reconnectInterval: Duration = .seconds(10)
    /// A member with seeds that has seen none of them alive for this long joins through them
    /// again, retrying with backoff (0.2 s doubling to ``rejoinMaxBackoff``) until one answers:
    /// a seed that left or crashed and came back is found again, and with it the cluster it
    /// anchors. Each attempt is one small datagram per seed. 1 s, so a cluster whose seed
    /// restarted reassembles within about a second of the seed's return.
    public var rejoinAfter: Duration = .seconds(1)
    /// The longest pause between re-join attempts. 1 s.
    public var rejoinMaxBackoff: Duration = .seconds(1)
    /// How long failed and left members are remembered, so stale gossip cannot resurrect them
    /// (memberlist keeps them for its GossipToTheDeadTime; Serf for 24 h). 1 h.
    public var tombstoneLifetime: Duration = .seconds(3600)
    /// Largest gossip datagram, headers and authentication included: fits a 1,500-byte MTU with
    /// IPv6 and UDP headers (memberlist's UDPBufferSize is 1,400).
    public var maxDatagramSize = 1400
    /// Phi Accrual threshold: a member whose φ passes it is probed at once, out of turn. 8, as in
    /// Akka and rpcnet.
    public var phiThreshold = 8.0
    /// Samples of inter-arrival time kept per member for φ. 100, as in Akka and rpcnet.
    public var phiWindow = 100
    /// Floor of the standard deviation φ assumes, so very regular arrivals do not make a short
    /// delay look fatal. 100 ms, as in Akka's cluster failure detector.
    public var phiMinStandardDeviation: Duration = .milliseconds(100)
    /// Pause tolerated on top of the usual interval before φ rises (Akka's
    /// acceptable-heartbeat-pause). 500 ms: one probe timeout.
    public var phiAcceptablePause: Duration = .milliseconds(500)
    /// A member that sees fewer than half of the last known membership for this long reports
    /// a partition. 5 s: longer than a suspicion takes to resolve in a small cluster.
    public var partitionGracePeriod: Duration = .seconds(5)
    /// Largest total size of a member's tags, keys and values together. 512 bytes, memberlist's
    /// MetaMaxSize, so an alive update always fits a datagram.
    public var maxTagBytes = 512

    /// The defaults.
    public init() {}
}
