import TestSupport
import Testing

@testable import Transports

@Suite("QUIC handshake and echo")
struct QUICHandshakeTests {
    @Test("handshake and echo over real QUIC on 127.0.0.1 port 0")
    func handshakeAndEcho() async throws {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            #expect(server.localAddress.port != 0)
            let echoTask = startEchoServer(server)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                #expect(await connection.applicationProtocol == "rpcnet/1")
                let stream = try await connection.openStream()
                try await stream.write(Array("hello, rpcnet".utf8), finish: true)
                let reply = try await stream.readAll(limit: 1024)
                #expect(String(decoding: reply, as: UTF8.self) == "hello, rpcnet")
                connection.close(code: 0, message: "done")
                #expect(await connection.closed() == .local(code: 0, message: "done"))
            }
            server.close()
            client.close()
            await echoTask.value
        }
    }
}

@Suite("QUIC address validation")
struct QUICRetryTests {
    @Test("a server demanding address validation sends a Retry and the client still connects")
    func retry() async throws {
        var serverConfiguration = TestCertificates.server()
        serverConfiguration.retryThreshold = 0
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let echoTask = startEchoServer(server)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let stream = try await connection.openStream()
                try await stream.write([9, 8, 7], finish: true)
                #expect(try await stream.readAll(limit: 16) == [9, 8, 7])
                connection.close(code: 0, message: "")
            }
            #expect(server.statistics.retriesSent == 1)
            #expect(server.statistics.handshakesCompleted == 1)
            #expect(server.statistics.invalidRetryTokens == 0)
            server.close()
            client.close()
            await echoTask.value
        }
    }
}
