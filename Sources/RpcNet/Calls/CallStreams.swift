import Transports

/// The messages a peer sends on a call, as an `AsyncSequence` with backpressure: each message is
/// read from the stream only when the consumer asks for it, so a consumer that stops reading stops
/// the sender through QUIC flow control.
///
/// Iterate it once: the sequence reads from the call's stream.
public struct MessageStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private let source: MessageSource

    init(source: MessageSource) {
        self.source = source
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: source)
    }

    /// Reads the one message a unary side of a call carries, throwing `missing` when there is
    /// none and `extra` when there are more.
    func single(missing: RPCStatus, extra: RPCStatus) async throws -> [UInt8] {
        guard let message = try await source.next() else { throw missing }
        guard try await source.next() == nil else { throw extra }
        return message
    }

    /// Yields the messages one at a time; throws ``RPCStatus`` when the call failed.
    public struct Iterator: AsyncIteratorProtocol {
        let source: MessageSource

        public mutating func next() async throws -> [UInt8]? {
            try await source.next()
        }
    }
}

/// The reading side of one call, shared between the call machinery and a ``MessageStream``.
/// Only one task reads at a time (the stream allows one reader).
final class MessageSource: @unchecked Sendable {
    private var reader: FrameReader
    private let onTrailer: (@Sendable (Trailer) throws -> Void)?
    private var finished = false

    /// `onTrailer` is nil on the server (a client never sends a trailer) and decides on the
    /// client whether the call failed.
    init(reader: FrameReader, onTrailer: (@Sendable (Trailer) throws -> Void)?) {
        self.reader = reader
        self.onTrailer = onTrailer
    }

    /// Whether the peer's side of the call has ended (trailer or end of stream seen).
    var isFinished: Bool { finished }

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

    init(
        stream: TransportStream, limits: WireLimits, deadline: MonotonicInstant? = nil, clock: (any NetworkClock)? = nil
    ) {
        self.stream = stream
        self.limits = limits
        self.deadline = deadline
        self.clock = clock
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
    }

    /// Ends a client's request side (FIN) before its call's body returns, so the server sees the
    /// end of the requests while responses still flow.
    func finish() async throws {
        try await stream.finish()
    }
}
