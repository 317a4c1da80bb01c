import Foundation
import Testing

@testable import RpcNet

private struct Token: Codable, Equatable {
    var sequence: UInt64
    var text: String
    var logProbability: Double
}

private struct Request: Codable, Equatable {
    enum Priority: String, Codable { case low, high }
    var prompt: String
    var maxTokens: Int
    var temperature: Float?
    var stop: [String]
    var tags: [String: String]
    var priority: Priority
    var history: [Token]
    var seed: Int64?
    var flags: Set<Int8>
}

@Suite("Message codecs")
struct CodecTests {
    private let sample = Request(
        prompt: "Once upon a time", maxTokens: 128, temperature: 0.7, stop: ["\n\n", "END"], tags: ["user": "42"],
        priority: .high, history: [Token(sequence: 1, text: "Once", logProbability: -0.25)], seed: nil, flags: [-3])

    @Test("binary and JSON codecs round-trip nested, optional, keyed and enum values", arguments: [false, true])
    func roundTrip(json: Bool) throws {
        let codec: any MessageCodec = json ? JSONCodec() : BinaryCodec()
        #expect(try codec.decode(Request.self, from: codec.encode(sample)) == sample)
        var other = sample
        other.temperature = nil
        other.seed = .min
        other.maxTokens = -1
        #expect(try codec.decode(Request.self, from: codec.encode(other)) == other)
        #expect(try codec.decode(UInt64.self, from: codec.encode(UInt64.max)) == .max)
        #expect(try codec.decode([Token].self, from: codec.encode([Token]())) == [])
    }

    @Test("the binary form is much smaller than JSON for a typical message")
    func compact() throws {
        let token = Token(sequence: 17, text: "hello", logProbability: -1.5)
        let binary = try BinaryCodec().encode(token)
        let json = try JSONCodec().encode(token)
        #expect(binary.count == 20)
        #expect(binary.count * 2 < json.count)
    }

    @Test("enums with associated values and no payload round-trip, nested in structs and lists")
    func enumsWithPayloads() throws {
        indirect enum Shape: Codable, Equatable {
            case circle(radius: Double)
            case polygon(sides: Int, label: String?)
            case point
            case labelled(String, Shape?)
        }
        struct Drawing: Codable, Equatable {
            var shapes: [Shape]
            var highlighted: Shape?
        }
        let drawing = Drawing(
            shapes: [
                .circle(radius: 1.5), .polygon(sides: 6, label: nil), .polygon(sides: 3, label: "tri"), .point,
                .labelled("nested", .circle(radius: 2)),
            ],
            highlighted: .point)
        let codec = BinaryCodec()
        #expect(try codec.decode(Drawing.self, from: codec.encode(drawing)) == drawing)
        #expect(try codec.decode(Shape.self, from: codec.encode(Shape.labelled("x", nil))) == .labelled("x", nil))
        // The case name travels; the payload stays positional.
        #expect(try codec.encode(Shape.circle(radius: 1)).count == 1 + 1 + 7 + 1 + 1 + 9)
        // Bytes naming a case the type does not have are a typed error.
        var bytes = try codec.encode(Shape.point)
        bytes[3] = UInt8(ascii: "q")
        #expect(throws: (any Error).self) { try codec.decode(Shape.self, from: bytes) }
    }

    @Test("hostile bytes fail with an error, never a crash")
    func hostileInput() {
        var generator = SeededGenerator(seed: 77)
        let valid = (try? BinaryCodec().encode(sample)) ?? []
        var failures = 0
        for round in 0..<2_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(generator.next() % 48)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                bytes = valid
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            if (try? BinaryCodec().decode(Request.self, from: bytes)) == nil { failures += 1 }
        }
        #expect(failures > 1_000)
        // A list claiming 2^60 elements is refused before allocating.
        var lying: [UInt8] = [8]
        LEB128.append(1 << 60, to: &lying)
        #expect(throws: BinaryCodecError.malformed("container count exceeds the input")) {
            try BinaryCodec().decode([Int].self, from: lying)
        }
        // Nesting deeper than the limit is refused.
        var deep: [UInt8] = []
        for _ in 0..<200 { deep += [8, 1] }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec().decode([[Int]].self, from: deep) }
    }
}
