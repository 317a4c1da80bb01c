extension RPCServer {
    /// Registers a typed unary method; requests and responses use `codec` (compact binary by
    /// default). A ``ServiceError`` the handler throws reaches the caller as that type.
    public func register<Request: Decodable, Response: Encodable>(
        _ method: String, codec: any MessageCodec = BinaryCodec(),
        unary handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        register(
            method,
            unary: { bytes, context in
                try await typedCall {
                    let request = try decodeRequest(Request.self, from: bytes, codec: codec)
                    return try codec.encode(try await handler(request, context))
                }
            })
    }

    /// Registers a typed server-streaming method: one request in, a stream of responses out.
    public func register<Request: Decodable, Response: Encodable>(
        _ method: String, codec: any MessageCodec = BinaryCodec(),
        serverStreaming handler:
            @escaping @Sendable (Request, TypedMessageWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(
            method,
            serverStreaming: { bytes, responses, context in
                try await typedCall {
                    let request = try decodeRequest(Request.self, from: bytes, codec: codec)
                    try await handler(request, TypedMessageWriter(writer: responses, codec: codec), context)
                }
            })
    }
}

/// Sends typed messages on a call.
public struct TypedMessageWriter<Message: Encodable>: Sendable {
    let writer: MessageWriter
    let codec: any MessageCodec

    /// Encodes and sends one message.
    public func send(_ message: Message) async throws {
        try await writer.send(try codec.encode(message))
    }
}
