import Synchronization
import Testing

@testable import Transports

@Suite("Virtual clock")
struct VirtualClockTests {
    @Test("actions run in deadline order, ties in scheduling order, and can be cancelled")
    func actions() {
        let clock = VirtualClock()
        let order = Mutex<[String]>([])
        clock.schedule(after: .seconds(2)) { order.withLock { $0.append("b@\(clock.now)") } }
        clock.schedule(after: .seconds(1)) { order.withLock { $0.append("a1") } }
        clock.schedule(after: .seconds(1)) { order.withLock { $0.append("a2") } }
        let cancelled = clock.schedule(after: .milliseconds(1500)) { order.withLock { $0.append("never") } }
        #expect(clock.nextDeadline == MonotonicInstant(nanoseconds: 1_000_000_000))
        #expect(clock.cancel(cancelled))
        #expect(!clock.cancel(cancelled))
        clock.advance(by: .milliseconds(1999))
        #expect(order.withLock { $0 } == ["a1", "a2"])
        clock.advance(by: .milliseconds(1))
        #expect(order.withLock { $0 } == ["a1", "a2", "b@2.0s"])
        #expect(clock.nextDeadline == nil)
    }

    @Test("sleepers wake when time reaches their deadline; a test can wait for them to park")
    func sleepers() async throws {
        let clock = VirtualClock()
        let woke = Mutex(false)
        let sleeper = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(5)), tolerance: nil)
            woke.withLock { $0 = true }
        }
        await clock.waitForSleepers(atLeast: 1)
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(4))
        #expect(!woke.withLock { $0 })
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(woke.withLock { $0 })
        #expect(clock.sleeperCount == 0)
    }

    @Test("cancelling a sleeping task ends its sleep with CancellationError")
    func cancelledSleep() async throws {
        let clock = VirtualClock()
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(60)), tolerance: nil) }
        await clock.waitForSleepers(atLeast: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }
}
