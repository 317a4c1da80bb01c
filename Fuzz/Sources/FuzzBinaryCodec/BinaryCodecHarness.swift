import Foundation
import FuzzSupport

@testable import RpcNet

/// Fuzzes `BinaryCodec` decoding into nested Codable types.
///
/// Input: a selector byte choosing the type (the whole message, or one of its parts, so the
/// fuzzer also reaches deep shapes without building a whole message), then the encoded value.
///
/// Invariants: decoding throws or succeeds, never traps (libFuzzer's `-malloc_limit_mb` in
/// `make fuzz` catches an allocation out of proportion to the input); the value tree re-encodes
/// to canonical bytes that encode again identically; a value that decodes encodes and decodes
/// to an equal value.
func fuzzBinaryCodec(_ bytes: [UInt8]) {
    var input = FuzzInput(bytes)
    let selector = input.byte()
    let encoded = input.rest()
    checkValueTree(encoded)
    switch selector % 8 {
    case 0: roundTrip(FuzzMessage.self, encoded)
    case 1: roundTrip(FuzzShape.self, encoded)
    case 2: roundTrip([FuzzChild].self, encoded)
    case 3: roundTrip([String: FuzzShape].self, encoded)
    case 4: roundTrip(FuzzChild?.self, encoded)
    case 5: roundTrip([Int8: [UInt64?]].self, encoded)
    case 6: roundTrip(Data.self, encoded)
    default: roundTrip([FuzzShape?].self, encoded)
    }
}

/// The untyped layer: a parsed tree re-encodes canonically (minimal LEB128), and the canonical
/// bytes parse and re-encode to themselves.
private func checkValueTree(_ bytes: [UInt8]) {
    var index = 0
    guard let tree = try? BinaryValue.decode(bytes, at: &index) else { return }
    var canonical: [UInt8] = []
    tree.encode(into: &canonical)
    var again = 0
    guard let reparsed = try? BinaryValue.decode(canonical, at: &again) else {
        fatalError("fuzz invariant: canonical bytes \(canonical) of \(tree) do not parse")
    }
    fuzzCheck(again == canonical.count, "canonical bytes of \(tree) parse short")
    var twice: [UInt8] = []
    reparsed.encode(into: &twice)
    fuzzCheck(twice == canonical, "re-encoding \(tree) is not stable")
}

/// Decodes a `T`; if that works, encoding it must work and decode to an equal value.
private func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ bytes: [UInt8]) {
    let codec = BinaryCodec()
    guard let value = try? codec.decode(T.self, from: bytes) else { return }
    let encoded: [UInt8]
    do {
        encoded = try codec.encode(value)
    } catch {
        fatalError("fuzz invariant: \(value) decoded but does not encode: \(error)")
    }
    do {
        let decoded = try codec.decode(T.self, from: encoded)
        fuzzCheck(decoded == value, "\(value) round-tripped to \(decoded)")
    } catch {
        fatalError("fuzz invariant: \(value) encoded to bytes that do not decode: \(error)")
    }
}
