import Synchronization
import Testing

@testable import Transports

/// Collects what an endpoint received, synchronously (inside the clock's advance).
private final class Inbox: Sendable {
    let datagrams = Mutex<[(at: MonotonicInstant, datagram: Datagram)]>([])

    init(_ endpoint: SimulatedDatagramEndpoint, clock: VirtualClock) {
        endpoint.setReceiveHandler { [self] datagram in
            datagrams.withLock { $0.append((clock.now, datagram)) }
        }
    }

    var payloads: [[UInt8]] { datagrams.withLock { $0.map(\.datagram.payload) } }
    var count: Int { datagrams.withLock { $0.count } }
}

@Suite("Simulated network")
struct SimulatedNetworkTests {
    /// A lossy, jittery three-host scenario; returns the network's trace.
    private func lossyScenario(seed: UInt64) throws -> [SimulatedNetwork.TraceEvent] {
        let clock = VirtualClock()
        let network = SimulatedNetwork(
            clock: clock, seed: seed,
            defaultConditions: LinkConditions(
                latency: .milliseconds(2), jitter: .milliseconds(3), lossRate: 0.2, duplicationRate: 0.1,
                reorderRate: 0.1))
        let endpoints = try (1...3).map { try network.datagramEndpoint(at: address(UInt8($0))) }
        let inboxes = endpoints.map { Inbox($0, clock: clock) }
        for round in 0..<100 {
            for (index, endpoint) in endpoints.enumerated() {
                try endpoint.send([UInt8(round), UInt8(index)], to: endpoints[(index + 1) % 3].localAddress)
            }
            clock.advance(by: .milliseconds(1))
        }
        clock.advance(by: .seconds(1))
        #expect(inboxes.reduce(0) { $0 + $1.count } == network.statistics.delivered)
        return network.trace
    }

    @Test("the same seed gives the same event trace; another seed another one")
    func deterministic() throws {
        let first = try lossyScenario(seed: 42)
        let second = try lossyScenario(seed: 42)
        #expect(first.count > 300)
        #expect(first == second)
        #expect(try lossyScenario(seed: 43) != first)
    }

    @Test("latency delays delivery exactly; jitter and reordering change the order")
    func latencyAndReordering() throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(
            clock: clock, seed: 1, defaultConditions: LinkConditions(latency: .milliseconds(5)))
        let a = try network.datagramEndpoint(at: address(1))
        let b = try network.datagramEndpoint(at: address(2))
        let inbox = Inbox(b, clock: clock)
        try a.send([1], to: b.localAddress)
        clock.advance(by: .milliseconds(4))
        #expect(inbox.count == 0)
        clock.advance(by: .milliseconds(1))
        #expect(inbox.datagrams.withLock { $0.map(\.at) } == [MonotonicInstant(nanoseconds: 5_000_000)])

        network.setConditions(
            LinkConditions(latency: .milliseconds(1), reorderRate: 0.5, reorderDelay: .milliseconds(20)), from: host(1),
            to: host(2))
        for index in 0..<50 { try a.send([UInt8(index)], to: b.localAddress) }
        clock.advance(by: .seconds(1))
        let order = inbox.payloads.dropFirst().map { $0[0] }
        #expect(order.count == 50)
        #expect(order != order.sorted(), "reordering must change the arrival order")
    }

    @Test("loss and duplication happen at the configured rates")
    func lossAndDuplication() throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(
            clock: clock, seed: 7, defaultConditions: LinkConditions(lossRate: 0.25, duplicationRate: 0.1),
            recordsTrace: false)
        let a = try network.datagramEndpoint(at: address(1))
        let b = try network.datagramEndpoint(at: address(2))
        let inbox = Inbox(b, clock: clock)
        for _ in 0..<10_000 { try a.send([0], to: b.localAddress) }
        clock.advance(by: .seconds(1))
        let statistics = network.statistics
        #expect((2_250...2_750).contains(statistics.dropped))
        #expect((650...850).contains(statistics.duplicated))
        #expect(inbox.count == 10_000 - statistics.dropped + statistics.duplicated)
    }

    @Test("a partition blocks both ways until healed; a one-way block only one way")
    func partitions() throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 3)
        let a = try network.datagramEndpoint(at: address(1))
        let b = try network.datagramEndpoint(at: address(2))
        let c = try network.datagramEndpoint(at: address(3))
        let (inboxA, inboxB, inboxC) = (Inbox(a, clock: clock), Inbox(b, clock: clock), Inbox(c, clock: clock))

        network.partition([host(1)], [host(2), host(3)])
        try a.send([1], to: b.localAddress)
        try b.send([2], to: a.localAddress)
        try b.send([3], to: c.localAddress)
        clock.advance(by: .milliseconds(10))
        #expect(inboxA.count == 0 && inboxB.count == 0)
        #expect(inboxC.payloads == [[3]])

        network.heal()
        try a.send([4], to: b.localAddress)
        clock.advance(by: .milliseconds(10))
        #expect(inboxB.payloads == [[4]])

        network.blockOneWay(from: host(1), to: host(2))
        try a.send([5], to: b.localAddress)
        try b.send([6], to: a.localAddress)
        clock.advance(by: .milliseconds(10))
        #expect(inboxB.payloads == [[4]])
        #expect(inboxA.payloads == [[6]])
        #expect(
            network.trace.filter {
                if case .dropped(_, _, _, _, .partition) = $0 { return true }; return false
            }.count == 3)
    }

    @Test("a frozen host holds what it sends and receives, bounded, until it resumes")
    func freezes() throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 5, frozenBufferLimit: 10)
        let a = try network.datagramEndpoint(at: address(1))
        let b = try network.datagramEndpoint(at: address(2))
        let (inboxA, inboxB) = (Inbox(a, clock: clock), Inbox(b, clock: clock))
        network.freeze(host(2))
        for index in 0..<15 { try a.send([UInt8(index)], to: b.localAddress) }
        try b.send([99], to: a.localAddress)
        clock.advance(by: .seconds(5))
        #expect(inboxB.count == 0)
        #expect(inboxA.count == 0)
        network.unfreeze(host(2))
        #expect(inboxB.payloads == (0..<10).map { [UInt8($0)] })
        clock.advance(by: .milliseconds(10))
        #expect(inboxA.payloads == [[99]])
        #expect(network.statistics.dropped == 5)
    }

    @Test("datagrams to an address nobody bound are dropped as unreachable")
    func unreachable() throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 9)
        let a = try network.datagramEndpoint(at: address(1))
        try a.send([1], to: address(2))
        clock.advance(by: .milliseconds(5))
        #expect(
            network.trace.last
                == .dropped(
                    at: MonotonicInstant(nanoseconds: 1_000_000), from: a.localAddress, to: address(2), bytes: 1,
                    reason: .unreachable))
    }
}

