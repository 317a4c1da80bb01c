import Transports

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// The method called.
    public let method: String
    /// The caller's metadata.
    public let metadata: Metadata
    /// When the caller's deadline passes, on the monotonic clock; `nil` when it set none.
    public let deadline: MonotonicInstant?
    /// The caller's address.
    public let remoteAddress: SocketAddress
    /// The clock the deadline is measured on.
    public let clock: any NetworkClock

    /// Time left before the deadline (negative once passed); `nil` without a deadline.
    public var remainingTime: Duration? {
        deadline.map { clock.now.duration(to: $0) }
    }
}

/// A registered method: how it takes its requests, and what it does with them.
enum MethodHandler: Sendable {
    /// Unary and server-streaming methods: the server reads the one request message and the end
    /// of the stream (within ``RPCServer/Configuration/requestTimeout``), then runs the handler.
    case singleRequest(
        @Sendable (_ request: [UInt8], _ responses: MessageWriter, _ context: ServerContext) async throws -> Void)
    /// Client-streaming and bidirectional methods: the handler reads the requests as they come.
    case requestStream(
        @Sendable (_ requests: MessageStream, _ responses: MessageWriter, _ context: ServerContext) async throws -> Void
    )
}
