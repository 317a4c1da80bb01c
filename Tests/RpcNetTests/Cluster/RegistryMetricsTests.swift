import MetricsTestKit
import Testing
import Transports

@testable import RpcNet

@Suite("Worker registry metrics")
struct RegistryMetricsTests {
    @Test("selections are counted by outcome and each worker's calls in flight follow its leases")
    func selectionsAndLoad() throws {
        let metrics = TestMetrics()
        let cluster = ClusterSimulation(seed: 41)
        defer { cluster.shutdown() }
        let director = try cluster.add("director", index: 0)
        for index in 1...2 {
            try cluster.add("w\(index)", index: index, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        }
        cluster.run(for: .seconds(3))
        let registry = WorkerRegistry(membership: director, strategy: .roundRobin, metricsFactory: metrics)
        let leases = try (0..<3).map { _ in try registry.select() }
        #expect(leases.map(\.worker.name) == ["w1", "w2", "w1"])
        #expect(throws: ClusterClientError.noWorkerAvailable(filter: ["gpu": "true"])) {
            try registry.select(matching: ["gpu": "true"])
        }

        func selections(_ outcome: String) throws -> Int64 {
            try metrics.expectCounter(
                "rpcnet.registry.selections", [("member", "director"), ("outcome", outcome)]
            ).totalValue
        }
        func inFlight(_ worker: String) throws -> Double? {
            try metrics.expectGauge("rpcnet.registry.in_flight", [("member", "director"), ("worker", worker)])
                .lastValue
        }
        #expect(try selections("selected") == 3)
        #expect(try selections("noWorkerAvailable") == 1)
        #expect(try inFlight("w1") == 2)
        #expect(try inFlight("w2") == 1)
        for lease in leases { lease.release() }
        #expect(try inFlight("w1") == 0)
        #expect(try inFlight("w2") == 0)
    }

    @Test("a call through the cluster client with no worker counts as no-worker-available")
    func clusterClientWithoutWorkers() async throws {
        let metrics = TestMetrics()
        let cluster = ClusterSimulation(seed: 42)
        defer { cluster.shutdown() }
        let director = try cluster.add("director", index: 0)
        let registry = WorkerRegistry(membership: director, metricsFactory: metrics)
        let client = ClusterClient(
            registry: registry, dialer: cluster.network.dialer(from: ClusterSimulation.host(0)), clock: cluster.clock,
            logger: ClusterSimulation.quiet)
        await #expect(throws: ClusterClientError.noWorkerAvailable(filter: [:])) {
            _ = try await client.unary("Work.who", [])
        }
        #expect(
            metrics.counterTotal(label: "rpcnet.registry.selections", dimensions: [("outcome", "noWorkerAvailable")])
                == 1)
        #expect(metrics.counterTotal(label: "rpcnet.registry.selections", dimensions: [("outcome", "selected")]) == 0)
    }

    @Test("the naming's prefix is put in front of the registry's and the membership's instruments")
    func prefix() throws {
        let metrics = TestMetrics()
        let naming = MetricsNaming(prefix: "edge_")
        let cluster = ClusterSimulation(seed: 43)
        cluster.metricsFactory = metrics
        cluster.metricsNaming = naming
        defer { cluster.shutdown() }
        let director = try cluster.add("director", index: 0)
        try cluster.add("w1", index: 1, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        cluster.run(for: .seconds(3))
        let registry = WorkerRegistry(membership: director, metricsNaming: naming, metricsFactory: metrics)
        try registry.select().release()
        let labels = metrics.counters.map(\.label) + metrics.recorders.map(\.label) + metrics.timers.map(\.label)
        #expect(labels.allSatisfy { $0.hasPrefix("edge_rpcnet.") }, "\(labels)")
        #expect(
            try metrics.expectGauge("edge_rpcnet.registry.in_flight", [("member", "director"), ("worker", "w1")])
                .values == [1, 0])
    }
}
