public import Transports

/// Runs around every call a client makes: credentials, metrics, tracing, retries of its own.
///
/// Interceptors are installed in ``RPCClient/Configuration/interceptors`` (a ``ClusterClient``
/// passes its clients' configuration on, so they run once per attempt on a worker) and run in
/// that order, the first outermost. Each receives the call and a `next` that runs the rest of
/// the chain and then the call itself. An interceptor may
/// - change the call's options before it starts: add metadata, shorten the timeout
///   (`call.options`),
/// - see every message both ways and the trailer's status and metadata
///   (``CallOptions/observeRequests(_:)``, ``CallOptions/observeResponses(_:)``,
///   ``CallOptions/observeStatus(_:)``),
/// - learn the outcome: `next` returns what the call returned, or throws its ``RPCStatus``,
/// - or end the call without sending it by throwing a status instead of calling `next`.
///
/// A client without interceptors makes its calls directly, at no cost.
public protocol ClientInterceptor: Sendable {
    /// Handles one call: call `next` to run the rest of the chain and send the call, or throw a
    /// status to end it here. What this throws reaches the caller as an ``RPCStatus``.
    func intercept<Response: Sendable>(
        _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws -> Response
}

/// One call as a client interceptor sees it.
public struct ClientCall: Sendable {
    /// The method called.
    public let method: String
    /// How the call sends and receives messages.
    public let kind: CallKind
    /// The server called.
    public let remoteAddress: SocketAddress
    /// The clock the client measures deadlines on (a ``/Transports/VirtualClock`` in simulations).
    public let clock: any NetworkClock
    /// The call's timeout, metadata and observers; changes reach the server.
    public var options: CallOptions
}

/// The four shapes of a call: how many messages go each way.
public enum CallKind: String, Sendable, Hashable, CaseIterable {
    /// One request, one response.
    case unary
    /// One request, any number of responses.
    case serverStreaming
    /// Any number of requests, one response.
    case clientStreaming
    /// Any number each way, concurrently.
    case bidirectional
}

extension [any ClientInterceptor] {
    /// Runs `call` through the interceptors from `index` on, then `perform`.
    func intercept<Response: Sendable>(
        _ call: ClientCall, from index: Int = 0,
        perform: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws(RPCStatus) -> Response {
        guard index < count else { return try await perform(call) }
        do {
            return try await self[index].intercept(call) { (call: ClientCall) async throws(RPCStatus) -> Response in
                try await self.intercept(call, from: index + 1, perform: perform)
            }
        } catch {
            throw RPCClient.status(for: error)
        }
    }
}
