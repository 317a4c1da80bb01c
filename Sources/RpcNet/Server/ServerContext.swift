public import Logging
import Synchronization
public import Transports

/// What a handler knows about the call it serves, and where it puts the call's trailing metadata.
public struct ServerContext: Sendable {
    /// The method called.
    public let method: String
    /// The caller's metadata; a server interceptor may add to it for the handlers after it.
    public var metadata: Metadata
    /// When the caller's deadline passes, on the monotonic clock; `nil` when it set none.
    public let deadline: MonotonicInstant?
    /// The caller's address.
    public let remoteAddress: SocketAddress
    /// The identity the caller's certificate proved under mutual TLS; `nil` without one.
    public let peerIdentity: PeerIdentity?
    /// The clock the deadline is measured on.
    public let clock: any NetworkClock
    /// The server's logger, before the call's own metadata is added (``logger``).
    private let serverLogger: Logger
    /// The server's number for this call, unique within the server's lifetime.
    private let callNumber: UInt64
    private let trailer: TrailerMetadataBox

    init(
        method: String, metadata: Metadata, deadline: MonotonicInstant?, remoteAddress: SocketAddress,
        peerIdentity: PeerIdentity?, clock: any NetworkClock, logger: Logger, callNumber: UInt64
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.remoteAddress = remoteAddress
        self.peerIdentity = peerIdentity
        self.clock = clock
        self.serverLogger = logger
        self.callNumber = callNumber
        self.trailer = TrailerMetadataBox()
    }

    /// Time left before the deadline (negative once passed); `nil` without a deadline.
    public var remainingTime: Duration? {
        deadline.map { clock.now.duration(to: $0) }
    }

    /// The caller's `request-id` metadata when it sent one, otherwise the server's own number
    /// for the call: what ties the call's log lines together.
    public var requestID: String {
        metadata[Self.requestIDKey] ?? "\(callNumber)"
    }

    /// The metadata key a caller names its request with (``requestID``).
    public static let requestIDKey = "request-id"

    /// The server's logger with the call's method, the caller's address and the ``requestID``
    /// as metadata (`rpc.method`, `peer`, `request.id`), so every line a handler logs says which
    /// call it belongs to. Built when read: a handler that does not log pays nothing for it.
    public var logger: Logger {
        var logger = serverLogger
        logger[metadataKey: "rpc.method"] = "\(method)"
        logger[metadataKey: "peer"] = "\(remoteAddress)"
        logger[metadataKey: "request.id"] = "\(requestID)"
        return logger
    }

    /// Metadata sent to the caller in the call's trailer, whatever its status: set it from the
    /// handler or an interceptor before the call ends (`context.trailingMetadata.add("k", "v")`).
    /// What is added after the call ended on the wire (its deadline passed, the caller went
    /// away) is not sent.
    public var trailingMetadata: Metadata {
        get { trailer.metadata.withLock { $0 } }
        nonmutating set { trailer.metadata.withLock { $0 = newValue } }
    }
}

/// The trailing metadata of one call, shared by every copy of its ``ServerContext``.
private final class TrailerMetadataBox: Sendable {
    let metadata = Mutex(Metadata())
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
