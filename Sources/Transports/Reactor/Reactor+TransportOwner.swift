/// A reactor owns the transports on its sockets: their callbacks, and the work and timers of state
/// kept beside them, run on its loop thread.
extension Reactor: TransportOwner {
    /// Whether the caller runs on the loop thread (``isOnLoopThread``).
    public var isCurrent: Bool { isOnLoopThread }

    /// Runs `action` on the loop thread once `CLOCK_MONOTONIC` (``MonotonicClock``) reaches
    /// `deadline`: a libev timer, so no other thread is involved. Call it on the loop thread.
    @discardableResult
    public func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        assertOnLoopThread()
        return ownerTimers.schedule(at: deadline, action)
    }

    /// Cancels an action ``schedule(at:_:)`` returned; false if it already ran or was cancelled.
    /// Call it on the loop thread.
    @discardableResult
    public func cancel(_ timer: ScheduledTimer) -> Bool {
        assertOnLoopThread()
        return ownerTimers.cancel(timer)
    }
}
