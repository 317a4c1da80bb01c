extension RPCServer {
    // Typed handlers: the same four kinds as the byte-level ones, with an ``RPCMethod`` in place
    // of the name; its codec decodes requests and encodes responses. A ``ServiceError`` the
    // handler throws reaches the caller as that type; a request that does not decode fails the
    // call with `invalidArgument`.

    /// Registers a typed unary method.
    public func register<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>,
        unary handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        let codec = method.codec
        return register(
            method.name,
            unary: { bytes, context in
                try await typedCall {
                    let request = try decodeMessage(
                        Request.self, from: bytes, codec: codec, failingWith: .invalidArgument)
                    return try codec.encode(try await handler(request, context))
                }
            })
    }

    /// Registers a typed server-streaming method: one request in, a stream of responses out.
    public func register<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>,
        serverStreaming handler:
            @escaping @Sendable (Request, TypedMessageWriter<Response>, ServerContext) async throws -> Void
    ) {
        let codec = method.codec
        return register(
            method.name,
            serverStreaming: { bytes, responses, context in
                try await typedCall {
                    let request = try decodeMessage(
                        Request.self, from: bytes, codec: codec, failingWith: .invalidArgument)
                    try await handler(request, TypedMessageWriter(writer: responses, codec: codec), context)
                }
            })
    }

    /// Registers a typed client-streaming method: a stream of requests in, one response out.
    public func register<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>,
        clientStreaming handler:
            @escaping @Sendable (TypedMessageStream<Request>, ServerContext) async throws -> Response
    ) {
        let codec = method.codec
        return register(
            method.name,
            clientStreaming: { requests, context in
                try await typedCall {
                    try codec.encode(try await handler(TypedMessageStream(requests: requests, codec: codec), context))
                }
            })
    }

    /// Registers a typed bidirectional-streaming method.
    public func register<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>,
        bidirectional handler:
            @escaping @Sendable (TypedMessageStream<Request>, TypedMessageWriter<Response>, ServerContext) async throws
            -> Void
    ) {
        let codec = method.codec
        return register(
            method.name,
            bidirectional: { requests, responses, context in
                try await typedCall {
                    try await handler(
                        TypedMessageStream(requests: requests, codec: codec),
                        TypedMessageWriter(writer: responses, codec: codec), context)
                }
            })
    }
}
