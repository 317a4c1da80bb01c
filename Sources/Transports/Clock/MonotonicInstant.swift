/// A point on a monotonic timeline, counted in nanoseconds from an arbitrary origin.
///
/// Every layer below the RPC API takes time as an input of this type (ngtcp2 timestamps, timers,
/// the simulated network), so the same code runs on the real ``MonotonicClock`` and on a
/// ``VirtualClock`` in deterministic tests.
public struct MonotonicInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    /// Creates an instant `nanoseconds` after the clock's origin.
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The clock's origin.
    public static let zero = MonotonicInstant(nanoseconds: 0)

    public func advanced(by duration: Duration) -> MonotonicInstant {
        let delta = duration.nanoseconds
        if delta >= 0 {
            let (sum, overflow) = nanoseconds.addingReportingOverflow(UInt64(delta))
            return MonotonicInstant(nanoseconds: overflow ? .max : sum)
        }
        let magnitude = delta.magnitude
        return MonotonicInstant(nanoseconds: magnitude > nanoseconds ? 0 : nanoseconds - magnitude)
    }

    public func duration(to other: MonotonicInstant) -> Duration {
        if other.nanoseconds >= nanoseconds {
            return .nanoseconds(Int64(clamping: other.nanoseconds - nanoseconds))
        }
        return .nanoseconds(-Int64(clamping: nanoseconds - other.nanoseconds))
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public var description: String {
        "\(Double(nanoseconds) / 1e9)s"
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at the bounds of `Int64`.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return attoseconds < 0 ? .min : .max }
        return sum
    }

    /// The duration in whole microseconds, rounded up and saturating at the bounds of `Int64`: how
    /// a call timeout travels (a grant is never shortened by rounding).
    public var microsecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (whole, remainder) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000)
        let (sum, sumOverflow) = scaled.addingReportingOverflow(whole + (remainder > 0 ? 1 : 0))
        if sumOverflow { return attoseconds < 0 ? .min : .max }
        return sum
    }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
