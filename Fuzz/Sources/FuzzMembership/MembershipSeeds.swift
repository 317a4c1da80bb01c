import FuzzSupport

@testable import RpcNet

/// Seeds: scripts that join through a peer, get suspected and refute, hear of members and lose
/// them, and receive the raw datagrams of docs/PROTOCOL.md §7.7.
func seedsMembership() -> [Seed] {
    // Event bytes: 0 raw datagram (2-byte length, bytes, source), 1 scripted packet (source,
    // then `PacketScript` fields), 2 short clock step, 3 long clock step.
    // A sync from m1 (reply wanted) listing m1, m2 and m3 alive.
    let syncFromSeed: [UInt8] = [1, 1, 1, 0, 1, 11, 0, 3, 1, 1, 0, 1, 1, 2, 2, 0, 1, 1, 3, 3, 0, 1, 0, 0]
    // Gossip from m2 saying m0 is suspect, then failed.
    let accuseSelf: [UInt8] = [1, 2, 2, 0, 2, 5, 0, 2, 1, 0, 1, 2, 2, 0, 2, 2]
    // A ping from m3 for m0, and an ack from m1 for probe 0.
    let probeSelf: [UInt8] = [1, 3, 3, 0, 3, 0, 4, 0, 0]
    let ackProbe: [UInt8] = [1, 1, 1, 0, 4, 2, 0, 0]
    let steps: [UInt8] = [2, 100, 3, 5, 2, 50]
    var seeds = [
        Seed("start-idle", [0] + steps),
        Seed("join", [1] + syncFromSeed + steps),
        Seed("refute", [0] + syncFromSeed + accuseSelf + steps + probeSelf),
        Seed("probe", [0] + syncFromSeed + steps + ackProbe + steps + [3, 30]),
    ]
    for (index, datagram) in try! ProtocolDocument.hexBlocks(from: "### 7.7 Example", to: "Sealed, the ping")
        .enumerated()
    {
        let length = UInt16(datagram.count)
        seeds.append(Seed("doc\(index)", [0, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + datagram + [1] + steps))
    }
    return seeds
}
