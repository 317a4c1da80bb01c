import CRpcNet
import Glibc

extension QUICConnection {
    /// Where a connection is in its life (RFC 9000 §10), with what that phase holds. Owned by the
    /// loop thread.
    enum Phase {
        /// Created; ``startClient(serverName:)`` or ``startServer(header:originalDCID:)`` has not
        /// built the ngtcp2 state yet (and never will if it failed).
        case idle
        /// The TLS handshake is running (RFC 9001 §4.1).
        case handshaking(NativeState)
        /// The handshake completed (RFC 9001 §4.1.1): a client's dial returns, a server's
        /// connection is accepted.
        case established(NativeState)
        /// We sent CONNECTION_CLOSE and answer the peer's packets with it until the closing
        /// period ends (RFC 9000 §10.2.1).
        case closing(NativeState, CloseAnswer)
        /// The peer closed; we stay silent until the draining period ends (RFC 9000 §10.2.2).
        case draining(NativeState)
        /// Everything is released.
        case closed

        /// The C state, from the start until the connection is released.
        var native: NativeState? {
            switch self {
            case .handshaking(let native), .established(let native), .closing(let native, _),
                .draining(let native):
                return native
            case .idle, .closed:
                return nil
            }
        }

        /// The C state while packets are processed and streams served: handshaking or established.
        var open: NativeState? {
            switch self {
            case .handshaking(let native), .established(let native): return native
            case .idle, .closing, .draining, .closed: return nil
            }
        }
    }

    /// How far a client's handshake has to get before a waiter resumes.
    enum HandshakeMilestone {
        /// Completed on this side (RFC 9001 §4.1.1): streams can carry data.
        case completed
        /// Confirmed by the server (HANDSHAKE_DONE, RFC 9001 §4.1.2): it accepted this client.
        case confirmed
    }

    /// The C state of a started connection, released together by ``release()``.
    struct NativeState {
        /// The ngtcp2 connection.
        let conn: OpaquePointer
        /// Its GnuTLS session.
        let session: gnutls_session_t
        /// The name the peer's certificate is verified against; GnuTLS keeps this pointer.
        let verifiedName: UnsafeMutablePointer<CChar>?
        /// Fires at ngtcp2's expiry, then at the end of the closing or draining period.
        let timer: ReactorTimer

        /// Frees the ngtcp2 connection, the session and the name, and closes the timer.
        func release() {
            timer.close()
            ngtcp2_conn_del(conn)
            gnutls_deinit(session)
            free(verifiedName)
        }
    }

    /// Our CONNECTION_CLOSE, kept to answer the peer's packets during the closing period.
    struct CloseAnswer {
        /// The packet as first sent.
        let packet: [UInt8]
        /// Where it goes: the path ngtcp2 built it for.
        let destination: SocketAddress
        /// Packets received since it was last sent: it is sent again at each power of two, so
        /// the answers thin out exponentially (RFC 9000 §10.2.1).
        var packetsSinceResend = 0

        /// Counts one packet from the peer; true when it should be answered.
        mutating func packetArrived() -> Bool {
            packetsSinceResend += 1
            return packetsSinceResend.nonzeroBitCount == 1
        }

        /// Sends the packet, if there is one; a failed send is a lost packet, which the peer's
        /// next retransmission answers for.
        func send(on socket: UDPSocket) {
            guard !packet.isEmpty else { return }
            packet.withUnsafeBytes { _ = try? socket.send($0, to: destination) }
        }
    }
}
