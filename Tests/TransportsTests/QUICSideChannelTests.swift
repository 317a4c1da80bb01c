import TestSupport
import Testing

@testable import Transports

@Suite("Plain datagrams beside QUIC on one port")
struct QUICSideChannelTests {
    @Test("side-channel datagrams and a QUIC connection share the server's port without mixing")
    func sharedPort() async throws {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let echoTask = startEchoServer(server)
            // A node both serves and dials, as a cluster node does.
            var node = TestCertificates.server()
            node.trustRoots = .file(TestCertificates.ca)
            let client = try await QUICEndpoint.listen(reactor: reactor, address: .loopback(), configuration: node)
            let serverChannel = server.sideChannel()
            let clientChannel = client.sideChannel()
            #expect(serverChannel === server.sideChannel())
            // 100 round trips take well under a second; the limit only catches a hang, and is
            // generous because on a saturated 2-core machine other suites can hold the pool.
            try await withTimeout(.seconds(60)) {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                // Interleave: a datagram each way, then QUIC bytes, a hundred times.
                for round in 0..<100 {
                    let hello: [UInt8] = [1, 0, UInt8(round)]
                    try clientChannel.send(hello, to: server.localAddress)
                    let received = try #require(try await serverChannel.receive())
                    #expect(received.payload == hello)
                    #expect(received.source == client.localAddress)
                    try serverChannel.send([1, 1, UInt8(round)], to: received.source)
                    #expect(try await clientChannel.receive()?.payload == [1, 1, UInt8(round)])
                    let stream = try await connection.openStream()
                    try await stream.write([0x42, UInt8(round)], finish: true)
                    #expect(try await stream.readAll(limit: 16) == [0x42, UInt8(round)])
                }
                connection.close(code: 0, message: "done")
            }
            #expect(server.statistics.malformedDatagrams == 0)
            #expect(serverChannel.statistics.received == 100)
            server.close()
            client.close()
            await echoTask.value
        }
    }
}
