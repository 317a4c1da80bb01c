import Foundation
import Logging
import RpcNet
import Synchronization

/// Calls per second through a ``ClusterClient``: a director and three workers in this process,
/// real QUIC on 127.0.0.1 with gossip on each node's port, 64 calls in flight, each strategy in
/// turn, beside the same load sent straight to one worker with a plain ``RPCClient``.
struct WorkerPoolBenchmarks {
    let certs: String
    let calls: Int

    private static let inFlight = 64

    func run() async throws {
        say(
            "cluster calls: a director and 3 workers in one process (QUIC on 127.0.0.1), \(Self.inFlight) unary calls in flight, 64 B"
        )
        let directorReactor = try Reactor.start(name: "bench-director")
        let workerReactor = try Reactor.start(name: "bench-workers")
        var configuration = QUICConfiguration.server(
            certificateChainFile: "\(certs)/server.pem", privateKeyFile: "\(certs)/server-key.pem")
        configuration.trustRoots = .file("\(certs)/ca.pem")
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

        let director = try await QUICEndpoint.listen(
            reactor: directorReactor, address: .loopback(), configuration: configuration, logger: quiet)
        let membership = try ClusterMembership(
            configuration: .init(name: "director"), transport: director.sideChannel(), logger: quiet)
        membership.start()
        let served = Mutex<[String: Int]>([:])
        var workers: [(QUICEndpoint, ClusterMembership, RPCServer, Task<Void, Never>)] = []
        for index in 1...3 {
            let name = "worker-\(index)"
            let endpoint = try await QUICEndpoint.listen(
                reactor: workerReactor, address: .loopback(), configuration: configuration, logger: quiet)
            let member = try ClusterMembership(
                configuration: .init(name: name, tags: ["role": "worker"]), transport: endpoint.sideChannel(),
                logger: quiet)
            try await member.join(seeds: [director.localAddress])
            let server = RPCServer(configuration: .init(), logger: quiet)
            server.register(
                "Bench.echo",
                unary: { request, _ in
                    served.withLock { $0[name, default: 0] += 1 }
                    return request
                })
            workers.append(
                (endpoint, member, server, Task(executorPreference: workerReactor) { await server.serve(endpoint) }))
        }
        let probe = WorkerRegistry(membership: membership)
        while probe.workers.count < 3 { try await Task.sleep(for: .milliseconds(10)) }

        let direct = RPCClient(dialer: director, address: workers[0].0.localAddress, serverName: "localhost")
        let baseline = try await measure { _ = try await direct.unary("Bench.echo", $0) }
        say(String(format: "  straight to one worker (RPCClient):       %8.0f calls/s", baseline))
        direct.close()
        for strategy in LoadBalancingStrategy.allCases {
            served.withLock { $0.removeAll() }
            let registry = WorkerRegistry(membership: membership, strategy: strategy, logger: quiet)
            var clientConfiguration = ClusterClient.Configuration()
            clientConfiguration.serverName = { _ in "localhost" }
            let client = ClusterClient(
                registry: registry, dialer: director, configuration: clientConfiguration, logger: quiet)
            let rate = try await measure { _ = try await client.unary("Bench.echo", $0) }
            let shares = served.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.value)" }.joined(
                separator: " / ")
            say(
                String(
                    format: "  ClusterClient, %@ %8.0f calls/s (%.2f of straight; per worker %@)",
                    "\(strategy):".padding(toLength: 27, withPad: " ", startingAt: 0), rate, rate / baseline, shares))
            client.close()
        }

        for (endpoint, member, server, serving) in workers {
            await member.leave()
            member.shutdown()
            await server.shutdown(gracePeriod: .milliseconds(200))
            endpoint.close()
            await serving.value
        }
        membership.shutdown()
        director.close()
        await directorReactor.shutdown()
        await workerReactor.shutdown()
    }

    /// Calls/s of `call` with ``inFlight`` callers, after a warm-up.
    private func measure(_ call: @escaping @Sendable ([UInt8]) async throws -> Void) async throws -> Double {
        let message = [UInt8](repeating: 7, count: 64)
        for _ in 0..<200 { try await call(message) }
        let perCaller = max(calls / Self.inFlight, 50)
        let clock = MonotonicClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.inFlight {
                group.addTask { for _ in 0..<perCaller { try await call(message) } }
            }
            try await group.waitForAll()
        }
        return Double(perCaller * Self.inFlight) / started.duration(to: clock.now).seconds
    }
}
