/// The serial context that owns a transport: it runs the transport's callbacks (a received
/// datagram's handler) and, one piece at a time, the work and timers handed to it, so state kept
/// beside the transport — a protocol's state machine — has one owner and is never driven from two
/// threads at once.
///
/// A ``Reactor`` owns the transports on its sockets: work runs on its loop thread and timers are
/// its own libev timers. A ``VirtualClock`` owns a ``SimulatedNetwork``'s: work runs on whichever
/// thread drives the clock, and timers inside ``VirtualClock/advance(by:)``, which keeps a
/// simulation deterministic.
public protocol TransportOwner: AnyObject, Sendable {
    /// Whether the caller runs in this context now, where the owner's state may be touched directly.
    var isCurrent: Bool { get }

    /// Hands `work` to this context, to run after the work handed over before it (a reactor runs
    /// it on its loop thread; a virtual clock on the thread driving it, which is the caller itself
    /// when nobody else is). Once the owner has shut down — a reactor after
    /// ``Reactor/shutdown()`` — `work` is dropped and `rejected` runs instead, on the calling
    /// thread, so that a waiter can be settled rather than left hanging.
    func execute(_ work: @escaping @Sendable () -> Void, ifShutDown rejected: () -> Void)

    /// Runs `action` in this context once time reaches `deadline` on the transport's clock
    /// (`CLOCK_MONOTONIC` for a reactor, the virtual clock itself in a simulation), unless it is
    /// cancelled first. Call it in this context. Timers still pending when the owner shuts down
    /// never run.
    @discardableResult
    func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer

    /// Cancels an action ``schedule(at:_:)`` returned; false if it already ran or was cancelled
    /// before. Call it in this context.
    @discardableResult
    func cancel(_ timer: ScheduledTimer) -> Bool
}

extension TransportOwner {
    /// Runs `work` at once when called in this context, otherwise hands it over as
    /// ``execute(_:ifShutDown:)`` does.
    public func run(_ work: @escaping @Sendable () -> Void, ifShutDown rejected: () -> Void) {
        if isCurrent {
            work()
        } else {
            execute(work, ifShutDown: rejected)
        }
    }

    /// Runs `work` in this context (at once when called in it) and returns once it has run, or
    /// once `rejected` has run instead because the owner has shut down.
    public func runAndWait(_ work: @escaping @Sendable () -> Void, ifShutDown rejected: () -> Void) async {
        if isCurrent { return work() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            execute(
                {
                    work()
                    continuation.resume()
                },
                ifShutDown: {
                    rejected()
                    continuation.resume()
                })
        }
    }
}
