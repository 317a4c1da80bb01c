import Synchronization
import Testing

@testable import Transports

@Suite("Real clock timers")
struct MonotonicClockTests {
    @Test("scheduled actions run in deadline order; a cancelled one never runs")
    func scheduleAndCancel() async throws {
        let clock = MonotonicClock()
        let fired = Mutex<[Int]>([])
        let start = clock.now
        // Scheduled out of order, with one cancelled: the others run by deadline.
        clock.schedule(at: start.advanced(by: .milliseconds(30))) { fired.withLock { $0.append(3) } }
        clock.schedule(at: start.advanced(by: .milliseconds(10))) { fired.withLock { $0.append(1) } }
        let cancelled = clock.schedule(at: start.advanced(by: .milliseconds(20))) { fired.withLock { $0.append(2) } }
        #expect(clock.cancel(cancelled))
        #expect(!clock.cancel(cancelled))
        // Generous bound: a loaded machine may be slow, the order and the absence still hold.
        let giveUp = start.advanced(by: .seconds(30))
        while fired.withLock({ $0.count }) < 2, clock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
        #expect(fired.withLock { $0 } == [1, 3])
        #expect(clock.now >= start.advanced(by: .milliseconds(30)))
    }

    @Test("a deadline earlier than the one the timer thread sleeps for wakes it")
    func earlierDeadlineWakesTheThread() async throws {
        let clock = MonotonicClock()
        // The timer thread is left asleep until an hour from now...
        let far = clock.schedule(at: clock.now.advanced(by: .seconds(3600))) {}
        defer { clock.cancel(far) }
        try await Task.sleep(for: .milliseconds(20))
        // ...so a nearer deadline must wake it, or this one runs an hour late.
        let fired = Mutex(false)
        let start = clock.now
        clock.schedule(at: start.advanced(by: .milliseconds(20))) { fired.withLock { $0 = true } }
        let giveUp = start.advanced(by: .seconds(30))
        while !fired.withLock({ $0 }), clock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
        #expect(fired.withLock { $0 })
    }

    @Test("a sleep ends no earlier than its deadline, and at once when its task is cancelled")
    func sleep() async throws {
        let clock = MonotonicClock()
        let start = clock.now
        try await clock.sleep(until: start.advanced(by: .milliseconds(5)))
        #expect(clock.now >= start.advanced(by: .milliseconds(5)))

        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(3600))) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test("thousands of cancelled deadlines leave nothing behind")
    func cancelledDeadlinesDoNotAccumulate() {
        var queue = TimerQueue()
        let far = MonotonicInstant(nanoseconds: 3_600_000_000_000)
        var live: [UInt64] = []
        for index in 0..<10_000 {
            let sequence = queue.nextSequenceNumber()
            queue.insert(.action({}), at: far.advanced(by: .nanoseconds(index)), sequence: sequence)
            if index % 100 == 0 { live.append(sequence) } else { #expect(queue.remove(sequence) != nil) }
        }
        // Stale entries are dropped once they outnumber the live ones two to one (past 1,024).
        #expect(queue.storedDeadlines <= max(1025, 2 * live.count + 1))
        var fired = 0
        while queue.popEarliest(notAfter: far.advanced(by: .seconds(1))) != nil { fired += 1 }
        #expect(fired == live.count)
    }
}
