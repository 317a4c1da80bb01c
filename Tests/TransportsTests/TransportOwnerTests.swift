import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Transports

@Suite("Transport owners")
struct TransportOwnerTests {
    @Test("a reactor's scheduled actions run on its loop thread in deadline order; a cancelled one never runs")
    func reactorTimers() async throws {
        try await withReactor { reactor in
            let order = Mutex<[String]>([])
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                reactor.execute {
                    let now = MonotonicClock().now
                    reactor.schedule(at: now.advanced(by: .milliseconds(30))) {
                        order.withLock { $0.append("second on loop: \(reactor.isCurrent)") }
                        continuation.resume()
                    }
                    reactor.schedule(at: now.advanced(by: .milliseconds(10))) { order.withLock { $0.append("first") } }
                    let cancelled = reactor.schedule(at: now.advanced(by: .milliseconds(20))) {
                        order.withLock { $0.append("cancelled") }
                    }
                    order.withLock {
                        $0.append("cancel: \(reactor.cancel(cancelled)), again: \(reactor.cancel(cancelled))")
                    }
                }
            }
            #expect(order.withLock { $0 } == ["cancel: true, again: false", "first", "second on loop: true"])
        }
    }

    @Test("a reactor drops its pending actions when it shuts down, and refuses work handed over afterwards")
    func reactorShutdown() async throws {
        let reactor = try Reactor.start(name: "owner-shutdown")
        let ran = Atomic<Bool>(false)
        _ = try await reactor.submit {
            reactor.schedule(at: MonotonicClock().now.advanced(by: .seconds(60))) {
                ran.store(true, ordering: .relaxed)
            }
        }
        await reactor.shutdown()
        let refused = Mutex(false)
        reactor.execute({ ran.store(true, ordering: .relaxed) }, ifShutDown: { refused.withLock { $0 = true } })
        let didRun = ran.load(ordering: .relaxed)
        #expect(refused.withLock { $0 })
        #expect(!didRun)
    }

    @Test("a virtual clock nobody advances runs work handed over at once, on the caller as its driver")
    func virtualClockIdle() {
        let clock = VirtualClock()
        let driving = Mutex<Bool?>(nil)
        clock.execute({ driving.withLock { $0 = clock.isCurrent } }, ifShutDown: {})
        #expect(driving.withLock { $0 } == true)
        #expect(!clock.isCurrent)
    }

    @Test("work handed to a virtual clock another thread is advancing runs there, between two actions")
    func virtualClockHandOver() {
        let clock = VirtualClock()
        let order = Mutex<[String]>([])
        clock.schedule(after: .seconds(1)) {
            order.withLock { $0.append("first") }
            let handedOver = Atomic<Bool>(false)
            Thread {
                clock.execute(
                    { order.withLock { $0.append("handed over, on the driver: \(clock.isCurrent)") } },
                    ifShutDown: {})
                handedOver.store(true, ordering: .releasing)
            }.start()
            while !handedOver.load(ordering: .acquiring) { sched_yield() }
            order.withLock { $0.append("first ends") }
        }
        clock.schedule(after: .seconds(2)) { order.withLock { $0.append("second") } }
        clock.advance(by: .seconds(3))
        #expect(order.withLock { $0 } == ["first", "first ends", "handed over, on the driver: true", "second"])
    }
}
