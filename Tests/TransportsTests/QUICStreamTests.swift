import Synchronization
import TestSupport
import Testing

@testable import Transports

@Suite("QUIC streams")
struct QUICStreamTests {
    @Test("100 concurrent streams of 1 MiB each arrive byte-exact")
    func concurrentStreamsIntegrity() async throws {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let echoTask = startEchoServer(server)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout(.seconds(120)) {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<100 {
                        group.addTask {
                            let payload = patternBytes(count: 1 << 20, seed: UInt64(index))
                            let stream = try await connection.openStream()
                            async let reply = stream.readAll(limit: 2 << 20)
                            var offset = 0
                            while offset < payload.count {
                                let end = min(offset + 64 * 1024, payload.count)
                                try await stream.write(Array(payload[offset..<end]), finish: end == payload.count)
                                offset = end
                            }
                            let echoed = try await reply
                            #expect(echoed.count == payload.count)
                            #expect(echoed == payload, "stream \(index) corrupted")
                        }
                    }
                    try await group.waitForAll()
                }
                connection.close(code: 0, message: "")
            }
            server.close()
            client.close()
            await echoTask.value
        }
    }

    @Test("a reader that stops reading bounds what the sender buffers, and reading resumes the sender")
    func slowReaderBoundsSender() async throws {
        var serverConfiguration = TestCertificates.server()
        serverConfiguration.streamReceiveWindow = 64 * 1024
        serverConfiguration.maxStreamReceiveWindow = 64 * 1024
        var clientConfiguration = TestCertificates.client()
        clientConfiguration.streamSendBufferLimit = 128 * 1024
        let chunk = 16 * 1024
        let total = 8 << 20
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: clientConfiguration)
            try await withTimeout(.seconds(60)) {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let stream = try await connection.openStream()
                let accepted = Atomic<Int>(0)
                let writer = Task {
                    let payload = patternBytes(count: chunk, seed: 1)
                    for _ in 0..<(total / chunk) {
                        try await stream.write(payload)
                        accepted.add(chunk, ordering: .relaxed)
                    }
                    try await stream.finish()
                }
                let serverConnection = try #require(try await server.acceptConnection())
                let serverStream = try #require(try await serverConnection.acceptStream())
                // The server reads nothing: the writer must stall once the peer's 64 KiB window
                // and the 128 KiB send buffer are full.
                let bound = 64 * 1024 + 128 * 1024 + chunk
                var previous = -1
                while accepted.load(ordering: .relaxed) != previous {
                    previous = accepted.load(ordering: .relaxed)
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(accepted.load(ordering: .relaxed) <= bound)
                #expect(stream.bufferedSendBytes <= 128 * 1024)
                #expect(serverStream.bufferedReceiveBytes <= 64 * 1024)
                // Reading drains everything and lets the writer finish.
                var received = 0
                while let bytes = try await serverStream.read() { received += bytes.count }
                try await writer.value
                #expect(received == total)
            }
            server.close()
            client.close()
        }
    }

    @Test("reset, stop-sending and close propagate in both directions")
    func abortsPropagate() async throws {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let serverConnection = try #require(try await server.acceptConnection())

                // Client resets: the server's read fails with the code.
                let a = try await connection.openStream()
                try await a.write([1, 2, 3])
                let serverA = try #require(try await serverConnection.acceptStream())
                #expect(try await serverA.read() == [1, 2, 3])
                a.reset(code: 7)
                await #expect(throws: TransportError.streamReset(code: 7)) { _ = try await serverA.read() }

                // Server resets: the client's read fails with the code.
                let b = try await connection.openStream()
                try await b.write([4])
                let serverB = try #require(try await serverConnection.acceptStream())
                serverB.reset(code: 8)
                await #expect(throws: TransportError.streamReset(code: 8)) { _ = try await b.read() }

                // Client stops reading: the server's writes fail with the code.
                let c = try await connection.openStream()
                try await c.write([5], finish: true)
                let serverC = try #require(try await serverConnection.acceptStream())
                c.stopSending(code: 9)
                await #expect(throws: TransportError.stopSendingRequested(code: 9)) {
                    for _ in 0..<1000 {
                        try await serverC.write([UInt8](repeating: 0, count: 1024))
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }

                // Server stops reading: the client's writes fail with the code.
                let d = try await connection.openStream()
                try await d.write([6])
                let serverD = try #require(try await serverConnection.acceptStream())
                try await serverD.finish()
                #expect(try await d.read() == nil)
                serverD.stopSending(code: 10)
                await #expect(throws: TransportError.stopSendingRequested(code: 10)) {
                    for _ in 0..<1000 {
                        try await d.write([UInt8](repeating: 0, count: 1024))
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }

                // While the writer's own receive half is still open, ngtcp2 0.12 reports the
                // peer's STOP_SENDING only by refusing data, without its code: writes fail with
                // code 0 (docs/ARCHITECTURE.md, "Stream aborts").
                let f = try await connection.openStream()
                try await f.write([8])
                let serverF = try #require(try await serverConnection.acceptStream())
                serverF.stopSending(code: 11)
                await #expect(throws: TransportError.stopSendingRequested(code: 0)) {
                    for _ in 0..<1000 {
                        try await f.write([UInt8](repeating: 0, count: 1024))
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }

                // Client closes: the server sees the code and message, open streams fail.
                let e = try await connection.openStream()
                try await e.write([7])
                let serverE = try #require(try await serverConnection.acceptStream())
                _ = try await serverE.read()
                connection.close(code: 42, message: "client done")
                #expect(await serverConnection.closed() == .peer(code: 42, message: "client done"))
                await #expect(throws: TransportError.connectionClosed(.peer(code: 42, message: "client done"))) {
                    _ = try await serverE.read()
                }
                #expect(try await serverConnection.acceptStream() == nil)

                // Server closes: the client sees it.
                let second = try await client.dial(server.localAddress, serverName: "localhost")
                let serverSecond = try #require(try await server.acceptConnection())
                serverSecond.close(code: 43, message: "server done")
                #expect(await second.closed() == .peer(code: 43, message: "server done"))
                await #expect(throws: TransportError.connectionClosed(.peer(code: 43, message: "server done"))) {
                    _ = try await second.openStream()
                }
            }
            server.close()
            client.close()
        }
    }

    @Test("zero-length writes and an empty stream are legal")
    func emptyStream() async throws {
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let echoTask = startEchoServer(server)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let stream = try await connection.openStream()
                try await stream.write([])
                try await stream.finish()
                #expect(try await stream.readAll(limit: 16).isEmpty)
                connection.close(code: 0, message: "")
            }
            server.close()
            client.close()
            await echoTask.value
        }
    }

    @Test("an opener waiting for the peer's stream limit can be cancelled; a stream that ends frees the limit")
    func cancelledOpener() async throws {
        var serverConfiguration = TestCertificates.server()
        serverConfiguration.maxConcurrentStreams = 1
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: serverConfiguration)
            let echoTask = startEchoServer(server)
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            try await withTimeout {
                let connection = try await client.dial(server.localAddress, serverName: "localhost")
                let first = try await connection.openStream()
                let waiting = Task { try await connection.openStream() }
                // Whether the cancellation finds it waiting or about to wait, it must end it.
                try await Task.sleep(for: .milliseconds(20))
                waiting.cancel()
                await #expect(throws: CancellationError.self) { _ = try await waiting.value }
                try await first.write([1], finish: true)
                #expect(try await first.readAll(limit: 16) == [1])
                let second = try await connection.openStream()
                try await second.write([2], finish: true)
                #expect(try await second.readAll(limit: 16) == [2])
                connection.close(code: 0, message: "")
            }
            server.close()
            client.close()
            await echoTask.value
        }
    }
}
