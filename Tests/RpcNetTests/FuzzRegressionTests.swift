import Foundation
import Testing

@testable import RpcNet

/// Inputs the libFuzzer targets in Fuzz/ found crashing, each kept as a test of the fix.
private indirect enum Shape: Codable, Equatable {
    case wrapped(Shape?)
}

@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    /// `FuzzBinaryCodec` (the `[String: FuzzShape]` selector), in the codec's first, positional
    /// format: a top-level dictionary was decoded through `Dictionary.init(from:)`, whose keyed
    /// container could not list positional keys, so every top-level dictionary came back empty.
    /// Records now carry their keys (PROTOCOL.md §8.3); the round trips stay as the regression.
    @Test("a top-level dictionary round-trips through BinaryCodec")
    func topLevelDictionary() throws {
        let codec = BinaryCodec()
        let shapes: [String: Shape] = ["group": .wrapped(nil), "deep": .wrapped(.wrapped(nil))]
        #expect(try codec.decode([String: Shape].self, from: codec.encode(shapes)) == shapes)
        let strings = ["a": "1", "b": ""]
        #expect(try codec.decode([String: String].self, from: codec.encode(strings)) == strings)
        let numbers: [Int: [UInt8]] = [-1: [], 7: [1, 2]]
        #expect(try codec.decode([Int: [UInt8]].self, from: codec.encode(numbers)) == numbers)
    }
}
