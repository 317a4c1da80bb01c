import AsyncAlgorithms
import Testing

@testable import RpcNet

private struct Prompt: Codable, Sendable {
    var text: String
    var tokens: Int
}

private struct Token: Codable, Sendable, Equatable {
    var sequence: Int
    var text: String
}

private enum InferenceError: ServiceError, Equatable {
    case modelNotLoaded(name: String)
    case tooLong(limit: Int)

    var statusCode: RPCStatus.Code {
        switch self {
        case .modelNotLoaded: .unavailable
        case .tooLong: .invalidArgument
        }
    }
}

/// The test service's methods.
private enum Inference {
    static let complete = RPCMethod<Prompt, Token, InferenceError>("Inference.complete")
    static let stream = RPCMethod<Prompt, Token, InferenceError>("Inference.stream")
    static let sum = RPCMethod<Token, Token, InferenceError>("Inference.sum")
    static let chat = RPCMethod<Prompt, Token, InferenceError>("Inference.chat")
    static let json = RPCMethod("Inference.json", request: Prompt.self, response: Token.self, codec: JSONCodec())
    /// `complete` called by a client that does not know the service's error type.
    static let completeUntyped = RPCMethod("Inference.complete", request: Prompt.self, response: Token.self)
    /// `chat` called by a client that expects another response type.
    static let chatMistyped = RPCMethod("Inference.chat", request: Prompt.self, response: Prompt.self)
}

private func registerInference(_ server: RPCServer) {
    server.register(
        Inference.complete,
        unary: { (prompt: Prompt, _) -> Token in
            guard prompt.tokens <= 100 else { throw InferenceError.tooLong(limit: 100) }
            return Token(sequence: 0, text: prompt.text.uppercased())
        })
    server.register(
        Inference.stream,
        serverStreaming: { (prompt: Prompt, tokens: TypedMessageWriter<Token>, _) in
            guard prompt.text != "unloaded" else { throw InferenceError.modelNotLoaded(name: "tiny") }
            for index in 0..<prompt.tokens { try await tokens.send(Token(sequence: index, text: "t\(index)")) }
        })
    server.register(
        Inference.sum,
        clientStreaming: { (tokens: TypedMessageStream<Token>, _) -> Token in
            var text = ""
            var count = 0
            for try await token in tokens {
                guard token.sequence == count else { throw InferenceError.tooLong(limit: count) }
                text += token.text
                count += 1
            }
            return Token(sequence: count, text: text)
        })
    server.register(
        Inference.chat,
        bidirectional: { (prompts: TypedMessageStream<Prompt>, replies: TypedMessageWriter<Token>, _) in
            var sequence = 0
            for try await prompt in prompts {
                guard prompt.text != "unloaded" else { throw InferenceError.modelNotLoaded(name: "chat") }
                for _ in 0..<prompt.tokens {
                    try await replies.send(Token(sequence: sequence, text: prompt.text))
                    sequence += 1
                }
            }
        })
    server.register(
        Inference.json,
        unary: { (prompt: Prompt, _) -> Token in
            Token(sequence: 1, text: prompt.text)
        })
}

