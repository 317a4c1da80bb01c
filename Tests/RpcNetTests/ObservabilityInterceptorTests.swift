import InMemoryTracing
import MetricsTestKit
import Synchronization
import Testing
import Tracing

@testable import RpcNet

@Suite("Metrics and tracing interceptors")
struct ObservabilityInterceptorTests {
    private static let system = ("rpc.system.name", "rpcnet")

    @Test("server and client record OpenTelemetry RPC metrics per call, by method and status")
    func callMetrics() async throws {
        let metrics = TestMetrics()
        var server = RPCServer.Configuration()
        server.interceptors = [ServerMetricsInterceptor(naming: MetricsNaming(prefix: "app."), factory: metrics)]
        var client = RPCClient.Configuration()
        client.interceptors = [ClientMetricsInterceptor(factory: metrics)]
        try await withRPC(.simulated, serverConfiguration: server, clientConfiguration: client) { server in
            server.register(
                "Echo.say",
                unary: { request, context in
                    try await context.clock.sleep(
                        until: context.clock.now.advanced(by: .milliseconds(3)), tolerance: nil)
                    return request + request
                })
            server.register("Echo.fail", unary: { _, _ in throw RPCStatus(code: .notFound) })
            server.register(
                "Numbers.count",
                serverStreaming: { (request: [UInt8], responses: MessageWriter, _) in
                    for index in 0..<Int(request[0]) { try await responses.send([UInt8(index)]) }
                })
        } _: { client, _ in
            for _ in 0..<3 { _ = try await client.unary("Echo.say", Array("hello")) }
            await #expect(throws: RPCStatus.self) { _ = try await client.unary("Echo.fail", [1]) }
            let received = try await client.serverStreaming("Numbers.count", [4]) { responses in
                var count = 0
                for try await _ in responses { count += 1 }
                return count
            }
            #expect(received == 4)
        }
        let say = [Self.system, ("rpc.method", "Echo.say")]
        let sayOK = say + [("rpc.response.status_code", "OK")]
        let serverDurations = try metrics.expectTimer("app.rpc.server.call.duration", sayOK).values
        #expect(serverDurations.count == 3)
        #expect(serverDurations.allSatisfy { $0 >= 3_000_000 })
        #expect(try metrics.expectRecorder("app.rpc.server.request.size", say).values == [5, 5, 5])
        #expect(try metrics.expectRecorder("app.rpc.server.response.size", say).values == [10, 10, 10])
        #expect(try metrics.expectRecorder("app.rpc.server.requests_per_rpc", sayOK).values == [1, 1, 1])
        #expect(try metrics.expectRecorder("app.rpc.server.responses_per_rpc", sayOK).values == [1, 1, 1])
        let failed = [Self.system, ("rpc.method", "Echo.fail"), ("rpc.response.status_code", "NOT_FOUND")]
        #expect(try metrics.expectTimer("app.rpc.server.call.duration", failed).values.count == 1)
        #expect(try metrics.expectRecorder("app.rpc.server.responses_per_rpc", failed).values == [0])
        #expect(try metrics.expectTimer("rpc.client.call.duration", failed).values.count == 1)

        // The client's instruments carry no prefix: each interceptor has its own naming.
        let clientDurations = try metrics.expectTimer("rpc.client.call.duration", sayOK).values
        #expect(clientDurations.count == 3)
        #expect(clientDurations.allSatisfy { $0 >= 3_000_000 })
        #expect(try metrics.expectRecorder("rpc.client.request.size", say).values == [5, 5, 5])
        let streaming = [Self.system, ("rpc.method", "Numbers.count"), ("rpc.response.status_code", "OK")]
        #expect(try metrics.expectRecorder("rpc.client.requests_per_rpc", streaming).values == [1])
        #expect(try metrics.expectRecorder("rpc.client.responses_per_rpc", streaming).values == [4])
        #expect(try metrics.expectRecorder("app.rpc.server.responses_per_rpc", streaming).values == [4])
    }

    @Test("a span per call on both sides, the trace context carried across the hop", arguments: TestTransport.allCases)
    func traceAcrossCall(transport: TestTransport) async throws {
        let tracer = InMemoryTracer()
        var server = RPCServer.Configuration()
        server.interceptors = [ServerTracingInterceptor(tracer: tracer)]
        var client = RPCClient.Configuration()
        client.interceptors = [ClientTracingInterceptor(tracer: tracer)]
        let root = tracer.startSpan("request", context: .topLevel)
        let rootContext = try #require(root.context.inMemorySpanContext)
        let seenByHandler = Mutex<InMemorySpanContext?>(nil)
        try await withRPC(transport, serverConfiguration: server, clientConfiguration: client) { server in
            server.register(
                "Echo.say",
                unary: { request, _ in
                    seenByHandler.withLock { $0 = ServiceContext.current?.inMemorySpanContext }
                    return request
                })
            server.register("Echo.fail", unary: { _, _ in throw RPCStatus(code: .permissionDenied) })
        } _: { client, _ in
            try await ServiceContext.withValue(root.context) {
                _ = try await client.unary("Echo.say", Array("hi"))
                _ = try? await client.unary("Echo.fail", [])
            }
        }
        root.end()
        let spans = tracer.finishedSpans
        let clientSpan = try #require(spans.first { $0.operationName == "Echo.say" && $0.kind == .client })
        let serverSpan = try #require(spans.first { $0.operationName == "Echo.say" && $0.kind == .server })
        #expect(clientSpan.spanContext.traceID == rootContext.traceID)
        #expect(clientSpan.spanContext.parentSpanID == rootContext.spanID)
        #expect(serverSpan.spanContext.traceID == rootContext.traceID)
        #expect(serverSpan.spanContext.parentSpanID == clientSpan.spanContext.spanID)
        #expect(seenByHandler.withLock { $0 }?.spanID == serverSpan.spanContext.spanID)
        #expect(serverSpan.attributes["rpc.method"]?.toSpanAttribute() == "Echo.say")
        #expect(serverSpan.attributes["rpc.response.status_code"]?.toSpanAttribute() == "OK")
        let failed = try #require(spans.first { $0.operationName == "Echo.fail" && $0.kind == .server })
        #expect(failed.status?.code == .error)
        #expect(failed.attributes["rpc.response.status_code"]?.toSpanAttribute() == "PERMISSION_DENIED")
    }
}
