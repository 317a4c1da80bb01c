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

/// A small, fast, seedable generator (SplitMix64) so a simulation replays exactly from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && Double(next() >> 11) / Double(1 << 53) < probability
    }
}
