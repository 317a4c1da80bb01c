import FuzzSupport

@testable import RpcNet

/// Seeds: the datagrams of docs/PROTOCOL.md §7.7 in every mode, and packets of every message
/// and update kind, plain and sealed with ``fuzzClusterKey``.
func seedsGossipCodec() -> [Seed] {
    let documented = try! ProtocolDocument.hexBlocks(from: "### 7.7 Example", to: "Sealed, the ping")
    let v4 = SocketAddress(host: .ipv4(0x0100_007F), port: 7946)
    let v6 = SocketAddress(host: .ipv6(0, 1 << 56), port: 443)
    let states = [
        MemberState(name: "m", address: v6, status: .suspect, incarnation: 300, tags: ["role": "worker", "z": "1"]),
        MemberState(name: "n", address: v4, status: .failed, incarnation: 0, tags: [:]),
    ]
    let updates: [MemberUpdate] = [
        .alive(name: "a", address: v4, incarnation: 1, tags: ["role": "director"]),
        .suspect(name: "b", incarnation: 70, from: "c"), .failed(name: "b", incarnation: 20_000, from: "a"),
        .left(name: "c", incarnation: GossipCodec.maxIncarnation),
    ]
    let messages: [(String, GossipMessage)] = [
        ("ping", .ping(sequence: 1, target: "t")), ("pingreq", .pingRequest(sequence: 3, target: "t", address: v6)),
        ("ack", .ack(sequence: 64)), ("nack", .nack(sequence: 0)), ("gossip", .gossip),
        ("sync", .sync(members: states, replyWanted: true, join: true)), ("nameinuse", .nameInUse(holder: v4)),
    ]
    let sealer = GossipSealer(keys: [fuzzClusterKey])
    var seeds: [Seed] = []
    for (index, datagram) in documented.enumerated() {
        seeds.append(Seed("doc\(index)-body", [0] + datagram.dropFirst(2)))
        seeds.append(Seed("doc\(index)-plain", [1] + datagram))
        seeds.append(Seed("doc\(index)-sealed", [2] + sealer.seal(Array(datagram.dropFirst(2)))))
    }
    for (name, message) in messages {
        let packet = GossipPacket(sender: "s", boot: 1, sentAt: 2, message: message, updates: updates)
        let body = GossipCodec.encode(packet)
        seeds.append(Seed("\(name)-body", [0] + body))
        seeds.append(Seed("\(name)-sealed", [2] + sealer.seal(body)))
    }
    return seeds
}
