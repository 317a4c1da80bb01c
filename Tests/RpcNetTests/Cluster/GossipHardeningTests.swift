import Synchronization
import Testing
import Transports

@testable import RpcNet

/// Attacks on an unkeyed cluster, each through the simulated network and virtual clock: an
/// outsider's datagrams must not take a member out for good, make a member an amplifier, or
/// let made-up members slow failure detection or pose as workers.
@Suite("Gossip hardening")
struct GossipHardeningTests {
    /// A cluster of `count` members named m0…, m0 the seed, converged.
    private static func converged(
        seed: UInt64, count: Int, tags: [String: String] = [:]
    ) throws -> ClusterSimulation {
        let cluster = ClusterSimulation(seed: seed)
        try cluster.add("m0", index: 0)
        for index in 1..<count {
            try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)], tags: tags)
        }
        let everyone = Set((0..<count).map { "m\($0)" })
        #expect(cluster.run(until: { cluster.everyoneSees(alive: everyone) }, limit: .seconds(30)) != nil)
        return cluster
    }

    /// An outsider's datagram, unsealed.
    private static func datagram(
        from sender: String, _ message: GossipMessage, updates: [MemberUpdate] = [], sentAt: UInt64 = 1
    ) -> [UInt8] {
        GossipSealer(keys: []).seal(
            GossipCodec.encode(
                GossipPacket(sender: sender, boot: 1, sentAt: sentAt, message: message, updates: updates)))
    }

    @Test(
        "accusations at, just below and above the incarnation limit: refuted or ignored, the member stays alive, and a restart brings it back"
    )
    func accusationsAtTheLimit() throws {
        let cluster = try Self.converged(seed: 9, count: 3)
        defer { cluster.shutdown() }
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        let acks = Mutex<[UInt64]>([])
        attacker.setReceiveHandler { datagram in
            guard let body = try? GossipSealer(keys: []).open(datagram.payload),
                let packet = try? GossipCodec.decode(body), case .ack(let sequence) = packet.message
            else { return }
            acks.withLock { $0.append(sequence) }
        }
        let limit = GossipCodec.maxIncarnation
        for (round, incarnation) in [limit - 1, limit, limit + 1, GossipCodec.incarnationCeiling].enumerated() {
            // The accusation rides on a ping of m1: its ack shows the datagram was taken in.
            let sequence = UInt64(100 + round)
            let payload = Self.datagram(
                from: "attacker", .ping(sequence: sequence, target: "m1"),
                updates: [.suspect(name: "m1", incarnation: incarnation, from: "attacker")], sentAt: UInt64(round + 1))
            for index in 0..<3 { try attacker.send(payload, to: ClusterSimulation.address(index)) }
            cluster.run(for: .seconds(5))
            #expect(acks.withLock { $0.contains(sequence) }, "no ack at incarnation \(incarnation)")
            #expect(cluster.everyoneSees(alive: ["m0", "m1", "m2"]), "after an accusation at \(incarnation)")
        }
        for name in ["m0", "m1", "m2"] {
            let member = try #require(cluster.members[name])
            #expect(member.statistics.dropped["malformed"] == nil)
            // The one at the ceiling; the one just above the limit was within reach of m1's own
            // refutation of the one at the limit, which everyone holds (§7.5).
            #expect(member.statistics.ignoredIncarnations >= 1, "\(name) ignored the accusation at the ceiling")
        }
        // m1 refuted the accusation at the limit with one more, and everyone took that from m1.
        for observer in ["m0", "m2"] {
            #expect((cluster.members[observer]?.member(named: "m1")?.incarnation ?? 0) > limit)
        }
        // A new life of m1 starts far below what the cluster remembers, and still comes back.
        cluster.kill("m1")
        #expect(cluster.run(until: { cluster.everyoneSees("m1", as: .failed) }, limit: .seconds(30)) != nil)
        try cluster.add("m1", index: 1, seeds: [ClusterSimulation.address(0)])
        let back = cluster.run(until: { cluster.everyoneSees(alive: ["m0", "m1", "m2"]) }, limit: .seconds(30))
        #expect(back != nil, "the restarted member did not come back")
    }

    @Test("decoding accepts any incarnation a varint holds")
    func decodingAcceptsEveryIncarnation() throws {
        let update = MemberUpdate.failed(name: "m1", incarnation: VarInt.max, from: "x")
        let packet = GossipPacket(sender: "x", boot: 1, sentAt: 1, message: .gossip, updates: [update])
        #expect(try GossipCodec.decode(GossipCodec.encode(packet)) == packet)
    }

    @Test("without a key, an unknown source gets at most 3× the bytes it sent until it answers a ping")
    func antiAmplification() throws {
        let cluster = try Self.converged(seed: 21, count: 40)
        defer { cluster.shutdown() }
        cluster.run(for: .seconds(2))
        let attacker = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { attacker.close() }
        let received = Mutex(0)
        let pings = Mutex(0)
        attacker.setReceiveHandler { datagram in
            received.withLock { $0 += datagram.payload.count }
            guard let body = try? GossipSealer(keys: []).open(datagram.payload),
                let packet = try? GossipCodec.decode(body), case .ping = packet.message, packet.updates.isEmpty
            else { return }
            pings.withLock { $0 += datagram.payload.count }
        }
        var sent = 0
        let own = MemberState(
            name: "x", address: ClusterSimulation.address(50), status: .alive, incarnation: 1, tags: [:])
        for round in 0..<20 {
            let messages: [GossipMessage] = [
                .gossip, .ping(sequence: 1, target: "m0"), .sync(members: [own], replyWanted: true, join: true),
            ]
            for (kind, message) in messages.enumerated() {
                let payload = Self.datagram(from: "x\(round)", message, sentAt: UInt64(round * 3 + kind + 1))
                sent += payload.count
                try attacker.send(payload, to: ClusterSimulation.address(0))
            }
            cluster.run(for: .milliseconds(300))
        }
        cluster.run(for: .seconds(2))
        let total = received.withLock { $0 }
        #expect(total > 0, "nothing answered at all")
        // Bare pings (probes of the member "x" its syncs announced) are the one exception.
        #expect(pings.withLock { $0 } < total)
        #expect(total - pings.withLock { $0 } <= 3 * sent, "sent \(sent) bytes, got \(total) back")
    }

    @Test("a joiner that answers the seed's ping gets the seed's full state once, not twice")
    func fullStateOnce() throws {
        let cluster = try Self.converged(seed: 22, count: 40)
        defer { cluster.shutdown() }
        cluster.run(for: .seconds(2))
        let joiner = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(50), maxDatagramSize: 1400)
        defer { joiner.close() }
        let fullStates = Mutex(0)
        let acked = Mutex(0)
        joiner.setReceiveHandler { datagram in
            guard let body = try? GossipSealer(keys: []).open(datagram.payload),
                let packet = try? GossipCodec.decode(body)
            else { return }
            switch packet.message {
            case .ping(let sequence, "x"):
                // Answer as a real joiner would: this proves the address receives.
                acked.withLock { $0 += 1 }
                try? joiner.send(
                    Self.datagram(from: "x", .ack(sequence: sequence), sentAt: UInt64(1000 + sequence % 1000)),
                    to: datagram.source)
            case .sync(let states, _, _) where packet.sender == "m0" && states.first?.name == "m0":
                fullStates.withLock { $0 += 1 }
            default: break
            }
        }
        let own = MemberState(
            name: "x", address: ClusterSimulation.address(50), status: .alive, incarnation: 1, tags: [:])
        try joiner.send(
            Self.datagram(from: "x", .sync(members: [own], replyWanted: true, join: true)),
            to: ClusterSimulation.address(0))
        cluster.run(for: .seconds(3))
        #expect(acked.withLock { $0 } >= 1)
        #expect(fullStates.withLock { $0 } == 1)
    }
}
