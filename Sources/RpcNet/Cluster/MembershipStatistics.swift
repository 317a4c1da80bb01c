/// Counters of a membership.
public struct MembershipStatistics: Sendable, Equatable {
    /// Gossip datagrams sent.
    public var sent = 0
    /// Their bytes, sealing included (UDP and IP headers not).
    public var sentBytes = 0
    /// Gossip datagrams accepted.
    public var received = 0
    /// Datagrams dropped, by reason (`oversized`, `malformed`, `unauthenticated`, `replayed`,
    /// `foreign`, `nameConflict`).
    public var dropped: [String: Int] = [:]
    /// Probes started (direct and indirect).
    public var probes = 0
    /// Probes that failed (direct and indirect).
    public var failedProbes = 0
    /// Times this member refuted a suspicion about itself.
    public var refutations = 0
    /// Acks and nacks ignored because they came from a member this one had not asked: late
    /// after a restart, or forged by someone who guessed a sequence number.
    public var unexpectedAnswers = 0
    /// Ping-reqs refused because their target is not a member known here at the address given
    /// (in a cluster without a key they could make this member ping anyone).
    public var refusedRelays = 0
    /// Member updates ignored because their tags exceed this member's `maxTagBytes`: a peer is
    /// configured with a larger limit.
    public var oversizedTags = 0
    /// Updates and member states ignored for an incarnation out of range (§7.5 of PROTOCOL.md):
    /// above 2^62 − 2^32 − 1 in news from anyone but the member itself.
    public var ignoredIncarnations = 0
    /// Datagrams not sent because they would exceed an unverified address's anti-amplification
    /// allowance (3 × the bytes received from it; clusters without a key only).
    public var withheld = 0
    /// Lifeguard's local health multiplier now (0 is healthy).
    public var localHealth = 0

    /// Total datagrams dropped.
    public var totalDropped: Int { dropped.values.reduce(0, +) }
}
