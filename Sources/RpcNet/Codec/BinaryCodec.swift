/// RpcNet's default message codec: a compact binary form of `Codable` values whose records carry
/// their field keys, so that messages evolve safely and a message of another type is refused.
///
/// The format is specified byte by byte in docs/PROTOCOL.md §8. In short: every value is a tag
/// byte and a payload (integers as LEB128, zigzag for signed; floats as little-endian IEEE 754;
/// strings and byte strings as length + bytes; lists as count + values), and a struct is a
/// record of key + value fields. A key is the field's name, or its number when the type's
/// `CodingKeys` are `Int`-backed (`enum CodingKeys: Int, CodingKey { case id = 1, name }`), which
/// costs one byte per field instead of the name.
///
/// What that buys (the evolution rules of §8.5):
/// - Fields are found by key: reordering properties changes nothing; a field the decoding type
///   does not know is skipped; an optional field that is absent decodes as `nil`. So optional
///   fields can be added on either side.
/// - A required field that is absent fails with ``BinaryCodecError/missingField(_:path:)``,
///   which is what decoding a message of another type usually gets.
/// - An enum case the decoding type does not declare fails with
///   ``BinaryCodecError/unknownCase(_:type:path:)`` naming it.
/// - `Data` and `[UInt8]` travel as raw byte strings (2–4 bytes of overhead up to 2 MiB).
///
/// Decoding checks every count and length against the bytes left, refuses repeated keys and
/// limits nesting depth, so hostile input fails with ``BinaryCodecError``, never a crash.
public struct BinaryCodec: MessageCodec {
    /// Creates the codec.
    public init() {}

    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let root = BinarySlot()
        try encodeValue(value, into: root, codingPath: [])
        var bytes: [UInt8] = []
        root.resolve().encode(into: &bytes)
        return bytes
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        var index = 0
        let tree = try BinaryValue.decode(bytes, at: &index)
        guard index == bytes.count else { throw BinaryCodecError.malformed("\(bytes.count - index) trailing bytes") }
        do {
            return try decodeValue(Value.self, from: tree, codingPath: [])
        } catch let error as DecodingError {
            throw Self.translate(error, in: tree)
        }
    }

    /// The ``BinaryCodecError`` for an error a type's own `init(from:)` threw (synthesized
    /// conformances of enums and raw-value enums throw `DecodingError`s).
    private static func translate(_ error: DecodingError, in tree: BinaryValue) -> BinaryCodecError {
        switch error {
        case .typeMismatch(let type, let context):
            // A synthesized enum conformance finds no case it declares among a record's keys.
            if case .record(let record)? = value(at: context.codingPath, in: tree), record.fields.count == 1 {
                return .unknownCase(
                    "\(record.fields[0].key)", type: "\(type)", path: describe(context.codingPath))
            }
            return .typeMismatch(context.debugDescription, path: describe(context.codingPath))
        case .valueNotFound(let type, let context):
            return .typeMismatch("expected \(type), found null", path: describe(context.codingPath))
        case .keyNotFound(let key, let context):
            return .missingField(key.stringValue, path: describe(context.codingPath))
        case .dataCorrupted(let context):
            return .invalidValue(context.debugDescription, path: describe(context.codingPath))
        @unknown default:
            return .invalidValue("\(error)", path: "")
        }
    }

    /// The value a coding path leads to in `tree`.
    private static func value(at codingPath: [any CodingKey], in tree: BinaryValue) -> BinaryValue? {
        var value = tree
        for key in codingPath {
            switch value {
            case .list(let values):
                guard key is BinaryIndexKey, let index = key.intValue, values.indices.contains(index) else {
                    return nil
                }
                value = values[index]
            case .record(let record):
                guard let field = record[FieldKey(key)] else { return nil }
                value = field
            default: return nil
            }
        }
        return value
    }
}
