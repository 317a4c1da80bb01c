import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RpcNet

@Suite("Membership in a simulated network")
struct MembershipSimulationTests {
    @Test("five members converge: each sees the other four alive")
    func fiveConverge() throws {
        let cluster = ClusterSimulation(seed: 1)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
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
        let cluster = ClusterSimulation(seed: 2)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
        cluster.run(for: .seconds(5))
        cluster.kill("m3")
        let detected = cluster.run(until: { cluster.everyoneSees("m3", as: .failed) }, limit: .seconds(30))
        #expect(detected != nil)
        #expect(detected.map { $0 <= .seconds(4) } ?? false, "detected after \(String(describing: detected))")
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2", "m4"]))

        try cluster.add("m3", index: 3, seeds: [ClusterSimulation.address(1)])
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
        let cluster = ClusterSimulation(seed: 3)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
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

@Suite("Membership scenarios")
struct MembershipScenarioTests {
    /// Starts `count` members, all joining through the first, and runs until they converge.
    private func converged(_ cluster: ClusterSimulation, count: Int, limit: Duration = .seconds(30)) throws {
        try cluster.add("m0", index: 0)
        for index in 1..<count { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
        let everyone = Set((0..<count).map { "m\($0)" })
        #expect(cluster.run(until: { cluster.everyoneSees(alive: everyone) }, limit: limit) != nil)
    }

    @Test("tag changes reach every member, as an event and in the member list")
    func tagsPropagate() throws {
        let cluster = ClusterSimulation(seed: 4)
        defer { cluster.shutdown() }
        try converged(cluster, count: 5)
        try cluster.members["m1"]?.setTags(["role": "worker", "label": "gpu-a"])
        let spread = cluster.run(
            until: {
                cluster.members.values.allSatisfy { $0.members(tags: ["role": "worker"]).map(\.name) == ["m1"] }
            }, limit: .seconds(5))
        #expect(spread.map { $0 <= .seconds(1) } ?? false, "spread after \(String(describing: spread))")
        for name in ["m0", "m2", "m3", "m4"] {
            #expect(
                cluster.events[name, default: []].contains {
                    if case .nodeTagsUpdated(let member, let previous) = $0 {
                        member.name == "m1" && member.tags["label"] == "gpu-a" && previous.isEmpty
                    } else {
                        false
                    }
                })
        }
        try cluster.members["m1"]?.removeTag("label")
        cluster.run(for: .seconds(2))
        #expect(cluster.members["m3"]?.members(tags: ["label": "gpu-a"]).isEmpty == true)
    }

    @Test("a member with the wrong cluster key can neither join nor change anything")
    func wrongKey() throws {
        let key = ClusterKey.random()
        let cluster = ClusterSimulation(seed: 5)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0, keys: [key])
        for index in 1..<4 {
            try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)], keys: [key])
        }
        cluster.run(for: .seconds(3))
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2", "m3"]))
        // An intruder with another key, and one with no key at all, claiming an existing name.
        try cluster.add("intruder", index: 10, seeds: [ClusterSimulation.address(0)], keys: [ClusterKey.random()])
        try cluster.add("m1", index: 11, seeds: [ClusterSimulation.address(0)])
        cluster.run(for: .seconds(20))
        for name in ["m0", "m2", "m3"] {
            let view = try #require(cluster.members[name]).members
            #expect(Set(view.map(\.name)) == ["m0", "m1", "m2", "m3"])
            #expect(view.first { $0.name == "m1" }?.address == ClusterSimulation.address(1))
        }
        let dropped = try #require(cluster.members["m0"]).statistics.dropped["unauthenticated"] ?? 0
        #expect(dropped > 0)
    }

    @Test("a datagram recorded during a member's earlier run is dropped as replayed")
    func replayFromEarlierRun() throws {
        let key = ClusterKey.random()
        let cluster = ClusterSimulation(seed: 12)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0, keys: [key])
        try cluster.add("m1", index: 1, seeds: [ClusterSimulation.address(0)], keys: [key])
        cluster.run(for: .seconds(3))
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        // Sealed with the cluster key as m1's earlier run would have sealed it: boots are
        // wall-clock start times, so 1 is long before m1's current run.
        let recorded = GossipPacket(
            sender: "m1", boot: 1, sentAt: 1, message: .gossip, updates: [.left(name: "m1", incarnation: 9)])
        try attacker.send(
            GossipSealer(keys: [key]).seal(GossipCodec.encode(recorded)), to: ClusterSimulation.address(0))
        cluster.run(for: .seconds(1))
        let victim = try #require(cluster.members["m0"])
        #expect(victim.statistics.dropped["replayed"] == 1)
        #expect(cluster.status(of: "m1", seenBy: "m0") == .alive)
    }

    @Test("a member configured for larger tags costs its own update, not the datagrams it rides in")
    func mismatchedTagLimits() throws {
        let cluster = ClusterSimulation(seed: 13)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        try cluster.add("m1", index: 1, seeds: [ClusterSimulation.address(0)])
        cluster.settings.maxTagBytes = 1_000
        try cluster.add(
            "big", index: 2, seeds: [ClusterSimulation.address(0)], tags: ["model": String(repeating: "x", count: 700)])
        cluster.run(for: .seconds(5))
        for name in ["m0", "m1"] {
            let member = try #require(cluster.members[name])
            #expect(Set(member.members.map(\.name)) == ["m0", "m1"], "\(name)")
            #expect(member.statistics.oversizedTags > 0)
            #expect(member.statistics.dropped["malformed"] == nil)
        }
        // The big member still hears about everyone else from the same datagrams.
        #expect(Set(try #require(cluster.members["big"]).members.map(\.name)) == ["m0", "m1", "big"])
    }

    @Test("without a key, datagrams under made-up names get a bounded number of full states back")
    func introductionsAreRateLimited() throws {
        let cluster = ClusterSimulation(seed: 10)
        defer { cluster.shutdown() }
        try converged(cluster, count: 3)
        cluster.run(for: .seconds(2))  // past the window of the members' own introductions
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        let replies = Mutex(0)
        attacker.setReceiveHandler { _ in replies.withLock { $0 += 1 } }
        for index in 0..<200 {
            let packet = GossipPacket(
                sender: "stranger\(index)", boot: 1, sentAt: UInt64(index), message: .gossip, updates: [])
            try attacker.send(GossipSealer(keys: []).seal(GossipCodec.encode(packet)), to: ClusterSimulation.address(0))
        }
        cluster.run(for: .milliseconds(500))
        // Each introduction is one datagram here (three members fit one); 200 strangers in
        // one window get at most the per-second allowance.
        #expect(replies.withLock { $0 } == SWIMInstance.maxIntroductionsPerSecond)
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2"]))
    }

    @Test("a key rotation without restart: add the new key, switch to it, retire the old one")
    func keyRotation() throws {
        let old = ClusterKey.random()
        let new = ClusterKey.random()
        let cluster = ClusterSimulation(seed: 6)
        defer { cluster.shutdown() }
        // Members with [old, new] seal with old and open both; a member already on [new, old]
        // seals with new: all of them keep talking.
        try cluster.add("m0", index: 0, keys: [old, new])
        try cluster.add("m1", index: 1, seeds: [ClusterSimulation.address(0)], keys: [new, old])
        try cluster.add("m2", index: 2, seeds: [ClusterSimulation.address(0)], keys: [old, new])
        #expect(cluster.run(until: { cluster.everyoneSees(alive: ["m0", "m1", "m2"]) }, limit: .seconds(5)) != nil)
        cluster.run(for: .seconds(10))
        #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2"]))
    }

    @Test("one member failing in a cluster of three is a failure, not a partition")
    func singleFailureIsNoPartition() throws {
        let cluster = ClusterSimulation(seed: 14)
        defer { cluster.shutdown() }
        try converged(cluster, count: 3)
        cluster.kill("m2")
        cluster.run(for: .seconds(30))
        #expect(cluster.everyoneSees("m2", as: .failed))
        for name in ["m0", "m1"] {
            #expect(cluster.members[name]?.partition == nil)
            #expect(
                !cluster.events[name, default: []].contains { if case .partitionDetected = $0 { true } else { false } })
        }
    }

    @Test("a 60/40 partition is detected on both sides and heals into one membership")
    func partition() throws {
        let cluster = ClusterSimulation(seed: 7)
        defer { cluster.shutdown() }
        try converged(cluster, count: 10)
        let majority = (0..<6).map(ClusterSimulation.host)
        let minority = (6..<10).map(ClusterSimulation.host)
        cluster.network.partition(majority, minority)
        // The minority side's own probes mostly fail without nacks, so Lifeguard's local health
        // multiplier slows its probing (by design: from where it stands, it may be the sick
        // one); seeing enough of the majority fail to report the partition takes it up to a
        // minute.
        let detected = cluster.run(
            until: {
                (0..<10).allSatisfy { index in cluster.members["m\(index)"]?.partition?.isMinority == (index >= 6) }
            }, limit: .seconds(60))
        #expect(detected != nil, "\((0..<10).map { cluster.members["m\($0)"]?.partition })")
        cluster.network.heal()
        let healed = cluster.run(
            until: { cluster.everyoneSees(alive: Set((0..<10).map { "m\($0)" })) }, limit: .seconds(120))
        #expect(healed != nil, "the two sides did not merge")
        cluster.run(for: .seconds(2))
        for index in 0..<10 {
            #expect(cluster.members["m\(index)"]?.partition == nil)
            #expect(
                cluster.events["m\(index)", default: []].contains {
                    if case .partitionHealed = $0 { true } else { false }
                })
        }
    }

    @Test("a frozen, overloaded member does not get healthy members declared failed")
    func frozenMember() throws {
        let cluster = ClusterSimulation(seed: 8)
        defer { cluster.shutdown() }
        try converged(cluster, count: 8)
        // m7 stops processing for 20 s (a GC pause, a stuck host), then catches up with a burst.
        cluster.network.freeze(ClusterSimulation.host(7))
        cluster.run(for: .seconds(20))
        #expect(cluster.everyoneSees("m7", as: .failed))
        cluster.network.unfreeze(ClusterSimulation.host(7))
        cluster.run(for: .seconds(30))
        // Others saw m7 fail (correctly: it was silent) and come back; nobody else failed, in
        // anyone's eyes, at any time.
        for (observer, events) in cluster.events {
            for event in events {
                if case .nodeFailed(let member) = event {
                    #expect(member.name == "m7", "\(observer) declared \(member.name) failed")
                }
            }
        }
        #expect(cluster.everyoneSees(alive: Set((0..<8).map { "m\($0)" })))
    }
}

