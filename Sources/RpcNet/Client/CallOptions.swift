/// Per-call settings.
public struct CallOptions: Sendable {
    /// Time the call may take; sent to the server, which sees the remaining time, and enforced
    /// on both sides. `nil` uses the client's default.
    public var timeout: Duration?
    /// Metadata sent with the call header.
    public var metadata: Metadata

    /// Creates options.
    public init(timeout: Duration? = nil, metadata: Metadata = Metadata()) {
        self.timeout = timeout
        self.metadata = metadata
    }
}
