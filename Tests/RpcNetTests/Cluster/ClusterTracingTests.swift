import InMemoryTracing
import Testing
import Tracing

@testable import RpcNet

@Suite("Tracing across a cluster client")
struct ClusterTracingTests {
    @Test("an idempotent call retried on another worker stays in the caller's trace: one client span per attempt")
    func traceAcrossRetry() async throws {
        let tracer = InMemoryTracer()
        var server = RPCServer.Configuration()
        server.interceptors = [ServerTracingInterceptor(tracer: tracer)]
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin, serverConfiguration: server) {
            $0.rpc.interceptors = [ClientTracingInterceptor(tracer: tracer)]
        }
        workers.setFailing("w1", true)
        // Round robin sends at least one of two calls to the failing worker first.
        let roots = [tracer.startSpan("first", context: .topLevel), tracer.startSpan("second", context: .topLevel)]
        try await workers.run {
            for root in roots {
                let reply = try await ServiceContext.withValue(root.context) {
                    try await workers.client.unary("Work.who", [], options: CallOptions(idempotent: true))
                }
                #expect(reply == Array("w2".utf8))
            }
        }
        for root in roots { root.end() }
        let spans = tracer.finishedSpans
        let rootIDs = roots.compactMap { $0.context.inMemorySpanContext }
        let attempts = rootIDs.map { root in
            spans.filter { $0.kind == .client && $0.traceID == root.traceID && $0.parentSpanID == root.spanID }
        }
        #expect(attempts.allSatisfy { (1...2).contains($0.count) })
        let retried = try #require(attempts.first { $0.count == 2 })
        // Each attempt's server span continues that attempt's client span.
        let serverSpans = retried.map { attempt in
            spans.first { $0.kind == .server && $0.parentSpanID == attempt.spanID }
        }
        #expect(serverSpans.allSatisfy { $0?.traceID == retried[0].traceID })
        let codes = serverSpans.compactMap { $0?.attributes["rpc.response.status_code"]?.toSpanAttribute() }
        #expect(codes.count == 2 && codes.contains("UNAVAILABLE") && codes.contains("OK"))
    }
}
