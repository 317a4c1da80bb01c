import Foundation

/// Turns typed messages into bytes and back; the typed call layer uses one per call.
public protocol MessageCodec: Sendable {
    /// Encodes `value`.
    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8]
    /// Decodes a `Value` from `bytes`; hostile input fails with an error, never a crash.
    func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value
}

/// JSON, for readability and for peers in other languages.
public struct JSONCodec: MessageCodec {
    /// Creates the codec.
    public init() {}

    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
