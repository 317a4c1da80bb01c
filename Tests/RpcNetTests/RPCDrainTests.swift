import Synchronization
import TestSupport
import Testing

@testable import RpcNet

@Suite("RPC server drain over QUIC")
struct RPCDrainTests {
    @Test(
        "a drain lets calls in flight finish, refuses new calls and connections at once, then closes",
        .timeLimit(.minutes(1)))
    func drainOverQUIC() async throws {
        let reactor = try Reactor.start(name: "drain-test")
        defer { Task { await reactor.shutdown() } }
        let serverConfiguration = TestCertificates.node
        let listener = try await QUICEndpoint.listen(reactor: reactor, configuration: serverConfiguration)
        defer { listener.close() }
        let server = try RPCServer(serverConfiguration)
        let started = Atomic<Int>(0)
        server.register(
            "Slow.echo",
            unary: { request, _ in
                started.add(1, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(800))
                return request
            })
        let serving = Task { await server.serve(listener) }
        let clientConfiguration = TestCertificates.client
        let address = "localhost:\(listener.localAddress.port)"
        let client = try await RPCClient.connect(to: address, configuration: clientConfiguration, reactor: reactor)
        defer { client.close() }
        let calls = (0..<20).map { index in Task { try await client.unary("Slow.echo", [UInt8(index)]) } }
        while started.load(ordering: .relaxed) < 20 { try await Task.sleep(for: .milliseconds(5)) }

        let shutdownStarted = ContinuousClock.now
        // A grace period far beyond the calls' 800 ms, so "drained when the calls ended" and
        // "waited out the grace period" stay far apart even on a saturated machine.
        let drain = Task { await server.shutdown(gracePeriod: .seconds(30)) }
        // Once the drain has begun (the task above may not have run yet on a loaded machine), a
        // new connection is refused at once, not left to time out.
        while server.isAccepting { try await Task.sleep(for: .milliseconds(1)) }
        let refusedAt = ContinuousClock.now
        await #expect(throws: RPCStatus.self) {
            _ = try await RPCClient.connect(to: address, configuration: clientConfiguration, reactor: reactor)
        }
        #expect(ContinuousClock.now - refusedAt < .seconds(5))
        // A new call on the open connection is refused with unavailable, so the caller goes elsewhere.
        do {
            _ = try await client.unary("Slow.echo", [99])
            Issue.record("a call during the drain was served")
        } catch let status as RPCStatus {
            #expect(status.code == .unavailable)
        }
        // Every call that was in flight finishes.
        for (index, call) in calls.enumerated() { #expect(try await call.value == [UInt8(index)]) }
        await drain.value
        // Drained as soon as the calls ended, well within the grace period.
        #expect(ContinuousClock.now - shutdownStarted < .seconds(10))
        await serving.value
        #expect(listener.statistics.connectionsRefused >= 1)
    }
}
