/// The workers of a ``ClusterClient`` whose tags include a filter, as an ``RPCCaller``: each
/// call goes to one of them chosen by the registry, with the client's failover rules.
///
/// ```swift
/// let gpu = InferenceClient(cluster.workers(matching: ["gpu": "true"]))
/// let completion = try await gpu.complete(prompt)
/// ```
public struct WorkerSelection: RPCCaller {
    /// The client whose pool and registry the calls use.
    public let client: ClusterClient
    /// The tags a worker must carry (on top of the registry's own selector).
    public let filter: [String: String]

    public func unary(_ method: String, _ request: [UInt8], options: CallOptions = CallOptions()) async throws
        -> [UInt8]
    {
        try await client.withWorker(matching: filter, idempotent: options.isIdempotent, options: options) {
            caller, _, options in
            try await caller.unary(method, request, options: options)
        }
    }

    // Streaming calls move to another worker only while their request has not left: responses
    // already handed to the caller could otherwise be repeated.

    public func serverStreaming<Result: Sendable>(
        _ method: String, _ request: [UInt8], options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageStream) async throws -> Result
    ) async throws -> Result {
        try await client.withWorker(matching: filter, idempotent: false, options: options) { caller, _, options in
            try await caller.serverStreaming(method, request, options: options, body)
        }
    }

    public func clientStreaming(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter) async throws -> Void
    ) async throws -> [UInt8] {
        try await client.withWorker(matching: filter, idempotent: false, options: options) { caller, _, options in
            try await caller.clientStreaming(method, options: options, body)
        }
    }

    public func bidirectional<Result: Sendable>(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter, MessageStream) async throws -> Result
    ) async throws -> Result {
        try await client.withWorker(matching: filter, idempotent: false, options: options) { caller, _, options in
            try await caller.bidirectional(method, options: options, body)
        }
    }
}

extension ClusterClient: RPCCaller {
    /// The workers whose tags include `filter`, to call through a generated client or the
    /// ``RPCCaller`` methods.
    public func workers(matching filter: [String: String]) -> WorkerSelection {
        WorkerSelection(client: self, filter: filter)
    }

    /// Calls a unary method on any worker (see ``WorkerSelection``).
    public func unary(_ method: String, _ request: [UInt8], options: CallOptions = CallOptions()) async throws
        -> [UInt8]
    {
        try await workers(matching: [:]).unary(method, request, options: options)
    }

    /// Calls a server-streaming method on any worker (see ``WorkerSelection``).
    public func serverStreaming<Result: Sendable>(
        _ method: String, _ request: [UInt8], options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageStream) async throws -> Result
    ) async throws -> Result {
        try await workers(matching: [:]).serverStreaming(method, request, options: options, body)
    }

    /// Calls a client-streaming method on any worker (see ``WorkerSelection``).
    public func clientStreaming(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter) async throws -> Void
    ) async throws -> [UInt8] {
        try await workers(matching: [:]).clientStreaming(method, options: options, body)
    }

    /// Calls a bidirectional-streaming method on any worker (see ``WorkerSelection``).
    public func bidirectional<Result: Sendable>(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter, MessageStream) async throws -> Result
    ) async throws -> Result {
        try await workers(matching: [:]).bidirectional(method, options: options, body)
    }
}
