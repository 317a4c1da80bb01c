import FuzzSupport

@testable import RpcNet

/// Fuzzes the gossip datagram path: `GossipSealer.open` (plain and with a fixed key) and
/// `GossipCodec.decode`.
///
/// Input: a mode byte, then the datagram or body. Mode 0 decodes a body; mode 1 opens a
/// datagram with a keyless sealer (the plain path) and decodes its body; mode 2 opens with the
/// fixed key (the seeds include datagrams sealed with it, so mutations of their header, nonce
/// and ciphertext are tried), and also seals the input with the key and checks it opens to
/// the same bytes, which it then decodes.
///
/// Invariants: no trap; a packet that decodes re-encodes to bytes that decode to an equal packet
/// and encode identically (tags are sorted when encoded); the size the state machine budgets
/// for a datagram (`headerSize` plus each update's `encodedSize`) is never less than its
/// encoded size, since an underestimate would send datagrams over the size limit.
func fuzzGossipCodec(_ bytes: [UInt8]) {
    var input = FuzzInput(bytes)
    let mode = input.byte() % 3
    let rest = input.rest()
    switch mode {
    case 0:
        checkDecode(rest)
    case 1:
        let sealer = GossipSealer(keys: [])
        if let body = try? sealer.open(rest) {
            fuzzCheck(sealer.seal(body) == rest, "a plain datagram does not re-seal to itself")
            checkDecode(body)
        }
    default:
        let sealer = GossipSealer(keys: [fuzzClusterKey])
        if let body = try? sealer.open(rest) { checkDecode(body) }
        do {
            let opened = try sealer.open(sealer.seal(rest))
            fuzzCheck(opened == rest, "sealing then opening changed the body")
        } catch {
            fatalError("fuzz invariant: a datagram sealed with the key does not open: \(error)")
        }
        checkDecode(rest)
    }
}

/// The key of mode 2 (the seed generator seals with it too): bytes 0, 1, …, 31.
let fuzzClusterKey = try! ClusterKey(bytes: (0..<32).map { UInt8($0) })

private func checkDecode(_ body: [UInt8]) {
    guard let packet = try? GossipCodec.decode(body) else { return }
    let encoded = GossipCodec.encode(packet)
    guard let again = try? GossipCodec.decode(encoded) else {
        fatalError("fuzz invariant: \(packet) re-encodes to bytes that do not decode")
    }
    fuzzCheck(again == packet, "\(packet) round-tripped to \(again)")
    fuzzCheck(GossipCodec.encode(again) == encoded, "\(packet) does not encode stably")
    // `send` budgets one byte for the update count; a longer count varint is the difference.
    let budget =
        GossipCodec.headerSize(sender: packet.sender, message: packet.message)
        + packet.updates.reduce(0) { $0 + GossipCodec.encodedSize(of: $1) }
        + VarInt.encodedLength(UInt64(packet.updates.count)) - 1
    fuzzCheck(encoded.count <= budget, "\(packet) encodes to \(encoded.count) bytes, budgeted \(budget)")
}
