/// Something that makes calls: ``RPCClient`` calls one server, a ``ClusterClient`` calls workers
/// its registry chooses. Typed calls (``RPCMethod``) and the clients `@RPCService` generates work
/// over any caller, so the same generated client talks to one server or to a pool of workers.
///
/// The four call kinds take the same arguments in the same order: the method, the request (for
/// the kinds that send one), ``CallOptions``, and a body for the kinds that stream.
public protocol RPCCaller: Sendable {
    /// Calls a unary method: one request, one response.
    func unary(_ method: String, _ request: [UInt8], options: CallOptions) async throws -> [UInt8]

    /// Calls a server-streaming method: one request, then `body` consumes the responses.
    /// Returning before the last one cancels the rest of the call.
    func serverStreaming<Result: Sendable>(
        _ method: String, _ request: [UInt8], options: CallOptions,
        _ body: @escaping @Sendable (MessageStream) async throws -> Result
    ) async throws -> Result

    /// Calls a client-streaming method: `body` sends the requests, then the one response is
    /// returned.
    func clientStreaming(
        _ method: String, options: CallOptions, _ body: @escaping @Sendable (MessageWriter) async throws -> Void
    ) async throws -> [UInt8]

    /// Calls a bidirectional-streaming method: `body` sends requests and reads responses
    /// concurrently as it likes; the request side is finished when `body` returns.
    func bidirectional<Result: Sendable>(
        _ method: String, options: CallOptions,
        _ body: @escaping @Sendable (MessageWriter, MessageStream) async throws -> Result
    ) async throws -> Result
}
