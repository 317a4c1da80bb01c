import CRpcNet

/// The real clock: `CLOCK_MONOTONIC`, the same time base ngtcp2 and the reactor use.
public struct MonotonicClock: NetworkClock {
    /// Creates the clock; all instances read the same time base.
    public init() {}

    public var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: rpcnet_monotonic_ns())
    }

    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        let remaining = now.duration(to: deadline)
        if remaining > .zero {
            try await Task.sleep(for: remaining, tolerance: tolerance)
        }
    }
}
