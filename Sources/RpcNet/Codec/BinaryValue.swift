/// The value tree of ``BinaryCodec``'s format (docs/PROTOCOL.md §8): every value is a tag byte
/// and a payload. Records carry their field keys, so a field is found by key wherever it is, a
/// missing required field is an error, and an unknown one is skipped.
enum BinaryValue: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    /// Raw bytes (`Data`, `[UInt8]`).
    case bytes([UInt8])
    /// An unkeyed container's values in order.
    case list([BinaryValue])
    /// A keyed container's fields.
    case record(BinaryRecord)

    /// The tag byte of each kind of value (§8.2).
    private enum Tag: UInt8 {
        case null = 0, `false`, `true`, int, uint, double, float, string, bytes, list, record
    }

    /// Deepest nesting accepted when decoding, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    /// What the value is, for error messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a bool"
        case .int, .uint: "an integer"
        case .double, .float: "a floating-point number"
        case .string: "a string"
        case .bytes: "bytes"
        case .list: "a list"
        case .record: "a record"
        }
    }

    /// Appends the value's encoding.
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
        case .bytes(let value):
            bytes.append(Tag.bytes.rawValue)
            LEB128.append(UInt64(value.count), to: &bytes)
            bytes.append(contentsOf: value)
        case .list(let values):
            bytes.append(Tag.list.rawValue)
            LEB128.append(UInt64(values.count), to: &bytes)
            for value in values { value.encode(into: &bytes) }
        case .record(let record):
            bytes.append(Tag.record.rawValue)
            LEB128.append(UInt64(record.fields.count), to: &bytes)
            for field in record.fields {
                field.key.encode(into: &bytes)
                field.value.encode(into: &bytes)
            }
        }
    }

    /// Parses one value from `bytes` starting at `index`, advancing it.
    static func decode(_ bytes: [UInt8], at index: inout Int, depth: Int = 0) throws(BinaryCodecError) -> BinaryValue {
        guard depth <= maxDepth else { throw .malformed("nesting deeper than \(maxDepth)") }
        guard index < bytes.count else { throw .malformed("value missing") }
        guard let tag = Tag(rawValue: bytes[index]) else { throw .malformed("unknown tag \(bytes[index])") }
        index += 1
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int:
            let raw = try LEB128.read(bytes, &index)
            return .int(Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
        case .uint: return .uint(try LEB128.read(bytes, &index))
        case .double: return .double(Double(bitPattern: try readFixed(bytes, &index, as: UInt64.self)))
        case .float: return .float(Float(bitPattern: try readFixed(bytes, &index, as: UInt32.self)))
        case .string: return .string(try readString(bytes, &index))
        case .bytes:
            let end = try readEnd(bytes, &index, of: "bytes")
            defer { index = end }
            return .bytes(Array(bytes[index..<end]))
        case .list:
            let count = try readCount(bytes, &index)
            var values: [BinaryValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try decode(bytes, at: &index, depth: depth + 1)) }
            return .list(values)
        case .record:
            let count = try readCount(bytes, &index)
            var record = BinaryRecord(capacity: count)
            for _ in 0..<count {
                let key = try FieldKey.decode(bytes, &index)
                guard record.append(key, try decode(bytes, at: &index, depth: depth + 1)) else {
                    throw .malformed("record repeats the key \(key)")
                }
            }
            return .record(record)
        }
    }

    /// Reads a container's element count; every element takes at least one byte, so a count
    /// beyond what is left is a lie, refused before reserving anything.
    private static func readCount(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> Int {
        let count = try LEB128.read(bytes, &index)
        guard count <= UInt64(bytes.count - index) else { throw .malformed("container count exceeds the input") }
        return Int(count)
    }

    /// Reads a length and returns where that many bytes from `index` end, if they are there.
    static func readEnd(_ bytes: [UInt8], _ index: inout Int, of what: String) throws(BinaryCodecError) -> Int {
        let length = try LEB128.read(bytes, &index)
        guard length <= UInt64(bytes.count - index) else { throw .malformed("\(what) run past the end") }
        return index + Int(length)
    }

    static func readString(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> String {
        let end = try readEnd(bytes, &index, of: "string bytes")
        guard let string = String(validating: bytes[index..<end], as: UTF8.self) else {
            throw .malformed("string is not UTF-8")
        }
        index = end
        return string
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
