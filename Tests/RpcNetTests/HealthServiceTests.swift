import Synchronization
import Testing

@testable import RpcNet

@Suite("Health service")
struct HealthServiceTests {
    @Test("the byte examples of PROTOCOL.md §9.1 are what the health messages encode to")
    func documentedMessages() throws {
        let documented = try ProtocolDocument.hexBlocks(from: "### 9.1 Health", to: "\n## ")
        try #require(documented.count == 2)
        let codec = BinaryCodec()
        #expect(try codec.encode(HealthService.Request(service: "Inference")) == documented[0])
        #expect(try codec.encode(HealthService.Response(status: .serving)) == documented[1])
        #expect(HealthService.check.codec is BinaryCodec)
    }

    @Test("check answers per service; unknown services are not found")
    func check() async throws {
        let health = HealthService()
        try await withRPC(.simulated) { server in
            health.register(on: server)
        } _: { client, _ in
            let wholeServer = try await client.unary(HealthService.check, .init()).status
            #expect(wholeServer == .serving)
            health.setStatus(.notServing, for: "Inference")
            let inference = try await client.unary(HealthService.check, .init(service: "Inference")).status
            #expect(inference == .notServing)
            await #expect(throws: RPCStatus.self) {
                _ = try await client.unary(HealthService.check, .init(service: "Nope"))
            }
        }
    }

    @Test("a drain turns every status to not serving: watchers see it, checks answer it until the connection closes")
    func flipsDuringDrain() async throws {
        let health = HealthService()
        let serverBox = Mutex<RPCServer?>(nil)
        let slowStarted = Atomic<Bool>(false)
        try await withRPC(.simulated) { server in
            health.register(on: server)
            health.setStatus(.serving, for: "Inference")
            server.register(
                "Slow.work",
                unary: { request, context in
                    slowStarted.store(true, ordering: .relaxed)
                    try await context.clock.sleep(until: context.clock.now.advanced(by: .seconds(2)), tolerance: nil)
                    return request
                })
            serverBox.withLock { $0 = server }
        } _: { client, clock in
            let server = try #require(serverBox.withLock { $0 })
            let seen = Mutex<[HealthService.Status]>([])
            let watching = Task {
                try await client.serverStreaming(HealthService.watch, .init(service: "Inference")) { responses in
                    for try await response in responses { seen.withLock { $0.append(response.status) } }
                }
            }
            try await eventually { seen.withLock { $0 } == [.serving] }
            // A call in flight keeps the connection open through the drain.
            let slow = Task { try await client.unary("Slow.work", [7]) }
            try await eventually { slowStarted.load(ordering: .relaxed) }
            let drain = Task { await server.shutdown(gracePeriod: .seconds(30)) }
            try await eventually { seen.withLock { $0 } == [.serving, .notServing] }
            let duringDrain = try await client.unary(HealthService.check, .init()).status
            #expect(duringDrain == .notServing)
            // Application calls are refused meanwhile.
            await #expect(throws: RPCStatus(code: .unavailable, message: RPCServer.drainMessage)) {
                _ = try await client.unary("Slow.work", [8])
            }
            let drainStarted = clock.now
            let slowReply = try await slow.value
            #expect(slowReply == [7])
            await drain.value
            // The open watch did not hold the drain up: it ended when the slow call did.
            #expect(drainStarted.duration(to: clock.now) < .seconds(5))
            await #expect(throws: RPCStatus.self) { try await watching.value }
        }
    }
}
