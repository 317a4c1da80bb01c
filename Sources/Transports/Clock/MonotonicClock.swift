import CRpcNet

/// The real clock: `CLOCK_MONOTONIC`, the same time base ngtcp2 and the reactor use.
public struct MonotonicClock: NetworkClock {
    /// Creates the clock; all instances read the same time base.
    public init() {}

    public var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: rpcnet_monotonic_ns())
    }

    public var minimumResolution: Duration { .nanoseconds(1) }

    @discardableResult
    public func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        SleepTimers.shared.schedule(at: deadline, action)
    }

    @discardableResult
    public func cancel(_ timer: ScheduledTimer) -> Bool {
        SleepTimers.shared.cancel(timer)
    }

    /// Suspends until `deadline`, woken by `SleepTimers` (one thread for the whole process)
    /// rather than a Dispatch timer per sleep; `tolerance` is not used.
    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        if now < deadline {
            try await SleepTimers.shared.sleep(until: deadline)
        }
    }
}
