import Transports

/// Why a gossip datagram was dropped; each reason has its own counter.
enum GossipDropReason: String, Error, Sendable, CaseIterable, CustomStringConvertible {
    /// Larger than the configured datagram size.
    case oversized
    /// Not a well-formed `rpcnet-gossip/1` datagram.
    case malformed
    /// Authentication failed, or an unauthenticated datagram where a key is required (or the
    /// reverse).
    case unauthenticated
    /// Older than the replay window allows for its sender.
    case replayed
    /// Sent by a member name this member does not accept (for example its own).
    case foreign
    /// A join under a name a live member holds at another address (answered with
    /// `nameInUse`).
    case nameConflict

    var description: String { rawValue }
}

/// The byte layout of gossip datagrams (docs/PROTOCOL.md, "Gossip"): QUIC varints for numbers
/// and lengths, UTF-8 strings with a varint length, addresses as family, bytes and port.
/// Decoding checks every length against the bytes left and against fixed limits before
/// allocating, and fails with ``GossipCodecError``.
enum GossipCodec {
    /// Longest member name, in UTF-8 bytes.
    static let maxNameLength = 128
    /// Most tags one member carries.
    static let maxTagCount = 64
    /// Largest incarnation a datagram may carry, C: the varint ceiling. A larger value cannot be
    /// encoded, so a member never raises its own above it.
    static let incarnationCeiling = VarInt.max
    /// Largest incarnation, L = C − 2^32, a member accepts in news about another member from
    /// anyone but that member itself (docs/PROTOCOL.md §7.5): above it only the member's own
    /// alive and left updates count, so no accusation or relayed claim can leave a member too
    /// little room to refute, change tags and leave.
    static let maxIncarnation = incarnationCeiling - (1 << 32)
    /// Largest incarnation, S = C − 2^31, at which a member refutes news about itself by
    /// raising its own past it. Between L and S lie the incarnations an earlier life of the
    /// member may have reached (only it could raise them past L), so a restart still refutes
    /// them; S to C is the room left for refutations at its own incarnation, tag changes and
    /// leaving (2^31 raises).
    static let maxRefutedIncarnation = incarnationCeiling - (1 << 31)

    // MARK: Encoding

