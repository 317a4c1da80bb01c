import Synchronization
import Testing
import Transports

@testable import RpcNet

/// Members injected by an outsider into an unkeyed cluster, which never answer anything.
@Suite("Gossip ghosts")
struct GhostMemberTests {
    /// m0 (a director with a worker registry) and four workers, converged and settled.
    private static func cluster(seed: UInt64) throws -> ClusterSimulation {
        let cluster = ClusterSimulation(seed: seed)
        try cluster.add("m0", index: 0)
        for index in 1..<5 {
            try cluster.add(
                "m\(index)", index: index, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"])
        }
        let everyone = Set((0..<5).map { "m\($0)" })
        #expect(cluster.run(until: { cluster.everyoneSees(alive: everyone) }, limit: .seconds(30)) != nil)
        cluster.run(for: .seconds(10))
        return cluster
    }

    /// Sends alive updates for `count` made-up `role=worker` members, at addresses nobody
    /// listens on, to every member.
    private static func inject(_ count: Int, into cluster: ClusterSimulation) throws {
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        let ghosts = (0..<count).map {
            MemberUpdate.alive(
                name: "ghost\($0)", address: ClusterSimulation.address(10_000 + $0), incarnation: 1,
                tags: ["role": "worker"])
        }
        var sentAt: UInt64 = 1
        for batch in stride(from: 0, to: count, by: 30) {
            let updates = Array(ghosts[batch..<min(batch + 30, count)])
            let packet = GossipPacket(sender: "m9", boot: 1, sentAt: sentAt, message: .gossip, updates: updates)
            sentAt += 1
            let payload = GossipSealer(keys: []).seal(GossipCodec.encode(packet))
            for index in 0..<5 { try attacker.send(payload, to: ClusterSimulation.address(index)) }
        }
    }

    /// Virtual time until every survivor sees `m3` failed after it is killed.
    private static func detection(in cluster: ClusterSimulation) -> Duration? {
        cluster.kill("m3")
        return cluster.run(until: { cluster.everyoneSees("m3", as: .failed) }, limit: .seconds(200))
    }

    @Test(
        "2,000 ghosts: a real death is declared within a small multiple of the usual time, no partition, no ghost worker"
    )
    func ghostsDoNotSlowDetection() throws {
        let baselineCluster = try Self.cluster(seed: 31)
        defer { baselineCluster.shutdown() }
        let baseline = try #require(Self.detection(in: baselineCluster))

        let cluster = try Self.cluster(seed: 31)
        defer { cluster.shutdown() }
        let director = try #require(cluster.members["m0"])
        let registry = WorkerRegistry(membership: director, randomSeed: 1)
        try Self.inject(2000, into: cluster)
        cluster.run(for: .seconds(5))
        #expect(director.members.count > 2000, "the ghosts were taken in (as members others vouch for)")
        #expect(registry.workers.map(\.name) == ["m1", "m2", "m3", "m4"])
        for _ in 0..<20 { #expect(try registry.select().worker.name.hasPrefix("m")) }

        let withGhosts = try #require(Self.detection(in: cluster), "m3's death was never declared")
        #expect(withGhosts <= max(baseline * 3, .seconds(10)), "baseline \(baseline), with ghosts \(withGhosts)")
        cluster.run(for: .seconds(30))
        for name in ["m0", "m1", "m2", "m4"] {
            #expect(cluster.members[name]?.partition == nil)
            #expect(
                !cluster.events[name, default: []].contains { if case .partitionDetected = $0 { true } else { false } },
                "\(name) reported a partition")
        }
        #expect(!registry.workers.contains { $0.name.hasPrefix("ghost") })
    }

    @Test("one forged failure report about a live member does not remove it")
    func forgedFailure() throws {
        let cluster = try Self.cluster(seed: 32)
        defer { cluster.shutdown() }
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        let incarnation = try #require(cluster.members["m0"]?.member(named: "m2")?.incarnation)
        let packet = GossipPacket(
            sender: "m1", boot: 1, sentAt: 1, message: .gossip,
            updates: [.failed(name: "m2", incarnation: incarnation, from: "m1")])
        try attacker.send(GossipSealer(keys: []).seal(GossipCodec.encode(packet)), to: ClusterSimulation.address(0))
        cluster.run(for: .seconds(3))
        #expect(cluster.status(of: "m2", seenBy: "m0") == .alive)
        #expect(
            !cluster.events.values.joined().contains { event in
                if case .nodeFailed(let member) = event { member.name == "m2" } else { false }
            })
    }
}
