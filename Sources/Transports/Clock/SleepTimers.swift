import CRpcNet
import Glibc

/// The real clock's timers: one thread for the whole process, waking at the earliest deadline.
///
/// `Task.sleep` on Linux arms a Dispatch timer per sleep and wakes Dispatch's manager thread to
/// do so, which halved RPC throughput once every call carried a deadline (docs/BENCHMARKS.md).
/// Here scheduling costs a lock and a heap insertion, and the thread is signalled only when it
/// would otherwise sleep past the new deadline, which is rare: most deadlines share one timeout
/// and are cancelled long before they expire, and a cancelled timer leaves the thread asleep
/// until its old deadline, which is before the next call's. (Signalling whenever the queue's
/// earliest timer changed woke the thread twice per call at one call in flight.)
final class SleepTimers: @unchecked Sendable {
    /// The process-wide instance; its thread starts on first use and lives with the process.
    static let shared = SleepTimers()

    /// What the timer thread is doing, so that it is signalled only when needed.
    private enum ThreadPhase {
        case notStarted
        /// Firing timers or about to look at the queue: it sees any new deadline by itself.
        case running
        /// Waiting on the condition until this instant, or until signalled when `nil`.
        case sleeping(until: MonotonicInstant?)
    }

    // Guarded by `mutex`.
    private var timers = TimerQueue()
    private var phase = ThreadPhase.notStarted

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    private init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // The same time base as MonotonicInstant, immune to wall-clock changes.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Runs `action` on the timer thread at `deadline`.
    func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        locked {
            let sequence = timers.nextSequenceNumber()
            add(.action(action), at: deadline, sequence: sequence)
            return ScheduledTimer(sequence: sequence)
        }
    }

    /// Cancels a scheduled action; false if it already ran or was cancelled.
    func cancel(_ timer: ScheduledTimer) -> Bool {
        locked { timers.remove(timer.sequence) != nil }
    }

    /// Suspends until `deadline`; throws `CancellationError` as soon as the task is cancelled.
    func sleep(until deadline: MonotonicInstant) async throws {
        let sequence = locked { timers.nextSequenceNumber() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = locked { () -> Bool in
                    // Checked under the lock: a cancellation handler that ran first found nothing to resume.
                    if Task.isCancelled { return true }
                    add(.sleeper(continuation), at: deadline, sequence: sequence)
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            guard case .sleeper(let continuation) = locked({ timers.remove(sequence) }) else { return }
            continuation.resume(throwing: CancellationError())
        }
    }

    /// Called with the lock held.
    private func add(_ waiter: TimerQueue.Waiter, at deadline: MonotonicInstant, sequence: UInt64) {
        timers.insert(waiter, at: deadline, sequence: sequence)
        switch phase {
        case .notStarted:
            startThread()
        case .sleeping(until: nil):
            wakeThread()
        case .sleeping(until: let wakeUp?) where deadline < wakeUp:
            wakeThread()
        case .sleeping, .running:
            break
        }
    }

    /// Called with the lock held.
    private func wakeThread() {
        phase = .running
        pthread_cond_signal(condition)
    }

    private func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Called with the lock held.
    private func startThread() {
        phase = .running
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, sleepTimersThreadMain, Unmanaged.passUnretained(self).toOpaque())
        precondition(result == 0, "cannot start the timer thread (error \(result))")
        pthread_detach(thread)
        rpcnet_thread_set_name(thread, "rpcnet-timers")
    }

    /// The thread's loop: fire every waiter whose deadline passed (outside the lock), then wait
    /// for the earliest remaining one or for a signal that an earlier one arrived.
    fileprivate func run() -> Never {
        pthread_mutex_lock(mutex)
        while true {
            let now = MonotonicInstant(nanoseconds: rpcnet_monotonic_ns())
            if let due = timers.popEarliest(notAfter: now) {
                pthread_mutex_unlock(mutex)
                due.waiter.fire()
                pthread_mutex_lock(mutex)
                continue
            }
            let wakeUp = timers.earliestDeadline()
            phase = .sleeping(until: wakeUp)
            if let wakeUp {
                var until = timespec(
                    tv_sec: Int(wakeUp.nanoseconds / 1_000_000_000),
                    tv_nsec: Int(wakeUp.nanoseconds % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &until)
            } else {
                pthread_cond_wait(condition, mutex)
            }
            phase = .running
        }
    }
}

private func sleepTimersThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<SleepTimers>.fromOpaque(argument!).takeUnretainedValue().run()
}