@Suite("Simulated connections")
struct SimulatedConnectionTests {
    @Test("streams echo byte-exact across the simulated network, with flow control")
    func echo() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(
            clock: clock, seed: 11, defaultConditions: LinkConditions(latency: .milliseconds(2), lossRate: 0.05))
        var configuration = SimulatedConnectionConfiguration()
        configuration.streamReceiveWindow = 16 * 1024
        let listener = try network.listen(at: address(1, port: 9000), configuration: configuration)
        let server = startEchoServer(listener)
        let dialer = network.dialer(from: host(2), configuration: configuration)
        try await clock.drive {
            let connection = try await dialer.connect(to: listener.localAddress, serverName: nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<5 {
                    group.addTask {
                        let payload = patternBytes(count: 200_000, seed: UInt64(index))
                        let stream = try await connection.openStream()
                        async let reply = stream.readAll(limit: 1 << 20)
                        try await stream.write(payload, finish: true)
                        #expect(try await reply == payload)
                    }
                }
                try await group.waitForAll()
            }
            connection.close(code: 0, message: "bye")
            // The close reaches the server only as virtual time passes: keep simulating.
            listener.close()
            await server.value
        }
    }

    @Test("concurrent writers on one stream never interleave their writes")
    func concurrentWriters() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 21)
        var configuration = SimulatedConnectionConfiguration()
        configuration.streamReceiveWindow = 8 * 1024
        configuration.streamSendBufferLimit = 4 * 1024
        let listener = try network.listen(at: address(1, port: 9000), configuration: configuration)
        try await clock.drive { [configuration] in
            let connection = try await network.dialer(from: host(2), configuration: configuration)
                .connect(to: listener.localAddress, serverName: nil)
            let stream = try await connection.openStream()
            let size = 40 * 1024
            let reader = Task {
                let serverConnection = try #require(try await listener.accept())
                let serverStream = try #require(try await serverConnection.acceptStream())
                return try await serverStream.readAll(limit: 1 << 20)
            }
            // Each write is ten times the send buffer, so every writer waits for room many times.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask { try await stream.write([UInt8](repeating: UInt8(writer), count: size)) }
                }
                try await group.waitForAll()
            }
            try await stream.finish()
            let received = try await reader.value
            #expect(received.count == 4 * size)
            let runs = stride(from: 0, to: received.count, by: size).map { Set(received[$0..<$0 + size]) }
            #expect(runs.allSatisfy { $0.count == 1 }, "writes were interleaved")
            #expect(Set(runs.compactMap(\.first)) == [0, 1, 2, 3])
            connection.close(code: 0, message: "done")
        }
        // The close reaches the server as virtual time passes; until then the pair holds itself.
        clock.advance(by: .seconds(1))
    }

    @Test("reset and close cross the simulated network")
    func abortsPropagate() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 12)
        let listener = try network.listen(at: address(1, port: 9000))
        try await clock.drive {
            let connection = try await network.dialer(from: host(2)).connect(to: listener.localAddress, serverName: nil)
            let serverConnection = try #require(try await listener.accept())
            let stream = try await connection.openStream()
            try await stream.write([1])
            let serverStream = try #require(try await serverConnection.acceptStream())
            #expect(try await serverStream.read() == [1])
            stream.reset(code: 5)
            await #expect(throws: TransportError.streamReset(code: 5)) { _ = try await serverStream.read() }
            connection.close(code: 9, message: "done")
            #expect(await serverConnection.closed() == .peer(code: 9, message: "done"))
        }
    }

    @Test("a partition longer than the idle timeout closes both sides; a dial into it times out")
    func partitionIdleTimeout() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 13)
        var configuration = SimulatedConnectionConfiguration()
        configuration.idleTimeout = .seconds(5)
        configuration.handshakeTimeout = .seconds(3)
        let listener = try network.listen(at: address(1, port: 9000), configuration: configuration)
        try await clock.drive(step: .milliseconds(10)) { [configuration] in
            let dialer = network.dialer(from: host(2), configuration: configuration)
            let connection = try await dialer.connect(to: listener.localAddress, serverName: nil)
            let serverConnection = try #require(try await listener.accept())
            network.partition([host(1)], [host(2)])
            let stream = try await connection.openStream()
            try await stream.write([1, 2, 3])
            #expect(await connection.closed() == .idleTimeout)
            #expect(await serverConnection.closed() == .idleTimeout)
            await #expect(throws: TransportError.connectionClosed(.handshakeTimeout)) {
                _ = try await dialer.connect(to: listener.localAddress, serverName: nil)
            }
        }
    }
}
