/// RpcNet's default message codec: a compact, self-describing binary form of `Codable` values.
///
/// Each value is a one-byte tag and a payload (integers as LEB128, zigzag for signed; floats as
/// little-endian IEEE 754; strings as length + UTF-8; containers as count + values). Keys are not
/// sent: keyed containers are positional, so a type must decode its keys in the order it encoded
/// them (synthesized conformances do) — this is what makes it several times smaller than JSON
/// for typical messages. Two kinds of value need their keys back and get them: dictionaries
/// travel as key/value entries, and an enum's container (which its decoder reads through
/// `allKeys` to pick the case) carries its keys' names, so enums with associated values work.
/// A hand-written struct conformance that reads `allKeys` does not: use ``JSONCodec`` for it.
/// Decoding checks every count and length against the bytes left and limits nesting depth, so
/// hostile input fails with ``BinaryCodecError``.
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
        let value = try BinaryValue.decode(bytes, at: &index)
        guard index == bytes.count else { throw BinaryCodecError.malformed("\(bytes.count - index) trailing bytes") }
        // Through `decodeValue`, like every nested value: a top-level dictionary was encoded as a
        // key/value list and must be read as one; `Dictionary.init(from:)` would ask a positional
        // keyed container for its keys, get none, and return an empty dictionary.
        return try decodeValue(Value.self, from: value, codingPath: [])
    }
}
