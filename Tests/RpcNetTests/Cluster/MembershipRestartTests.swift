import Synchronization
import Testing

@testable import RpcNet

@Suite("Membership across restarts, name conflicts and slow joins")
struct MembershipRestartTests {
    /// A seed and four members joined through it, converged.
    private func cluster(seed: UInt64) throws -> ClusterSimulation {
        let cluster = ClusterSimulation(seed: seed)
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
        #expect(
            cluster.run(until: { cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3", "m4"]) }, limit: .seconds(10))
                != nil)
        return cluster
    }

    @Test("a seed that left and came back is found again by everyone, within 3 s of its return")
    func seedLeavesAndReturns() async throws {
        let cluster = try cluster(seed: 21)
        defer { cluster.shutdown() }
        let seed = try #require(cluster.members["m0"])
        let leave = Task { await seed.leave() }
        await cluster.clock.waitForSleepers(atLeast: 1)
        #expect(cluster.run(until: { cluster.everyoneSees("m0", as: .left) }, limit: .seconds(5)) != nil)
        cluster.run(for: .seconds(1))
        await leave.value
        cluster.kill("m0")
        // Minutes later: nobody contacts a member that left, so only re-joining brings it back.
        cluster.run(for: .seconds(60))
        try cluster.add("m0", index: 0)
        let everyone: Set<String> = ["m0", "m1", "m2", "m3", "m4"]
        let back = cluster.run(until: { cluster.everyoneSees(alive: everyone) }, limit: .seconds(10))
        #expect(back.map { $0 <= .seconds(3) } ?? false, "reassembled after \(String(describing: back))")
        for name in ["m1", "m2", "m3", "m4"] {
            #expect(
                cluster.events[name, default: []].contains {
                    if case .nodeJoined(let m) = $0 { m.name == "m0" } else { false }
                })
        }
    }

    @Test("a seed that crashed and came back is found again by everyone, within 3 s of its return")
    func seedCrashesAndReturns() throws {
        let cluster = try cluster(seed: 22)
        defer { cluster.shutdown() }
        cluster.kill("m0")
        #expect(cluster.run(until: { cluster.everyoneSees("m0", as: .failed) }, limit: .seconds(10)) != nil)
        cluster.run(for: .seconds(60))
        try cluster.add("m0", index: 0)
        let back = cluster.run(
            until: { cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3", "m4"]) }, limit: .seconds(10))
        #expect(back.map { $0 <= .seconds(3) } ?? false, "reassembled after \(String(describing: back))")
    }

    @Test("a join under a live member's name from another address is refused; the member keeps its name and place")
    func nameConflict() async throws {
        let cluster = try cluster(seed: 23)
        defer { cluster.shutdown() }
        let endpoint = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(9), maxDatagramSize: 1400)
        let impostor = try ClusterMembership(
            configuration: .init(name: "m2"), transport: endpoint, clock: cluster.clock, logger: ClusterSimulation.quiet
        )
        let finished = Atomic<Bool>(false)
        let join = Task {
            defer { finished.store(true, ordering: .releasing) }
            try await impostor.join(seeds: [ClusterSimulation.address(0)])
        }
        // Virtual time moves while the join runs on the pool; bounded by virtual time only.
        for _ in 0..<200 {
            if finished.load(ordering: .acquiring) { break }
            cluster.run(for: .milliseconds(100))
            try await Task.sleep(for: .milliseconds(1))
        }
        impostor.shutdown()
        let result = await join.result
        #expect(throws: ClusterJoinError.nameInUse(name: "m2", holder: ClusterSimulation.address(2))) {
            try result.get()
        }
        cluster.run(for: .seconds(30))
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3", "m4"]))
        for observer in ["m0", "m1", "m3", "m4"] {
            #expect(cluster.members[observer]?.member(named: "m2")?.address == ClusterSimulation.address(2))
        }
        #expect((cluster.members["m0"]?.statistics.dropped["nameConflict"] ?? 0) >= 1)
    }

