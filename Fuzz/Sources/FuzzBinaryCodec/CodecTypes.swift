import Foundation

// Nested Codable types with synthesized conformances, covering what typed RPC messages use:
// integers of every width, strings, optionals, arrays, dictionaries with string and integer
// keys, Data and [UInt8], raw-value enums, enums with associated values (recursive too), nested
// structs, and field numbers as keys. All Equatable, for the round-trip check.

/// The top-level message.
struct FuzzMessage: Codable, Equatable {
    var id: UInt64
    var tiny: Int8
    var short: Int16
    var word: Int32
    var wide: Int
    var unsigned: UInt
    var byte: UInt8
    var half: UInt16
    var flag: Bool
    var name: String
    var nickname: String?
    var payload: Data
    var raw: [UInt8]
    var labels: [String: String]
    var scores: [Int: Int64]
    var children: [FuzzChild]
    var shape: FuzzShape
    var optionalShape: FuzzShape?
    var level: FuzzLevel
    var ratio: BitExactDouble
    var fraction: BitExactFloat?
    var numbered: FuzzNumbered?
}

/// A struct whose keys travel as field numbers (`Int` coding keys).
struct FuzzNumbered: Codable, Equatable {
    var first: Int32
    var second: String?
    var third: [FuzzNumbered]

    enum CodingKeys: Int, CodingKey { case first = 1, second, third = 300 }
}

/// A nested struct with its own optionals and containers.
struct FuzzChild: Codable, Equatable {
    var name: String
    var weight: UInt32
    var values: [Int16]
    var attributes: [String: [UInt32]]?
    var kind: FuzzKind
    var point: FuzzPoint?
}

struct FuzzPoint: Codable, Equatable {
    var x: Int64
    var y: Int64
}

/// An enum with associated values (labelled, unlabelled, none) that nests itself.
indirect enum FuzzShape: Codable, Equatable {
    case empty
    case circle(radius: UInt32)
    case polygon([FuzzPoint], label: String?)
    case tagged(String, UInt16)
    case group([FuzzShape])
    case wrapped(FuzzShape?)
}

/// A raw-value enum (a single value on the wire).
enum FuzzKind: String, Codable, Equatable {
    case leaf, branch, root
}

enum FuzzLevel: Int8, Codable, Equatable {
    case low = -1, medium = 0, high = 1
}

/// A Double compared by bit pattern, so a NaN decoded from fuzz input equals itself.
struct BitExactDouble: Codable, Equatable {
    var value: Double

    init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Double.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.value.bitPattern == rhs.value.bitPattern }
}

/// A Float compared by bit pattern.
struct BitExactFloat: Codable, Equatable {
    var value: Float

    init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Float.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.value.bitPattern == rhs.value.bitPattern }
}
