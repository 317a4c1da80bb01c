import DequeModule
import Glibc
import Synchronization

/// A clock that only moves when told to, for deterministic tests and simulations.
///
/// Two kinds of waiters are served in deadline order (ties in scheduling order):
/// synchronous actions registered with ``schedule(at:_:)``, which run inside ``advance(by:)`` with
/// ``now`` equal to their deadline, and tasks suspended in ``sleep(until:tolerance:)``, which are
/// resumed when time reaches their deadline. A simulation built from synchronous actions is fully
/// reproducible; async sleepers resume on the concurrency runtime's schedule.
///
/// The clock is also the ``TransportOwner`` of a ``SimulatedNetwork``'s transports: whoever
/// drives it — ``advance(by:)``, or a thread running work handed to it while nobody advances it —
/// runs that work one piece at a time (see ``execute(_:ifShutDown:)``).
public final class VirtualClock: NetworkClock {
    private struct State {
        var now: MonotonicInstant
        var timers = TimerQueue()
        var parkedSleepers: [CheckedContinuation<Void, Never>] = []
        /// Work handed to the driver, run before the next due action.
        var handedOver: Deque<@Sendable () -> Void> = []
    }

    private let state: Mutex<State>
    /// Held by whoever drives the clock: ``advance(to:)`` throughout, or a thread running
    /// handed-over work while nobody advances the clock.
    private let driving = Mutex(())
    /// The thread holding `driving` (0 when none), so that the driver knows itself.
    private let driver = Atomic<UInt>(0)

    /// Creates a clock reading `start`.
    public init(start: MonotonicInstant = .zero) {
        state = Mutex(State(now: start))
    }

    public var now: MonotonicInstant {
        state.withLock { $0.now }
    }

    public var minimumResolution: Duration { .nanoseconds(1) }

    /// The number of tasks currently suspended in ``sleep(until:tolerance:)``.
    public var sleeperCount: Int {
        state.withLock { $0.timers.sleeperCount }
    }

    /// Runs `action` synchronously inside ``advance(by:)`` when time reaches `deadline`
    /// (immediately on the next advance if the deadline has already passed). Callable from any
    /// thread.
    @discardableResult
    public func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        state.withLock { state in
            let sequence = state.timers.nextSequenceNumber()
            state.timers.insert(.action(action), at: deadline, sequence: sequence)
            return ScheduledTimer(sequence: sequence)
        }
    }

    @discardableResult
    public func cancel(_ timer: ScheduledTimer) -> Bool {
        state.withLock { $0.timers.remove(timer.sequence) != nil }
    }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        let sequence = state.withLock { $0.timers.nextSequenceNumber() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled { return true }
                    if deadline <= state.now { return true }
                    state.timers.insert(.sleeper(continuation), at: deadline, sequence: sequence)
                    let parked = state.parkedSleepers
                    state.parkedSleepers.removeAll()
                    for waiter in parked { waiter.resume() }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard case .sleeper(let continuation) = state.timers.remove(sequence) else { return nil }
                return continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Suspends until at least `count` tasks are sleeping on this clock: lets a test advance time
    /// only after the code under test has armed its timers, without guessing with real sleeps.
    public func waitForSleepers(atLeast count: Int) async {
        while sleeperCount < count {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if state.timers.sleeperCount >= count { return true }
                    state.parkedSleepers.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Moves time forward by `duration`, running due actions and resuming due sleepers in
    /// deadline order; actions may schedule further actions, which run if they fall inside the step.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves time forward to `target` (never backwards); see ``advance(by:)``. Work handed over
    /// to the clock meanwhile (``execute(_:ifShutDown:)``) runs between actions, at the time
    /// reached; a thread already running handed-over work finishes it first.
    public func advance(to target: MonotonicInstant) {
        asDriver {
            while true {
                let due: TimerQueue.Waiter? = state.withLock { state in
                    if let work = state.handedOver.popFirst() { return .action(work) }
                    guard let first = state.timers.popEarliest(notAfter: target) else {
                        if state.now < target { state.now = target }
                        return nil
                    }
                    if state.now < first.deadline { state.now = first.deadline }
                    return first.waiter
                }
                guard let due else { return }
                due.fire()
            }
        }
    }

    /// The deadline of the earliest pending action or sleeper, if any.
    public var nextDeadline: MonotonicInstant? {
        state.withLock { $0.timers.earliestDeadline() }
    }

    // MARK: Driving

    /// Whether the caller is the clock's driver: inside ``advance(to:)``, or running work handed
    /// to the clock.
    public var isCurrent: Bool {
        driver.load(ordering: .relaxed) == Self.currentThread
    }

    /// Runs `work` as the clock's driver, in the order handed over: on the calling thread at
    /// once when nobody drives the clock (the caller drives it meanwhile, so ``advance(by:)``
    /// elsewhere waits for it); otherwise on the thread that does, before its next due action —
    /// after the current one when that thread is the caller. A virtual clock never shuts down:
    /// `rejected` never runs.
    public func execute(_ work: @escaping @Sendable () -> Void, ifShutDown rejected: () -> Void) {
        state.withLock { $0.handedOver.append(work) }
        if !isCurrent { runHandedOverWhileIdle() }
    }

    /// Runs `body` as the driver, after any other thread's turn; afterwards runs what was
    /// handed over too late for `body` to see, unless another driver took over.
    private func asDriver(_ body: () -> Void) {
        if isCurrent { return body() }
        driving.withLock { _ in
            driver.store(Self.currentThread, ordering: .relaxed)
            body()
            driver.store(0, ordering: .relaxed)
        }
        runHandedOverWhileIdle()
    }

    /// Runs handed-over work while there is some and nobody else drives the clock. Whoever
    /// drives it checks again after letting go, so no work is left behind.
    private func runHandedOverWhileIdle() {
        while state.withLock({ !$0.handedOver.isEmpty }) {
            let ran =
                driving.withLockIfAvailable { _ in
                    driver.store(Self.currentThread, ordering: .relaxed)
                    while let work = state.withLock({ $0.handedOver.popFirst() }) { work() }
                    driver.store(0, ordering: .relaxed)
                    return true
                } ?? false
            guard ran else { return }
        }
    }

    private static var currentThread: UInt {
        UInt(bitPattern: Int(bitPattern: pthread_self()))
    }
}

extension VirtualClock: TransportOwner {}
