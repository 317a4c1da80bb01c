extension RPCCaller {
    // Typed calls: the same four kinds and argument order as the byte-level calls, with an
    // ``RPCMethod`` in place of the name. A ``ServiceError`` of the method's `Failure` type from
    // the server is thrown as that type; every other failure is an ``RPCStatus``.

    /// Calls a typed unary method.
    public func unary<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Response {
        let bytes = try method.codec.encode(request)
        let reply = try await rethrowingServiceError(Failure.self) {
            try await self.unary(method.name, bytes, options: method.adjusting(options))
        }
        return try decodeMessage(Response.self, from: reply, codec: method.codec, failingWith: .internal)
    }

    /// Calls a typed server-streaming method; `body` consumes the responses. Returning before the
    /// last one cancels the rest of the call.
    public func serverStreaming<Request, Response, Failure, Result: Sendable>(
        _ method: RPCMethod<Request, Response, Failure>, _ request: Request, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes = try method.codec.encode(request)
        return try await rethrowingServiceError(Failure.self) {
            try await self.serverStreaming(method.name, bytes, options: method.adjusting(options)) { responses in
                try await body(TypedMessageStream(responses: responses, codec: method.codec))
            }
        }
    }

    /// Calls a typed server-streaming method and returns its responses as a sequence to iterate
    /// later: the call starts at the first `next()`, runs with backpressure, and is cancelled
    /// when the iteration is abandoned.
    public func serverStreaming<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>, _ request: Request, options: CallOptions = CallOptions()
    ) -> ResponseSequence<Response> {
        ResponseSequence { deliver in
            try await self.serverStreaming(method, request, options: options) { responses in
                for try await response in responses { await deliver(response) }
            }
        }
    }

    /// Calls a typed client-streaming method: `body` sends the requests, then the one response
    /// is returned.
    public func clientStreaming<Request, Response, Failure>(
        _ method: RPCMethod<Request, Response, Failure>, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>) async throws -> Void
    ) async throws -> Response {
        let reply = try await rethrowingServiceError(Failure.self) {
            try await self.clientStreaming(method.name, options: method.adjusting(options)) { requests in
                try await body(TypedMessageWriter(writer: requests, codec: method.codec))
            }
        }
        return try decodeMessage(Response.self, from: reply, codec: method.codec, failingWith: .internal)
    }

    /// Calls a typed client-streaming method with the elements of `requests` as its requests.
    public func clientStreaming<Request, Response, Failure, Requests: AsyncSequence & Sendable>(
        _ method: RPCMethod<Request, Response, Failure>, requests: Requests, options: CallOptions = CallOptions()
    ) async throws -> Response where Requests.Element == Request {
        try await clientStreaming(method, options: options) { writer in
            for try await request in requests { try await writer.send(request) }
        }
    }

    /// Calls a typed bidirectional-streaming method: `body` sends requests and reads responses
    /// concurrently as it likes; the request side is finished when `body` returns.
    public func bidirectional<Request, Response, Failure, Result: Sendable>(
        _ method: RPCMethod<Request, Response, Failure>, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (TypedMessageWriter<Request>, TypedMessageStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await rethrowingServiceError(Failure.self) {
            try await self.bidirectional(method.name, options: method.adjusting(options)) { requests, responses in
                try await body(
                    TypedMessageWriter(writer: requests, codec: method.codec),
                    TypedMessageStream(responses: responses, codec: method.codec))
            }
        }
    }

    /// Calls a typed bidirectional-streaming method that sends the elements of `requests` while
    /// the returned sequence yields the responses (the call starts at its first `next()`).
    public func bidirectional<Request, Response, Failure, Requests: AsyncSequence & Sendable>(
        _ method: RPCMethod<Request, Response, Failure>, requests: Requests, options: CallOptions = CallOptions()
    ) -> ResponseSequence<Response> where Requests.Element == Request {
        ResponseSequence { deliver in
            try await self.bidirectional(method, options: options) { writer, responses in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await request in requests { try await writer.send(request) }
                        try await writer.finish()
                    }
                    for try await response in responses { await deliver(response) }
                    try await group.waitForAll()
                }
            }
        }
    }
}

/// The error type of methods whose service defines none: it has no values, so no status ever
/// becomes one, and every failure stays an ``RPCStatus``.
public enum NoServiceError: ServiceError {
    public init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no service error type"))
    }

    public func encode(to encoder: any Encoder) throws {}
}

/// Runs a call, turning a status whose details decode as `Failure` into that error.
func rethrowingServiceError<Result, Failure: ServiceError>(
    _ type: Failure.Type, _ body: () async throws -> Result
) async throws -> Result {
    do {
        return try await body()
    } catch let status as RPCStatus where !status.details.isEmpty && Failure.self != NoServiceError.self {
        if let failure = try? JSONCodec().decode(Failure.self, from: status.details) { throw failure }
        throw status
    }
}
