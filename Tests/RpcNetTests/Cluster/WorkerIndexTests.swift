import Testing
import Transports

@testable import RpcNet

/// The registry's index of workers against the member table it follows: at every step of each
/// scenario, the workers the registry lists and hands out are exactly those a fresh read of the
/// table finds (``ClusterMembership/answeringMembers(tags:)``).
@Suite("Worker registry index")
struct WorkerIndexTests {
    /// A director with a least-connections and a round-robin registry, and workers `w1` …
    /// `w<workers>` joining through it, plus `other`, a member that is no worker. The links
    /// between the director and hosts 3 and 9 take 100 ms each way, so a worker there answers
    /// the director's first probe 200 ms after the director learned of it: a first answer is a
    /// change of its own, not one that comes with the join.
    private static func cluster(workers: Int, seed: UInt64) throws -> (
        ClusterSimulation, [WorkerRegistry]
    ) {
        let cluster = ClusterSimulation(seed: seed)
        for host in [3, 9] {
            let slow = LinkConditions(latency: .milliseconds(100))
            cluster.network.setConditions(slow, from: ClusterSimulation.host(0), to: ClusterSimulation.host(host))
            cluster.network.setConditions(slow, from: ClusterSimulation.host(host), to: ClusterSimulation.host(0))
        }
        let director = try cluster.add("director", index: 0)
        let registries = [
            WorkerRegistry(membership: director, randomSeed: seed),
            WorkerRegistry(membership: director, strategy: .roundRobin, randomSeed: seed),
        ]
        for index in 1...workers {
            try cluster.add(
                "w\(index)", index: index, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        }
        try cluster.add("other", index: workers + 1, seeds: [ClusterSimulation.address(0)])
        return (cluster, registries)
    }

    /// Expects `registry` to list exactly the workers a read of the member table finds now,
    /// and when `selecting`, to hand out each once in as many selections as there are (neither
    /// strategy repeats one before it took them all while none is busy or reports calls).
    private static func expectFollows(
        _ registry: WorkerRegistry, _ moment: String, selecting: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let expected = registry.membership.answeringMembers(tags: registry.selector).map {
            Worker(member: $0, load: 0)
        }
        let listed = registry.workers.map { worker in
            var idle = worker
            idle.load = 0
            return idle
        }
        #expect(listed == expected, "\(moment): listed \(listed.map(\.name))", sourceLocation: sourceLocation)
        guard selecting else { return }
        let leases = expected.map { _ in try? registry.select() }
        #expect(
            leases.compactMap { $0?.worker.name }.sorted() == expected.map(\.name),
            "\(moment): handed out \(leases.map { $0?.worker.name ?? "none" })", sourceLocation: sourceLocation)
        for lease in leases { lease?.release() }
    }

    private static func names(_ registry: WorkerRegistry) -> [String] {
        registry.workers.map(\.name)
    }

