/// Where one encoded value ends up; containers fill theirs in place.
final class BinarySlot {
    var value: BinaryValue = .null
    var children: [BinarySlot]?
    /// The children's key names, for a container whose keys travel (an enum's).
    var keys: [String]?

    func resolve() -> BinaryValue {
        guard let children else { return value }
        guard let keys else { return .list(children.map { $0.resolve() }) }
        return .named(zip(keys, children).map { BinaryValue.Named(key: $0, value: $1.resolve()) })
    }

    func makeList(namingKeys: Bool = false) -> BinarySlot {
        if children == nil { children = [] }
        if namingKeys, keys == nil { keys = [] }
        return self
    }

    func append(_ value: BinaryValue, key: (any CodingKey)? = nil) {
        appendSlot(key: key).value = value
    }

    func appendSlot(key: (any CodingKey)? = nil) -> BinarySlot {
        let child = BinarySlot()
        children!.append(child)
        keys?.append(key?.stringValue ?? "")
        return child
    }
}

private struct BinaryEncoderImpl: Encoder {
    let slot: BinarySlot
    let codingPath: [any CodingKey]
    /// Whether the value being encoded is an enum, whose keyed container must carry key names.
    var isEnum = false
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(list: slot.makeList(namingKeys: isEnum), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: slot.makeList(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleEncoder(slot: slot, codingPath: codingPath)
    }
}

/// Encodes one value into `slot`: primitives directly, anything else through its `encode(to:)`.
func encodeValue<T: Encodable>(_ value: T, into slot: BinarySlot, codingPath: [any CodingKey]) throws {
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
    default:
        let isEnum = Mirror(reflecting: value).displayStyle == .enum
        try value.encode(to: BinaryEncoderImpl(slot: slot, codingPath: codingPath, isEnum: isEnum))
    }
    if slot.children != nil {
        slot.value = slot.resolve()
        slot.children = nil
        slot.keys = nil
    }
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let list: BinarySlot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { list.append(.null, key: key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: list.appendSlot(key: key), codingPath: codingPath + [key])
    }

    // Positional keys: an absent optional still takes its place, as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return list.append(.null, key: key) }
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
        guard let value else { return list.append(.null, key: key) }
        try encode(value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        KeyedEncodingContainer(
            KeyedEncoder<NestedKey>(list: list.appendSlot(key: key).makeList(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: list.appendSlot(key: key).makeList(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        BinaryEncoderImpl(slot: list.appendSlot(key: BinarySuperKey()), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        BinaryEncoderImpl(slot: list.appendSlot(key: key), codingPath: codingPath + [key])
    }
}

/// The key `superEncoder()` and `superDecoder()` use, as `Codable` specifies.
struct BinarySuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { 0 }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let list: BinarySlot
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
    let slot: BinarySlot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.value = .null }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: slot, codingPath: codingPath)
    }
}
