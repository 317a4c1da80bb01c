import MetricsTestKit
import TestSupport
import Testing

@testable import Transports

@Suite("QUIC metrics")
struct QUICMetricsTests {
    @Test("an endpoint counts handshakes, streams, datagrams and bytes, and failed handshakes by reason")
    func endpointMetrics() async throws {
        let metrics = TestMetrics()
        var serverConfiguration = TestCertificates.server()
        serverConfiguration.metricsFactory = metrics
        serverConfiguration.metricsNaming = MetricsNaming(prefix: "srv.")
        var clientConfiguration = TestCertificates.client()
        clientConfiguration.metricsFactory = metrics
        var untrusting = TestCertificates.client(trusting: TestCertificates.otherCA)
        untrusting.metricsFactory = metrics
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: clientConfiguration)
            let refused = try await QUICEndpoint.client(reactor: reactor, configuration: untrusting)
            try await withTimeout {
                let echo = Task {
                    guard let connection = try await server.accept(),
                        let stream = try await connection.acceptStream()
                    else { return }
                    let request = try await stream.readAll(limit: 1 << 20)
                    try await stream.write(request, finish: true)
                }
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let stream = try await connection.openStream()
                try await stream.write([UInt8](repeating: 9, count: 10_000), finish: true)
                let reply = try await stream.readAll(limit: 1 << 20)
                #expect(reply.count == 10_000)
                try await echo.value
                connection.close(code: 0, message: "")
                await #expect(throws: TransportError.self) {
                    _ = try await refused.dial(server.localAddress, serverName: "localhost")
                }
            }
            let serverSide = [("endpoint", "\(server.localAddress)")]
            let clientSide = [("endpoint", "\(client.localAddress)")]
            let completed = [("outcome", "completed")]
            #expect(try metrics.expectCounter("srv.rpcnet.quic.handshakes", serverSide + completed).totalValue >= 1)
            #expect(try metrics.expectCounter("rpcnet.quic.handshakes", clientSide + completed).totalValue == 1)
            #expect(
                try metrics.expectCounter("rpcnet.quic.streams", clientSide + [("initiator", "local")]).totalValue == 1)
            #expect(
                try metrics.expectCounter("srv.rpcnet.quic.streams", serverSide + [("initiator", "peer")]).totalValue
                    == 1)
            #expect(try metrics.expectCounter("rpcnet.quic.bytes.sent", clientSide).totalValue > 10_000)
            #expect(try metrics.expectCounter("srv.rpcnet.quic.bytes.received", serverSide).totalValue > 10_000)
            #expect(try metrics.expectCounter("srv.rpcnet.quic.datagrams.sent", serverSide).totalValue >= 8)
            #expect(try metrics.expectCounter("rpcnet.quic.datagrams.received", clientSide).totalValue >= 8)
            let failed = [
                ("endpoint", "\(refused.localAddress)"), ("outcome", "failed"), ("reason", "tls.untrusted_certificate"),
            ]
            #expect(try metrics.expectCounter("rpcnet.quic.handshakes", failed).totalValue == 1)
            server.close()
            client.close()
            refused.close()
        }
    }
}