    @Test("a member restarted at its own address before anyone noticed is a new life, not a conflict")
    func quickRestartSameAddress() throws {
        let cluster = try cluster(seed: 24)
        defer { cluster.shutdown() }
        cluster.kill("m3")
        try cluster.add("m3", index: 3, seeds: [ClusterSimulation.address(0)], tags: ["life": "2"])
        let seen = cluster.run(
            until: {
                ["m0", "m1", "m2", "m4"].allSatisfy { cluster.members[$0]?.member(named: "m3")?.tags["life"] == "2" }
            },
            limit: .seconds(5))
        #expect(seen != nil)
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3", "m4"]))
    }

    @Test("a join with no seed answering times out with the seeds named; cancellation ends the wait")
    func joinTimeout() async throws {
        let cluster = ClusterSimulation(seed: 25)
        defer { cluster.shutdown() }
        let endpoint = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(1), maxDatagramSize: 1400)
        let member = try ClusterMembership(
            configuration: .init(name: "lonely"), transport: endpoint, clock: cluster.clock,
            logger: ClusterSimulation.quiet)
        defer { member.shutdown() }
        let nobody = ClusterSimulation.address(7)
        let finished = Atomic<Bool>(false)
        let join = Task {
            defer { finished.store(true, ordering: .releasing) }
            try await member.join(seeds: [nobody], timeout: .seconds(12))
        }
        // Virtual time moves in steps while the join waits; the bound is on virtual time only.
        for _ in 0..<600 {
            if finished.load(ordering: .acquiring) { break }
            cluster.run(for: .milliseconds(500))
            try await Task.sleep(for: .milliseconds(1))
        }
        let timedOut = await join.result
        #expect(throws: ClusterJoinError.timedOut(after: .seconds(12), seeds: [nobody])) { try timedOut.get() }
        let cancelled = Task { try await member.join(seeds: [nobody]) }
        cancelled.cancel()
        let cancelledResult = await cancelled.result
        #expect(throws: ClusterJoinError.cancelled) { try cancelledResult.get() }
    }

    @Test("a wildcard bind announces the address that routes to its seed, or is refused without one")
    func advertiseAddress() async throws {
        let reactor = try Reactor.start(name: "advertise-test")
        defer { Task { await reactor.shutdown() } }
        let wildcard = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .anyIPv4)
        defer { wildcard.close() }
        #expect(throws: ClusterConfigurationError.self) {
            try ClusterMembership(configuration: .init(name: "w"), transport: wildcard, logger: ClusterSimulation.quiet)
        }
        var configuration = ClusterMembership.Configuration(name: "w")
        configuration.advertiseAddress = try SocketAddress(ip: "10.1.2.3", port: 7000)
        let member = try ClusterMembership(
            configuration: configuration, transport: wildcard, logger: ClusterSimulation.quiet)
        #expect(member.address == configuration.advertiseAddress)
        var seeded = ClusterMembership.Configuration(name: "s")
        seeded.seeds = [.loopback(port: 9)]
        let routed = try ClusterMembership(configuration: seeded, transport: wildcard, logger: ClusterSimulation.quiet)
        #expect(routed.address.isLoopback)
        #expect(routed.address.port == wildcard.localAddress.port)
    }
}

extension MembershipRestartTests {
    @Test("a member cut off from its seed for 10 s is back with everyone within 3 s of the heal")
    func partitionedFromSeedHeals() throws {
        let cluster = try cluster(seed: 26)
        defer { cluster.shutdown() }
        let isolated = ClusterSimulation.host(3)
        let others = [0, 1, 2, 4].map(ClusterSimulation.host)
        cluster.network.partition([isolated], others)
        #expect(cluster.run(until: { cluster.status(of: "m3", seenBy: "m0") == .failed }, limit: .seconds(10)) != nil)
        cluster.run(for: .seconds(7))
        cluster.network.heal()
        let back = cluster.run(
            until: { cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3", "m4"]) }, limit: .seconds(15))
        print("MEASURE simulated-partition-heal \(String(describing: back))")
        #expect(back.map { $0 <= .seconds(3) } ?? false, "back after \(String(describing: back))")
    }
}
