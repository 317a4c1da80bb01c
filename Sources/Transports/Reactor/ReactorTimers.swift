/// The timers a ``Reactor`` runs as a ``TransportOwner``: actions by deadline in a
/// ``TimerQueue``, behind one libev timer armed at the earliest. Scheduling costs a heap
/// insertion and, only when the new deadline is the earliest, re-arming the libev timer;
/// cancelling is O(1) and leaves the libev timer armed, to find nothing due when it fires.
///
/// Loop-thread only, like everything it holds. The reactor closes it as it frees its loop, which
/// drops the pending actions unrun.
final class ReactorTimers {
    private unowned let reactor: Reactor
    // Loop-thread state.
    private var queue = TimerQueue()
    /// Made on the first schedule, which runs on the loop thread (a libev watcher must be).
    private var timer: ReactorTimer?
    /// The deadline `timer` is armed for, nil while it is not armed.
    private var armedFor: MonotonicInstant?
    private var closed = false

    init(reactor: Reactor) {
        self.reactor = reactor
    }

    /// Runs `action` on the loop thread once `CLOCK_MONOTONIC` reaches `deadline`.
    func schedule(at deadline: MonotonicInstant, _ action: @escaping @Sendable () -> Void) -> ScheduledTimer {
        let sequence = queue.nextSequenceNumber()
        guard !closed else { return ScheduledTimer(sequence: sequence) }
        queue.insert(.action(action), at: deadline, sequence: sequence)
        if armedFor.map({ deadline < $0 }) ?? true { arm(for: deadline) }
        return ScheduledTimer(sequence: sequence)
    }

    /// Drops a pending action; false if it already ran or was cancelled.
    func cancel(_ timer: ScheduledTimer) -> Bool {
        queue.remove(timer.sequence) != nil
    }

    /// Stops the libev timer for good and drops every pending action.
    func close() {
        closed = true
        timer?.close()
        timer = nil
        queue = TimerQueue()
    }

    private func arm(for deadline: MonotonicInstant) {
        let timer = self.timer ?? ReactorTimer(reactor: reactor) { [unowned self] in fire() }
        self.timer = timer
        armedFor = deadline
        timer.arm(after: MonotonicClock().now.duration(to: deadline))
    }

    /// Runs every action that is due (those they schedule included, when due too), then re-arms
    /// for the earliest one left. libev measures its timers from the time it read at the start
    /// of the loop iteration, so the timer can fire a little before the deadline it was armed
    /// for; then nothing is due yet and it is armed again for the rest.
    private func fire() {
        armedFor = nil
        let now = MonotonicClock().now
        while let due = queue.popEarliest(notAfter: now) { due.waiter.fire() }
        if let next = queue.earliestDeadline(), armedFor.map({ next < $0 }) ?? true { arm(for: next) }
    }
}
