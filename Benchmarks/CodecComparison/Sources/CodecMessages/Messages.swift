import Foundation

/// One generated token of a stream, with synthesized `Codable`: BinaryCodec keys its fields by
/// name (PROTOCOL.md §8.3), as JSON does.
public struct Token: Codable, Hashable, Sendable {
    /// The token's position in its stream.
    public var sequence: UInt64
    /// The token's text.
    public var text: String
    /// The model's log probability for the token.
    public var logProbability: Double

    /// Creates a token.
    public init(sequence: UInt64, text: String, logProbability: Double) {
        self.sequence = sequence
        self.text = text
        self.logProbability = logProbability
    }
}

/// ``Token`` with `Int`-backed coding keys, so that BinaryCodec keys its fields by number (one
/// byte each) as protobuf does; JSON still writes the names.
public struct NumberedToken: Codable, Hashable, Sendable {
    /// The token's position in its stream.
    public var sequence: UInt64
    /// The token's text.
    public var text: String
    /// The model's log probability for the token.
    public var logProbability: Double

    /// The field numbers, the same as the protobuf `Token`'s.
    enum CodingKeys: Int, CodingKey {
        case sequence = 1
        case text
        case logProbability
    }

    /// Creates a token.
    public init(sequence: UInt64, text: String, logProbability: Double) {
        self.sequence = sequence
        self.text = text
        self.logProbability = logProbability
    }
}

/// A typical inference request: a prompt, sampling options, stop strings, tags and the tokens
/// generated so far.
public struct InferenceRequest: Codable, Hashable, Sendable {
    /// The prompt.
    public var prompt: String
    /// The most tokens to generate.
    public var maxTokens: Int
    /// The sampling temperature, or `nil` for the model's default.
    public var temperature: Float?
    /// Strings that end generation.
    public var stop: [String]
    /// Free-form labels (tenant, model and the like).
    public var tags: [String: String]
    /// The tokens generated so far.
    public var history: [Token]

    /// Creates a request.
    public init(
        prompt: String, maxTokens: Int, temperature: Float?, stop: [String], tags: [String: String],
        history: [Token]
    ) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stop = stop
        self.tags = tags
        self.history = history
    }
}

/// An opaque payload with an identifier: the case where BinaryCodec's byte strings matter.
public struct Blob: Codable, Hashable, Sendable {
    /// The blob's identifier.
    public var id: UInt64
    /// The payload.
    public var payload: Data

    /// Creates a blob.
    public init(id: UInt64, payload: Data) {
        self.id = id
        self.payload = payload
    }
}
