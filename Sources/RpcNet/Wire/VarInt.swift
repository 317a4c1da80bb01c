/// QUIC's variable-length integer encoding (RFC 9000 §16), used for every length and number in
/// RpcNet frames: the two high bits of the first byte give the length (1, 2, 4 or 8 bytes), the
/// rest is the value, big-endian, up to 2^62 − 1.
enum VarInt {
    /// The largest encodable value.
    static let max: UInt64 = (1 << 62) - 1

    /// Bytes needed to encode `value`.
    static func encodedLength(_ value: UInt64) -> Int {
        switch value {
        case ..<(1 << 6): 1
        case ..<(1 << 14): 2
        case ..<(1 << 30): 4
        default: 8
        }
    }

    /// Appends `value` (at most ``max``) to `bytes`.
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        precondition(value <= max, "varint out of range")
        let length = encodedLength(value)
        let prefix: UInt64 =
            switch length {
            case 1: 0
            case 2: 0b01
            case 4: 0b10
            default: 0b11
            }
        let encoded = value | (prefix << UInt64(length * 8 - 2))
        for index in stride(from: length - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: encoded >> UInt64(index * 8)))
        }
    }

    /// Decodes a varint at the start of `bytes`: the value and how many bytes it took, or nil
    /// when `bytes` ends first.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> (value: UInt64, length: Int)? {
        guard let first = bytes.first else { return nil }
        let length = 1 << Int(first >> 6)
        guard bytes.count >= length else { return nil }
        var value = UInt64(first & 0x3F)
        for index in 1..<length {
            value = value << 8 | UInt64(bytes[index])
        }
        return (value, length)
    }
}