@Suite("Membership at scale")
struct MembershipScaleTests {
    // Each scenario is seconds of CPU-bound simulation. It runs on a thread of its own, and its
    // findings are checked back on the test's task: on 2 cores, scenarios run on the cooperative
    // pool would occupy both of its threads and starve every asynchronous test beside them.

    /// Seed 7 once had a live member declared failed by the one member its refutation never
    /// reached; it stays as a regression case.
    @Test(
        "100 members with 10 % packet loss for one virtual hour: no false failure or partition",
        arguments: [7, 100] as [UInt64])
    func lossWithoutFalseFailures(seed: UInt64) async throws {
        let outcome = try await onOwnThread { () throws -> (converged: Bool, falseFailures: [String], settled: Bool) in
            let cluster = ClusterSimulation(
                seed: seed,
                conditions: LinkConditions(latency: .microseconds(300), jitter: .microseconds(200), lossRate: 0.1))
            defer { cluster.shutdown() }
            try cluster.add("m0", index: 0)
            for index in 1..<100 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
            let everyone = Set((0..<100).map { "m\($0)" })
            let converged = cluster.run(
                until: { cluster.everyoneSees(alive: everyone) }, step: .seconds(1), limit: .seconds(60))
            for _ in 0..<60 { cluster.run(for: .seconds(60)) }
            var falseFailures: [String] = []
            for (observer, events) in cluster.events {
                for event in events {
                    switch event {
                    case .nodeFailed(let member): falseFailures.append("\(observer) failed \(member.name)")
                    case .partitionDetected(let status): falseFailures.append("\(observer) reported \(status)")
                    default: break
                    }
                }
            }
            // Under 10 % loss a member is briefly suspected now and then; any such suspicion is
            // refuted within a few periods.
            let settled = cluster.run(
                until: { cluster.everyoneSees(alive: everyone) }, step: .seconds(1), limit: .seconds(30))
            return (converged != nil, falseFailures, settled != nil)
        }
        #expect(outcome.converged)
        #expect(outcome.falseFailures.isEmpty, "\(outcome.falseFailures.prefix(10))")
        #expect(outcome.settled)
    }

