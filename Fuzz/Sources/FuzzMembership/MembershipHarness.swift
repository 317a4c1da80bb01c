import FuzzSupport
import Transports

@testable import RpcNet

/// Fuzzes a `ClusterMembership` (the SWIM state machine behind its real admission checks:
/// sealing, decoding, name conflicts, replay records) on a ``FakeTransport`` and a
/// `VirtualClock`, scripted by the input.
///
/// Each step reads an event byte: deliver a raw datagram (a length and that many bytes), deliver
/// a well-formed datagram built from the next bytes (`PacketScript`: senders, messages and
/// updates drawn from a few names and addresses, this member's own included, so accusations
/// about it, refutations, probes and joins are reached quickly), or advance the clock (short
/// or long steps; timers fire inside `advance`, which is what ticks the protocol). At the end
/// the clock runs on for 30 s so pending suspicions time out (a few seconds with five members).
///
/// Invariants after every step: no trap; this member sees itself alive and never publishes its
/// own failure, suspicion or departure; the member count stays within the names the input could
/// have introduced; no datagram it sends exceeds the transport's size (checked in the transport).
func fuzzMembership(_ bytes: [UInt8]) {
    let clock = VirtualClock()
    let transport = FakeTransport(localAddress: FuzzPeers.address(0), owner: clock)
    var configuration = ClusterMembership.Configuration(name: FuzzPeers.ownName, tags: ["role": "worker"])
    configuration.randomSeed = 1
    guard
        let membership = try? ClusterMembership(
            configuration: configuration, transport: transport, clock: clock, logger: ClusterSimulation.quiet)
    else { fatalError("fuzz harness: the membership does not start") }
    let events = membership.events
    var input = FuzzInput(bytes)
    var script = PacketScript()
    // Names a raw datagram could introduce: each takes at least one of its bytes.
    var rawBytes = 0
    if input.byte() & 1 == 0 { membership.start() } else { membership.startJoining(seeds: [FuzzPeers.address(1)]) }

    func check() {
        let own = membership.member(named: FuzzPeers.ownName)
        fuzzCheck(own?.status == .alive, "this member sees itself as \(String(describing: own?.status))")
        for event in events.drain() {
            switch event {
            case .nodeFailed(let member), .nodeLeft(let member):
                fuzzCheck(member.name != FuzzPeers.ownName, "this member published its own \(event)")
            default: break
            }
        }
        let count = membership.members(status: nil).count
        let bound = 1 + FuzzPeers.names.count + rawBytes
        fuzzCheck(count <= bound, "\(count) members known, at most \(bound) could have been introduced")
    }

    while !input.isAtEnd {
        switch input.byte() % 4 {
        case 0:
            let payload = input.take(Int(input.integer(width: 2) % 1500))
            rawBytes += payload.count
            transport.deliver(payload, from: FuzzPeers.address(Int(input.byte() % 5)))
        case 1:
            let source = FuzzPeers.address(Int(input.byte() % 5))
            let packet = script.packet(&input, now: clock.now)
            transport.deliver([GossipSealer.version, 0] + GossipCodec.encode(packet), from: source)
        case 2:
            clock.advance(by: .milliseconds(Int(input.byte()) * 10))
        default:
            clock.advance(by: .seconds(Int(input.byte() % 32)))
        }
        check()
    }
    clock.advance(by: .seconds(30))
    check()
    membership.shutdown()
}
