import TestSupport
import Testing

@testable import Transports

@Suite("TLS session resumption")
struct SessionResumptionTests {
    /// Dials `server` twice from one client endpoint, echoing on each connection (so the first
    /// one's session ticket has arrived before the second dial); returns both connections'
    /// resumption flags and peer identities, the server's accepted connections' identities, and
    /// how many client datagrams a relay delivered swapped: with `swappingSecondHello`, both
    /// dials go through a relay that delivers the second dial's first two datagrams swapped.
    private func dialTwice(
        server serverConfiguration: QUICConfiguration, client clientConfiguration: QUICConfiguration,
        swappingSecondHello: Bool = false
    ) async throws -> (
        resumed: [Bool], serverIdentities: [PeerIdentity?], clientIdentities: [PeerIdentity?],
        server: QUICEndpoint.Statistics, swapped: Int
    ) {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let relay =
                swappingSecondHello ? try await UDPRelay.start(reactor: reactor, target: server.localAddress) : nil
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: clientConfiguration)
            let rounds: [(resumed: Bool, client: PeerIdentity?, server: PeerIdentity?)] = try await withTimeout {
                var rounds: [(resumed: Bool, client: PeerIdentity?, server: PeerIdentity?)] = []
                for round in 0..<2 {
                    if round == 1 { relay?.swapNextTwoFromClient() }
                    let address = relay?.localAddress ?? server.localAddress
                    let connection = try await client.dial(address, serverName: "localhost")
                    let accepted = try #require(try await server.acceptConnection())
                    let echo = Task { try await echoOnce(accepted) }
                    let stream = try await connection.openStream()
                    try await stream.write([UInt8(round)], finish: true)
                    #expect(try await stream.readAll(limit: 16) == [UInt8(round)])
                    try await echo.value
                    rounds.append((connection.resumedSession, connection.peerIdentity, accepted.peerIdentity))
                    connection.close(code: 0, message: "")
                    _ = await accepted.closed()
                }
                return rounds
            }
            let statistics = server.statistics
            let swapped = relay?.swapped.load(ordering: .relaxed) ?? 0
            relay?.stop()
            server.close()
            client.close()
            return (rounds.map(\.resumed), rounds.map(\.server), rounds.map(\.client), statistics, swapped)
        }
    }

    /// A server requiring client certificates and a client presenting one.
    private static func mutualTLS() -> (server: QUICConfiguration, client: QUICConfiguration) {
        var server = TestCertificates.server()
        server.trustRoots = .file(TestCertificates.ca)
        server.requireClientCertificate = true
        var client = TestCertificates.client()
        client.certificateChainFile = TestCertificates.path("client.pem")
        client.privateKeyFile = TestCertificates.path("client-key.pem")
        return (server, client)
    }

    private func echoOnce(_ connection: QUICConnection) async throws {
        guard let stream = try await connection.acceptStream() else { return }
        try await stream.write(try await stream.readAll(limit: 16), finish: true)
    }

    @Test("a second connection to the same server resumes the session and keeps the server's identity")
    func resumes() async throws {
        let result = try await dialTwice(server: TestCertificates.server(), client: TestCertificates.client())
        #expect(result.resumed == [false, true])
        #expect(result.server.handshakesCompleted == 2)
        #expect(result.server.handshakesResumed == 1)
        #expect(result.clientIdentities[0] != nil)
        #expect(result.clientIdentities[1] == result.clientIdentities[0])
    }

    @Test("under mutual TLS a resumed session keeps the client's proven identity")
    func resumesUnderMutualTLS() async throws {
        let configurations = Self.mutualTLS()
        let result = try await dialTwice(server: configurations.server, client: configurations.client)
        #expect(result.resumed == [false, true])
        #expect(result.serverIdentities[0]?.commonName == "rpcnet-test-client")
        #expect(result.serverIdentities[1] == result.serverIdentities[0])
    }

    @Test("without resumption on either side every handshake is a full one")
    func disabled() async throws {
        var client = TestCertificates.client()
        client.sessionResumption = false
        let clientOff = try await dialTwice(server: TestCertificates.server(), client: client)
        #expect(clientOff.resumed == [false, false])
        var server = TestCertificates.server()
        server.sessionResumption = false
        let serverOff = try await dialTwice(server: server, client: TestCertificates.client())
        #expect(serverOff.resumed == [false, false])
        #expect(serverOff.server.handshakesResumed == 0)
    }

    @Test("a ticket from a server that restarted on the same address falls back to a full handshake")
    func restartedServer() async throws {
        try await withReactor { reactor in
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            let first = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let address = first.localAddress
            try await withTimeout {
                let connection = try await client.dial(address, serverName: "localhost")
                let accepted = try #require(try await first.acceptConnection())
                let echo = Task { try await echoOnce(accepted) }
                let stream = try await connection.openStream()
                try await stream.write([1], finish: true)
                _ = try await stream.readAll(limit: 16)
                try await echo.value
                connection.close(code: 0, message: "")
            }
            first.close()
            // A new process would have a new ticket key: so has a new endpoint.
            let second = try await QUICEndpoint.listen(
                reactor: reactor, address: address, configuration: TestCertificates.server())
            try await withTimeout {
                let connection = try await client.dial(address, serverName: "localhost")
                #expect(!connection.resumedSession)
                #expect(connection.peerIdentity != nil)
                connection.close(code: 0, message: "")
            }
            #expect(second.statistics.handshakesCompleted == 1)
            #expect(second.statistics.handshakesResumed == 0)
            second.close()
            client.close()
        }
    }

    @Test("a resumed ClientHello over two datagrams that arrive swapped still connects, resumed")
    func swappedClientHello() async throws {
        // The second dial offers the first one's ticket, which carries the client's certificate
        // chain: its ClientHello takes two Initial datagrams (1,200 bytes each, seen).
        let configurations = Self.mutualTLS()
        let result = try await dialTwice(
            server: configurations.server, client: configurations.client, swappingSecondHello: true)
        #expect(result.resumed == [false, true])
        #expect(result.swapped == 2)
    }
}
