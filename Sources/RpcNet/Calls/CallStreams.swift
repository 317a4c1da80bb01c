import Transports

/// The messages a peer sends on a call, as an `AsyncSequence` with backpressure: each message is
/// read from the stream only when the consumer asks for it, so a consumer that stops reading stops
/// the sender through QUIC flow control.
///
/// Iterate it once: the sequence reads from the call's stream.
public struct MessageStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private let source: MessageSource
    private let observer: MessageObserver?

    init(source: MessageSource, observer: MessageObserver? = nil) {
        self.source = source
        self.observer = observer
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: source, observer: observer)
    }

    /// The same messages, each shown to `observe` as it is read (after the observers already
    /// installed): what an interceptor uses to see every message of a call.
    public func observed(by observe: @escaping MessageObserver) -> MessageStream {
        MessageStream(source: source, observer: chain(observer, observe))
    }

    /// The peer's trailing metadata, once its trailer was read (a client's response stream read
    /// to its end); `nil` before, and always on a server.
    public var trailingMetadata: Metadata? {
        source.trailer?.metadata
    }

    /// Reads the one message a unary side of a call carries, throwing `missing` when there is
    /// none and `extra` when there are more.
    func single(missing: RPCStatus, extra: RPCStatus) async throws -> [UInt8] {
        var messages = makeAsyncIterator()
        guard let message = try await messages.next() else { throw missing }
        guard try await messages.next() == nil else { throw extra }
        return message
    }

    /// Yields the messages one at a time; throws ``RPCStatus`` when the call failed.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline let source: MessageSource
        @usableFromInline let observer: MessageObserver?

        public mutating func next() async throws -> [UInt8]? {
            try await nextMessage()
        }

        /// What `for try await` calls: it runs on the caller's executor, as everything it calls
        /// down to the stream does, so iterating costs no executor switch per message.
        /// Inlinable so the caller's compiler sees that: an isolated-parameter function called
        /// across modules costs the runtime an executor check on entry and another on return
        /// (each takes the task's status-record lock when the task prefers a task executor, as
        /// a call on a reactor does); inlined, one check per message is left.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            try await nextMessage()
        }

        // Marked although it is the package default: the fuzz build rejected it unmarked.
        @inlinable
        nonisolated(nonsending) mutating func nextMessage() async throws -> [UInt8]? {
            let message = try await source.next()
            if let message, let observer { observer(message) }
            return message
        }
    }
}

/// Sees one message of a call as it passes: sent through a ``MessageWriter`` or read from a
/// ``MessageStream``.
public typealias MessageObserver = @Sendable ([UInt8]) -> Void

/// `first` (when there is one), then `next`.
func chain(_ first: MessageObserver?, _ next: @escaping MessageObserver) -> MessageObserver {
    guard let first else { return next }
    return { @Sendable message in
        first(message)
        next(message)
    }
}

/// The reading side of one call, shared between the call machinery and a ``MessageStream``.
/// Only one task reads at a time (the stream allows one reader).
@usableFromInline
final class MessageSource: @unchecked Sendable {
    private var reader: FrameReader
    private let onTrailer: (@Sendable (Trailer) throws -> Void)?
    private var finished = false
    /// The trailer that ended the call, once read (client side only).
    private(set) var trailer: Trailer?

    /// `onTrailer` is nil on the server (a client never sends a trailer) and decides on the
    /// client whether the call failed.
    init(reader: FrameReader, onTrailer: (@Sendable (Trailer) throws -> Void)?) {
        self.reader = reader
        self.onTrailer = onTrailer
    }

    /// Whether the peer's side of the call has ended (trailer or end of stream seen).
    var isFinished: Bool { finished }

    /// The next message, nil once the peer's side has ended; throws what the trailer or a
    /// malformed frame means.
    @usableFromInline
    func next() async throws -> [UInt8]? {
        guard !finished else { return nil }
        switch try await reader.next() {
        case .message(let bytes):
            return bytes
        case .trailer(let trailer):
            guard let onTrailer else {
                throw WireError.malformed(type: FrameType.trailer.rawValue, reason: "a client sent a trailer")
            }
            finished = true
            self.trailer = trailer
            try onTrailer(trailer)
            return nil
        case .callHeader:
            throw WireError.malformed(type: FrameType.callHeader.rawValue, reason: "a second call header")
        case nil:
            finished = true
            if onTrailer != nil {
                throw RPCStatus(code: .internal, message: "the server ended the call without a trailer")
            }
            return nil
        }
    }
}

/// Sends messages on a call. Each ``send(_:)`` waits while the peer's flow-control window and the
/// stream's send buffer are full, and queues its message whole or not at all.
public struct MessageWriter: Sendable {
    let stream: TransportStream
    let limits: WireLimits
    /// On the server: the call's deadline, past which no message is sent.
    let deadline: MonotonicInstant?
    let clock: (any NetworkClock)?
    private let observer: MessageObserver?

    init(
        stream: TransportStream, limits: WireLimits, deadline: MonotonicInstant? = nil,
        clock: (any NetworkClock)? = nil, observer: MessageObserver? = nil
    ) {
        self.stream = stream
        self.limits = limits
        self.deadline = deadline
        self.clock = clock
        self.observer = observer
    }

    /// A writer that shows each message it sends to `observe` (after the observers already
    /// installed): what an interceptor uses to see every message of a call.
    public func observed(by observe: @escaping MessageObserver) -> MessageWriter {
        MessageWriter(
            stream: stream, limits: limits, deadline: deadline, clock: clock,
            observer: chain(observer, observe))
    }

    /// Sends one message; fails with ``RPCStatus/Code-swift.struct/resourceExhausted`` when it
    /// exceeds the message size limit, and with ``RPCStatus/Code-swift.struct/deadlineExceeded``
    /// once the call's deadline has passed.
    public func send(_ message: [UInt8]) async throws {
        guard message.count <= limits.maxMessageSize else {
            throw RPCStatus(
                code: .resourceExhausted,
                message: "message of \(message.count) bytes exceeds the limit of \(limits.maxMessageSize)")
        }
        if let deadline, let clock, clock.now >= deadline {
            throw RPCStatus(code: .deadlineExceeded, message: "deadline exceeded on the server")
        }
        try await stream.write(.message(message))
        if let observer { observer(message) }
    }

    /// Ends a client's request side (FIN) before its call's body returns, so the server sees the
    /// end of the requests while responses still flow.
    func finish() async throws {
        try await stream.finish()
    }
}
