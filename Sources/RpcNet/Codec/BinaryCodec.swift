/// RpcNet's default message codec: a compact, self-describing binary form of `Codable` values.
///
/// Each value is a one-byte tag and a payload (integers as LEB128, zigzag for signed; floats as
/// little-endian IEEE 754; strings as length + UTF-8; containers as count + values). Keys are not
/// sent: keyed containers are positional, so a type must decode its keys in the order it encoded
/// them (synthesized conformances do) — this is what makes it several times smaller than JSON
/// for typical messages. Dictionaries travel as key/value entries. Types that need their keys
/// back (enums with associated values, `allKeys`-driven decoders) fail to decode with an error:
/// use ``JSONCodec`` for those. Decoding checks every count and length against the bytes left and
/// limits nesting depth, so hostile input fails with ``BinaryCodecError``.
public struct BinaryCodec: MessageCodec {
    /// Creates the codec.
    public init() {}

    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let root = Slot()
        try encodeValue(value, into: root, codingPath: [])
        var bytes: [UInt8] = []
        root.resolve().encode(into: &bytes)
        return bytes
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        var index = 0
        let value = try BinaryValue.decode(bytes, at: &index)
        guard index == bytes.count else { throw BinaryCodecError.malformed("\(bytes.count - index) trailing bytes") }
        return try Value(from: BinaryDecoderImpl(value: value, codingPath: []))
    }
}

// MARK: Encoding

/// Where one encoded value ends up; containers fill theirs in place.
private final class Slot {
    var value: BinaryValue = .null
    var children: [Slot]?

    func resolve() -> BinaryValue {
        if let children { return .list(children.map { $0.resolve() }) }
        return value
    }
}

private extension Slot {
    func makeList() -> Slot {
        if children == nil { children = [] }
        return self
    }

    func append(_ value: BinaryValue) {
        let child = Slot()
        child.value = value
        children!.append(child)
    }

    func appendSlot() -> Slot {
        let child = Slot()
        children!.append(child)
        return child
    }
}

private struct BinaryEncoderImpl: Encoder {
    let slot: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(list: slot.makeList(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: slot.makeList(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleEncoder(slot: slot, codingPath: codingPath)
    }
}

/// Encodes one value into `slot`: primitives directly, anything else through its `encode(to:)`.
private func encodeValue<T: Encodable>(_ value: T, into slot: Slot, codingPath: [any CodingKey]) throws {
    switch value {
    case let value as Bool: slot.value = .bool(value)
    case let value as String: slot.value = .string(value)
    case let value as Double: slot.value = .double(value)
    case let value as Float: slot.value = .float(value)
    case let value as Int: slot.value = .int(Int64(value))
    case let value as Int8: slot.value = .int(Int64(value))
    case let value as Int16: slot.value = .int(Int64(value))
    case let value as Int32: slot.value = .int(Int64(value))
    case let value as Int64: slot.value = .int(value)
    case let value as UInt: slot.value = .uint(UInt64(value))
    case let value as UInt8: slot.value = .uint(UInt64(value))
    case let value as UInt16: slot.value = .uint(UInt64(value))
    case let value as UInt32: slot.value = .uint(UInt64(value))
    case let value as UInt64: slot.value = .uint(value)
    case let dictionary as any BinaryEncodableDictionary:
        try dictionary.encodeEntries(into: slot.makeList(), codingPath: codingPath)
    default: try value.encode(to: BinaryEncoderImpl(slot: slot, codingPath: codingPath))
    }
    if let children = slot.children {
        slot.value = .list(children.map { $0.resolve() })
        slot.children = nil
    }
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let list: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { list.append(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: list.appendSlot(), codingPath: codingPath + [key])
    }

    // Positional keys: an absent optional still takes its place, as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return list.append(.null) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeIfPresentPrimitive(value, key) }

    private mutating func encodeIfPresentPrimitive<T: Encodable>(_ value: T?, _ key: Key) throws {
        guard let value else { return list.append(.null) }
        try encode(value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        KeyedEncodingContainer(
            KeyedEncoder<NestedKey>(list: list.appendSlot().makeList(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: list.appendSlot().makeList(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        BinaryEncoderImpl(slot: list.appendSlot(), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        BinaryEncoderImpl(slot: list.appendSlot(), codingPath: codingPath + [key])
    }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let list: Slot
    let codingPath: [any CodingKey]
    var count: Int { list.children?.count ?? 0 }

    mutating func encodeNil() throws { list.append(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: list.appendSlot(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        KeyedEncodingContainer(KeyedEncoder<NestedKey>(list: list.appendSlot().makeList(), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: list.appendSlot().makeList(), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        BinaryEncoderImpl(slot: list.appendSlot(), codingPath: codingPath)
    }
}

private struct SingleEncoder: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.value = .null }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: slot, codingPath: codingPath)
    }
}

// MARK: Decoding

private struct BinaryDecoderImpl: Decoder {
    let value: BinaryValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .list(let values) = value else {
            throw BinaryCodecError.typeMismatch("expected a keyed container at \(codingPath.map(\.stringValue))")
        }
        return KeyedDecodingContainer(KeyedDecoder<Key>(values: values, codingPath: codingPath))
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
private func decodeValue<T: Decodable>(_ type: T.Type, from value: BinaryValue, codingPath: [any CodingKey]) throws -> T
{
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

// Dictionaries encode as keyed containers whose keys are data, which positional keyed containers
// would drop: they travel as alternating key and value entries instead.

private protocol BinaryEncodableDictionary {
    func encodeEntries(into list: Slot, codingPath: [any CodingKey]) throws
}

extension Dictionary: BinaryEncodableDictionary where Key: Encodable, Value: Encodable {
    fileprivate func encodeEntries(into list: Slot, codingPath: [any CodingKey]) throws {
        for (key, value) in self {
            try encodeValue(key, into: list.appendSlot(), codingPath: codingPath)
            try encodeValue(value, into: list.appendSlot(), codingPath: codingPath)
        }
    }
}

private protocol BinaryDecodableDictionary {
    init(entries: [BinaryValue], codingPath: [any CodingKey]) throws
}

extension Dictionary: BinaryDecodableDictionary where Key: Decodable, Value: Decodable {
    fileprivate init(entries: [BinaryValue], codingPath: [any CodingKey]) throws {
        guard entries.count % 2 == 0 else {
            throw BinaryCodecError.malformed("dictionary with an odd number of entries")
        }
        self.init(minimumCapacity: entries.count / 2)
        for index in stride(from: 0, to: entries.count, by: 2) {
            let key = try decodeValue(Key.self, from: entries[index], codingPath: codingPath)
            guard
                self.updateValue(
                    try decodeValue(Value.self, from: entries[index + 1], codingPath: codingPath), forKey: key) == nil
            else {
                throw BinaryCodecError.malformed("duplicate dictionary key")
            }
        }
    }
}

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
