/// The frame types of `rpcnet/1` (docs/PROTOCOL.md §3).
enum FrameType: UInt8, Sendable, CaseIterable {
    /// First frame of a call, client to server: method, timeout, metadata.
    case callHeader = 0x01
    /// One request or response message.
    case message = 0x02
    /// Last frame of a call, server to client: status, message, error details, metadata.
    case trailer = 0x03
}

/// What opens a call.
struct CallHeader: Sendable, Equatable {
    /// The method, conventionally `Service.method`.
    var method: String
    /// Time the caller gives the call, measured from when the server reads the header; `nil` for
    /// none. Sent as whole microseconds.
    var timeout: Duration?
    /// The caller's metadata.
    var metadata: Metadata
}

/// What closes a call.
struct Trailer: Sendable, Equatable {
    /// The outcome.
    var status: RPCStatus
    /// The server's trailing metadata.
    var metadata: Metadata
}

/// One frame of `rpcnet/1`: a type byte, the payload length as a QUIC varint, the payload.
enum Frame: Sendable, Equatable {
    case callHeader(CallHeader)
    case message([UInt8])
    case trailer(Trailer)

    var type: FrameType {
        switch self {
        case .callHeader: .callHeader
        case .message: .message
        case .trailer: .trailer
        }
    }

    /// Appends the encoded frame to `bytes`.
    func encode(into bytes: inout [UInt8]) {
        var payload: [UInt8] = []
        switch self {
        case .callHeader(let header):
            Self.appendString(header.method, to: &payload)
            VarInt.append(CallTimeout.encode(header.timeout), to: &payload)
            Self.appendMetadata(header.metadata, to: &payload)
        case .message(let message):
            bytes.append(FrameType.message.rawValue)
            VarInt.append(UInt64(message.count), to: &bytes)
            bytes.append(contentsOf: message)
            return
        case .trailer(let trailer):
            VarInt.append(trailer.status.code.rawValue, to: &payload)
            Self.appendString(trailer.status.message, to: &payload)
            VarInt.append(UInt64(trailer.status.details.count), to: &payload)
            payload.append(contentsOf: trailer.status.details)
            Self.appendMetadata(trailer.metadata, to: &payload)
        }
        bytes.append(type.rawValue)
        VarInt.append(UInt64(payload.count), to: &bytes)
        bytes.append(contentsOf: payload)
    }

    /// The frame as bytes.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        // A message frame is built in one allocation: its type byte, its length and its payload.
        if case .message(let message) = self {
            bytes.reserveCapacity(1 + VarInt.encodedLength(UInt64(message.count)) + message.count)
        }
        encode(into: &bytes)
        return bytes
    }

    private static func appendString(_ string: String, to bytes: inout [UInt8]) {
        VarInt.append(UInt64(string.utf8.count), to: &bytes)
        bytes.append(contentsOf: string.utf8)
    }

    private static func appendMetadata(_ metadata: Metadata, to bytes: inout [UInt8]) {
        VarInt.append(UInt64(metadata.count), to: &bytes)
        for (key, value) in metadata {
            appendString(key, to: &bytes)
            let encoded = value.encoded
            VarInt.append(UInt64(encoded.count), to: &bytes)
            bytes.append(contentsOf: encoded)
        }
    }
}

/// Why bytes from a peer are not a valid `rpcnet/1` call.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A frame type this version does not define.
    case unknownFrameType(UInt8)
    /// A frame announced more bytes than the limit for its type allows.
    case frameTooLarge(type: UInt8, length: UInt64, limit: Int)
    /// A frame's payload does not parse; the reason names the field.
    case malformed(type: UInt8, reason: String)
    /// The stream ended inside a frame.
    case truncated(bufferedBytes: Int)

    /// The status a call fails with because of this error: too-large messages are a resource
    /// limit, everything else a protocol violation.
    public var status: RPCStatus {
        switch self {
        case .frameTooLarge(let type, _, _) where type == FrameType.message.rawValue:
            RPCStatus(code: .resourceExhausted, message: description)
        default:
            RPCStatus(code: .internal, message: "protocol violation: \(description)")
        }
    }

    public var description: String {
        switch self {
        case .unknownFrameType(let type): "unknown frame type 0x\(String(type, radix: 16))"
        case .frameTooLarge(let type, let length, let limit):
            "frame type 0x\(String(type, radix: 16)) of \(length) bytes exceeds the limit of \(limit)"
        case .malformed(let type, let reason): "malformed frame type 0x\(String(type, radix: 16)): \(reason)"
        case .truncated(let buffered): "stream ended inside a frame (\(buffered) bytes buffered)"
        }
    }
}
