import Transports

/// Reads `rpcnet/1` frames from a stream, pulling bytes only when the decoder needs more, so at
/// most one frame (within ``WireLimits``) plus one received chunk is ever buffered.
struct FrameReader {
    private let stream: TransportStream
    private var decoder: FrameDecoder
    private var ended = false

    init(stream: TransportStream, limits: WireLimits) {
        self.stream = stream
        decoder = FrameDecoder(limits: limits)
    }

    /// The next frame; `nil` when the peer finished the stream on a frame boundary.
    mutating func next() async throws -> Frame? {
        while true {
            if let frame = try decoder.next() { return frame }
            if ended {
                try decoder.finish()
                return nil
            }
            if let chunk = try await stream.read() {
                decoder.append(chunk)
            } else {
                ended = true
            }
        }
    }

    /// The next frame if the bytes already received hold it, without waiting; `nil` otherwise
    /// (``next()`` then waits for more, or reports the end of the stream).
    mutating func nextIfReceived() throws -> Frame? {
        while true {
            if let frame = try decoder.next() { return frame }
            guard !ended else { return nil }
            switch try stream.readNow() {
            case .bytes(let chunk): decoder.append(chunk)
            case .end: ended = true
            case .empty: return nil
            }
        }
    }
}

/// Application error codes RpcNet puts on RESET_STREAM / STOP_SENDING: the status code that
/// explains the abort (docs/PROTOCOL.md §4).
enum StreamAbortCode {
    static let cancelled = RPCStatus.Code.cancelled.rawValue
    static let protocolViolation = RPCStatus.Code.internal.rawValue
}

extension TransportStream {
    /// Abandons both directions with `code`.
    func abort(code: UInt64) {
        reset(code: code)
        stopSending(code: code)
    }

    /// Writes one frame.
    func write(_ frame: Frame, finish: Bool = false) async throws {
        try await write(frame.encoded, finish: finish)
    }
}
