import Synchronization
import TestSupport
import Testing

@testable import Transports

@Suite("Reactor")
struct ReactorTests {
    @Test("work submitted from other threads runs on the loop thread, in order")
    func submitRunsOnLoop() async throws {
        try await withReactor { reactor in
            #expect(!reactor.isOnLoopThread)
            let order = Mutex<[Int]>([])
            for index in 0..<100 {
                reactor.execute { order.withLock { $0.append(index) } }
            }
            let onLoop = try await reactor.submit { reactor.isOnLoopThread }
            #expect(onLoop)
            #expect(order.withLock { $0 } == Array(0..<100))
        }
    }

    @Test("a task preferring the reactor runs on the loop thread without a hop")
    func taskExecutor() async throws {
        try await withReactor { reactor in
            let onLoop = await Task(executorPreference: reactor) { reactor.isOnLoopThread }.value
            #expect(onLoop)
        }
    }

    @Test("timers fire on the loop thread after their delay")
    func timers() async throws {
        try await withReactor { reactor in
            let clock = MonotonicClock()
            let started = clock.now
            let fired: Duration = try await withCheckedThrowingContinuation { continuation in
                reactor.execute {
                    let box = TimerBox()
                    box.timer = ReactorTimer(reactor: reactor) {
                        box.timer?.close()
                        box.timer = nil
                        continuation.resume(returning: started.duration(to: clock.now))
                    }
                    box.timer?.arm(after: .milliseconds(50))
                }
            }
            #expect(fired >= .milliseconds(45))
        }
    }

    @Test("a host can step the reactor from its own thread")
    func steppedByHost() async throws {
        let reactor = try Reactor()
        let ran = Atomic<Int>(0)
        reactor.execute { ran.add(1, ordering: .relaxed) }
        let host = Task.detached {
            // The host's loop: step the reactor until it shuts down.
            while reactor.runOnce(blocking: true) {}
        }
        let value = try await reactor.submit { 41 + ran.load(ordering: .relaxed) }
        #expect(value == 42)
        await reactor.shutdown()
        await host.value
        #expect(!reactor.runOnce())
    }

    @Test("shutdown with open connections and sockets leaks no descriptor and closes every connection")
    func shutdownLeaksNothing() async throws {
        let reactor = try Reactor.start()
        let server = try await QUICEndpoint.listen(
            reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
        let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
        let gossip = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback())
        var connections: [QUICConnection] = []
        var streams: [TransportStream] = []
        for _ in 0..<5 {
            let connection = try await client.dial(server.localAddress, serverName: "localhost")
            let stream = try await connection.openStream()
            try await stream.write([1, 2, 3])
            connections.append(connection)
            streams.append(stream)
        }
        #expect(try await reactor.liveResourceCount() == 3)
        // Tests run in parallel, so descriptor numbers are reused: identify our sockets by inode.
        let sockets = openDescriptorTargets(of: [server.socket.fd, client.socket.fd, gossip.socket.fd])
        #expect(sockets.count == 3)
        await reactor.shutdown()
        for connection in connections {
            #expect(await connection.closed() == .reactorShutdown)
        }
        for stream in streams {
            await #expect(throws: TransportError.connectionClosed(.reactorShutdown)) { _ = try await stream.read() }
        }
        #expect(try await gossip.receive() == nil)
        #expect(openDescriptorTargets().isDisjoint(with: sockets))
        await #expect(throws: ReactorError.shutDown) { _ = try await reactor.submit { 1 } }
    }
}

/// Lets a timer's handler reach the timer (to close it) without a retain cycle outliving the test.
private final class TimerBox: @unchecked Sendable {
    var timer: ReactorTimer?
}
