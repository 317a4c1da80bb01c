/// The compact binary format's value tree: every value is a tag byte and a payload. Keyed
/// containers are positional (keys are not sent), so a type must decode its keys in the order it
/// encoded them, as synthesized `Codable` conformances do. An enum's keyed container is the
/// exception: its decoder asks which key is present to pick the case, so its keys travel.
enum BinaryValue: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    /// An unkeyed or keyed container's values in order.
    case list([BinaryValue])
    /// An enum's keyed container: each value with its key's name.
    case named([Named])

    /// One value of a ``named(_:)`` container.
    struct Named: Equatable {
        let key: String
        let value: BinaryValue
    }

    private enum Tag: UInt8 {
        case null = 0, `false`, `true`, int, uint, double, float, string, list, named
    }

    /// Deepest nesting accepted when decoding, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(Tag.null.rawValue)
        case .bool(let value): bytes.append(value ? Tag.true.rawValue : Tag.false.rawValue)
        case .int(let value):
            bytes.append(Tag.int.rawValue)
            LEB128.append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &bytes)
        case .uint(let value):
            bytes.append(Tag.uint.rawValue)
            LEB128.append(value, to: &bytes)
        case .double(let value):
            bytes.append(Tag.double.rawValue)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .float(let value):
            bytes.append(Tag.float.rawValue)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .string(let value):
            bytes.append(Tag.string.rawValue)
            LEB128.append(UInt64(value.utf8.count), to: &bytes)
            bytes.append(contentsOf: value.utf8)
        case .list(let values):
            bytes.append(Tag.list.rawValue)
            LEB128.append(UInt64(values.count), to: &bytes)
            for value in values { value.encode(into: &bytes) }
        case .named(let entries):
            bytes.append(Tag.named.rawValue)
            LEB128.append(UInt64(entries.count), to: &bytes)
            for entry in entries {
                LEB128.append(UInt64(entry.key.utf8.count), to: &bytes)
                bytes.append(contentsOf: entry.key.utf8)
                entry.value.encode(into: &bytes)
            }
        }
    }

    /// Parses one value from `bytes` starting at `index`, advancing it.
    static func decode(_ bytes: [UInt8], at index: inout Int, depth: Int = 0) throws(BinaryCodecError) -> BinaryValue {
        guard depth <= maxDepth else { throw .malformed("nesting deeper than \(maxDepth)") }
        guard index < bytes.count, let tag = Tag(rawValue: bytes[index]) else {
            throw .malformed("unknown or missing tag")
        }
        index += 1
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int:
            let raw = try readVarint(bytes, &index)
            return .int(Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
        case .uint: return .uint(try readVarint(bytes, &index))
        case .double: return .double(Double(bitPattern: try readFixed(bytes, &index, as: UInt64.self)))
        case .float: return .float(Float(bitPattern: try readFixed(bytes, &index, as: UInt32.self)))
        case .string: return .string(try readString(bytes, &index))
        case .list:
            let count = try readCount(bytes, &index)
            var values: [BinaryValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try decode(bytes, at: &index, depth: depth + 1)) }
            return .list(values)
        case .named:
            let count = try readCount(bytes, &index)
            var entries: [Named] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readString(bytes, &index)
                entries.append(Named(key: key, value: try decode(bytes, at: &index, depth: depth + 1)))
            }
            return .named(entries)
        }
    }

    /// Reads a container's element count; every element takes at least one byte, so a count
    /// beyond what is left is a lie, refused before reserving anything.
    private static func readCount(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> Int {
        let count = try readVarint(bytes, &index)
        guard count <= UInt64(bytes.count - index) else { throw .malformed("container count exceeds the input") }
        return Int(count)
    }

    private static func readString(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> String {
        let length = try readVarint(bytes, &index)
        guard length <= UInt64(bytes.count - index) else { throw .malformed("string runs past the end") }
        let end = index + Int(length)
        guard let string = String(validating: bytes[index..<end], as: UTF8.self) else {
            throw .malformed("string is not UTF-8")
        }
        index = end
        return string
    }

    private static func readVarint(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> UInt64 {
        try LEB128.read(bytes, &index)
    }

    private static func readFixed<T: FixedWidthInteger>(_ bytes: [UInt8], _ index: inout Int, as type: T.Type)
        throws(BinaryCodecError) -> T
    {
        let size = MemoryLayout<T>.size
        guard bytes.count - index >= size else { throw .malformed("number cut short") }
        var value: T = 0
        for offset in 0..<size { value |= T(bytes[index + offset]) << (8 * offset) }
        index += size
        return value
    }
}

/// Why bytes do not decode with ``BinaryCodec``.
public enum BinaryCodecError: Error, Equatable, Sendable {
    /// The bytes are not a well-formed value.
    case malformed(String)
    /// The value does not have the shape the type expects.
    case typeMismatch(String)
}

/// Unsigned LEB128: seven bits per byte, high bit set on all but the last; any `UInt64` fits
/// in at most 10 bytes.
enum LEB128 {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func read(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count else { throw .malformed("number cut short") }
            let byte = bytes[index]
            index += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw .malformed("number too large") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }
}
