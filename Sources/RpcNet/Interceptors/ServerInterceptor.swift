/// Runs around every call a server serves: authentication, metrics, tracing, logging.
///
/// Interceptors are installed in ``RPCServer/Configuration/interceptors`` and run in that order,
/// the first outermost: each receives the call and a `next` that runs the rest of the chain and
/// then the method's handler. An interceptor may
/// - read the caller's metadata and add to it for those after it (`call.context.metadata`),
/// - add trailing metadata for the caller (`call.context.trailingMetadata`),
/// - see every message both ways (`call.requests.observed(by:)`, `call.responses.observed(by:)`),
/// - learn the call's status: `next` returns when it succeeds and throws its ``RPCStatus``
///   otherwise (including the deadline passing or the caller going away),
/// - or end the call without running the handler by throwing a status instead of calling `next`.
///
/// A server without interceptors runs its handlers directly, at no cost.
///
/// ```swift
/// struct RequireToken: ServerInterceptor {
///     func intercept(
///         _ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void
///     ) async throws {
///         guard call.context.metadata["authorization"] == "Bearer s3cret" else {
///             throw RPCStatus(code: .unauthenticated, message: "missing or wrong token")
///         }
///         try await next(call)
///     }
/// }
/// ```
public protocol ServerInterceptor: Sendable {
    /// Handles one call: call `next` to run the rest of the chain and the handler, or throw a
    /// status to end the call here. What this throws becomes the call's status.
    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void) async throws
}

/// One call as a server interceptor sees it.
public struct ServerCall: Sendable {
    /// The call's method, metadata, deadline, caller, logger and trailing metadata.
    public var context: ServerContext
    /// The requests, as the handler will read them.
    public var requests: MessageStream
    /// Where the handler's responses go.
    public var responses: MessageWriter

    /// Creates a call; the server does, for each call it runs.
    init(context: ServerContext, requests: MessageStream, responses: MessageWriter) {
        self.context = context
        self.requests = requests
        self.responses = responses
    }
}

extension [any ServerInterceptor] {
    /// Runs `call` through the interceptors from `index` on, then `handler`.
    func intercept(
        _ call: ServerCall, from index: Int = 0,
        handler: @Sendable (ServerCall) async throws(RPCStatus) -> Void
    ) async throws(RPCStatus) {
        guard index < count else { return try await handler(call) }
        do {
            try await self[index].intercept(call) { (call: ServerCall) async throws(RPCStatus) in
                try await self.intercept(call, from: index + 1, handler: handler)
            }
        } catch {
            throw RPCServer.status(for: error)
        }
    }
}
