/// How a simulated link treats traffic in one direction between two hosts.
public struct LinkConditions: Sendable, Equatable {
    /// One-way delay of every datagram.
    public var latency: Duration
    /// Extra delay drawn uniformly from `0...jitter` per datagram (which may reorder them).
    public var jitter: Duration
    /// Probability that a datagram is lost.
    public var lossRate: Double
    /// Probability that a datagram is delivered twice.
    public var duplicationRate: Double
    /// Probability that a datagram is held back by ``reorderDelay``, arriving after later ones.
    public var reorderRate: Double
    /// The hold-back of a reordered datagram.
    public var reorderDelay: Duration

    /// Creates conditions; the default is a clean 1 ms link.
    public init(
        latency: Duration = .milliseconds(1), jitter: Duration = .zero, lossRate: Double = 0,
        duplicationRate: Double = 0, reorderRate: Double = 0, reorderDelay: Duration = .milliseconds(10)
    ) {
        self.latency = latency
        self.jitter = jitter
        self.lossRate = lossRate
        self.duplicationRate = duplicationRate
        self.reorderRate = reorderRate
        self.reorderDelay = reorderDelay
    }

    /// A clean link with 1 ms latency.
    public static let lan = LinkConditions()
}
