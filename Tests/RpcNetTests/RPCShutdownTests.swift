import Synchronization
import Testing

@testable import RpcNet

@Suite("RPC server shutdown")
struct RPCShutdownTests {
    @Test("graceful shutdown under load loses no call that was in flight, and refuses new ones")
    func gracefulShutdown() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 5)
        let listener = try network.listen(at: SocketAddress(ip: "10.0.0.1", port: 7000))
        let server = RPCServer(clock: clock)
        let started = Mutex(0)
        server.register(
            "Slow.echo",
            unary: { request, context in
                started.withLock { $0 += 1 }
                try await context.clock.sleep(until: context.clock.now.advanced(by: .milliseconds(300)), tolerance: nil)
                return request
            })
        let client = RPCClient(
            dialer: network.dialer(from: try SocketAddress(ip: "10.0.0.2", port: 0).host),
            address: listener.localAddress,
            clock: clock)
        try await clock.drive(step: .microseconds(200)) {
            let serving = Task { await server.serve(listener) }
            let calls = (0..<50).map { index in
                Task { try await client.unary("Slow.echo", [UInt8]("\(index)")) }
            }
            while started.withLock({ $0 }) < 50 {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(1)), tolerance: nil)
            }
            await server.shutdown(gracePeriod: .seconds(10))
            for (index, call) in calls.enumerated() {
                #expect(try await call.value == [UInt8]("\(index)"))
            }
            do {
                _ = try await client.unary("Slow.echo", [])
                Issue.record("a call after shutdown must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .unavailable)
            }
            await serving.value
        }
    }

    @Test("calls still running at the end of the grace period are cancelled")
    func gracePeriodEnds() async throws {
        let clock = VirtualClock()
        let network = SimulatedNetwork(clock: clock, seed: 6)
        let listener = try network.listen(at: SocketAddress(ip: "10.0.0.1", port: 7000))
        let server = RPCServer(clock: clock)
        let cancelled = Mutex(false)
        let started = Mutex(false)
        server.register(
            "Slow.forever",
            unary: { _, context in
                started.withLock { $0 = true }
                do {
                    try await context.clock.sleep(until: context.clock.now.advanced(by: .seconds(3600)), tolerance: nil)
                } catch {
                    cancelled.withLock { $0 = true }
                    throw error
                }
                return []
            })
        let client = RPCClient(
            dialer: network.dialer(from: try SocketAddress(ip: "10.0.0.2", port: 0).host),
            address: listener.localAddress,
            clock: clock)
        try await clock.drive(step: .milliseconds(1)) {
            let serving = Task { await server.serve(listener) }
            let call = Task { try await client.unary("Slow.forever", []) }
            while !started.withLock({ $0 }) {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(1)), tolerance: nil)
            }
            await server.shutdown(gracePeriod: .milliseconds(500))
            do {
                _ = try await call.value
                Issue.record("the call must fail when the grace period ends")
            } catch let status as RPCStatus {
                #expect(status.code == .unavailable || status.code == .cancelled)
            }
            for _ in 0..<1000 where !cancelled.withLock({ $0 }) {
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(10)), tolerance: nil)
            }
            #expect(cancelled.withLock { $0 })
            await serving.value
        }
    }
}
