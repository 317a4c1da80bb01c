import Glibc

/// Errors surfaced by transports: every failure a caller can meet, each precise enough to act on.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection is closed; the reason says by whom and why.
    case connectionClosed(CloseReason)
    /// The peer reset the stream (QUIC RESET_STREAM) with this application error code: no more
    /// data will arrive and unread data was discarded.
    case streamReset(code: UInt64)
    /// The peer asked us to stop sending on this stream (QUIC STOP_SENDING) with this code.
    case stopSendingRequested(code: UInt64)
    /// This side already finished, reset or stopped this direction of the stream.
    case streamClosedLocally
    /// A datagram or message is larger than the transport accepts.
    case messageTooLarge(size: Int, limit: Int)
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// The configuration is unusable; the message says which setting and why.
    case invalidConfiguration(String)
    /// The endpoint has been closed.
    case endpointClosed
    /// A datagram the transport cannot carry as given (for example, one a side channel would
    /// deliver as QUIC).
    case invalidDatagram(String)

    public var description: String {
        switch self {
        case .connectionClosed(let reason): "connection closed: \(reason)"
        case .streamReset(let code): "stream reset by peer (code \(code))"
        case .stopSendingRequested(let code): "peer stopped reading the stream (code \(code))"
        case .streamClosedLocally: "stream direction already closed locally"
        case .messageTooLarge(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit)"
        case .system(let operation, let errno):
            "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .invalidConfiguration(let message): "invalid configuration: \(message)"
        case .endpointClosed: "endpoint closed"
        case .invalidDatagram(let reason): "invalid datagram: \(reason)"
        }
    }
}

/// Why a connection ended.
public enum CloseReason: Equatable, Sendable, CustomStringConvertible {
    /// This side closed it with an application error code (0 = normal close).
    case local(code: UInt64, message: String)
    /// The peer closed it with an application error code.
    case peer(code: UInt64, message: String)
    /// A QUIC transport error (RFC 9000 §20.1), detected here or reported by the peer.
    case transportError(code: UInt64, message: String, byPeer: Bool)
    /// The TLS handshake failed.
    case handshakeFailed(TLSFailure)
    /// Nothing was received for the idle timeout.
    case idleTimeout
    /// The handshake did not complete within the handshake timeout.
    case handshakeTimeout
    /// The peer signalled it has lost the connection's state (stateless reset).
    case statelessReset
    /// The reactor that owned the connection shut down.
    case reactorShutdown
    /// The local endpoint was closed.
    case endpointClosed
    /// The peer cannot be reached: sending failed at once (no route, a loopback-bound socket
    /// sending to another host) or, during the handshake, the network answered with an ICMP
    /// error (nothing listening at that port, host unreachable). `errno` names the cause.
    case unreachable(errno: Int32)

    public var description: String {
        switch self {
        case .local(let code, let message): "closed locally (code \(code))\(message.isEmpty ? "" : ": \(message)")"
        case .peer(let code, let message): "closed by peer (code \(code))\(message.isEmpty ? "" : ": \(message)")"
        case .transportError(let code, let message, let byPeer):
            "transport error 0x\(String(code, radix: 16)) \(byPeer ? "from peer" : "detected locally")\(message.isEmpty ? "" : ": \(message)")"
        case .handshakeFailed(let failure): "TLS handshake failed: \(failure)"
        case .idleTimeout: "idle timeout"
        case .handshakeTimeout: "handshake timeout"
        case .statelessReset: "stateless reset by peer"
        case .reactorShutdown: "reactor shut down"
        case .endpointClosed: "endpoint closed"
        case .unreachable(let code): "peer unreachable: \(Self.unreachableCause(code))"
        }
    }

    /// What an errno of ``unreachable(errno:)`` means for the person reading it.
    private static func unreachableCause(_ code: Int32) -> String {
        let text = "\(String(cString: strerror(code))) (errno \(code))"
        switch code {
        case ECONNREFUSED: return "nothing is listening at that address and port (ICMP port unreachable)"
        case EINVAL:
            return "\(text); a socket bound to a loopback address cannot reach other hosts (bind 0.0.0.0:0 or [::]:0)"
        case EHOSTUNREACH: return "no route to the host or it does not answer (\(text))"
        case ENETUNREACH: return "no route to that network (\(text))"
        default: return text
        }
    }
}

/// Why a TLS handshake failed, from this side's point of view.
public enum TLSFailure: Equatable, Sendable, CustomStringConvertible {
    /// The peer's certificate chain does not lead to a trusted authority.
    case untrustedCertificate
    /// The certificate is valid but not for the name or address we dialled.
    case hostnameMismatch
    /// The peer's certificate has expired or is not yet valid.
    case certificateExpired
    /// We required a client certificate and the peer sent none.
    case clientCertificateMissing
    /// The peer's certificate was rejected for another reason (GnuTLS verification status bits).
    case certificateRejected(status: UInt32)
    /// No protocol in common: the peer does not speak `rpcnet/1` (TLS alert 120).
    case noApplicationProtocol
    /// The peer aborted the handshake with this TLS alert (RFC 8446 §6).
    case peerAlert(UInt8)
    /// The local TLS stack failed with this alert or library error.
    case local(alert: UInt8, message: String)

    public var description: String {
        switch self {
        case .untrustedCertificate: "peer certificate is not signed by a trusted authority"
        case .hostnameMismatch: "peer certificate does not match the expected server name"
        case .certificateExpired: "peer certificate has expired or is not yet valid"
        case .clientCertificateMissing: "client sent no certificate but one is required"
        case .certificateRejected(let status): "peer certificate rejected (status 0x\(String(status, radix: 16)))"
        case .noApplicationProtocol: "no application protocol in common (ALPN)"
        case .peerAlert(let alert): "peer sent TLS alert \(alert) (\(TLSFailure.alertName(alert)))"
        case .local(let alert, let message):
            "local TLS failure, alert \(alert) (\(TLSFailure.alertName(alert)))\(message.isEmpty ? "" : ": \(message)")"
        }
    }

    /// The RFC 8446 name of a TLS alert.
    public static func alertName(_ alert: UInt8) -> String {
        switch alert {
        case 0: "close_notify"
        case 10: "unexpected_message"
        case 20: "bad_record_mac"
        case 40: "handshake_failure"
        case 42: "bad_certificate"
        case 43: "unsupported_certificate"
        case 44: "certificate_revoked"
        case 45: "certificate_expired"
        case 46: "certificate_unknown"
        case 47: "illegal_parameter"
        case 48: "unknown_ca"
        case 50: "decode_error"
        case 51: "decrypt_error"
        case 70: "protocol_version"
        case 80: "internal_error"
        case 109: "missing_extension"
        case 112: "unrecognized_name"
        case 116: "certificate_required"
        case 120: "no_application_protocol"
        default: "alert \(alert)"
        }
    }
}
