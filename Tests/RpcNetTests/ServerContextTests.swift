import Logging
import Synchronization
import TestSupport
import Testing

@testable import RpcNet

@Suite("Server context")
struct ServerContextTests {
    @Test("under mutual TLS a handler sees the client certificate's identity")
    func peerIdentityOverQUIC() async throws {
        let reactor = try Reactor.start(name: "identity-test")
        defer { Task { await reactor.shutdown() } }
        var serverConfiguration = TestCertificates.node
        serverConfiguration.requireClientCertificate = true
        let listener = try await QUICEndpoint.listen(reactor: reactor, configuration: serverConfiguration)
        defer { listener.close() }
        let server = try RPCServer(serverConfiguration)
        server.register(
            "Who.am.i",
            unary: { _, context in
                Array((context.peerIdentity?.commonName ?? "nobody").utf8)
            })
        let serving = Task { await server.serve(listener) }
        let clientConfiguration = TestCertificates.client.withCertificate(
            chain: "\(TestCertificates.directory)/client.pem", key: "\(TestCertificates.directory)/client-key.pem")
        let client = try await RPCClient.connect(
            to: "localhost:\(listener.localAddress.port)", configuration: clientConfiguration, reactor: reactor)
        let name = try await client.unary("Who.am.i", [])
        #expect(name.text == "rpcnet-test-client")
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        await serving.value
    }

    @Test("the simulated network proves configured identities; the context's logger names the call")
    func identityAndLogger() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 3)
        let captured = CapturedLog()
        let logger = captured.logger()
        let listener = try network.listen(at: SocketAddress(ip: "10.0.0.1", port: 7000))
        let server = RPCServer(clock: clock, logger: logger)
        server.register(
            "Who.am.i",
            unary: { _, context in
                context.logger.info("serving")
                return Array((context.peerIdentity?.commonName ?? "nobody").utf8)
            })
        var identified = SimulatedConnectionConfiguration()
        identified.identity = PeerIdentity(commonName: "batch-runner", dnsNames: ["runner.internal"])
        let dialer = network.dialer(from: try SocketAddress(ip: "10.0.0.2", port: 0).host, configuration: identified)
        let client = RPCClient(dialer: dialer, address: listener.localAddress, clock: clock)
        defer { settle(clock) }
        try await clock.drive(step: .microseconds(100)) {
            let serving = Task { await server.serve(listener) }
            var options = CallOptions()
            options.metadata.add(ServerContext.requestIDKey, "req-42")
            let name = try await client.unary("Who.am.i", [], options: options)
            #expect(name.text == "batch-runner")
            _ = try await client.unary("Who.am.i", [])
            client.close()
            await server.shutdown(gracePeriod: .seconds(1))
            await serving.value
        }
        let served = captured.lines.withLock { $0 }.filter { $0.message == "serving" }
        #expect(served.count == 2)
        #expect(served.first?.metadata["rpc.method"] == "Who.am.i")
        #expect(served.first?.metadata["peer"] == "10.0.0.2:49152")
        #expect(served.first?.metadata["request.id"] == "req-42")
        // Without a request id of the caller's, the server numbers its calls.
        #expect(served.last?.metadata["request.id"] == "2")
    }
}
