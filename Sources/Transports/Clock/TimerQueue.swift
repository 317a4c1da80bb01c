import HeapModule

/// Pending timers of a clock in deadline order (ties in scheduling order): the shared core of
/// ``VirtualClock`` and the real clock's ``SleepTimers``.
///
/// Deadlines sit in a heap and the waiters in a dictionary by sequence number, so cancelling is
/// O(1): a cancelled deadline stays in the heap and is skipped when it surfaces. Because
/// deadlines are nearly always cancelled (a call finishes long before its timeout), the heap is
/// rebuilt from the live waiters once stale entries outnumber them, keeping memory proportional
/// to what is pending.
struct TimerQueue {
    /// What happens when a deadline is reached.
    enum Waiter {
        /// A synchronous action, run by whoever drives the queue.
        case action(@Sendable () -> Void)
        /// A suspended task, resumed.
        case sleeper(CheckedContinuation<Void, any Error>)

        /// Runs the action or resumes the sleeper; call without holding the queue's lock.
        func fire() {
            switch self {
            case .action(let action): action()
            case .sleeper(let continuation): continuation.resume()
            }
        }
    }

    private struct Key: Comparable {
        var deadline: MonotonicInstant
        var sequence: UInt64

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.deadline, lhs.sequence) < (rhs.deadline, rhs.sequence)
        }
    }

    private var deadlines = Heap<Key>()
    private var waiters: [UInt64: (deadline: MonotonicInstant, waiter: Waiter)] = [:]
    private var nextSequence: UInt64 = 0
    /// Deadlines in the heap, including cancelled ones not yet dropped.
    var storedDeadlines: Int { deadlines.count }

    /// Waiters that are suspended tasks.
    private(set) var sleeperCount = 0

    /// A new sequence number, to register a waiter under (taken before the waiter exists, so
    /// that a cancellation handler can name it).
    mutating func nextSequenceNumber() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Adds `waiter`.
    mutating func insert(_ waiter: Waiter, at deadline: MonotonicInstant, sequence: UInt64) {
        deadlines.insert(Key(deadline: deadline, sequence: sequence))
        waiters[sequence] = (deadline, waiter)
        if case .sleeper = waiter { sleeperCount += 1 }
        if deadlines.count > 1024, deadlines.count > 2 * waiters.count {
            deadlines = Heap(waiters.map { Key(deadline: $0.value.deadline, sequence: $0.key) })
        }
    }

    /// Removes the waiter registered under `sequence`, if it is still pending.
    mutating func remove(_ sequence: UInt64) -> Waiter? {
        guard let entry = waiters.removeValue(forKey: sequence) else { return nil }
        if case .sleeper = entry.waiter { sleeperCount -= 1 }
        return entry.waiter
    }

    /// The earliest pending deadline.
    mutating func earliestDeadline() -> MonotonicInstant? {
        earliest()?.deadline
    }

    /// Removes and returns the earliest waiter if its deadline is at or before `limit`.
    mutating func popEarliest(notAfter limit: MonotonicInstant) -> (deadline: MonotonicInstant, waiter: Waiter)? {
        guard let first = earliest(), first.deadline <= limit else { return nil }
        deadlines.removeMin()
        return remove(first.sequence).map { (first.deadline, $0) }
    }

    /// The earliest live key, dropping cancelled ones on the way.
    private mutating func earliest() -> Key? {
        while let key = deadlines.min {
            if waiters[key.sequence] != nil { return key }
            deadlines.removeMin()
        }
        return nil
    }
}
