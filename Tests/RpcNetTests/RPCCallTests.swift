import Synchronization
import Testing

@testable import RpcNet

/// Methods every call test registers.
private func registerTestMethods(_ server: RPCServer) {
    server.register("Echo.say", unary: { request, _ in request })
    server.register(
        "Echo.count",
        serverStreaming: { request, responses, _ in
            let count = Int(request.text) ?? 0
            for index in 0..<count { try await responses.send([UInt8]("\(index)")) }
        })
    server.register(
        "Echo.sum",
        clientStreaming: { requests, _ in
            var total = 0
            for try await request in requests { total += Int(request.text) ?? 0 }
            return [UInt8]("\(total)")
        })
    server.register(
        "Echo.chat",
        bidirectional: { requests, responses, _ in
            for try await request in requests { try await responses.send(request + [UInt8]("!")) }
        })
    server.register(
        "Echo.fail",
        unary: { request, _ in
            throw RPCStatus(code: .notFound, message: "no such key \(request.text)", details: [7])
        })
    server.register(
        "Echo.crash",
        unary: { _, _ in
            struct Oops: Error {}
            throw Oops()
        })
    server.register("Echo.big", unary: { request, _ in [UInt8](repeating: 1, count: Int(request.text) ?? 0) })
}

@Suite("RPC calls")
struct RPCCallTests {
    @Test("unary, server-streaming, client-streaming and bidirectional calls", arguments: TestTransport.allCases)
    func callPatterns(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerTestMethods) { client, _ in
            #expect(try await client.unary("Echo.say", [UInt8]("hello")).text == "hello")
            #expect(try await client.unary("Echo.say", []) == [])
            let counted = try await client.serverStreaming("Echo.count", [UInt8]("5")) { responses in
                var all: [String] = []
                for try await response in responses { all.append(response.text) }
                return all
            }
            #expect(counted == ["0", "1", "2", "3", "4"])
            let sum = try await client.clientStreaming("Echo.sum") { requests in
                for value in 1...10 { try await requests.send([UInt8]("\(value)")) }
            }
            #expect(sum.text == "55")
            let chat = try await client.bidirectional("Echo.chat") { requests, responses in
                var replies: [String] = []
                var iterator = responses.makeAsyncIterator()
                for word in ["a", "b", "c"] {
                    try await requests.send([UInt8](word))
                    replies.append(try await iterator.next()?.text ?? "?")
                }
                return replies
            }
            #expect(chat == ["a!", "b!", "c!"])
        }
    }

    @Test("errors are typed: unknown method, a service status, an unexpected error", arguments: TestTransport.allCases)
    func errors(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerTestMethods) { client, _ in
            await #expect(throws: RPCStatus(code: .unimplemented, message: "unknown method Nope.nothing")) {
                _ = try await client.unary("Nope.nothing", [])
            }
            await #expect(throws: RPCStatus(code: .notFound, message: "no such key k1", details: [7])) {
                _ = try await client.unary("Echo.fail", [UInt8]("k1"))
            }
            do {
                _ = try await client.unary("Echo.crash", [])
                Issue.record("a throwing handler must fail the call")
            } catch let status as RPCStatus {
                #expect(status.code == .unknown)
            }
            // The connection keeps serving after every failure.
            #expect(try await client.unary("Echo.say", [UInt8]("still here")).text == "still here")
        }
    }

    @Test("oversized requests and responses fail with resourceExhausted", arguments: TestTransport.allCases)
    func sizeLimits(transport: TestTransport) async throws {
        var clientConfiguration = RPCClient.Configuration()
        clientConfiguration.limits.maxMessageSize = 64 * 1024
        try await withRPC(transport, clientConfiguration: clientConfiguration, setup: registerTestMethods) {
            client, _ in
            do {
                _ = try await client.unary("Echo.say", [UInt8](repeating: 0, count: 64 * 1024 + 1))
                Issue.record("an oversized request must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .resourceExhausted)
            }
            do {
                _ = try await client.unary("Echo.big", [UInt8]("\(64 * 1024 + 1)"))
                Issue.record("an oversized response must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .resourceExhausted)
            }
            #expect(try await client.unary("Echo.big", [UInt8]("\(64 * 1024)")).count == 64 * 1024)
        }
    }
}
