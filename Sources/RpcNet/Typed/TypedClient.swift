extension RPCClient {
    /// Calls a typed unary method; a ``ServiceError`` of type `Failure` from the server is thrown
    /// as that type, every other failure as ``RPCStatus``.
    public func unary<Request: Encodable, Response: Decodable, Failure: ServiceError>(
        _ method: String, _ request: Request, returning: Response.Type = Response.self, throwing: Failure.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions()
    ) async throws -> Response {
        let bytes = try codec.encode(request)
        let reply = try await rethrowingServiceError(Failure.self) {
            try await self.unary(method, bytes, options: options)
        }
        return try decodeResponse(Response.self, from: reply, codec: codec)
    }

    /// Calls a typed unary method whose service defines no error type.
    public func unary<Request: Encodable, Response: Decodable>(
        _ method: String, _ request: Request, returning: Response.Type = Response.self,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions()
    ) async throws -> Response {
        let reply = try await unary(method, try codec.encode(request), options: options)
        return try decodeResponse(Response.self, from: reply, codec: codec)
    }

    /// Calls a typed server-streaming method; `body` receives each decoded response in order.
    public func serverStreaming<Request: Encodable, Response: Decodable & Sendable, Failure: ServiceError>(
        _ method: String, _ request: Request, of: Response.Type = Response.self, throwing: Failure.Type,
        codec: any MessageCodec = BinaryCodec(), options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (Response) async throws -> Void
    ) async throws {
        let bytes = try codec.encode(request)
        try await rethrowingServiceError(Failure.self) {
            try await self.serverStreaming(method, bytes, options: options) { responses in
                for try await message in responses {
                    try await body(try decodeResponse(Response.self, from: message, codec: codec))
                }
            }
        }
    }

    private func rethrowingServiceError<Result, Failure: ServiceError>(
        _ type: Failure.Type, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let status as RPCStatus where !status.details.isEmpty {
            if let failure = try? JSONCodec().decode(Failure.self, from: status.details) { throw failure }
            throw status
        }
    }
}

/// Decodes a response, failing with ``RPCStatus/Code-swift.struct/internal`` when the server
/// sent something else.
private func decodeResponse<Response: Decodable>(_ type: Response.Type, from bytes: [UInt8], codec: any MessageCodec)
    throws -> Response
{
    do {
        return try codec.decode(type, from: bytes)
    } catch {
        throw RPCStatus(code: .internal, message: "cannot decode \(Response.self) from the response: \(error)")
    }
}
