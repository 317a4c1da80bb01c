/// How a call's timeout travels in the call header (docs/PROTOCOL.md §4.1): whole microseconds
/// as a varint, 0 for none. Every conversion saturates, so any `Duration` a caller passes and any
/// varint a peer sends has one deterministic meaning: a grant is rounded up to the next
/// microsecond (never shortened to zero), and grants beyond the varint range are sent as its
/// maximum, 2^62 − 1 µs (about 146,000 years), which is as good as no deadline.
enum CallTimeout {
    /// The varint for `timeout`: 0 for none; at least 1 (a zero or negative timeout is an
    /// already-expired grant, not "no deadline"); at most ``VarInt/max``.
    static func encode(_ timeout: Duration?) -> UInt64 {
        guard let timeout else { return 0 }
        let micros = timeout.microsecondsRoundedUp
        guard micros > 0 else { return 1 }
        return min(UInt64(micros), VarInt.max)
    }

    /// The timeout a header's varint grants: `nil` for 0, otherwise exactly that many
    /// microseconds (every value up to ``VarInt/max`` is representable).
    static func decode(_ micros: UInt64) -> Duration? {
        micros == 0 ? nil : .microseconds(Int64(micros))
    }
}
