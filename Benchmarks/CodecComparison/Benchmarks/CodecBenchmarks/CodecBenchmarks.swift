import Benchmark
import CodecMessages
import RpcNet
import SwiftProtobuf

/// Encode, decode and round trip (encode then decode) of each sample message with BinaryCodec,
/// JSONCodec and swift-protobuf, named "message/codec/operation". Each is timed and its mallocs
/// counted by ordo-one/benchmark; the small messages run 1,000 operations per iteration
/// (`.kilo`), so that reading the clock is no part of what is measured, and the tool reports
/// the figures per operation.
let benchmarks: @Sendable () -> Void = {
    do {
        try register("Token", Samples.token, codec: "BinaryCodec-names", BinaryCodec(), scaling: .kilo)
        try register("Token", Samples.numberedToken, codec: "BinaryCodec-numbers", BinaryCodec(), scaling: .kilo)
        try register("Token", Samples.token, codec: "JSONCodec", JSONCodec(), scaling: .kilo)
        try register("Token", Samples.token.protobuf, scaling: .kilo)

        try register("InferenceRequest", Samples.request, codec: "BinaryCodec-names", BinaryCodec(), scaling: .kilo)
        try register("InferenceRequest", Samples.request, codec: "JSONCodec", JSONCodec(), scaling: .kilo)
        try register("InferenceRequest", Samples.request.protobuf, scaling: .kilo)

        let blob = Samples.blob(payloadSize: 65_536)
        try register("Blob64KiB", blob, codec: "BinaryCodec-names", BinaryCodec(), scaling: .one)
        try register("Blob64KiB", blob, codec: "JSONCodec", JSONCodec(), scaling: .one)
        try register("Blob64KiB", blob.protobuf, scaling: .one)
    } catch {
        fatalError("setting up the codec benchmarks failed: \(error)")
    }
}

/// Registers the three benchmarks of `value` with one of RpcNet's codecs, after checking that
/// the codec round-trips it.
func register<Value: Codable & Equatable>(
    _ message: String, _ value: Value, codec name: String, _ codec: some MessageCodec,
    scaling: BenchmarkScalingFactor
) throws {
    let decoded = try codec.decode(Value.self, from: codec.encode(value))
    precondition(decoded == value, "\(name) does not round-trip")
    try register(
        message, codec: name, scaling: scaling, encode: { try codec.encode(value) },
        decode: { blackHole(try codec.decode(Value.self, from: $0)) })
}

/// Registers the three benchmarks of `value` in protobuf's binary format, after checking that it
/// round-trips.
func register<Message: SwiftProtobuf.Message & Equatable>(
    _ message: String, _ value: Message, scaling: BenchmarkScalingFactor
) throws {
    let bytes: [UInt8] = try value.serializedBytes()
    let decoded = try Message(serializedBytes: bytes)
    precondition(decoded == value, "swift-protobuf does not round-trip")
    try register(
        message, codec: "swift-protobuf", scaling: scaling, encode: { try value.serializedBytes() },
        decode: { blackHole(try Message(serializedBytes: $0)) })
}

/// Registers "message/codec/encode", "…/decode" (of the bytes `encode` gives) and
/// "…/roundtrip", each timing `scaling` operations per iteration and counting their mallocs.
/// Times are reported in nanoseconds whatever their size, so that small figures keep their digits.
func register(
    _ message: String, codec: String, scaling: BenchmarkScalingFactor,
    encode: @escaping () throws -> [UInt8], decode: @escaping ([UInt8]) throws -> Void
) throws {
    let bytes = try encode()
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], timeUnits: .nanoseconds, scalingFactor: scaling,
        maxDuration: .seconds(2), maxIterations: 100_000)
    let name = "\(message)/\(codec)/"
    Benchmark(name + "encode", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try encode()) }
    }
    Benchmark(name + "decode", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { try decode(bytes) }
    }
    Benchmark(name + "roundtrip", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { try decode(encode()) }
    }
}
