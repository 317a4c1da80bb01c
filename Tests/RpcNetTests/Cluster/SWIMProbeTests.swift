import Testing
import Transports

@testable import RpcNet

/// The probe cycle of the pure state machine, driven datagram by datagram: who may answer a
/// probe, when a failed probe turns into a suspicion, and how a suspect is asked again.
@Suite("SWIM probes")
struct SWIMProbeTests {
    /// A member that knows four others, all alive, and the instant its first probe starts.
    private static func prober() -> (SWIMInstance, now: MonotonicInstant) {
        let start = MonotonicInstant.zero
        var instance = SWIMInstance(
            name: "a", address: ClusterSimulation.address(0), tags: [:], settings: SWIMSettings(),
            bodyBudget: 1_300, seed: 1, now: start)
        let others = (1...4).map {
            MemberState(
                name: "m\($0)", address: ClusterSimulation.address($0), status: .alive, incarnation: 0, tags: [:])
        }
        _ = instance.receive(
            packet(from: "m1", .sync(members: others, replyWanted: false, join: false)),
            from: ClusterSimulation.address(1), now: start)
        return (instance, start.advanced(by: SWIMSettings().probeInterval))
    }

    private static func packet(
        from sender: String, _ message: GossipMessage, updates: [MemberUpdate] = []
    ) -> GossipPacket {
        GossipPacket(sender: sender, boot: 1, sentAt: 1, message: message, updates: updates)
    }

    /// The ping among `directives`: its sequence and target.
    private static func ping(in directives: [SWIMDirective]) -> (sequence: UInt64, target: String)? {
        for case .send(.ping(let sequence, let target), _, _) in directives { return (sequence, target) }
        return nil
    }

    /// The members asked to probe indirectly, by name.
    private static func helpers(in directives: [SWIMDirective], of instance: SWIMInstance) -> [String] {
        directives.compactMap { directive in
            guard case .send(.pingRequest, _, let destination) = directive else { return nil }
            return instance.members.values.first { $0.state.address == destination }?.state.name
        }
    }

    @Test("an ack with the right sequence from a member that was not asked is ignored")
    func forgedAckIsIgnored() throws {
        var (instance, now) = Self.prober()
        let probe = try #require(Self.ping(in: instance.tick(now: now)))
        let bystander = try #require(instance.members.keys.sorted().first { $0 != probe.target })
        _ = instance.receive(
            Self.packet(from: bystander, .ack(sequence: probe.sequence)), from: ClusterSimulation.address(9), now: now)
        #expect(instance.probe?.sequence == probe.sequence)
        #expect(instance.counters.unexpectedAnswers == 1)

        _ = instance.receive(
            Self.packet(from: probe.target, .ack(sequence: probe.sequence)),
            from: instance.members[probe.target]!.state.address, now: now)
        #expect(instance.probe == nil)
    }

    @Test("a ping-req for a target not known at the address given is refused")
    func strangerRelayIsRefused() throws {
        let (prober, now) = Self.prober()
        var instance = prober
        let stranger = ClusterSimulation.address(77)
        for (target, address) in [("m9", stranger), ("m2", stranger)] {
            let directives = instance.receive(
                Self.packet(from: "m1", .pingRequest(sequence: 5, target: target, address: address)),
                from: ClusterSimulation.address(1), now: now)
            #expect(!directives.contains { if case .send(_, _, stranger) = $0 { true } else { false } })
        }
        #expect(instance.counters.refusedRelays == 2)
        // A known member at its own address is relayed.
        let directives = instance.receive(
            Self.packet(from: "m1", .pingRequest(sequence: 6, target: "m2", address: ClusterSimulation.address(2))),
            from: ClusterSimulation.address(1), now: now)
        #expect(Self.ping(in: directives)?.target == "m2")
    }

    @Test("when every helper nacks, the suspicion starts before the period ends")
    func allNacksEndTheProbe() throws {
        var (instance, now) = Self.prober()
        let probe = try #require(Self.ping(in: instance.tick(now: now)))
        now = now.advanced(by: SWIMSettings().probeTimeout)
        let helpers = Self.helpers(in: instance.tick(now: now), of: instance)
        #expect(helpers.count == 3)
        now = now.advanced(by: .milliseconds(400))
        for (index, helper) in helpers.enumerated() {
            #expect(instance.members[probe.target]?.state.status == .alive, "suspected after \(index) nacks")
            _ = instance.receive(
                Self.packet(from: helper, .nack(sequence: probe.sequence)),
                from: instance.members[helper]!.state.address, now: now)
        }
        #expect(instance.members[probe.target]?.state.status == .suspect)
        #expect(instance.probe == nil)
    }

    @Test("a suspect that answers without refuting is asked again next period")
    func suspectIsAskedUntilItRefutes() throws {
        var (instance, now) = Self.prober()
        // m3 has been heard from at its address (verified), then someone else's suspicion of it
        // arrives; m3 is probed at once.
        _ = instance.receive(Self.packet(from: "m3", .gossip), from: ClusterSimulation.address(3), now: now)
        _ = instance.receive(
            Self.packet(from: "m1", .gossip, updates: [.suspect(name: "m3", incarnation: 0, from: "m1")]),
            from: ClusterSimulation.address(1), now: now)
        let first = try #require(Self.ping(in: instance.tick(now: now)))
        #expect(first.target == "m3")
        // Its ack arrives relayed, without the refutation, so m3 stays suspect.
        let helperAddress = instance.members["m2"]!.state.address
        now = now.advanced(by: .milliseconds(600))
        _ = instance.tick(now: now)
        _ = instance.receive(Self.packet(from: "m2", .ack(sequence: first.sequence)), from: helperAddress, now: now)
        #expect(instance.members["m3"]?.state.status == .suspect)
        // Next period, m3 is pinged again, and the ping carries the suspicion.
        now = now.advanced(by: SWIMSettings().probeInterval)
        let directives = instance.tick(now: now)
        let again = try #require(Self.ping(in: directives))
        #expect(again.target == "m3")
        let carried = directives.contains { directive in
            guard case .send(.ping, let updates, _) = directive else { return false }
            return updates.contains(.suspect(name: "m3", incarnation: 0, from: "m1"))
        }
        #expect(carried)
    }
}