@Suite("Typed calls")
struct TypedCallTests {
    @Test("typed unary and server-streaming calls, with a service's own error type", arguments: TestTransport.allCases)
    func typedCalls(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerInference) { client, _ in
            let token = try await client.unary(Inference.complete, Prompt(text: "hi", tokens: 1))
            #expect(token == Token(sequence: 0, text: "HI"))
            await #expect(throws: InferenceError.tooLong(limit: 100)) {
                _ = try await client.unary(Inference.complete, Prompt(text: "hi", tokens: 1000))
            }
            // Without the error type, the caller still gets the status the service chose.
            do {
                _ = try await client.unary(Inference.completeUntyped, Prompt(text: "hi", tokens: 1000))
                Issue.record("the call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument)
            }
            let received = try await client.serverStreaming(Inference.stream, Prompt(text: "go", tokens: 4)) { tokens in
                try await tokens.map(\.sequence).reduce(into: []) { $0.append($1) }
            }
            #expect(received == [0, 1, 2, 3])
            await #expect(throws: InferenceError.modelNotLoaded(name: "tiny")) {
                try await client.serverStreaming(Inference.stream, Prompt(text: "unloaded", tokens: 1)) { tokens in
                    for try await _ in tokens {}
                }
            }
            let viaJSON = try await client.unary(Inference.json, Prompt(text: "j", tokens: 1))
            #expect(viaJSON.text == "j")
            // A request the server cannot decode is an invalid argument.
            do {
                _ = try await client.unary("Inference.complete", [UInt8]("garbage"), options: CallOptions())
                Issue.record("the call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument)
            }
        }
    }

    @Test(
        "typed client-streaming and bidirectional calls, with a service's own error type",
        arguments: TestTransport.allCases)
    func typedStreamingCalls(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerInference) { client, _ in
            let sum = try await client.clientStreaming(Inference.sum) { tokens in
                for index in 0..<5 { try await tokens.send(Token(sequence: index, text: "\(index)")) }
            }
            #expect(sum == Token(sequence: 5, text: "01234"))
            await #expect(throws: InferenceError.tooLong(limit: 0)) {
                _ = try await client.clientStreaming(Inference.sum) { tokens in
                    try await tokens.send(Token(sequence: 9, text: "out of order"))
                }
            }

            // Bidirectional: each prompt's replies are read before the next prompt is sent.
            let replies = try await client.bidirectional(Inference.chat) { prompts, replies in
                var iterator = replies.makeAsyncIterator()
                var seen: [Token] = []
                for (text, count) in [("a", 2), ("b", 1), ("c", 0), ("d", 3)] {
                    try await prompts.send(Prompt(text: text, tokens: count))
                    for _ in 0..<count { seen.append(try #require(try await iterator.next())) }
                }
                return seen
            }
            #expect(replies.map(\.text) == ["a", "a", "b", "d", "d", "d"])
            #expect(replies.map(\.sequence) == Array(0..<6))
            await #expect(throws: InferenceError.modelNotLoaded(name: "chat")) {
                try await client.bidirectional(Inference.chat) { prompts, replies in
                    try await prompts.send(Prompt(text: "unloaded", tokens: 1))
                    for try await _ in replies {}
                }
            }
            // A response the client cannot decode is the server breaking the contract: internal.
            do {
                try await client.bidirectional(Inference.chatMistyped) { prompts, replies in
                    try await prompts.send(Prompt(text: "x", tokens: 1))
                    for try await _ in replies {}
                }
                Issue.record("the call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .internal)
            }
        }
    }

    @Test("responses as a sequence returned from the call, requests from a sequence", arguments: TestTransport.allCases)
    func sequenceForms(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerInference) { client, _ in
            let tokens = client.serverStreaming(Inference.stream, Prompt(text: "go", tokens: 3))
            var sequences: [Int] = []
            for try await token in tokens { sequences.append(token.sequence) }
            #expect(sequences == [0, 1, 2])
            // Each iteration is a call of its own; the service's error ends it, typed.
            await #expect(throws: InferenceError.modelNotLoaded(name: "tiny")) {
                for try await _ in client.serverStreaming(Inference.stream, Prompt(text: "unloaded", tokens: 1)) {}
            }
            // An iteration abandoned early cancels its call.
            for try await _ in client.serverStreaming(Inference.stream, Prompt(text: "long", tokens: 100_000)) {
                break
            }
            let requests = (0..<4).map { Token(sequence: $0, text: "\($0)") }.async
            #expect(
                try await client.clientStreaming(Inference.sum, requests: requests) == Token(sequence: 4, text: "0123"))
            let prompts = [Prompt(text: "a", tokens: 2), Prompt(text: "b", tokens: 1)].async
            var replies: [String] = []
            for try await reply in client.bidirectional(Inference.chat, requests: prompts) {
                replies.append(reply.text)
            }
            #expect(replies == ["a", "a", "b"])
        }
    }
}