    @Test("the index follows joins, tag changes, suspicion, failure, leave and rejoin, step by step")
    func followsEveryChange() async throws {
        let (cluster, registries) = try Self.cluster(workers: 4, seed: 31)
        defer { cluster.shutdown() }
        let director = registries[0].membership
        /// Runs until `condition`, checking every registry against the table at each step.
        func run(_ moment: String, step: Duration = .milliseconds(20), until condition: () -> Bool) -> Bool {
            let took = cluster.run(
                until: {
                    for registry in registries { Self.expectFollows(registry, moment) }
                    return condition()
                }, step: step, limit: .seconds(30))
            return took != nil
        }

        // Joins: each worker is listed once it answered a probe of the director, not before
        // (w3, behind its slow link, 200 ms after the director learned of it).
        #expect(run("joining") { director.member(named: "w3") != nil })
        #expect(!Self.names(registries[0]).contains("w3"))
        #expect(run("joining") { Self.names(registries[0]) == ["w1", "w2", "w3", "w4"] })

        // A tag added, then the selector's tag removed and restored.
        try cluster.members["w2"]!.setTag("gpu", to: "true")
        #expect(run("gpu tag") { (try? registries[0].select(matching: ["gpu": "true"]))?.worker.name == "w2" })
        try cluster.members["w3"]!.removeTag("role")
        #expect(run("role removed") { !Self.names(registries[0]).contains("w3") })
        try cluster.members["w3"]!.setTag("role", to: "worker")
        #expect(run("role restored") { Self.names(registries[0]).contains("w3") })

        // Suspicion, then failure: never handed out from the moment the director suspects it.
        cluster.network.freeze(ClusterSimulation.host(1))
        #expect(run("w1 frozen", step: .milliseconds(5)) { director.member(named: "w1")?.status == .suspect })
        for registry in registries {
            for _ in 0..<8 { #expect(try registry.select().worker.name != "w1") }
        }
        #expect(run("w1 suspect") { director.member(named: "w1")?.status == .failed })

        // A graceful leave.
        let leaving = try #require(cluster.members["w4"])
        let leave = Task { await leaving.leave() }
        await cluster.clock.waitForSleepers(atLeast: 1)
        #expect(run("w4 leaving", step: .milliseconds(5)) { director.member(named: "w4")?.status == .left })
        #expect(!Self.names(registries[0]).contains("w4"))
        let left = cluster.clock.now
        // The leaver's own wait for the news to spread.
        #expect(run("w4 left") { left.duration(to: cluster.clock.now) >= .seconds(1) })
        await leave.value

        // Rejoins: w1 at its address after a restart, w4 at another address (it must answer
        // there before it is a worker again).
        cluster.kill("w1")
        cluster.network.unfreeze(ClusterSimulation.host(1))
        try cluster.add("w1", index: 1, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        cluster.kill("w4")
        try cluster.add("w4", index: 9, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        #expect(run("rejoining") { Self.names(registries[0]) == ["w1", "w2", "w3", "w4"] })
        #expect(registries[0].workers.first { $0.name == "w4" }?.address == ClusterSimulation.address(9))
        #expect(registries[1].workers.map(\.name) == ["w1", "w2", "w3", "w4"])
    }

    @Test("a lease held across a change keeps counting: the index takes the load with the worker's new view")
    func loadSurvivesChanges() throws {
        let (cluster, registries) = try Self.cluster(workers: 3, seed: 32)
        defer { cluster.shutdown() }
        let registry = registries[0]
        cluster.run(until: { Self.names(registry) == ["w1", "w2", "w3"] }, limit: .seconds(30))
        // Two workers busy through this registry, the third reporting 2 calls of its own.
        let held = [try registry.select(), try registry.select()]
        let busy = Set(held.map(\.worker.name))
        #expect(busy.count == 2)
        let reporting = try #require(["w1", "w2", "w3"].first { !busy.contains($0) })
        try cluster.members[reporting]!.setTag(Worker.loadTag, to: "2")
        cluster.run(for: .seconds(1))
        // The change of the third's tags left the busy ones' counts as they were.
        let next = try registry.select()
        #expect(busy.contains(next.worker.name))
        #expect(next.worker.load == 2)
        next.release()
        // Nor does a change of a busy one's own tags.
        try cluster.members[busy.sorted()[0]]!.setTag("zone", to: "eu")
        cluster.run(for: .seconds(1))
        #expect(registry.workers.first { $0.name == busy.sorted()[0] }?.tags["zone"] == "eu")
        #expect(registry.workers.map(\.load) == ["w1", "w2", "w3"].map { busy.contains($0) ? 1 : 0 })
        #expect(registry.workers.map(\.effectiveLoad) == ["w1", "w2", "w3"].map { busy.contains($0) ? 1 : 2 })
        for lease in held { lease.release() }
        #expect(registry.workers.map(\.effectiveLoad) == ["w1", "w2", "w3"].map { busy.contains($0) ? 0 : 2 })
        Self.expectFollows(registry, "released", selecting: false)
    }

    @Test("a registry further behind than the changes the membership keeps reads the whole table again")
    func fallsBehindTheChangeLog() throws {
        let (cluster, registries) = try Self.cluster(workers: 2, seed: 33)
        defer { cluster.shutdown() }
        let director = registries[0].membership
        cluster.run(until: { Self.names(registries[0]) == ["w1", "w2"] }, limit: .seconds(30))
        let behind = director.workersRevision
        for round in 0..<(SWIMInstance.workerChangeLimit + 8) {
            try cluster.members["w1"]!.setTag("round", to: "\(round)")
            cluster.run(for: .milliseconds(10))
        }
        try cluster.members["w2"]!.removeTag("role")
        cluster.run(for: .seconds(1))
        #expect(director.answeringMemberChanges(since: behind, tags: [:]) == nil)
        #expect(registries[0].workers.map(\.name) == ["w1"])
        #expect(registries[0].workers.first?.tags["round"] == "\(SWIMInstance.workerChangeLimit + 7)")
        for registry in registries { Self.expectFollows(registry, "after the log") }
    }

    @Test("the change log of the state machine: each change once, nil beyond what it keeps")
    func changeLog() {
        var instance = SWIMInstance(
            name: "m", address: ClusterSimulation.address(0), tags: [:], settings: SWIMSettings(),
            bodyBudget: 1200, seed: 1, now: .zero)
        #expect(instance.workerChanges(since: 0) == [])
        instance.noteWorkerChange("a")
        instance.noteWorkerChange("b")
        instance.noteWorkerChange("a")
        #expect(instance.workerRevision == 3)
        #expect(instance.workerChanges(since: 0) == ["a", "b"])
        #expect(instance.workerChanges(since: 2) == ["a"])
        #expect(instance.workerChanges(since: 3) == [])
        #expect(instance.workerChanges(since: 4) == nil)
        for _ in 0..<SWIMInstance.workerChangeLimit { instance.noteWorkerChange("c") }
        #expect(instance.workerChanges(since: 2) == nil)
        #expect(instance.workerChanges(since: 3) == ["c"])
    }
}
