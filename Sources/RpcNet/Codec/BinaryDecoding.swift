import Foundation

struct BinaryDecoderImpl: Decoder {
    let value: BinaryValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .record(let record) = value else {
            throw BinaryCodecError.typeMismatch("expected a record, found \(value.kind)", path: describe(codingPath))
        }
        return KeyedDecodingContainer(KeyedDecoder<Key>(record: record, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .list(let values) = value else {
            throw BinaryCodecError.typeMismatch("expected a list, found \(value.kind)", path: describe(codingPath))
        }
        return UnkeyedDecoder(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleDecoder(value: value, codingPath: codingPath)
    }
}

/// Decodes a `T` from one tree value: primitives and byte strings directly, anything else
/// through `init(from:)`. The coding path is built only when needed (for the latter, or an error).
func decodeValue<T: Decodable>(_ type: T.Type, from value: BinaryValue, codingPath: @autoclosure () -> [any CodingKey])
    throws -> T
{
    func mismatch() -> BinaryCodecError {
        .typeMismatch("expected \(T.self), found \(value.kind)", path: describe(codingPath()))
    }
    func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        let result: I?
        switch value {
        case .int(let number): result = I(exactly: number)
        case .uint(let number): result = I(exactly: number)
        default: throw mismatch()
        }
        guard let result else {
            throw BinaryCodecError.typeMismatch("\(value) is out of range of \(I.self)", path: describe(codingPath()))
        }
        return result
    }
    switch type {
    case is Bool.Type: guard case .bool(let bool) = value else { throw mismatch() }; return bool as! T
    case is String.Type: guard case .string(let string) = value else { throw mismatch() }; return string as! T
    case is Double.Type:
        switch value {
        case .double(let double): return double as! T
        case .float(let float): return Double(float) as! T
        default: throw mismatch()
        }
    case is Float.Type:
        switch value {
        case .float(let float): return float as! T
        case .double(let double) where double.isNaN: return Float.nan as! T
        case .double(let double):
            guard let float = Float(exactly: double) else {
                throw BinaryCodecError.typeMismatch("\(double) is not exactly a Float", path: describe(codingPath()))
            }
            return float as! T
        default: throw mismatch()
        }
    case is Int.Type: return try integer(Int.self) as! T
    case is Int8.Type: return try integer(Int8.self) as! T
    case is Int16.Type: return try integer(Int16.self) as! T
    case is Int32.Type: return try integer(Int32.self) as! T
    case is Int64.Type: return try integer(Int64.self) as! T
    case is UInt.Type: return try integer(UInt.self) as! T
    case is UInt8.Type: return try integer(UInt8.self) as! T
    case is UInt16.Type: return try integer(UInt16.self) as! T
    case is UInt32.Type: return try integer(UInt32.self) as! T
    case is UInt64.Type: return try integer(UInt64.self) as! T
    case is [UInt8].Type: guard case .bytes(let bytes) = value else { throw mismatch() }; return bytes as! T
    case is Data.Type: guard case .bytes(let bytes) = value else { throw mismatch() }; return Data(bytes) as! T
    default: return try T(from: BinaryDecoderImpl(value: value, codingPath: codingPath()))
    }
}

/// A record's fields, found by key: absent optional fields decode as `nil`, absent required
/// ones fail with ``BinaryCodecError/missingField(_:path:)``, fields the type does not know
/// are skipped.
private struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let record: BinaryRecord
    let codingPath: [any CodingKey]

    var allKeys: [Key] { record.fields.compactMap { $0.key.codingKey(Key.self) } }

    func contains(_ key: Key) -> Bool { record[FieldKey(key)] != nil }

    private func value(for key: some CodingKey) throws -> BinaryValue {
        guard let value = record[FieldKey(key)] else {
            throw BinaryCodecError.missingField(key.stringValue, path: describe(codingPath))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        try value(for: key) == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, from: try value(for: key), codingPath: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = record[FieldKey(key)], value != .null else { return nil }
        return try decodeValue(type, from: value, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try superDecoder(forKey: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try superDecoder(forKey: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = BinarySuperKey()
        return BinaryDecoderImpl(value: record[FieldKey(key)] ?? .null, codingPath: codingPath + [key])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        BinaryDecoderImpl(value: try value(for: key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let values: [BinaryValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0
    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    init(values: [BinaryValue], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    private var elementPath: [any CodingKey] { codingPath + [BinaryIndexKey(currentIndex)] }

    private mutating func next() throws -> BinaryValue {
        guard !isAtEnd else {
            throw BinaryCodecError.typeMismatch("list ended after \(values.count) values", path: describe(elementPath))
        }
        defer { currentIndex += 1 }
        return values[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = values[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        return try decodeValue(type, from: try next(), codingPath: codingPath + [BinaryIndexKey(index)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try superDecoder().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try superDecoder().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = elementPath
        return BinaryDecoderImpl(value: try next(), codingPath: path)
    }
}

private struct SingleDecoder: SingleValueDecodingContainer {
    let value: BinaryValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, from: value, codingPath: codingPath)
    }
}
