import Foundation

/// The messages every codec is measured on, as Codable values and as the equal protobuf
/// messages, so that the three codecs carry the same content.
public enum Samples {
    /// `Token { sequence: 17, text: "hello", logProbability: -1.5 }`, the example of PROTOCOL.md §8.6.
    public static let token = Token(sequence: 17, text: "hello", logProbability: -1.5)

    /// ``token`` with field numbers as keys.
    public static let numberedToken = NumberedToken(
        sequence: token.sequence, text: token.text, logProbability: token.logProbability)

    /// A request with a 68-character prompt, 2 stop strings, 2 tags and 8 tokens of history.
    public static let request = InferenceRequest(
        prompt: "Summarise the attached incident report in three short bullet points.",
        maxTokens: 256,
        temperature: 0.7,
        stop: ["\n\n", "</s>"],
        tags: ["tenant": "acme", "model": "rpcnet-7b"],
        history: ["The", " outage", " began", " at", " 09", ":", "14", " UTC"].enumerated().map { index, text in
            Token(sequence: UInt64(index), text: text, logProbability: -0.25 * Double(index + 1))
        })

    /// A blob whose payload is `size` deterministic pseudo-random bytes (none of the codecs
    /// compresses, so the bytes' values do not matter; they are not all zero all the same).
    public static func blob(payloadSize size: Int) -> Blob {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let payload = Data(
            (0..<size).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
        return Blob(id: 0xC0DE_C0DE, payload: payload)
    }
}

extension Token {
    /// The same token as a protobuf message.
    public var protobuf: Codecbench_Token {
        .with {
            $0.sequence = sequence
            $0.text = text
            $0.logProbability = logProbability
        }
    }
}

extension InferenceRequest {
    /// The same request as a protobuf message.
    public var protobuf: Codecbench_InferenceRequest {
        .with {
            $0.prompt = prompt
            $0.maxTokens = Int64(maxTokens)
            if let temperature { $0.temperature = temperature }
            $0.stop = stop
            $0.tags = tags
            $0.history = history.map(\.protobuf)
        }
    }
}

extension Blob {
    /// The same blob as a protobuf message.
    public var protobuf: Codecbench_Blob {
        .with {
            $0.id = id
            $0.payload = payload
        }
    }
}
