import Testing

@testable import RpcNet

@Suite("Membership in a simulated network")
struct MembershipSimulationTests {
    @Test("five members converge: each sees the other four alive")
    func fiveConverge() throws {
        let cluster = SimulatedCluster(seed: 1)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [SimulatedCluster.address(0)]) }
        let everyone: Set = ["m0", "m1", "m2", "m3", "m4"]
        let took = cluster.run(until: { cluster.everyoneSees(alive: everyone) }, limit: .seconds(10))
        #expect(took != nil)
        #expect(took.map { $0 <= .seconds(1) } ?? false, "converged after \(String(describing: took))")
        cluster.run(for: .seconds(60))
        #expect(cluster.everyoneSees(alive: everyone))
        // Each member saw the four others join, and nothing else happened.
        for (name, events) in cluster.events {
            let joined = events.compactMap { event -> String? in
                if case .nodeJoined(let member) = event { return member.name }
                return nil
            }
            #expect(Set(joined) == everyone.subtracting([name]), "\(name): \(events)")
            #expect(events.count == 4, "\(name): \(events)")
        }
    }

    @Test("a killed member is marked failed by all; restarted, it rejoins and is recovered")
    func killAndRestart() throws {
        let cluster = SimulatedCluster(seed: 2)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [SimulatedCluster.address(0)]) }
        cluster.run(for: .seconds(5))
        cluster.kill("m3")
        let detected = cluster.run(until: { cluster.everyoneSees("m3", as: .failed) }, limit: .seconds(30))
        #expect(detected != nil)
        #expect(detected.map { $0 <= .seconds(4) } ?? false, "detected after \(String(describing: detected))")
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2", "m4"]))

        try cluster.add("m3", index: 3, seeds: [SimulatedCluster.address(1)])
        let rejoined = cluster.run(until: { cluster.everyoneSees("m3", as: .alive) }, limit: .seconds(10))
        #expect(rejoined != nil)
        for name in ["m0", "m1", "m2", "m4"] {
            let events = cluster.events[name] ?? []
            #expect(events.contains { if case .nodeFailed(let m) = $0 { m.name == "m3" } else { false } })
            #expect(events.contains { if case .nodeRecovered(let m) = $0 { m.name == "m3" } else { false } })
        }
    }

    @Test("a graceful leave is seen by everyone within a gossip round or two")
    func gracefulLeave() async throws {
        let cluster = SimulatedCluster(seed: 3)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [SimulatedCluster.address(0)]) }
        cluster.run(for: .seconds(5))
        let leaving = try #require(cluster.members["m2"])
        let leave = Task { await leaving.leave() }
        await cluster.clock.waitForSleepers(atLeast: 1)
        let seen = cluster.run(
            until: { cluster.everyoneSees("m2", as: .left) }, step: .milliseconds(10), limit: .seconds(5))
        cluster.run(for: .seconds(1))  // the leaver's own wait for the news to spread
        await leave.value
        #expect(cluster.members.values.filter { $0.name != "m2" }.allSatisfy { $0.members(status: .alive).count == 4 })
        #expect(seen.map { $0 <= .milliseconds(300) } ?? false, "seen after \(String(describing: seen))")
    }
}
