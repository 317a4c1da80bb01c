/// How a record names a field on the wire (docs/PROTOCOL.md §8.3): by number when the coding key
/// is a field number (an `Int`-backed `CodingKeys` enum), else by name.
enum FieldKey: Hashable, CustomStringConvertible {
    case number(UInt64)
    case name(String)

    /// The wire key of `key`: its `intValue` when that is non-negative and the key's name is not
    /// just that number written out (a dictionary's `Int` keys, which travel as names like JSON's);
    /// otherwise its `stringValue`.
    init(_ key: some CodingKey) {
        if let number = key.intValue, number >= 0, key.stringValue != String(number) {
            self = .number(UInt64(number))
        } else {
            self = .name(key.stringValue)
        }
    }

    /// The coding key a type's `Key` builds from this wire key, `nil` if the type has none such.
    func codingKey<Key: CodingKey>(_: Key.Type) -> Key? {
        switch self {
        case .number(let number): number <= UInt64(Int.max) ? Key(intValue: Int(number)) : nil
        case .name(let name): Key(stringValue: name)
        }
    }

    var description: String {
        switch self {
        case .number(let number): "#\(number)"
        case .name(let name): name
        }
    }

    /// One LEB128 number `k`: even, field number `k / 2`; odd, a name of `(k − 1) / 2` bytes of
    /// UTF-8 follows.
    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .number(let number): LEB128.append(number << 1, to: &bytes)
        case .name(let name):
            LEB128.append(UInt64(name.utf8.count) << 1 | 1, to: &bytes)
            bytes.append(contentsOf: name.utf8)
        }
    }

    static func decode(_ bytes: [UInt8], _ index: inout Int) throws(BinaryCodecError) -> FieldKey {
        let key = try LEB128.read(bytes, &index)
        guard key & 1 == 1 else { return .number(key >> 1) }
        guard key >> 1 <= UInt64(bytes.count - index) else { throw .malformed("key name runs past the end") }
        let end = index + Int(key >> 1)
        guard let name = String(validating: bytes[index..<end], as: UTF8.self) else {
            throw .malformed("key name is not UTF-8")
        }
        index = end
        return .name(name)
    }
}

/// A record's fields in wire order, each key at most once, found by key in constant time once
/// there are more than a few. The decoder's records hold values; the encoder's hold the slots
/// the values are being written into, and become value records by ``mapValues(_:)``.
struct KeyedFields<Value> {
    /// One field of a record.
    struct Field {
        let key: FieldKey
        var value: Value
    }

    private(set) var fields: [Field] = []
    /// Positions by key, kept once the record outgrows a linear search.
    private var positions: [FieldKey: Int]?
    private static var linearSearchLimit: Int { 8 }

    init(capacity: Int = 0) {
        fields.reserveCapacity(capacity)
    }

    /// The position of `key`'s field.
    func position(of key: FieldKey) -> Int? {
        if let positions { return positions[key] }
        return fields.firstIndex { $0.key == key }
    }

    /// The value of `key`'s field.
    subscript(key: FieldKey) -> Value? {
        position(of: key).map { fields[$0].value }
    }

    /// Adds a field; `false`, and nothing added, if the key is already there.
    mutating func append(_ key: FieldKey, _ value: Value) -> Bool {
        guard position(of: key) == nil else { return false }
        fields.append(Field(key: key, value: value))
        if positions != nil {
            positions![key] = fields.count - 1
        } else if fields.count > Self.linearSearchLimit {
            positions = Dictionary(uniqueKeysWithValues: fields.indices.map { (fields[$0].key, $0) })
        }
        return true
    }

    /// Sets `key`'s field, replacing an earlier value in its place or adding it at the end.
    mutating func set(_ key: FieldKey, _ value: Value) {
        if let position = position(of: key) {
            fields[position].value = value
        } else {
            _ = append(key, value)
        }
    }

    /// The same keys in the same order (and the same index), with each value transformed.
    func mapValues<Other>(_ transform: (Value) -> Other) -> KeyedFields<Other> {
        var mapped = KeyedFields<Other>()
        mapped.fields = fields.map { .init(key: $0.key, value: transform($0.value)) }
        mapped.positions = positions
        return mapped
    }
}

extension KeyedFields.Field: Equatable where Value: Equatable {}

extension KeyedFields: Equatable where Value: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.fields == rhs.fields }
}

/// A decoded record: its fields' values by key.
typealias BinaryRecord = KeyedFields<BinaryValue>