    static func encode(_ packet: GossipPacket) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        appendString(packet.sender, to: &bytes)
        VarInt.append(packet.boot & VarInt.max, to: &bytes)
        VarInt.append(packet.sentAt & VarInt.max, to: &bytes)
        encode(packet.message, into: &bytes)
        VarInt.append(UInt64(packet.updates.count), to: &bytes)
        for update in packet.updates { encode(update, into: &bytes) }
        return bytes
    }

    // MARK: Sizes, computed without encoding

    /// Bytes `update` takes in a datagram, for packing updates within the size budget.
    static func encodedSize(of update: MemberUpdate) -> Int {
        switch update {
        case .alive(let name, let address, let incarnation, let tags):
            1 + size(of: name) + size(of: address) + VarInt.encodedLength(incarnation) + size(of: tags)
        case .suspect(let name, let incarnation, let from), .failed(let name, let incarnation, let from):
            1 + size(of: name) + VarInt.encodedLength(incarnation) + size(of: from)
        case .left(let name, let incarnation):
            1 + size(of: name) + VarInt.encodedLength(incarnation)
        }
    }

    /// Bytes `state` takes in a sync message.
    static func encodedSize(of state: MemberState) -> Int {
        size(of: state.name) + size(of: state.address) + 1 + VarInt.encodedLength(state.incarnation)
            + size(of: state.tags)
    }

    /// Bytes a datagram from `sender` carrying `message` and no updates takes at most (boot and
    /// send time counted at their largest), so the rest of the budget can go to updates.
    static func headerSize(sender: String, message: GossipMessage) -> Int {
        let message =
            switch message {
            case .ping(let sequence, let target): 1 + VarInt.encodedLength(sequence) + size(of: target)
            case .pingRequest(let sequence, let target, let address):
                1 + VarInt.encodedLength(sequence) + size(of: target) + size(of: address)
            case .ack(let sequence), .nack(let sequence): 1 + VarInt.encodedLength(sequence)
            case .sync(let members, _, _):
                2 + VarInt.encodedLength(UInt64(members.count)) + members.reduce(0) { $0 + encodedSize(of: $1) }
            case .gossip: 1
            case .nameInUse(let holder): 1 + size(of: holder)
            }
        return size(of: sender) + 2 * VarInt.encodedLength(VarInt.max) + message + 1
    }

    private static func size(of string: String) -> Int {
        VarInt.encodedLength(UInt64(string.utf8.count)) + string.utf8.count
    }

    private static func size(of address: SocketAddress) -> Int {
        switch address.host {
        case .ipv4: 1 + 4 + 2
        case .ipv6: 1 + 16 + 2
        }
    }

    private static func size(of tags: [String: String]) -> Int {
        tags.reduce(VarInt.encodedLength(UInt64(tags.count))) { $0 + size(of: $1.key) + size(of: $1.value) }
    }

    private static func encode(_ message: GossipMessage, into bytes: inout [UInt8]) {
        switch message {
        case .ping(let sequence, let target):
            bytes.append(1)
            VarInt.append(sequence, to: &bytes)
            appendString(target, to: &bytes)
        case .pingRequest(let sequence, let target, let address):
            bytes.append(2)
            VarInt.append(sequence, to: &bytes)
            appendString(target, to: &bytes)
            appendAddress(address, to: &bytes)
        case .ack(let sequence):
            bytes.append(3)
            VarInt.append(sequence, to: &bytes)
        case .nack(let sequence):
            bytes.append(4)
            VarInt.append(sequence, to: &bytes)
        case .sync(let members, let replyWanted, let join):
            bytes.append(5)
            bytes.append((replyWanted ? 1 : 0) | (join ? 2 : 0))
            VarInt.append(UInt64(members.count), to: &bytes)
            for member in members { encode(member, into: &bytes) }
        case .gossip:
            bytes.append(6)
        case .nameInUse(let holder):
            bytes.append(7)
            appendAddress(holder, to: &bytes)
        }
    }

    private static func encode(_ update: MemberUpdate, into bytes: inout [UInt8]) {
        switch update {
        case .alive(let name, let address, let incarnation, let tags):
            bytes.append(1)
            appendString(name, to: &bytes)
            appendAddress(address, to: &bytes)
            VarInt.append(incarnation, to: &bytes)
            appendTags(tags, to: &bytes)
        case .suspect(let name, let incarnation, let from):
            bytes.append(2)
            appendString(name, to: &bytes)
            VarInt.append(incarnation, to: &bytes)
            appendString(from, to: &bytes)
        case .failed(let name, let incarnation, let from):
            bytes.append(3)
            appendString(name, to: &bytes)
            VarInt.append(incarnation, to: &bytes)
            appendString(from, to: &bytes)
        case .left(let name, let incarnation):
            bytes.append(4)
            appendString(name, to: &bytes)
            VarInt.append(incarnation, to: &bytes)
        }
    }

    private static func encode(_ state: MemberState, into bytes: inout [UInt8]) {
        appendString(state.name, to: &bytes)
        appendAddress(state.address, to: &bytes)
        bytes.append(state.status.rawValue)
        VarInt.append(state.incarnation, to: &bytes)
        appendTags(state.tags, to: &bytes)
    }

    private static func appendString(_ string: String, to bytes: inout [UInt8]) {
        VarInt.append(UInt64(string.utf8.count), to: &bytes)
        bytes.append(contentsOf: string.utf8)
    }

    private static func appendTags(_ tags: [String: String], to bytes: inout [UInt8]) {
        VarInt.append(UInt64(tags.count), to: &bytes)
        // Sorted, so equal tags encode to equal bytes.
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            appendString(key, to: &bytes)
            appendString(value, to: &bytes)
        }
    }

    private static func appendAddress(_ address: SocketAddress, to bytes: inout [UInt8]) {
        switch address.host {
        case .ipv4(let raw):
            bytes.append(4)
            withUnsafeBytes(of: raw) { bytes.append(contentsOf: $0) }
        case .ipv6(let high, let low):
            bytes.append(6)
            withUnsafeBytes(of: high) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: low) { bytes.append(contentsOf: $0) }
        }
        bytes.append(UInt8(address.port >> 8))
        bytes.append(UInt8(address.port & 0xFF))
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) throws(GossipCodecError) -> GossipPacket {
        var reader = GossipReader(bytes: bytes)
        let sender = try reader.name("sender")
        let boot = try reader.varint("boot")
        let sentAt = try reader.varint("sent time")
        let message = try decodeMessage(&reader)
        let count = try reader.count("updates", minimumSize: 3)
        var updates: [MemberUpdate] = []
        updates.reserveCapacity(count)
        for _ in 0..<count { updates.append(try decodeUpdate(&reader)) }
        guard reader.isAtEnd else { throw .malformed("\(reader.remaining) trailing bytes") }
        return GossipPacket(sender: sender, boot: boot, sentAt: sentAt, message: message, updates: updates)
    }

    private static func decodeMessage(_ reader: inout GossipReader) throws(GossipCodecError)
        -> GossipMessage
    {
        switch try reader.byte("message type") {
        case 1: return .ping(sequence: try reader.varint("sequence"), target: try reader.name("target"))
        case 2:
            return .pingRequest(
                sequence: try reader.varint("sequence"), target: try reader.name("target"),
                address: try reader.address())
        case 3: return .ack(sequence: try reader.varint("sequence"))
        case 4: return .nack(sequence: try reader.varint("sequence"))
        case 5:
            let flags = try reader.byte("sync flags")
            guard flags & ~3 == 0 else { throw .malformed("unknown sync flags \(flags)") }
            let count = try reader.count("members", minimumSize: 10)
            var members: [MemberState] = []
            members.reserveCapacity(count)
            for _ in 0..<count {
                let name = try reader.name("member name")
                let address = try reader.address()
                guard let status = MemberStatus(rawValue: try reader.byte("status")) else {
                    throw .malformed("unknown member status")
                }
                members.append(
                    MemberState(
                        name: name, address: address, status: status, incarnation: try reader.incarnation(),
                        tags: try reader.tags()))
            }
            return .sync(members: members, replyWanted: flags & 1 != 0, join: flags & 2 != 0)
        case 6: return .gossip
        case 7: return .nameInUse(holder: try reader.address())
        case let type: throw .malformed("unknown message type \(type)")
        }
    }

    private static func decodeUpdate(_ reader: inout GossipReader) throws(GossipCodecError)
        -> MemberUpdate
    {
        switch try reader.byte("update type") {
        case 1:
            return .alive(
                name: try reader.name("name"), address: try reader.address(),
                incarnation: try reader.incarnation(), tags: try reader.tags())
        case 2:
            return .suspect(
                name: try reader.name("name"), incarnation: try reader.incarnation(),
                from: try reader.name("from"))
        case 3:
            return .failed(
                name: try reader.name("name"), incarnation: try reader.incarnation(),
                from: try reader.name("from"))
        case 4: return .left(name: try reader.name("name"), incarnation: try reader.incarnation())
        case let type: throw .malformed("unknown update type \(type)")
        }
    }
}

