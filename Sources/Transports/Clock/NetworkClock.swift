/// A clock whose instants are ``MonotonicInstant``s: the real ``MonotonicClock`` or a
/// ``VirtualClock`` that only moves when a test says so.
///
/// Code that needs time (deadlines, protocol periods, retries) is generic over this protocol and
/// never reads the system clock directly; that is what makes simulations reproducible.
public protocol NetworkClock: Clock, Sendable where Instant == MonotonicInstant {
    /// Runs `action` once the clock reaches `deadline`, unless cancelled first. The real clock
    /// runs it on its timer thread and a ``VirtualClock`` inside `advance`: keep it short and
    /// never block in it. Cheaper than a task sleeping until the deadline, which is why deadlines
    /// and protocol timers use it.
    @discardableResult
    func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer

    /// Cancels a scheduled action; returns false if it already ran (or is running) or was
    /// cancelled before.
    @discardableResult
    func cancel(_ timer: ScheduledTimer) -> Bool
}

extension NetworkClock {
    /// Runs `action` after `delay`; see ``schedule(at:_:)``.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        schedule(at: now.advanced(by: delay), action)
    }
}

/// Names an action scheduled on a ``NetworkClock`` so it can be cancelled.
public struct ScheduledTimer: Hashable, Sendable {
    let sequence: UInt64
}
