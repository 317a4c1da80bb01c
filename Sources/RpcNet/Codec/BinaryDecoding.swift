struct BinaryDecoderImpl: Decoder {
    let value: BinaryValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .list(let values): KeyedDecodingContainer(KeyedDecoder<Key>(values: values, codingPath: codingPath))
        case .named(let entries):
            KeyedDecodingContainer(NamedKeyedDecoder<Key>(entries: entries, codingPath: codingPath))
        default:
            throw BinaryCodecError.typeMismatch("expected a keyed container at \(codingPath.map(\.stringValue))")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .list(let values) = value else {
            throw BinaryCodecError.typeMismatch("expected a list at \(codingPath.map(\.stringValue))")
        }
        return UnkeyedDecoder(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleDecoder(value: value, codingPath: codingPath)
    }
}

/// Decodes a `T` from one tree value: primitives directly, anything else through `init(from:)`.
func decodeValue<T: Decodable>(_ type: T.Type, from value: BinaryValue, codingPath: [any CodingKey]) throws -> T {
    func mismatch() -> BinaryCodecError {
        .typeMismatch("cannot read \(T.self) from \(value) at \(codingPath.map(\.stringValue))")
    }
    func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        switch value {
        case .int(let number): guard let result = I(exactly: number) else { throw mismatch() }; return result
        case .uint(let number): guard let result = I(exactly: number) else { throw mismatch() }; return result
        default: throw mismatch()
        }
    }
    switch type {
    case is Bool.Type: guard case .bool(let bool) = value else { throw mismatch() }; return bool as! T
    case is String.Type: guard case .string(let string) = value else { throw mismatch() }; return string as! T
    case is Double.Type: guard case .double(let double) = value else { throw mismatch() }; return double as! T
    case is Float.Type: guard case .float(let float) = value else { throw mismatch() }; return float as! T
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
    case let dictionary as any BinaryDecodableDictionary.Type:
        guard case .list(let values) = value else { throw mismatch() }
        return try dictionary.init(entries: values, codingPath: codingPath) as! T
    default: return try T(from: BinaryDecoderImpl(value: value, codingPath: codingPath))
    }
}

/// A keyed container whose keys are not sent: the next key asked for takes the next value.
private struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let values: [BinaryValue]
    let codingPath: [any CodingKey]
    /// Positional: the next key asked for takes the next value.
    private var cursor = Cursor()

    init(values: [BinaryValue], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { cursor.index < values.count }

    private func next(_ key: Key) throws -> BinaryValue {
        guard cursor.index < values.count else {
            throw BinaryCodecError.typeMismatch(
                "no value left for key \(key.stringValue) at \(codingPath.map(\.stringValue))")
        }
        defer { cursor.index += 1 }
        return values[cursor.index]
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard cursor.index < values.count, case .null = values[cursor.index] else { return false }
        cursor.index += 1
        return true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, from: try next(key), codingPath: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        if try decodeNil(forKey: key) { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try BinaryDecoderImpl(value: try next(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try BinaryDecoderImpl(value: try next(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard cursor.index < values.count else { throw BinaryCodecError.typeMismatch("no value left for super") }
        defer { cursor.index += 1 }
        return BinaryDecoderImpl(value: values[cursor.index], codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        BinaryDecoderImpl(value: try next(key), codingPath: codingPath + [key])
    }
}

/// A keyed container that carries its keys' names (an enum's): values are looked up by key.
private struct NamedKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let entries: [BinaryValue.Named]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { entries.contains { $0.key == key.stringValue } }

    private func value(for key: any CodingKey) throws -> BinaryValue {
        guard let entry = entries.first(where: { $0.key == key.stringValue }) else {
            throw BinaryCodecError.typeMismatch(
                "no value for key \(key.stringValue) at \(codingPath.map(\.stringValue))")
        }
        return entry.value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard case .null = try value(for: key) else { return false }
        return true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, from: try value(for: key), codingPath: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(type, forKey: key)
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
        BinaryDecoderImpl(value: try value(for: BinarySuperKey()), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        BinaryDecoderImpl(value: try value(for: key), codingPath: codingPath + [key])
    }
}

/// A shared read position (keyed containers are structs handed around by value).
private final class Cursor {
    var index = 0
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

    private mutating func next() throws -> BinaryValue {
        guard !isAtEnd else { throw BinaryCodecError.typeMismatch("list ended at \(codingPath.map(\.stringValue))") }
        defer { currentIndex += 1 }
        return values[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = values[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, from: try next(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try BinaryDecoderImpl(value: try next(), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryDecoderImpl(value: try next(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        BinaryDecoderImpl(value: try next(), codingPath: codingPath)
    }
}

private struct SingleDecoder: SingleValueDecodingContainer {
    let value: BinaryValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, from: value, codingPath: codingPath)
    }
}
