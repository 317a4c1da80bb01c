import Synchronization
import Testing

@testable import RpcNet

/// Reads a stream to its end and returns the status code of the trailer it must consist of.
private func trailerCode(_ stream: TransportStream) async throws -> RPCStatus.Code? {
    var decoder = FrameDecoder(limits: WireLimits())
    decoder.append(try await stream.readAll(limit: 1024))
    guard case .trailer(let trailer)? = try decoder.next() else { return nil }
    return trailer.status.code
}

@Suite("RPC robustness")
struct RPCRobustnessTests {
    private func withServer(
        _ body: @escaping @Sendable (RPCClient, any TransportConnection, VirtualClock) async throws -> Void,
        setup: @escaping @Sendable (RPCServer) -> Void
    ) async throws {
        try await withRawServer(
            setup: { server in
                server.register("Echo.say", unary: { request, _ in request })
                setup(server)
            }, body)
    }

    @Test("malformed, truncated and out-of-order frames fail only their own call")
    func malformedFrames() async throws {
        try await withServer(
            { client, raw, _ in
                // Garbage instead of a call header: a trailer says `internal` (PROTOCOL.md §4.5).
                let garbage = try await raw.openStream()
                try await garbage.write([0x7F, 0x01, 0x00], finish: true)
                #expect(try await trailerCode(garbage) == .internal)
                // A message before any call header.
                let headless = try await raw.openStream()
                try await headless.write(Frame.message([1]).encoded, finish: true)
                #expect(try await trailerCode(headless) == .internal)
                // A call whose request stops inside a frame: the trailer says `internal`.
                let truncated = try await raw.openStream()
                var bytes = Frame.callHeader(CallHeader(method: "Echo.say", timeout: nil, metadata: Metadata())).encoded
                bytes += [FrameType.message.rawValue, 0x10, 1, 2, 3]
                try await truncated.write(bytes, finish: true)
                #expect(try await trailerCode(truncated) == .internal)
                // A message announcing 4 GiB is refused from its length alone.
                let huge = try await raw.openStream()
                var hugeBytes = Frame.callHeader(CallHeader(method: "Echo.say", timeout: nil, metadata: Metadata()))
                    .encoded
                hugeBytes.append(FrameType.message.rawValue)
                VarInt.append(4 << 30, to: &hugeBytes)
                try await huge.write(hugeBytes)
                #expect(try await trailerCode(huge) == .resourceExhausted)
                // Everyone else is still served.
                #expect(try await client.unary("Echo.say", [UInt8]("fine")).text == "fine")
            }, setup: { _ in })
    }

    @Test("a server stream to a consumer that stops reading leaves bounded memory on the server")
    func serverStreamBackpressure() async throws {
        let sent = Mutex(0)
        let chunk = 64 * 1024
        try await withServer(
            { client, _, clock in
                try await client.serverStreaming("Flood.stream", []) { responses in
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                    // Stop reading for a while: the handler must block, not buffer everything.
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(2)), tolerance: nil)
                    let stalledAt = sent.withLock { $0 }
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(2)), tolerance: nil)
                    #expect(sent.withLock { $0 } == stalledAt)
                    // Window (256 KiB) + send buffer (1 MiB) + one message in hand, in 64 KiB messages.
                    #expect(stalledAt * chunk <= 256 * 1024 + 1024 * 1024 + 2 * chunk)
                    var received = 1
                    while try await iterator.next() != nil { received += 1 }
                    #expect(received == 200)
                }
            },
            setup: { server in
                server.register(
                    "Flood.stream",
                    serverStreaming: { _, responses, _ in
                        let message = [UInt8](repeating: 1, count: chunk)
                        for _ in 0..<200 {
                            try await responses.send(message)
                            sent.withLock { $0 += 1 }
                        }
                    })
            })
    }
}
