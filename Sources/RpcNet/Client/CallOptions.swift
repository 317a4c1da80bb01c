/// Per-call settings, accepted by every call on an ``RPCCaller`` and every method of a client
/// `@RPCService` generates.
///
/// ```swift
/// var options = CallOptions(timeout: .seconds(2))
/// options.metadata.add("request-id", "42")
/// let reply = try await echo.say(Text("hi"), options: options)
/// ```
public struct CallOptions: Sendable {
    /// Time the whole call may take, from now until the last response: sent to the server (which
    /// sees the time left, cancels its handler and sends nothing after it, PROTOCOL.md §4.1) and
    /// enforced by the caller, which fails with
    /// ``RPCStatus/Code-swift.struct/deadlineExceeded``. `nil` uses the client's
    /// ``RPCClient/Configuration/defaultTimeout`` (none unless set).
    public var timeout: Duration?
    /// Metadata sent with the call header, read by the server as ``ServerContext/metadata``:
    /// request ids, authorisation, trace context.
    public var metadata: Metadata
    /// Whether running the call twice is harmless. A ``ClusterClient`` sends an idempotent call
    /// that failed `unavailable` after its request left to another worker; other calls are
    /// retried only when their request never left. Methods declared idempotent
    /// (``RPCMethod/isIdempotent``) set it themselves.
    public var isIdempotent: Bool

    /// Creates options.
    public init(timeout: Duration? = nil, metadata: Metadata = Metadata(), idempotent: Bool = false) {
        self.timeout = timeout
        self.metadata = metadata
        self.isIdempotent = idempotent
    }
}
