import Glibc
import TestSupport
import Testing

@testable import Transports

@Suite("QUIC across restarts and unreachable peers")
struct QUICRestartTests {
    @Test("dialling a port nobody listens on fails at once, naming the cause, not after the handshake timeout")
    func nothingListening() async throws {
        try await withReactor { reactor in
            // A port that was free a moment ago: the kernel answers with ICMP port unreachable.
            let port = try UDPSocket(binding: .loopback())
            let address = port.localAddress
            port.close()
            var configuration = TestCertificates.client()
            configuration.handshakeTimeout = .seconds(30)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: configuration)
            defer { client.close() }
            let started = ContinuousClock.now
            do {
                _ = try await withTimeout { try await client.dial(address, serverName: "localhost") }
                Issue.record("the dial succeeded")
            } catch let error as TransportError {
                #expect(error == .connectionClosed(.unreachable(errno: ECONNREFUSED)))
                #expect("\(error)".contains("nothing is listening at that address and port"))
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(client.statistics.networkErrors >= 1)
        }
    }

    @Test("a server restarted on the same port and key resets its old connections, so clients notice at once")
    func restartedServerResets() async throws {
        try await withReactor { reactor in
            var serverConfiguration = TestCertificates.server()
            serverConfiguration.idleTimeout = .seconds(30)
            let first = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let address = first.localAddress
            let echo = startEchoServer(first)
            var clientConfiguration = TestCertificates.client()
            clientConfiguration.idleTimeout = .seconds(30)
            clientConfiguration.keepAliveInterval = .milliseconds(300)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: clientConfiguration)
            defer { client.close() }
            // Each connection greases the QUIC fixed bit or not at random (RFC 9287): eight
            // connections leave one of each kind unmet with probability 1/128.
            var connections: [QUICConnection] = []
            for _ in 0..<8 { connections.append(try await client.dial(address, serverName: "localhost")) }
            // The server goes away without a word (as a killed process would) and comes back.
            try await reactor.submit { first.close(reason: .reactorShutdown, notifyingPeers: false) }
            echo.cancel()
            let second = try await QUICEndpoint.listen(
                reactor: reactor, address: address, configuration: serverConfiguration)
            defer { second.close() }
            // Gossip beside QUIC, as on a cluster node: the client's packets must still be told
            // from it, whichever way the client greases the fixed bit.
            _ = second.sideChannel()
            let restarted = ContinuousClock.now
            for connection in connections {
                let reason = try await withTimeout(.seconds(5)) { await connection.closed() }
                #expect(reason == .statelessReset)
            }
            print("MEASURE restarted-server-noticed \(ContinuousClock.now - restarted)")
            #expect(second.statistics.statelessResetsSent >= 1)
        }
    }

    @Test("a stateless reset secret is stable for a key and port, and differs between ports")
    func derivedSecret() throws {
        let configuration = TestCertificates.server()
        let cid = ConnectionID.random()
        let tokens = try [UInt16(4433), 4433, 4434].map { port in
            let resetter = try StatelessResetter(configuration: configuration, port: port, isServer: true)
            var bytes = [UInt8](repeating: 0, count: 16)
            resetter.token(for: cid, into: &bytes)
            return bytes
        }
        #expect(tokens[0] == tokens[1])
        #expect(tokens[0] != tokens[2])
    }
}
