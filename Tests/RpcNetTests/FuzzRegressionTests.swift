import Foundation
import Testing

@testable import RpcNet

/// Inputs the libFuzzer targets in Fuzz/ found crashing, each kept as a test of the fix.
private indirect enum Shape: Codable, Equatable {
    case wrapped(Shape?)
}

@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    /// `FuzzBinaryCodec` (the `[String: FuzzShape]` selector): a top-level dictionary decoded
    /// through `Dictionary.init(from:)`, whose keyed container cannot list positional keys, so
    /// every top-level dictionary `BinaryCodec` encoded came back empty; this input, a `named`
    /// container whose keys do travel, decoded to one entry that did not survive a round trip.
    @Test("a top-level dictionary round-trips through BinaryCodec")
    func topLevelDictionary() throws {
        let codec = BinaryCodec()
        let crash: [UInt8] = [
            0x09, 0x01, 0x05, 0x67, 0x72, 0x6F, 0x75, 0x70, 0x09, 0x03, 0x07, 0x77, 0x72, 0x61, 0x70, 0x70, 0x65,
            0x64, 0x08, 0x01, 0x00, 0x01, 0x08, 0x01, 0x09, 0x01, 0x0F, 0x70, 0x6F, 0x6C, 0x79, 0x67, 0x6F, 0x00,
            0x07, 0x01, 0x70,
        ]
        // A named container is not a dictionary's encoding (a key/value list): refused.
        #expect(throws: BinaryCodecError.self) { try codec.decode([String: Shape].self, from: crash) }
        let shapes: [String: Shape] = ["group": .wrapped(nil), "deep": .wrapped(.wrapped(nil))]
        #expect(try codec.decode([String: Shape].self, from: codec.encode(shapes)) == shapes)
        let strings = ["a": "1", "b": ""]
        #expect(try codec.decode([String: String].self, from: codec.encode(strings)) == strings)
        let numbers: [Int: [UInt8]] = [-1: [], 7: [1, 2]]
        #expect(try codec.decode([Int: [UInt8]].self, from: codec.encode(numbers)) == numbers)
    }
}
