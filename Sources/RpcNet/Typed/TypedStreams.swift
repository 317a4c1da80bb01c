/// Sends typed messages on a call.
public struct TypedMessageWriter<Message: Encodable>: Sendable {
    let writer: MessageWriter
    let codec: any MessageCodec

    /// Encodes and sends one message.
    public func send(_ message: Message) async throws {
        try await writer.send(try codec.encode(message))
    }

    /// Ends a client's request side early (see ``MessageWriter``).
    func finish() async throws {
        try await writer.finish()
    }
}

/// The typed messages a peer sends on a call: a ``MessageStream`` whose messages are decoded with
/// the call's codec, with the same backpressure. A message that does not decode fails the
/// iteration with ``RPCStatus``: `invalidArgument` for requests a server reads, `internal` for
/// responses a client reads (the server broke the method's contract).
public struct TypedMessageStream<Message: Decodable>: AsyncSequence, Sendable {
    public typealias Element = Message

    private let messages: MessageStream
    private let codec: any MessageCodec
    private let decodeFailure: RPCStatus.Code

    init(requests: MessageStream, codec: any MessageCodec) {
        self.init(messages: requests, codec: codec, decodeFailure: .invalidArgument)
    }

    init(responses: MessageStream, codec: any MessageCodec) {
        self.init(messages: responses, codec: codec, decodeFailure: .internal)
    }

    private init(messages: MessageStream, codec: any MessageCodec, decodeFailure: RPCStatus.Code) {
        self.messages = messages
        self.codec = codec
        self.decodeFailure = decodeFailure
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(messages: messages.makeAsyncIterator(), codec: codec, decodeFailure: decodeFailure)
    }

    /// Yields the decoded messages one at a time.
    public struct Iterator: AsyncIteratorProtocol {
        var messages: MessageStream.Iterator
        let codec: any MessageCodec
        let decodeFailure: RPCStatus.Code

        public mutating func next() async throws -> Message? {
            guard let bytes = try await messages.next() else { return nil }
            return try decodeMessage(Message.self, from: bytes, codec: codec, failingWith: decodeFailure)
        }
    }
}

/// Decodes one message of a call; a message that does not decode fails the call with `code`.
func decodeMessage<Message: Decodable>(
    _ type: Message.Type, from bytes: [UInt8], codec: any MessageCodec, failingWith code: RPCStatus.Code
) throws -> Message {
    do {
        return try codec.decode(type, from: bytes)
    } catch {
        throw RPCStatus(code: code, message: "cannot decode \(Message.self): \(error)")
    }
}
