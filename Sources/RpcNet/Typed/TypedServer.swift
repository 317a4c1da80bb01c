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
                    let request = try decodeMessage(
                        Request.self, from: bytes, codec: codec, failingWith: .invalidArgument)
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
                    let request = try decodeMessage(
                        Request.self, from: bytes, codec: codec, failingWith: .invalidArgument)
                    try await handler(request, TypedMessageWriter(writer: responses, codec: codec), context)
                }
            })
    }

    /// Registers a typed client-streaming method: a stream of requests in, one response out.
    public func register<Request: Decodable, Response: Encodable>(
        _ method: String, codec: any MessageCodec = BinaryCodec(),
        clientStreaming handler:
            @escaping @Sendable (TypedMessageStream<Request>, ServerContext) async throws -> Response
    ) {
        register(
            method,
            clientStreaming: { requests, context in
                try await typedCall {
                    try codec.encode(try await handler(TypedMessageStream(requests: requests, codec: codec), context))
                }
            })
    }

    /// Registers a typed bidirectional-streaming method.
    public func register<Request: Decodable, Response: Encodable>(
        _ method: String, codec: any MessageCodec = BinaryCodec(),
        bidirectional handler:
            @escaping @Sendable (TypedMessageStream<Request>, TypedMessageWriter<Response>, ServerContext) async throws
            -> Void
    ) {
        register(
            method,
            bidirectional: { requests, responses, context in
                try await typedCall {
                    try await handler(
                        TypedMessageStream(requests: requests, codec: codec),
                        TypedMessageWriter(writer: responses, codec: codec), context)
                }
            })
    }
}
