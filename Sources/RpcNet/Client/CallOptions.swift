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

    /// Who is shown the call's messages and outcome.
    var observers = CallObservers()

    /// Creates options.
    public init(timeout: Duration? = nil, metadata: Metadata = Metadata(), idempotent: Bool = false) {
        self.timeout = timeout
        self.metadata = metadata
        self.isIdempotent = idempotent
    }

    /// Shows each request message to `observe` as it is sent, after the observers already set.
    public mutating func observeRequests(_ observe: @escaping MessageObserver) {
        observers.request = chain(observers.request, observe)
    }

    /// Shows each response message to `observe` as it is read, after the observers already set.
    public mutating func observeResponses(_ observe: @escaping MessageObserver) {
        observers.response = chain(observers.response, observe)
    }

    /// Calls `observe` once when the call ends, with its status and the server's trailing
    /// metadata (empty when the call ended without a trailer: the server was unreachable, the
    /// deadline passed, the caller stopped reading early). This is how a caller reads trailing
    /// metadata:
    ///
    /// ```swift
    /// let trailers = Mutex(Metadata())
    /// var options = CallOptions()
    /// options.observeStatus { _, metadata in trailers.withLock { $0 = metadata } }
    /// _ = try await client.unary("Echo.say", request, options: options)
    /// ```
    ///
    /// On a ``ClusterClient`` it is called once per attempt.
    public mutating func observeStatus(_ observe: @escaping @Sendable (RPCStatus, Metadata) -> Void) {
        guard let earlier = observers.status else {
            observers.status = observe
            return
        }
        observers.status = { @Sendable status, metadata in
            earlier(status, metadata)
            observe(status, metadata)
        }
    }
}

/// The observers one call's options carry; each composes the ones set before it.
struct CallObservers: Sendable {
    var request: MessageObserver?
    var response: MessageObserver?
    var status: (@Sendable (RPCStatus, Metadata) -> Void)?
}
