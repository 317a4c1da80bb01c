/// One method of a service, with everything a typed call needs to know about it: its wire name
/// (`Service.method` by convention, PROTOCOL.md §3), its request, response and error types, the
/// codec of its messages, and whether running it twice is harmless.
///
/// The same value serves both sides: ``RPCCaller`` calls it, ``RPCServer`` registers a handler
/// for it. `@RPCService` generates one per requirement of a service protocol; written by hand:
///
/// ```swift
/// let complete = RPCMethod<Prompt, Completion, InferenceError>("Inference.complete")
/// let completion = try await client.unary(complete, Prompt(text: "hi"))
/// ```
public struct RPCMethod<Request: Codable & Sendable, Response: Codable & Sendable, Failure: ServiceError>: Sendable {
    /// The method's name on the wire.
    public let name: String
    /// The encoding of its requests and responses (error details are always JSON).
    public let codec: any MessageCodec
    /// Whether a call that may have reached a server can safely be sent again: a
    /// ``ClusterClient`` retries such calls on another worker when theirs became unavailable.
    public let isIdempotent: Bool

    /// A method named `name` on the wire.
    public init(
        _ name: String, request: Request.Type = Request.self, response: Response.Type = Response.self,
        failure: Failure.Type = Failure.self, codec: any MessageCodec = BinaryCodec(), idempotent: Bool = false
    ) {
        self.name = name
        self.codec = codec
        self.isIdempotent = idempotent
    }

    /// `options`, marked idempotent when the method is.
    func adjusting(_ options: CallOptions) -> CallOptions {
        guard isIdempotent, !options.isIdempotent else { return options }
        var adjusted = options
        adjusted.isIdempotent = true
        return adjusted
    }
}

extension RPCMethod where Failure == NoServiceError {
    /// A method whose service defines no error type: every failure is an ``RPCStatus``.
    public init(
        _ name: String, request: Request.Type = Request.self, response: Response.Type = Response.self,
        codec: any MessageCodec = BinaryCodec(), idempotent: Bool = false
    ) {
        self.init(
            name, request: request, response: response, failure: NoServiceError.self, codec: codec,
            idempotent: idempotent)
    }
}
