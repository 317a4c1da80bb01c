import DequeModule
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

    private struct Entry {
        var deadline: MonotonicInstant
        var sequence: UInt64
        var waiter: Waiter
    }

    private struct State {
        var now: MonotonicInstant
        var nextSequence: UInt64 = 0
        /// Kept sorted by (deadline, sequence); inserts are O(n), which is fine for test sizes
        /// and keeps the order obvious.
        var entries: [Entry] = []
        var parkedSleepers: [CheckedContinuation<Void, Never>] = []

        mutating func insert(_ entry: Entry) {
            var low = 0
            var high = entries.count
            while low < high {
                let mid = (low + high) / 2
                let other = entries[mid]
                if (other.deadline, other.sequence) < (entry.deadline, entry.sequence) {
                    low = mid + 1
                } else {
                    high = mid
                }
            }
            entries.insert(entry, at: low)
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
        state.withLock { state in
            state.entries.reduce(0) { count, entry in
                if case .sleeper = entry.waiter { return count + 1 }
                return count
            }
        }
    }

    /// Runs `action` synchronously inside ``advance(by:)`` when time reaches `deadline`
    /// (immediately on the next advance if the deadline has already passed).
    @discardableResult
    public func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> TimerID {
        state.withLock { state in
            let sequence = state.nextSequenceNumber()
            state.insert(Entry(deadline: deadline, sequence: sequence, waiter: .action(action)))
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
        state.withLock { state in
            guard let index = state.entries.firstIndex(where: { $0.sequence == id.sequence }) else { return false }
            state.entries.remove(at: index)
            return true
        }
    }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        let sequence = state.withLock { $0.nextSequenceNumber() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled { return true }
                    if deadline <= state.now { return true }
                    state.insert(Entry(deadline: deadline, sequence: sequence, waiter: .sleeper(continuation)))
                    let parked = state.parkedSleepers
                    state.parkedSleepers.removeAll()
                    for waiter in parked { waiter.resume() }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard let index = state.entries.firstIndex(where: { $0.sequence == sequence }),
                    case .sleeper(let continuation) = state.entries[index].waiter
                else { return nil }
                state.entries.remove(at: index)
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
                    let sleepers = state.entries.reduce(0) { count, entry in
                        if case .sleeper = entry.waiter { return count + 1 }
                        return count
                    }
                    if sleepers >= count { return true }
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
                guard let first = state.entries.first, first.deadline <= target else {
                    if state.now < target { state.now = target }
                    return nil
                }
                state.entries.removeFirst()
                if state.now < first.deadline { state.now = first.deadline }
                return first.waiter
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
        state.withLock { $0.entries.first?.deadline }
    }
}
