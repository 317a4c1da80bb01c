import CodecMessages
import Foundation
import RpcNet
import SwiftProtobuf

// Prints, as a Markdown table, how many bytes each codec encodes each sample message into, after
// checking that every encoding decodes back to the message it came from.

/// The encoded size of `value` under `codec`, checked by decoding it back.
func size<Value: Codable & Equatable>(of value: Value, with codec: some MessageCodec) throws -> Int {
    let bytes = try codec.encode(value)
    let decoded = try codec.decode(Value.self, from: bytes)
    precondition(decoded == value, "\(codec) does not round-trip \(Value.self)")
    return bytes.count
}

/// The encoded size of `message` in protobuf's binary format, checked by decoding it back.
func size<Message: SwiftProtobuf.Message & Equatable>(of message: Message) throws -> Int {
    let bytes: [UInt8] = try message.serializedBytes()
    let decoded = try Message(serializedBytes: bytes)
    precondition(decoded == message, "protobuf does not round-trip \(Message.self)")
    return bytes.count
}

/// One row: the message's description and its sizes with BinaryCodec by name, BinaryCodec by
/// number (`nil` where the sample has no numbered variant), JSONCodec and swift-protobuf.
let rows: [(String, Int, Int?, Int, Int)] =
    try [
        (
            "Token", size(of: Samples.token, with: BinaryCodec()), size(of: Samples.numberedToken, with: BinaryCodec()),
            size(of: Samples.token, with: JSONCodec()), size(of: Samples.token.protobuf)
        ),
        (
            "InferenceRequest", size(of: Samples.request, with: BinaryCodec()), nil,
            size(of: Samples.request, with: JSONCodec()), size(of: Samples.request.protobuf)
        ),
    ]
    + [1_000, 65_536].map { payloadSize in
        let blob = Samples.blob(payloadSize: payloadSize)
        return (
            "Blob, \(payloadSize)-byte payload", try size(of: blob, with: BinaryCodec()), nil,
            try size(of: blob, with: JSONCodec()), try size(of: blob.protobuf)
        )
    }

print("| message | BinaryCodec (name keys) | BinaryCodec (number keys) | JSONCodec | swift-protobuf |")
print("| --- | ---: | ---: | ---: | ---: |")
for (message, binary, numbered, json, protobuf) in rows {
    print("| \(message) | \(binary) | \(numbered.map(String.init) ?? "—") | \(json) | \(protobuf) |")
}
