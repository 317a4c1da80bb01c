import FuzzSupport
import Transports

@testable import RpcNet

/// The few members a membership fuzz run talks about: number 0 is the member under test.
enum FuzzPeers {
    static let names = ["m0", "m1", "m2", "m3", "m4"]
    static let ownName = names[0]

    /// Member `index`'s gossip address, 10.0.0.(index + 1):7946 as in `ClusterSimulation`.
    static func address(_ index: Int) -> SocketAddress {
        ClusterSimulation.address(index)
    }
}

/// Builds well-formed gossip packets from fuzz bytes: every field is a small choice, so most
/// inputs exercise the state machine rather than the decoder's refusals.
struct PacketScript {
    /// Each sender's last send time, so most packets pass the replay check.
    private var lastSent: [String: UInt64] = [:]

    mutating func packet(_ input: inout FuzzInput, now: MonotonicInstant) -> GossipPacket {
        let sender = name(&input)
        let boot = UInt64(input.byte() % 3)
        // Mostly news; now and then a datagram from up to a minute before the last one.
        let previous = lastSent[sender] ?? now.nanoseconds
        let step = UInt64(input.byte())
        let sentAt = step < 224 ? max(previous, now.nanoseconds) &+ step : previous &- (step - 223) * 2_000_000_000
        lastSent[sender] = sentAt
        let message = message(&input)
        let updates = (0..<Int(input.byte() % 4)).map { _ in update(&input) }
        return GossipPacket(sender: sender, boot: boot, sentAt: sentAt & VarInt.max, message: message, updates: updates)
    }

    private func name(_ input: inout FuzzInput) -> String {
        FuzzPeers.names[Int(input.byte()) % FuzzPeers.names.count]
    }

    private func address(_ input: inout FuzzInput) -> SocketAddress {
        FuzzPeers.address(Int(input.byte() % 6))
    }

    /// Small incarnations mostly, and some at the codec's ceiling, where refuting must not
    /// overflow.
    private func incarnation(_ input: inout FuzzInput) -> UInt64 {
        let choice = input.byte()
        return choice < 200 ? UInt64(choice % 8) : GossipCodec.maxIncarnation - UInt64(choice - 200)
    }

    private func tags(_ input: inout FuzzInput) -> [String: String] {
        let choice = input.byte()
        switch choice % 4 {
        case 0: return [:]
        case 1: return ["role": "worker"]
        case 2: return ["role": "director", "zone": String(choice)]
        default: return ["blob": String(repeating: "x", count: Int(choice))]
        }
    }

    private func message(_ input: inout FuzzInput) -> GossipMessage {
        let kind = input.byte()
        let sequence = UInt64(input.byte() % 16)
        switch kind % 7 {
        case 0: return .ping(sequence: sequence, target: name(&input))
        case 1: return .pingRequest(sequence: sequence, target: name(&input), address: address(&input))
        case 2: return .ack(sequence: sequence)
        case 3: return .nack(sequence: sequence)
        case 4:
            let members = (0..<Int(input.byte() % 4)).map { _ in
                MemberState(
                    name: name(&input), address: address(&input),
                    status: MemberStatus(rawValue: input.byte() % 4) ?? .alive, incarnation: incarnation(&input),
                    tags: tags(&input))
            }
            return .sync(members: members, replyWanted: kind & 8 != 0, join: kind & 16 != 0)
        case 5: return .gossip
        default: return .nameInUse(holder: address(&input))
        }
    }

    private func update(_ input: inout FuzzInput) -> MemberUpdate {
        let kind = input.byte() % 4
        let name = name(&input)
        let incarnation = incarnation(&input)
        switch kind {
        case 0: return .alive(name: name, address: address(&input), incarnation: incarnation, tags: tags(&input))
        case 1: return .suspect(name: name, incarnation: incarnation, from: self.name(&input))
        case 2: return .failed(name: name, incarnation: incarnation, from: self.name(&input))
        default: return .left(name: name, incarnation: incarnation)
        }
    }
}
