import Synchronization
import Testing

@testable import RpcNet

/// Records what interceptors and handlers did, in order.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])

    func record(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
}

/// A server interceptor that logs its entry and exit, with the status `next` ended with.
struct LoggingServerInterceptor: ServerInterceptor {
    let name: String
    let log: EventLog

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void) async throws {
        log.record("\(name)>")
        do {
            try await next(call)
            log.record("<\(name) ok")
        } catch {
            log.record("<\(name) \(error.code)")
            throw error
        }
    }
}

/// A client interceptor that logs its entry and exit.
struct LoggingClientInterceptor: ClientInterceptor {
    let name: String
    let log: EventLog

    func intercept<Response: Sendable>(
        _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws -> Response {
        log.record("\(name)>")
        do {
            let response = try await next(call)
            log.record("<\(name) ok")
            return response
        } catch {
            log.record("<\(name) \(error.code)")
            throw error
        }
    }
}

@Suite("Interceptors")
struct InterceptorTests {
    @Test("client and server interceptors run in order, first outermost, around the handler")
    func order() async throws {
        let log = EventLog()
        var server = RPCServer.Configuration()
        server.interceptors = [
            LoggingServerInterceptor(name: "s1", log: log), LoggingServerInterceptor(name: "s2", log: log),
        ]
        var client = RPCClient.Configuration()
        client.interceptors = [
            LoggingClientInterceptor(name: "c1", log: log), LoggingClientInterceptor(name: "c2", log: log),
        ]
        try await withRPC(.simulated, serverConfiguration: server, clientConfiguration: client) { server in
            server.register(
                "Echo.say",
                unary: { request, _ in
                    log.record("handler")
                    return request
                })
            server.register("Echo.fail", unary: { _, _ in throw RPCStatus(code: .notFound, message: "no such thing") })
        } _: { client, _ in
            let reply = try await client.unary("Echo.say", Array("hi"))
            #expect(reply == Array("hi"))
            #expect(log.all == ["c1>", "c2>", "s1>", "s2>", "handler", "<s2 ok", "<s1 ok", "<c2 ok", "<c1 ok"])
            await #expect(throws: RPCStatus(code: .notFound, message: "no such thing")) {
                _ = try await client.unary("Echo.fail", [])
            }
            #expect(
                log.all.suffix(8) == [
                    "c1>", "c2>", "s1>", "s2>", "<s2 notFound", "<s1 notFound", "<c2 notFound", "<c1 notFound",
                ])
        }
    }

    @Test("a server interceptor short-circuits with a status: the handler never runs, its trailing metadata arrives")
    func serverShortCircuit() async throws {
        struct RequireToken: ServerInterceptor {
            func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void)
                async throws
            {
                guard call.context.metadata["authorization"] == "Bearer s3cret" else {
                    call.context.trailingMetadata.add("www-authenticate", "Bearer")
                    throw RPCStatus(code: .unauthenticated, message: "missing or wrong token")
                }
                try await next(call)
            }
        }
        let ran = Atomic<Int>(0)
        var server = RPCServer.Configuration()
        server.interceptors = [RequireToken()]
        try await withRPC(.simulated, serverConfiguration: server) { server in
            server.register(
                "Echo.say",
                unary: { request, _ in
                    ran.add(1, ordering: .relaxed)
                    return request
                })
        } _: { client, _ in
            let trailers = Mutex<Metadata?>(nil)
            var options = CallOptions()
            options.observeStatus { _, metadata in trailers.withLock { $0 = metadata } }
            await #expect(throws: RPCStatus(code: .unauthenticated, message: "missing or wrong token")) {
                _ = try await client.unary("Echo.say", Array("hi"), options: options)
            }
            #expect(trailers.withLock { $0?["www-authenticate"] } == "Bearer")
            #expect(ran.load(ordering: .relaxed) == 0)
            options.metadata.add("authorization", "Bearer s3cret")
            let authorised = try await client.unary("Echo.say", Array("hi"), options: options)
            #expect(authorised == Array("hi"))
            #expect(ran.load(ordering: .relaxed) == 1)
        }
    }

    @Test("a client interceptor short-circuits: nothing is sent")
    func clientShortCircuit() async throws {
        struct Offline: ClientInterceptor {
            func intercept<Response: Sendable>(
                _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
            ) async throws -> Response {
                throw RPCStatus(code: .failedPrecondition, message: "offline mode: \(call.method) not sent")
            }
        }
        let ran = Atomic<Int>(0)
        var client = RPCClient.Configuration()
        client.interceptors = [Offline()]
        try await withRPC(.simulated, clientConfiguration: client) { server in
            server.register(
                "Echo.say",
                unary: { request, _ in
                    ran.add(1, ordering: .relaxed)
                    return request
                })
        } _: { client, _ in
            await #expect(throws: RPCStatus(code: .failedPrecondition, message: "offline mode: Echo.say not sent")) {
                _ = try await client.unary("Echo.say", Array("hi"))
            }
            #expect(ran.load(ordering: .relaxed) == 0)
        }
    }

    @Test(
        "metadata both ways: text and binary to the server, trailing metadata back to the caller",
        arguments: TestTransport.allCases)
    func metadataBothWays(transport: TestTransport) async throws {
        struct AddCredentials: ClientInterceptor {
            func intercept<Response: Sendable>(
                _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
            ) async throws -> Response {
                var call = call
                call.options.metadata.add("x-tenant", "blue")
                call.options.metadata.add("x-key-bin", binary: [0x00, 0xFF, 0x80, 0x0A])
                return try await next(call)
            }
        }
        struct Stamp: ServerInterceptor {
            func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void)
                async throws
            {
                var call = call
                call.context.metadata.add("x-authenticated-tenant", call.context.metadata["x-tenant"] ?? "none")
                try await next(call)
                call.context.trailingMetadata.add("x-served-by", "node-1")
                call.context.trailingMetadata.add("x-digest-bin", binary: [0xDE, 0xAD, 0x00])
            }
        }
        var server = RPCServer.Configuration()
        server.interceptors = [Stamp()]
        var client = RPCClient.Configuration()
        client.interceptors = [AddCredentials()]
        try await withRPC(transport, serverConfiguration: server, clientConfiguration: client) { server in
            server.register(
                "Meta.echo",
                unary: { _, context in
                    context.trailingMetadata.add("x-handler", "yes")
                    let key = context.metadata.binaryValue(forKey: "X-KEY-BIN") ?? []
                    return Array("\(context.metadata["x-authenticated-tenant"] ?? "-") \(key)")
                })
        } _: { client, _ in
            let trailers = Mutex<(RPCStatus, Metadata)?>(nil)
            var options = CallOptions()
            options.observeStatus { status, metadata in trailers.withLock { $0 = (status, metadata) } }
            let reply = try await client.unary("Meta.echo", [], options: options)
            #expect(reply.text == "blue [0, 255, 128, 10]")
            let (status, metadata) = try #require(trailers.withLock { $0 })
            #expect(status == .ok)
            #expect(metadata["x-handler"] == "yes")
            #expect(metadata["x-served-by"] == "node-1")
            #expect(metadata.binaryValue(forKey: "x-digest-bin") == [0xDE, 0xAD, 0x00])
        }
    }

    @Test("interceptors see every message both ways and the final status", arguments: TestTransport.allCases)
    func observeMessages(transport: TestTransport) async throws {
        final class Tally: Sendable {
            let counts = Mutex<[String: Int]>([:])
            func count(_ key: String, _ bytes: Int = 1) { counts.withLock { $0[key, default: 0] += bytes } }
            subscript(key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
        }
        struct CountingServer: ServerInterceptor {
            let tally: Tally
            func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void)
                async throws
            {
                var call = call
                call.requests = call.requests.observed { tally.count("server.request.bytes", $0.count) }
                call.responses = call.responses.observed { tally.count("server.response.bytes", $0.count) }
                do {
                    try await next(call)
                    tally.count("server.ok")
                } catch {
                    tally.count("server.\(error.code)")
                    throw error
                }
            }
        }
        struct CountingClient: ClientInterceptor {
            let tally: Tally
            func intercept<Response: Sendable>(
                _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
            ) async throws -> Response {
                var call = call
                call.options.observeRequests { tally.count("client.request.bytes", $0.count) }
                call.options.observeResponses { tally.count("client.response.bytes", $0.count) }
                call.options.observeStatus { status, _ in tally.count("client.\(status.code)") }
                tally.count("client.\(call.kind.rawValue)")
                return try await next(call)
            }
        }
        let tally = Tally()
        var server = RPCServer.Configuration()
        server.interceptors = [CountingServer(tally: tally)]
        var client = RPCClient.Configuration()
        client.interceptors = [CountingClient(tally: tally)]
        try await withRPC(transport, serverConfiguration: server, clientConfiguration: client) { server in
            server.register(
                "Chat.talk",
                bidirectional: { (requests: MessageStream, responses: MessageWriter, _) in
                    for try await request in requests { try await responses.send(request + request) }
                })
            server.register(
                "Chat.refuse",
                bidirectional: { (requests: MessageStream, responses: MessageWriter, _) in
                    for try await _ in requests {}
                    throw RPCStatus(code: .permissionDenied, message: "no")
                })
        } _: { client, _ in
            let received = try await client.bidirectional("Chat.talk") { requests, responses in
                for size in [1, 2, 3] { try await requests.send([UInt8](repeating: 7, count: size)) }
                try await requests.stream.finish()
                var total = 0
                for try await response in responses { total += response.count }
                return total
            }
            #expect(received == 12)
            #expect(tally["client.bidirectional"] == 1)
            #expect(tally["client.request.bytes"] == 6)
            #expect(tally["client.response.bytes"] == 12)
            #expect(tally["client.ok"] == 1)
            #expect(tally["server.request.bytes"] == 6)
            #expect(tally["server.response.bytes"] == 12)
            #expect(tally["server.ok"] == 1)
            await #expect(throws: RPCStatus(code: .permissionDenied, message: "no")) {
                try await client.clientStreaming("Chat.refuse") { requests in try await requests.send([1]) }
            }
            #expect(tally["client.clientStreaming"] == 1)
            #expect(tally["client.permissionDenied"] == 1)
            try await eventually { tally["server.permissionDenied"] == 1 }
        }
    }

    @Test(
        "a server interceptor learns a deadline that ended the call while the handler ran, whichever side saw it pass first"
    )
    func deadlineReachesInterceptor() async throws {
        let log = EventLog()
        var server = RPCServer.Configuration()
        server.interceptors = [LoggingServerInterceptor(name: "s", log: log)]
        try await withRPC(.simulated, serverConfiguration: server) { server in
            server.register(
                "Slow.sleep",
                unary: { _, context in
                    try await context.clock.sleep(until: context.clock.now.advanced(by: .seconds(5)), tolerance: nil)
                    return []
                })
        } _: { client, _ in
            await #expect(throws: RPCStatus.self) {
                _ = try await client.unary("Slow.sleep", [], options: CallOptions(timeout: .milliseconds(100)))
            }
            try await eventually { log.all.count == 2 }
            #expect(log.all == ["s>", "<s deadlineExceeded"])
        }
    }
}
