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

private func registerInference(_ server: RPCServer) {
    server.register(
        "Inference.complete",
        unary: { (prompt: Prompt, _) -> Token in
            guard prompt.tokens <= 100 else { throw InferenceError.tooLong(limit: 100) }
            return Token(sequence: 0, text: prompt.text.uppercased())
        })
    server.register(
        "Inference.stream",
        serverStreaming: { (prompt: Prompt, tokens: TypedMessageWriter<Token>, _) in
            guard prompt.text != "unloaded" else { throw InferenceError.modelNotLoaded(name: "tiny") }
            for index in 0..<prompt.tokens { try await tokens.send(Token(sequence: index, text: "t\(index)")) }
        })
    server.register(
        "Inference.json", codec: JSONCodec(),
        unary: { (prompt: Prompt, _) -> Token in
            Token(sequence: 1, text: prompt.text)
        })
}

@Suite("Typed calls")
struct TypedCallTests {
    @Test("typed unary and server-streaming calls, with a service's own error type", arguments: TestTransport.allCases)
    func typedCalls(transport: TestTransport) async throws {
        try await withRPC(transport, setup: registerInference) { client, _ in
            let token = try await client.unary(
                "Inference.complete", Prompt(text: "hi", tokens: 1), returning: Token.self,
                throwing: InferenceError.self)
            #expect(token == Token(sequence: 0, text: "HI"))
            await #expect(throws: InferenceError.tooLong(limit: 100)) {
                _ = try await client.unary(
                    "Inference.complete", Prompt(text: "hi", tokens: 1000), returning: Token.self,
                    throwing: InferenceError.self)
            }
            // Without the error type, the caller still gets the status the service chose.
            do {
                _ = try await client.unary(
                    "Inference.complete", Prompt(text: "hi", tokens: 1000), returning: Token.self)
                Issue.record("the call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument)
            }
            let received = Collected()
            try await client.serverStreaming(
                "Inference.stream", Prompt(text: "go", tokens: 4), of: Token.self, throwing: InferenceError.self
            ) { token in await received.add(token) }
            #expect(await received.tokens.map(\.sequence) == [0, 1, 2, 3])
            await #expect(throws: InferenceError.modelNotLoaded(name: "tiny")) {
                try await client.serverStreaming(
                    "Inference.stream", Prompt(text: "unloaded", tokens: 1), of: Token.self,
                    throwing: InferenceError.self
                ) { _ in }
            }
            let viaJSON = try await client.unary(
                "Inference.json", Prompt(text: "j", tokens: 1), returning: Token.self, codec: JSONCodec())
            #expect(viaJSON.text == "j")
            // A request the server cannot decode is an invalid argument.
            do {
                _ = try await client.unary("Inference.complete", [UInt8]("garbage"))
                Issue.record("the call must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .invalidArgument)
            }
        }
    }
}

private actor Collected {
    var tokens: [Token] = []
    func add(_ token: Token) { tokens.append(token) }
}
