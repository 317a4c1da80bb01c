extension RPCClient {
    // Each call comes in two forms: with `throwing:`, a ``ServiceError`` of that type from the
    // server is thrown as that type; without it, every failure is an ``RPCStatus``.

    /// Calls a typed unary method.
    public func unary<Request: Encodable, Response: Decodable, Failure: ServiceError>(
        _ method: String, _ request: Request, returning: Response.Type, throwing: Failure.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions()
    ) async throws -> Response {
        let bytes = try codec.encode(request)
        let reply = try await rethrowingServiceError(Failure.self) {
            try await self.unary(method, bytes, options: options)
        }
        return try decodeMessage(Response.self, from: reply, codec: codec, failingWith: .internal)
    }

    /// Calls a typed unary method whose service defines no error type.
    public func unary<Request: Encodable, Response: Decodable>(
        _ method: String, _ request: Request, returning: Response.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions()
    ) async throws -> Response {
        try await unary(
            method, request, returning: Response.self, throwing: NoServiceError.self, codec: codec, options: options)
    }

    /// Calls a typed server-streaming method; `body` consumes the responses. Returning before the
    /// last one cancels the rest of the call.
    public func serverStreaming<
        Request: Encodable & Sendable, Response: Decodable & Sendable, Failure: ServiceError, Result: Sendable
    >(
        _ method: String, _ request: Request, of: Response.Type, throwing: Failure.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes = try codec.encode(request)
        return try await rethrowingServiceError(Failure.self) {
            try await self.serverStreaming(method, bytes, options: options) { responses in
                try await body(TypedMessageStream(responses: responses, codec: codec))
            }
        }
    }

    /// Calls a typed server-streaming method whose service defines no error type.
    public func serverStreaming<Request: Encodable & Sendable, Response: Decodable & Sendable, Result: Sendable>(
        _ method: String, _ request: Request, of: Response.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await serverStreaming(
            method, request, of: Response.self, throwing: NoServiceError.self, codec: codec, options: options, body)
    }

    /// Calls a typed client-streaming method: `body` sends the requests, then the one response
    /// is returned.
    public func clientStreaming<Request: Encodable & Sendable, Response: Decodable & Sendable, Failure: ServiceError>(
        _ method: String, sending: Request.Type, returning: Response.Type,
        throwing: Failure.Type, codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>) async throws -> Void
    ) async throws -> Response {
        let reply = try await rethrowingServiceError(Failure.self) {
            try await self.clientStreaming(method, options: options) { requests in
                try await body(TypedMessageWriter(writer: requests, codec: codec))
            }
        }
        return try decodeMessage(Response.self, from: reply, codec: codec, failingWith: .internal)
    }

    /// Calls a typed client-streaming method whose service defines no error type.
    public func clientStreaming<Request: Encodable & Sendable, Response: Decodable & Sendable>(
        _ method: String, sending: Request.Type, returning: Response.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>) async throws -> Void
    ) async throws -> Response {
        try await clientStreaming(
            method, sending: Request.self, returning: Response.self, throwing: NoServiceError.self, codec: codec,
            options: options, body)
    }

    /// Calls a typed bidirectional-streaming method: `body` sends requests and reads responses
    /// concurrently as it likes; the request side is finished when `body` returns.
    public func bidirectional<
        Request: Encodable & Sendable, Response: Decodable & Sendable, Failure: ServiceError, Result: Sendable
    >(
        _ method: String, sending: Request.Type, receiving: Response.Type,
        throwing: Failure.Type, codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>, TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await rethrowingServiceError(Failure.self) {
            try await self.bidirectional(method, options: options) { requests, responses in
                try await body(
                    TypedMessageWriter(writer: requests, codec: codec),
                    TypedMessageStream(responses: responses, codec: codec))
            }
        }
    }

    /// Calls a typed bidirectional-streaming method whose service defines no error type.
    public func bidirectional<Request: Encodable & Sendable, Response: Decodable & Sendable, Result: Sendable>(
        _ method: String, sending: Request.Type, receiving: Response.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>, TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await bidirectional(
            method, sending: Request.self, receiving: Response.self, throwing: NoServiceError.self, codec: codec,
            options: options, body)
    }

    /// Runs a call, turning a status whose details decode as `Failure` into that error.
    private func rethrowingServiceError<Result, Failure: ServiceError>(
        _ type: Failure.Type, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let status as RPCStatus where !status.details.isEmpty && Failure.self != NoServiceError.self {
            if let failure = try? JSONCodec().decode(Failure.self, from: status.details) { throw failure }
            throw status
        }
    }
}

/// The error type of calls whose caller names none: it has no values, so no status becomes one.
enum NoServiceError: ServiceError {
    init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no service error type"))
    }

    func encode(to encoder: any Encoder) throws {}
}