/// Why bytes are not a gossip datagram.
enum GossipCodecError: Error, Equatable {
    case malformed(String)
}

/// A bounds-checked cursor over a datagram.
private struct GossipReader {
    let bytes: [UInt8]
    private(set) var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - index }
    var isAtEnd: Bool { index == bytes.count }

    mutating func byte(_ field: String) throws(GossipCodecError) -> UInt8 {
        guard index < bytes.count else { throw .malformed("\(field) is cut short") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func varint(_ field: String) throws(GossipCodecError) -> UInt64 {
        let decoded = bytes.withUnsafeBytes { raw in VarInt.decode(UnsafeRawBufferPointer(rebasing: raw[index...])) }
        guard let decoded else { throw .malformed("\(field) is cut short") }
        index += decoded.length
        return decoded.value
    }

    /// An incarnation: any varint. What a member accepts is decided per update, not here, so
    /// an update with an incarnation out of range costs that update, not the datagram
    /// (``SWIMInstance/admits(name:incarnation:firstHand:)``).
    mutating func incarnation() throws(GossipCodecError) -> UInt64 {
        try varint("incarnation")
    }

    /// A count of elements that each take at least `minimumSize` bytes: refused before
    /// allocating when the bytes left cannot hold that many.
    mutating func count(_ field: String, minimumSize: Int) throws(GossipCodecError) -> Int {
        let count = try varint(field)
        guard count <= UInt64(remaining / minimumSize) else { throw .malformed("\(field) count exceeds the datagram") }
        return Int(count)
    }

    mutating func string(_ field: String, limit: Int) throws(GossipCodecError) -> String {
        let length = try varint("\(field) length")
        guard length <= UInt64(limit) else { throw .malformed("\(field) longer than \(limit) bytes") }
        guard length <= UInt64(remaining) else { throw .malformed("\(field) runs past the datagram") }
        let end = index + Int(length)
        guard let string = String(validating: bytes[index..<end], as: UTF8.self) else {
            throw .malformed("\(field) is not UTF-8")
        }
        index = end
        return string
    }

    mutating func name(_ field: String) throws(GossipCodecError) -> String {
        let name = try string(field, limit: GossipCodec.maxNameLength)
        guard !name.isEmpty else { throw .malformed("\(field) is empty") }
        return name
    }

    /// Tags as sent. Their total size is bounded only by the datagram here: each member applies
    /// its own `maxTagBytes` to the member update that carries them (§7.5 of PROTOCOL.md), so a
    /// peer configured with a larger limit costs that one update, not the whole datagram.
    mutating func tags() throws(GossipCodecError) -> [String: String] {
        let maxBytes = remaining
        let count = try self.count("tags", minimumSize: 2)
        guard count <= GossipCodec.maxTagCount else { throw .malformed("more than \(GossipCodec.maxTagCount) tags") }
        var tags: [String: String] = [:]
        var total = 0
        for _ in 0..<count {
            let key = try string("tag key", limit: maxBytes)
            let value = try string("tag value", limit: maxBytes)
            total += key.utf8.count + value.utf8.count
            guard total <= maxBytes else { throw .malformed("tags exceed \(maxBytes) bytes") }
            guard tags.updateValue(value, forKey: key) == nil else { throw .malformed("duplicate tag \(key)") }
        }
        return tags
    }

    mutating func address() throws(GossipCodecError) -> SocketAddress {
        let family = try byte("address family")
        let host: SocketAddress.Host
        switch family {
        case 4:
            guard remaining >= 6 else { throw .malformed("IPv4 address is cut short") }
            let raw = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index, as: UInt32.self) }
            host = .ipv4(raw)
            index += 4
        case 6:
            guard remaining >= 18 else { throw .malformed("IPv6 address is cut short") }
            let (high, low) = bytes.withUnsafeBytes {
                (
                    $0.loadUnaligned(fromByteOffset: index, as: UInt64.self),
                    $0.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                )
            }
            host = .ipv6(high, low)
            index += 16
        default: throw .malformed("unknown address family \(family)")
        }
        let port = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        index += 2
        return SocketAddress(host: host, port: port)
    }
}
