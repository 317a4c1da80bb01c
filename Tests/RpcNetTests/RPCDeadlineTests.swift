import Synchronization
import Testing

@testable import RpcNet

/// Records what a handler observed, for assertions from the test.
private final class Observations: Sendable {
    let remaining = Mutex<[Duration]>([])
    let cancelled = Mutex(0)
    let started = Mutex(0)
}

private func register(_ server: RPCServer, _ observations: Observations) {
    server.register(
        "Slow.remaining",
        unary: { _, context in
            observations.remaining.withLock { $0.append(context.remainingTime ?? .zero) }
            return []
        })
    server.register(
        "Slow.sleep",
        unary: { request, context in
            observations.started.withLock { $0 += 1 }
            do {
                try await context.clock.sleep(
                    until: context.clock.now.advanced(by: .milliseconds(Int64(request.text) ?? 0)), tolerance: nil)
            } catch {
                observations.cancelled.withLock { $0 += 1 }
                throw error
            }
            return [UInt8]("done")
        })
    server.register(
        "Slow.abort",
        unary: { _, _ in
            throw RPCStatus(code: .aborted, message: "conflict")
        })
}

@Suite("RPC deadlines and cancellation")
struct RPCDeadlineTests {
    // Deadlines are timing: they run on the simulated network with a virtual clock, so a busy
    // machine cannot make them flaky (the same code paths serve QUIC).

    @Test("the server sees the time the caller gave the call")
    func remainingTime() async throws {
        let observations = Observations()
        try await withRPC(.simulated, setup: { register($0, observations) }) { client, _ in
            _ = try await client.unary("Slow.remaining", [], options: CallOptions(timeout: .seconds(3600)))
            _ = try await client.unary("Slow.remaining", [])
        }
        let seen = observations.remaining.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen[0] > .seconds(3540) && seen[0] <= .seconds(3600))
        #expect(seen[1] == .zero)  // no deadline: no remaining time reported
    }

    @Test("a call past its deadline fails with deadlineExceeded and the handler is cancelled")
    func deadlineExceeded() async throws {
        let observations = Observations()
        try await withRPC(.simulated, setup: { register($0, observations) }) { client, clock in
            // The handler would sleep ten minutes; the 200 ms deadline must end the call long before.
            let started = clock.now
            do {
                _ = try await client.unary(
                    "Slow.sleep", [UInt8]("600000"), options: CallOptions(timeout: .milliseconds(200)))
                Issue.record("the call must miss its deadline")
            } catch let status as RPCStatus {
                #expect(status.code == .deadlineExceeded)
            }
            #expect(started.duration(to: clock.now) < .seconds(60))
            // The server's handler was cancelled, not left running.
            for _ in 0..<1000 where observations.cancelled.withLock({ $0 }) < 1 {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(10)), tolerance: nil)
            }
            #expect(observations.cancelled.withLock { $0 } == 1)
            #expect(
                try await client.unary("Slow.sleep", [UInt8]("1"), options: CallOptions(timeout: .seconds(600))).text
                    == "done")
        }
    }

    @Test("cancelling the caller's task cancels the server's handler", arguments: TestTransport.allCases)
    func cancellation(transport: TestTransport) async throws {
        let observations = Observations()
        try await withRPC(transport, setup: { register($0, observations) }) { client, clock in
            let call = Task { try await client.unary("Slow.sleep", [UInt8]("600000")) }
            while observations.started.withLock({ $0 }) == 0 {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(1)), tolerance: nil)
            }
            call.cancel()
            do {
                _ = try await call.value
                Issue.record("a cancelled call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .cancelled)
            }
            for _ in 0..<1000 where observations.cancelled.withLock({ $0 }) == 0 {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(10)), tolerance: nil)
            }
            #expect(observations.cancelled.withLock { $0 } == 1)
        }
    }

    @Test("many concurrent unary calls share one connection", arguments: TestTransport.allCases)
    func concurrentCalls(transport: TestTransport) async throws {
        let calls = transport == .quic ? 10_000 : 1_000
        try await withRPC(transport, setup: { $0.register("Echo.say", unary: { request, _ in request }) }) {
            client, _ in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<calls {
                    group.addTask {
                        let request = [UInt8]("call \(index)")
                        return try await client.unary("Echo.say", request) == request
                    }
                }
                var correct = 0
                for try await ok in group where ok { correct += 1 }
                #expect(correct == calls)
            }
        }
    }
}
