import Foundation

/// Where one encoded value ends up; containers fill theirs in place and become a value when
/// their owner finishes encoding (`encodeValue`).
final class BinarySlot {
    /// What the slot holds: a finished value, or a container still being filled.
    private enum Content {
        case value(BinaryValue)
        case list([BinarySlot])
        case record(KeyedFields<BinarySlot>)
    }

    private var content = Content.value(.null)

    /// Sets a finished value.
    func set(_ value: BinaryValue) {
        content = .value(value)
    }

    /// The value, folding the container (if any) into it.
    func resolve() -> BinaryValue {
        switch content {
        case .value(let value): value
        case .list(let children): .list(children.map { $0.resolve() })
        case .record(let fields): .record(fields.mapValues { $0.resolve() })
        }
    }

    /// Folds a container into a value, releasing the child slots.
    func seal() {
        if case .value = content { return }
        content = .value(resolve())
    }

    /// Makes this slot an unkeyed container (if it is not a container yet).
    func makeList() -> BinarySlot {
        if case .value = content { content = .list([]) }
        return self
    }

    /// Makes this slot a keyed container (if it is not a container yet).
    func makeRecord() -> BinarySlot {
        if case .value = content { content = .record(KeyedFields()) }
        return self
    }

    /// The number of values in this list.
    var count: Int {
        guard case .list(let children) = content else { return 0 }
        return children.count
    }

    /// A new slot at the end of this list.
    func appendSlot() -> BinarySlot {
        let child = BinarySlot()
        guard case .list(var children) = content else { preconditionFailure("not an unkeyed container") }
        content = .value(.null)  // drops the enum's reference, so the append does not copy
        children.append(child)
        content = .list(children)
        return child
    }

    /// The slot of `key` in this record: a new one, replacing what an earlier write of the same
    /// key put there (as JSONEncoder does), so a key never repeats on the wire.
    func slot(for key: some CodingKey) -> BinarySlot {
        let child = BinarySlot()
        guard case .record(var fields) = content else { preconditionFailure("not a keyed container") }
        content = .value(.null)  // drops the enum's reference, so the update does not copy
        fields.set(FieldKey(key), child)
        content = .record(fields)
        return child
    }
}

private struct BinaryEncoderImpl: Encoder {
    let slot: BinarySlot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(record: slot.makeRecord(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: slot.makeList(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleEncoder(slot: slot, codingPath: codingPath)
    }
}

/// Encodes one value into `slot`: primitives and byte strings directly, anything else through
/// its `encode(to:)`. The coding path is built only for the latter (primitives never need it).
func encodeValue<T: Encodable>(_ value: T, into slot: BinarySlot, codingPath: @autoclosure () -> [any CodingKey])
    throws
{
    switch value {
    case let value as Bool: slot.set(.bool(value))
    case let value as String: slot.set(.string(value))
    case let value as Double: slot.set(.double(value))
    case let value as Float: slot.set(.float(value))
    case let value as Int: slot.set(.int(Int64(value)))
    case let value as Int8: slot.set(.int(Int64(value)))
    case let value as Int16: slot.set(.int(Int64(value)))
    case let value as Int32: slot.set(.int(Int64(value)))
    case let value as Int64: slot.set(.int(value))
    case let value as UInt: slot.set(.uint(UInt64(value)))
    case let value as UInt8: slot.set(.uint(UInt64(value)))
    case let value as UInt16: slot.set(.uint(UInt64(value)))
    case let value as UInt32: slot.set(.uint(UInt64(value)))
    case let value as UInt64: slot.set(.uint(value))
    // By type, not by cast: an empty array of any element type casts to `[UInt8]`.
    case let value as [UInt8] where T.self == [UInt8].self: slot.set(.bytes(value))
    case let value as Data where T.self == Data.self: slot.set(.bytes(Array(value)))
    default:
        try value.encode(to: BinaryEncoderImpl(slot: slot, codingPath: codingPath()))
        slot.seal()
    }
}

private struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let record: BinarySlot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { record.slot(for: key).set(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: record.slot(for: key), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        KeyedEncodingContainer(
            KeyedEncoder<NestedKey>(record: record.slot(for: key).makeRecord(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(list: record.slot(for: key).makeList(), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        BinaryEncoderImpl(slot: record.slot(for: BinarySuperKey()), codingPath: codingPath + [BinarySuperKey()])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        BinaryEncoderImpl(slot: record.slot(for: key), codingPath: codingPath + [key])
    }
}

/// The key `superEncoder()` and `superDecoder()` use, as `Codable` specifies.
struct BinarySuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

private struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let list: BinarySlot
    let codingPath: [any CodingKey]
    var count: Int { list.count }

    mutating func encodeNil() throws { list.appendSlot().set(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let position = BinaryIndexKey(count)
        try encodeValue(value, into: list.appendSlot(), codingPath: codingPath + [position])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let position = BinaryIndexKey(count)
        return KeyedEncodingContainer(
            KeyedEncoder<NestedKey>(record: list.appendSlot().makeRecord(), codingPath: codingPath + [position]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let position = BinaryIndexKey(count)
        return UnkeyedEncoder(list: list.appendSlot().makeList(), codingPath: codingPath + [position])
    }

    mutating func superEncoder() -> any Encoder {
        let position = BinaryIndexKey(count)
        return BinaryEncoderImpl(slot: list.appendSlot(), codingPath: codingPath + [position])
    }
}

private struct SingleEncoder: SingleValueEncodingContainer {
    let slot: BinarySlot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.set(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: slot, codingPath: codingPath)
    }
}
