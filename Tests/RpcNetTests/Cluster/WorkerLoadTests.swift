import Synchronization
import Testing
import Transports

@testable import RpcNet

@Suite("Workers' published load")
struct WorkerLoadTests {
    @Test("a worker's published load is published on change at most once an interval, and seen by the director")
    func reporterPublishes() throws {
        let workers = try SimulatedWorkers(workers: 2)
        defer { workers.cluster.shutdown() }
        let inFlight = Atomic<Int>(0)
        let member = try #require(workers.cluster.members["w1"])
        let reporter = WorkerLoadReporter(
            membership: member, interval: .milliseconds(250), clock: workers.cluster.clock
        ) { inFlight.load(ordering: .relaxed) }
        reporter.start()
        defer { reporter.stop() }
        #expect(member.tags[Worker.loadTag] == "0")
        let incarnation = try #require(member.member(named: "w1")).incarnation
        // Forty changes within one interval make one update, not forty.
        for count in 1...40 {
            inFlight.store(count, ordering: .relaxed)
            workers.cluster.run(for: .milliseconds(5))
        }
        workers.cluster.run(for: .milliseconds(300))
        #expect(member.tags[Worker.loadTag] == "40")
        #expect(try #require(member.member(named: "w1")).incarnation <= incarnation + 2)
        // Unchanged: nothing more is published.
        let settled = try #require(member.member(named: "w1")).incarnation
        workers.cluster.run(for: .seconds(5))
        #expect(try #require(member.member(named: "w1")).incarnation == settled)
        let seen = workers.cluster.run(
            until: { workers.registry.workers.first { $0.name == "w1" }?.reportedLoad == 40 }, limit: .seconds(2))
        #expect(seen != nil)
    }

    @Test("LeastConnections ranks by the larger of the registry's leases and the worker's published load")
    func leastConnectionsUsesPublishedLoad() throws {
        let workers = try SimulatedWorkers(workers: 3)
        defer { workers.cluster.shutdown() }
        // A director that restarted holds no lease, but w1 and w2 say they are busy.
        try workers.cluster.members["w1"]!.setTag(Worker.loadTag, to: "7")
        try workers.cluster.members["w2"]!.setTag(Worker.loadTag, to: "3")
        workers.cluster.run(for: .seconds(1))
        let leases = try (0..<3).map { _ in try workers.registry.select() }
        #expect(leases.map(\.worker.name) == ["w3", "w3", "w3"])
        // w3 now has 3 leases, as many as w2 says it runs: the next ones never go to w1.
        let next = try (0..<4).map { _ in try workers.registry.select() }
        #expect(!next.contains { $0.worker.name == "w1" })
        #expect(Set(next.map(\.worker.name)) == ["w2", "w3"])
        #expect(workers.registry.workers.map(\.effectiveLoad).first == 7)
        // Leases count while held (a lease's deinit releases it).
        withExtendedLifetime((leases, next)) {}
    }
}
