/// Unsigned LEB128, the integer encoding of ``BinaryCodec`` (docs/PROTOCOL.md §8.1): seven bits
/// per byte, least significant group first, the high bit set on every byte but the last; any
/// `UInt64` fits in at most 10 bytes. Writers send the shortest form; readers accept longer ones.
enum LEB128 {
    /// Appends `value` in its shortest form.
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// The number of bytes `append` writes for `value`.
    static func size(of value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Reads one number at `index`, advancing it; refuses a number cut short or beyond 64 bits.
    static func read(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count else { throw .malformed("number cut short") }
            let byte = bytes[index]
            index += 1
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw .malformed("number too large") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }
}
