import Foundation
import Synchronization
import Transports

@testable import RpcNet

/// A director and workers on the simulated network and the virtual clock: each worker is a
/// cluster member tagged `role=worker` and an RPC server at the same address, serving
///
/// - `Work.who` (unary): the worker's name; fails `unavailable` while the worker is set to fail;
/// - `Tokens.stream` (server streaming): request "n/last", answers "name:k" for k = n+1 … last,
///   one every 10 ms; fails `unavailable` while the worker is set to fail;
/// - `Work.hold` (server streaming): sends the worker's name, then waits for ``openGate()``;
/// - the typed ``Generator`` service.
///
/// The director is a plain member with a ``WorkerRegistry`` and a ``ClusterClient``.
final class SimulatedWorkers: @unchecked Sendable {
    let cluster: ClusterSimulation
    let registry: WorkerRegistry
    let client: ClusterClient
    private var servers: [String: (server: RPCServer, listener: SimulatedListener, serving: Task<Void, Never>)] = [:]
    private let failing = Mutex<Set<String>>([])
    private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    static let directorIndex = 0

    /// Each worker's server settings.
    private let serverConfiguration: RPCServer.Configuration

    init(
        workers: Int, strategy: LoadBalancingStrategy = .leastConnections, seed: UInt64 = 1,
        serverConfiguration: RPCServer.Configuration = .init(),
        configure: (inout ClusterClient.Configuration) -> Void = { _ in }
    ) throws {
        self.serverConfiguration = serverConfiguration
        cluster = ClusterSimulation(seed: seed)
        let director = try cluster.add("director", index: Self.directorIndex)
        registry = WorkerRegistry(membership: director, strategy: strategy, randomSeed: seed)
        var configuration = ClusterClient.Configuration()
        configuration.connectTimeout = .milliseconds(500)
        configure(&configuration)
        client = ClusterClient(
            registry: registry, dialer: cluster.network.dialer(from: ClusterSimulation.host(Self.directorIndex)),
            configuration: configuration, clock: cluster.clock, logger: ClusterSimulation.quiet)
        for index in 0..<workers { try startWorker(index: index + 1) }
        cluster.run(for: .seconds(3))
    }

    /// Stops whatever ``run(limit:_:)`` did not: tests that only step ``cluster`` leave each
    /// worker's serving task waiting on its listener, which holds the server and the listener
    /// (and through them the simulation) alive for the rest of the process.
    deinit {
        shutdown()
    }

    static func name(_ index: Int) -> String { "w\(index)" }

    /// Starts worker `index`: its member (joining through the director) and its RPC server.
    func startWorker(index: Int, tags: [String: String] = [:], keys: [ClusterKey] = [], serving: Bool = true) throws {
        let name = Self.name(index)
        try cluster.add(
            name, index: index, seeds: [ClusterSimulation.address(Self.directorIndex)],
            tags: ["role": "worker", "label": name].merging(tags) { $1 }, keys: keys)
        guard serving else { return }
        let listener = try cluster.network.listen(at: ClusterSimulation.address(index))
        let server = RPCServer(
            configuration: serverConfiguration, clock: cluster.clock, logger: ClusterSimulation.quiet)
        register(on: server, as: name)
        servers[name] = (server, listener, Task { await server.serve(listener) })
    }

    /// Kills worker `index` outright: its host stops answering anything, like `kill -9`.
    func killWorker(index: Int) {
        cluster.network.freeze(ClusterSimulation.host(index))
    }

    /// Makes worker `name` fail its token streams with `unavailable` (or recover).
    func setFailing(_ name: String, _ isFailing: Bool) {
        failing.withLock { if isFailing { $0.insert(name) } else { $0.remove(name) } }
    }

    private func isFailing(_ name: String) -> Bool {
        failing.withLock { $0.contains(name) }
    }

    private func passGate() async {
        await withCheckedContinuation { continuation in
            let open = gate.withLock { gate in
                if !gate.open { gate.waiters.append(continuation) }
                return gate.open
            }
            if open { continuation.resume() }
        }
    }

    /// Lets every `Work.hold` call finish.
    func openGate() {
        let waiters = gate.withLock { gate in
            gate.open = true
            defer { gate.waiters.removeAll() }
            return gate.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs `body` with the virtual clock moving, then stops the servers and the cluster.
    func run<T: Sendable>(limit: Duration = .seconds(120), _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        defer { shutdown() }
        return try await cluster.clock.drive(step: .milliseconds(1), limit: limit, body)
    }

    private func shutdown() {
        client.close()
        for (_, server) in servers {
            server.listener.close()
            server.serving.cancel()
        }
        cluster.shutdown()
        settle(cluster.clock)
    }

    private func register(on server: RPCServer, as name: String) {
        let clock = cluster.clock
        SimulatedGenerator(name: name, clock: clock) { [weak self] in self?.isFailing(name) ?? true }
            .register(on: server)
        server.register(
            "Work.who",
            unary: { [weak self] _, _ in
                if self?.isFailing(name) ?? true { throw RPCStatus(code: .unavailable, message: "\(name) is failing") }
                return Array(name.utf8)
            })
        server.register(
            "Tokens.stream",
            serverStreaming: { [weak self] request, responses, _ in
                let bounds = String(decoding: request, as: UTF8.self).split(separator: "/").compactMap { Int($0) }
                guard bounds.count == 2, bounds[0] < bounds[1] else { return }
                for sequence in (bounds[0] + 1)...bounds[1] {
                    try await clock.sleep(for: .milliseconds(10))
                    if self?.isFailing(name) ?? true {
                        throw RPCStatus(code: .unavailable, message: "\(name) is failing")
                    }
                    try await responses.send(Array("\(name):\(sequence)".utf8))
                }
            })
        server.register(
            "Work.hold",
            serverStreaming: { [weak self] _, responses, _ in
                try await responses.send(Array(name.utf8))
                await self?.passGate()
            })
    }
}

/// A value shared between a test and the tasks it starts.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T {
        value.withLock { body(&$0) }
    }

    var current: Value { value.withLock { $0 } }
}
