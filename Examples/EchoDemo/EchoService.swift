import RpcNet

/// The echo service, one method of each call kind, defined once for its server and its client.
@RPCService
protocol Echo: Sendable {
    /// Unary: answers with the text.
    func say(_ text: String, context: ServerContext) async throws -> String
    /// Server streaming: streams 0, 1, … up to `limit` − 1.
    func count(to limit: Int, responses: TypedMessageWriter<Int>, context: ServerContext) async throws
    /// Client streaming: joins the texts sent, in order, with spaces.
    func join(_ texts: TypedMessageStream<String>) async throws -> String
    /// Bidirectional: answers each text as it arrives, upper-cased.
    func shout(_ texts: TypedMessageStream<String>, responses: TypedMessageWriter<String>) async throws
}

/// The server's implementation; `announce` prints each call as it arrives.
struct EchoService: Echo {
    let announce: Bool

    func say(_ text: String, context: ServerContext) async throws -> String {
        if announce { print("server: Echo.say from \(context.remoteAddress): \"\(text)\"") }
        return text
    }

    func count(to limit: Int, responses: TypedMessageWriter<Int>, context: ServerContext) async throws {
        if announce { print("server: Echo.count(to: \(limit)) from \(context.remoteAddress), streaming") }
        for value in 0..<max(limit, 0) { try await responses.send(value) }
    }

    func join(_ texts: TypedMessageStream<String>) async throws -> String {
        try await texts.reduce(into: [String]()) { $0.append($1) }.joined(separator: " ")
    }

    func shout(_ texts: TypedMessageStream<String>, responses: TypedMessageWriter<String>) async throws {
        for try await text in texts { try await responses.send(text.uppercased()) }
    }
}