    @Test("100 members joining through a chain of seeds under 10 % loss all find each other")
    func chainedJoinsUnderLoss() async throws {
        let found = try await onOwnThread { () throws -> Bool in
            let cluster = ClusterSimulation(
                seed: 100,
                conditions: LinkConditions(latency: .microseconds(300), jitter: .microseconds(200), lossRate: 0.1))
            defer { cluster.shutdown() }
            try cluster.add("m0", index: 0)
            // Member i joins through member i/2, which is itself still joining: only an answer
            // from its own seed may end a member's join, or lost answers leave islands.
            for index in 1..<100 {
                try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(index / 2)])
            }
            return cluster.run(
                until: { cluster.members.values.allSatisfy { $0.members.count == 100 } }, step: .seconds(1),
                limit: .seconds(60)) != nil
        }
        #expect(found, "some members never heard of others")
    }

    @Test("1,000 members: a join reaches everyone within 3·log2(N) periods, traffic per member stays bounded")
    func thousandMembers() async throws {
        let count = 1000
        let outcome = try await onOwnThread {
            () throws -> (converged: Bool, perPeriod: [Double], spread: Duration?, falseFailures: Int) in
            let cluster = ClusterSimulation(seed: 1000)
            defer { cluster.shutdown() }
            try cluster.add("m0", index: 0)
            // Each joins through an earlier member, as a cluster started by a deployment tool would.
            for index in 1..<count {
                try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(index / 2)])
            }
            let everyone = Set((0..<count).map { "m\($0)" })
            let converged = cluster.run(
                until: { cluster.everyoneSees(alive: everyone) }, step: .seconds(1), limit: .seconds(300))

            // Steady state: datagrams each member sends per protocol period, once the news of
            // everyone's join has run its course.
            cluster.run(for: .seconds(60))
            let before = cluster.members.mapValues(\.statistics.sent)
            cluster.run(for: .seconds(30))
            let perPeriod = cluster.members.map { name, member in Double(member.statistics.sent - before[name]!) / 30 }

            // One more member joins; count periods until every member sees it.
            try cluster.add("newcomer", index: count, seeds: [ClusterSimulation.address(0)])
            let spread = cluster.run(
                until: { cluster.everyoneSees("newcomer", as: .alive) },
                step: .milliseconds(100), limit: .seconds(120))
            var falseFailures = 0
            for events in cluster.events.values {
                for case .nodeFailed in events { falseFailures += 1 }
            }
            return (converged != nil, perPeriod, spread, falseFailures)
        }
        #expect(outcome.converged, "1,000 members did not converge")
        // A period holds one probe, on average one ack to another's probe, the odd ping-req or
        // nack, and a share of the 30 s anti-entropy exchange; gossip rounds send only while
        // there is news. Nothing here grows with the cluster's size. Unkeyed, members prefer
        // verified peers for gossip, syncs and ping-reqs, and verify others one answer at a time,
        // so a minute after a 1,000-member start the few verified peers carry more of it
        // (measured: 4.2 for the busiest, was 2.6 before verification; the mean is unchanged).
        let mean = outcome.perPeriod.reduce(0, +) / Double(outcome.perPeriod.count)
        #expect(mean <= 2.5, "members sent \(mean) datagrams per period on average")
        #expect(outcome.perPeriod.max()! <= 5, "busiest member sent \(outcome.perPeriod.max()!) datagrams per period")
        let bound = Duration.seconds(3 * log2(Double(count + 1)))
        #expect(
            outcome.spread.map { $0 <= bound } ?? false,
            "join seen by all after \(String(describing: outcome.spread)), bound \(bound)")
        #expect(outcome.falseFailures == 0)
    }
}
