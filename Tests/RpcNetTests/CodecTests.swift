import Foundation
import Testing

@testable import RpcNet

private struct Token: Codable, Equatable {
    var sequence: UInt64
    var text: String
    var logProbability: Double
}

/// ``Token`` with field numbers for keys.
private struct NumberedToken: Codable, Equatable {
    var sequence: UInt64
    var text: String
    var logProbability: Double

    enum CodingKeys: Int, CodingKey { case sequence = 1, text, logProbability }
}

/// The third example of PROTOCOL.md §8.6.
private struct Drawing: Codable, Equatable {
    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case point
    }
    var name: String?
    var shapes: [Shape]
    var thumbnail: Data
    var offset: Int
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
        #expect(try codec.decode([String].self, from: codec.encode([String]())) == [])
        #expect(try codec.decode([UInt8].self, from: codec.encode([UInt8]())) == [])
    }

    @Test("fields travel by name, or by number for Int coding keys; a byte string costs a few bytes")
    func sizes() throws {
        let token = Token(sequence: 17, text: "hello", logProbability: -1.5)
        #expect(try BinaryCodec().encode(token).count == 49)
        #expect(try JSONCodec().encode(token).count > 49)
        #expect(try BinaryCodec().encode(NumberedToken(sequence: 17, text: "hello", logProbability: -1.5)).count == 23)
        for size in [0, 1_000, 65_536] {
            let payload = Data((0..<size).map { UInt8(truncatingIfNeeded: $0) })
            let encoded = try BinaryCodec().encode(payload)
            #expect(encoded.count <= size + 4)
            #expect(try BinaryCodec().decode(Data.self, from: encoded) == payload)
            #expect(
                try BinaryCodec().decode([UInt8].self, from: BinaryCodec().encode(Array(payload))) == Array(payload))
        }
    }

    @Test("the byte examples of PROTOCOL.md §8.6 are what BinaryCodec writes and reads")
    func documentedExamples() throws {
        let documented = try ProtocolDocument.hexBlocks(from: "### 8.6 Examples", to: "\n## ")
        try #require(documented.count == 3)
        let codec = BinaryCodec()
        let token = Token(sequence: 17, text: "hello", logProbability: -1.5)
        #expect(try codec.encode(token) == documented[0])
        #expect(try codec.decode(Token.self, from: documented[0]) == token)
        let numbered = NumberedToken(sequence: 17, text: "hello", logProbability: -1.5)
        #expect(try codec.encode(numbered) == documented[1])
        #expect(try codec.decode(NumberedToken.self, from: documented[1]) == numbered)
        let drawing = Drawing(
            name: nil, shapes: [.circle(radius: 2), .point], thumbnail: Data([0xCA, 0xFE]), offset: -3)
        #expect(try codec.encode(drawing) == documented[2])
        #expect(try codec.decode(Drawing.self, from: documented[2]) == drawing)
    }

    @Test("a message of another type is refused with the field it lacks")
    func typeConfusion() throws {
        struct UserV1: Codable { var id: Int; var name: String }
        struct Order: Codable { var quantity: Int; var sku: String }
        let codec = BinaryCodec()
        #expect(throws: BinaryCodecError.missingField("quantity", path: "")) {
            try codec.decode(Order.self, from: codec.encode(UserV1(id: 7, name: "ada")))
        }
        // Nested: the path says where.
        struct Basket: Codable { var orders: [Order] }
        struct Users: Codable { var orders: [UserV1] }
        #expect(throws: BinaryCodecError.missingField("quantity", path: "orders[0]")) {
            try codec.decode(Basket.self, from: codec.encode(Users(orders: [UserV1(id: 7, name: "ada")])))
        }
        #expect(throws: BinaryCodecError.typeMismatch("expected String, found an integer", path: "orders[0].sku")) {
            try codec.decode(Basket.self, from: codec.encode(["orders": [["quantity": 1, "sku": 2]]]))
        }
    }

    @Test("optional fields added, fields reordered and removed: old and new types read each other")
    func evolution() throws {
        struct ProfileV1: Codable, Equatable { var id: UInt64; var name: String }
        struct ProfileV2: Codable, Equatable { var email: String?; var name: String; var id: UInt32; var age: Int8? }
        let codec = BinaryCodec()
        // New reads old: the added optionals are nil; the reordering and the narrower integer do not matter.
        #expect(
            try codec.decode(ProfileV2.self, from: codec.encode(ProfileV1(id: 9, name: "ada")))
                == ProfileV2(email: nil, name: "ada", id: 9, age: nil))
        // Old reads new: unknown fields are skipped.
        #expect(
            try codec.decode(ProfileV1.self, from: codec.encode(ProfileV2(email: "a@b", name: "ada", id: 9, age: 40)))
                == ProfileV1(id: 9, name: "ada"))
        // A value that does not fit the narrower type is an error, not a truncation.
        #expect(throws: BinaryCodecError.typeMismatch("uint(4294967296) is out of range of UInt32", path: "id")) {
            try codec.decode(ProfileV2.self, from: codec.encode(ProfileV1(id: 1 << 32, name: "ada")))
        }
        // Field numbers: renaming keeps the field.
        struct Renamed: Codable, Equatable {
            var serial: UInt64
            var label: String
            var weight: Double
            enum CodingKeys: Int, CodingKey { case serial = 1, label, weight }
        }
        #expect(
            try codec.decode(Renamed.self, from: codec.encode(NumberedToken(sequence: 3, text: "t", logProbability: 1)))
                == Renamed(serial: 3, label: "t", weight: 1))
    }

    @Test("an enum case the reader does not declare is named in the error")
    func unknownEnumCase() throws {
        enum StatusV2: String, Codable { case open, closed, refunded }
        enum Status: String, Codable { case open, closed }
        enum EventV2: Codable { case created(at: Int), refunded(amount: Int) }
        enum Event: Codable { case created(at: Int) }
        struct Envelope<E: Codable>: Codable { var events: [E] }
        let codec = BinaryCodec()
        #expect(throws: BinaryCodecError.unknownCase("refunded", type: "Event", path: "events[1]")) {
            try codec.decode(
                Envelope<Event>.self,
                from: codec.encode(Envelope(events: [EventV2.created(at: 1), .refunded(amount: 5)])))
        }
        do {
            _ = try codec.decode(Status.self, from: codec.encode(StatusV2.refunded))
            Issue.record("an unknown raw value decoded")
        } catch BinaryCodecError.invalidValue(let reason, let path) {
            #expect(reason.contains("refunded"))
            #expect(path == "")
        }
    }

    @Test("records: many fields are found by key, a repeated key is refused, a later write wins")
    func records() throws {
        let codec = BinaryCodec()
        let wide = Dictionary(uniqueKeysWithValues: (0..<2_000).map { ("key\($0)", $0) })
        #expect(try codec.decode([String: Int].self, from: codec.encode(wide)) == wide)
        let numbers: [Int: String] = [-5: "minus", 0: "zero", 7: "seven"]
        #expect(try codec.decode([Int: String].self, from: codec.encode(numbers)) == numbers)
        // 0A 02 | "a" 03 02 | "a" 03 04: the key "a" twice.
        let repeated: [UInt8] = [0x0A, 0x02, 0x03, 0x61, 0x03, 0x02, 0x03, 0x61, 0x03, 0x04]
        #expect(throws: BinaryCodecError.malformed("record repeats the key a")) {
            try codec.decode([String: Int].self, from: repeated)
        }
        struct Twice: Encodable {
            enum CodingKeys: CodingKey { case value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(1, forKey: .value)
                try container.encode(2, forKey: .value)
            }
        }
        #expect(try codec.decode([String: Int].self, from: codec.encode(Twice())) == ["value": 2])
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
        var lying: [UInt8] = [0x09]
        LEB128.append(1 << 60, to: &lying)
        #expect(throws: BinaryCodecError.malformed("container count exceeds the input")) {
            try BinaryCodec().decode([Int].self, from: lying)
        }
        // Nesting deeper than the limit is refused.
        var deep: [UInt8] = []
        for _ in 0..<200 { deep += [0x09, 1] }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec().decode([[Int]].self, from: deep) }
    }
}
