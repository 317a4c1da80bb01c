import Foundation
import Testing
import Transports

@testable import RpcNet

/// docs/PROTOCOL.md §7.7 shows two gossip datagrams byte by byte; these tests read the hex from
/// the document itself, so the example cannot drift from the codec.
@Suite("Gossip wire examples in PROTOCOL.md")
struct GossipWireExampleTests {
    /// The hex of each code block in §7.7, in order.
    private static func documentedDatagrams() throws -> [[UInt8]] {
        try ProtocolDocument.hexBlocks(from: "### 7.7 Example", to: "## 8.")
    }

    @Test("the ping and the ack of §7.7 are what GossipCodec writes and reads")
    func examplesMatchTheCodec() throws {
        let documented = try Self.documentedDatagrams()
        try #require(documented.count >= 2)
        let ping = GossipPacket(
            sender: "node-1", boot: 0x0123_4567_89AB_CDEF, sentAt: 1_000_000_000,
            message: .ping(sequence: 7, target: "node-2"), updates: [])
        let ack = GossipPacket(
            sender: "node-2", boot: 0x0FED_CBA9_8765_4321, sentAt: 1_000_250_000, message: .ack(sequence: 7),
            updates: [
                .alive(name: "node-2", address: .loopback(port: 7946), incarnation: 1, tags: ["role": "worker"])
            ])
        let plain = GossipSealer(keys: [])
        #expect(plain.seal(GossipCodec.encode(ping)) == documented[0])
        #expect(plain.seal(GossipCodec.encode(ack)) == documented[1])
        #expect(documented[0].count == 31)
        #expect(documented[1].count == 53)
        #expect(try GossipCodec.decode(plain.open(documented[1])) == ack)
    }

    @Test("sizes computed without encoding match the encoding, for every message and update kind")
    func computedSizesMatchTheEncoding() {
        let v4 = SocketAddress.loopback(port: 7946)
        let v6 = SocketAddress(host: .ipv6(0, 1), port: 1)
        let tags = ["role": "worker", "label": String(repeating: "é", count: 40)]
        let updates: [MemberUpdate] = [
            .alive(name: "n", address: v4, incarnation: 0, tags: [:]),
            .alive(name: String(repeating: "x", count: 100), address: v6, incarnation: 1 << 40, tags: tags),
            .suspect(name: "a", incarnation: 70, from: "b"), .failed(name: "a", incarnation: 20_000, from: "ccc"),
            .left(name: "a", incarnation: 1 << 31),
        ]
        // One update keeps the update count at one byte, so the difference is the update alone.
        let empty = GossipCodec.encode(packet(.gossip, [])).count
        for update in updates {
            #expect(GossipCodec.encodedSize(of: update) == GossipCodec.encode(packet(.gossip, [update])).count - empty)
        }
        let states = [
            MemberState(name: "m", address: v6, status: .suspect, incarnation: 300, tags: tags),
            MemberState(name: "n", address: v4, status: .alive, incarnation: 0, tags: [:]),
        ]
        let messages: [GossipMessage] = [
            .ping(sequence: 1 << 20, target: "t"), .pingRequest(sequence: 3, target: "target", address: v6),
            .ack(sequence: 64), .nack(sequence: 0), .gossip,
            .sync(members: states, replyWanted: true, join: false),
        ]
        for message in messages {
            // Boot and send time are counted at their largest, 8 bytes each.
            let largest = GossipPacket(
                sender: "sender", boot: VarInt.max, sentAt: VarInt.max, message: message, updates: [])
            #expect(GossipCodec.headerSize(sender: "sender", message: message) == GossipCodec.encode(largest).count)
        }
        #expect(
            GossipCodec.encodedSize(of: states[0]) + GossipCodec.encodedSize(of: states[1]) == GossipCodec.headerSize(
                sender: "sender", message: .sync(members: states, replyWanted: true, join: false))
                - GossipCodec.headerSize(sender: "sender", message: .sync(members: [], replyWanted: true, join: false)))
    }

    /// A packet from a one-byte sender with boot and send time of one byte each.
    private func packet(_ message: GossipMessage, _ updates: [MemberUpdate]) -> GossipPacket {
        GossipPacket(sender: "s", boot: 0, sentAt: 0, message: message, updates: updates)
    }
}
