import HeapModule
import Synchronization

/// A clock that only moves when told to, for deterministic tests and simulations.
///
/// Two kinds of waiters are served in deadline order (ties in scheduling order):
/// synchronous actions registered with ``schedule(at:_:)``, which run inside ``advance(by:)`` with
/// ``now`` equal to their deadline, and tasks suspended in ``sleep(until:tolerance:)``, which are
/// resumed when time reaches their deadline. A simulation built from synchronous actions is fully
/// reproducible; async sleepers resume on the concurrency runtime's schedule.
public final class VirtualClock: NetworkClock {
    /// Identifies a scheduled action so it can be cancelled.
    public struct TimerID: Hashable, Sendable {
        fileprivate let sequence: UInt64
    }

    private enum Waiter {
        case action(@Sendable () -> Void)
        case sleeper(CheckedContinuation<Void, any Error>)
    }

    /// Orders waiters by deadline, then by scheduling order.
    private struct Key: Comparable {
        var deadline: MonotonicInstant
        var sequence: UInt64

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.deadline, lhs.sequence) < (rhs.deadline, rhs.sequence)
        }
    }

    private struct State {
        var now: MonotonicInstant
        var nextSequence: UInt64 = 0
        /// Deadlines in a heap; the waiters themselves by sequence, so cancelling is O(1)
        /// (a cancelled key stays in the heap and is skipped when it surfaces).
        var deadlines = Heap<Key>()
        var waiters: [UInt64: Waiter] = [:]
        var sleepers = 0
        var parkedSleepers: [CheckedContinuation<Void, Never>] = []

        mutating func insert(_ waiter: Waiter, at deadline: MonotonicInstant, sequence: UInt64) {
            deadlines.insert(Key(deadline: deadline, sequence: sequence))
            waiters[sequence] = waiter
            if case .sleeper = waiter { sleepers += 1 }
        }

        mutating func remove(_ sequence: UInt64) -> Waiter? {
            guard let waiter = waiters.removeValue(forKey: sequence) else { return nil }
            if case .sleeper = waiter { sleepers -= 1 }
            return waiter
        }

        /// The earliest live deadline, dropping cancelled keys on the way.
        mutating func earliest() -> Key? {
            while let key = deadlines.min {
                if waiters[key.sequence] != nil { return key }
                deadlines.removeMin()
            }
            return nil
        }

        mutating func nextSequenceNumber() -> UInt64 {
            defer { nextSequence += 1 }
            return nextSequence
        }
    }

    private let state: Mutex<State>

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
        state.withLock { $0.sleepers }
    }

    /// Runs `action` synchronously inside ``advance(by:)`` when time reaches `deadline`
    /// (immediately on the next advance if the deadline has already passed).
    @discardableResult
    public func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> TimerID {
        state.withLock { state in
            let sequence = state.nextSequenceNumber()
            state.insert(.action(action), at: deadline, sequence: sequence)
            return TimerID(sequence: sequence)
        }
    }

    /// Runs `action` after `delay` of virtual time.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> TimerID {
        schedule(at: now.advanced(by: delay), action)
    }

    /// Cancels a scheduled action; returns false if it already ran or was cancelled.
    @discardableResult
    public func cancel(_ id: TimerID) -> Bool {
        state.withLock { $0.remove(id.sequence) != nil }
    }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        let sequence = state.withLock { $0.nextSequenceNumber() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled { return true }
                    if deadline <= state.now { return true }
                    state.insert(.sleeper(continuation), at: deadline, sequence: sequence)
                    let parked = state.parkedSleepers
                    state.parkedSleepers.removeAll()
                    for waiter in parked { waiter.resume() }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard case .sleeper(let continuation) = state.remove(sequence) else { return nil }
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
                    if state.sleepers >= count { return true }
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

    /// Moves time forward to `target` (never backwards); see ``advance(by:)``.
    public func advance(to target: MonotonicInstant) {
        while true {
            let due: Waiter? = state.withLock { state in
                guard let first = state.earliest(), first.deadline <= target else {
                    if state.now < target { state.now = target }
                    return nil
                }
                state.deadlines.removeMin()
                if state.now < first.deadline { state.now = first.deadline }
                return state.remove(first.sequence)
            }
            guard let due else { return }
            switch due {
            case .action(let action): action()
            case .sleeper(let continuation): continuation.resume()
            }
        }
    }

    /// The deadline of the earliest pending action or sleeper, if any.
    public var nextDeadline: MonotonicInstant? {
        state.withLock { $0.earliest()?.deadline }
    }
}
