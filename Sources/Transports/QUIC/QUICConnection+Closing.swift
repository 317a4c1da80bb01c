import CRpcNet
import Logging

extension QUICConnection {
    /// Closes for a failed `ngtcp2_conn_read_pkt`: the peer closed (draining), a TLS alert, or
    /// a protocol violation.
    func handleReadError(_ error: Int32) {
        guard let native = phase.open else { return }
        switch error {
        case NGTCP2_ERR_DRAINING:
            enterDraining(reason: resetByPeer ? .statelessReset : peerCloseReason(native.conn))
        case NGTCP2_ERR_DROP_CONN:
            terminate(reason: .transportError(code: 0, message: "connection dropped", byPeer: false))
        case NGTCP2_ERR_RETRY:
            // ngtcp2 0.12 asks a server to validate the client's address before keeping state
            // (ngtcp2.h, `ngtcp2_conn_read_pkt`): discard the state without a close, as it says;
            // the client's next Initial starts afresh (and gets a Retry under load).
            terminate(reason: .transportError(code: 0, message: "address validation required", byPeer: false))
        case NGTCP2_ERR_CRYPTO:
            let alert = ngtcp2_conn_get_tls_alert(native.conn)
            let failure = tls.classifyLocalFailure(
                session: native.session, alert: alert,
                hadPeerCertificate: TLSContext.peerPresentedCertificate(native.session))
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nil, 0)
            startClosing(ccerr, reason: .handshakeFailed(failure))
        default:
            closeForError(error)
        }
    }

    /// Closes with the transport error that ngtcp2's library error `error` maps to.
    func closeForError(_ error: Int32) {
        var ccerr = ngtcp2_connection_close_error()
        ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, error, nil, 0)
        startClosing(
            ccerr,
            reason: .transportError(
                code: ccerr.error_code, message: String(cString: ngtcp2_strerror(error)), byPeer: false))
    }

    /// Why the peer closed, from the CONNECTION_CLOSE it sent.
    private func peerCloseReason(_ conn: OpaquePointer) -> CloseReason {
        var ccerr = ngtcp2_connection_close_error()
        ngtcp2_conn_get_connection_close_error(conn, &ccerr)
        let message =
            ccerr.reason.map { String(decoding: UnsafeBufferPointer(start: $0, count: ccerr.reasonlen), as: UTF8.self) }
            ?? ""
        switch ccerr.type {
        case NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION:
            return .peer(code: ccerr.error_code, message: message)
        default:
            if ccerr.error_code == 0 { return .peer(code: 0, message: message) }
            if (UInt64(NGTCP2_CRYPTO_ERROR)..<UInt64(NGTCP2_CRYPTO_ERROR) + 0x100).contains(ccerr.error_code) {
                let alert = UInt8(ccerr.error_code & 0xFF)
                switch alert {
                case 120: return .handshakeFailed(.noApplicationProtocol)
                case 116: return .handshakeFailed(.clientCertificateMissing)
                default: return .handshakeFailed(.peerAlert(alert))
                }
            }
            return .transportError(code: ccerr.error_code, message: message, byPeer: true)
        }
    }

    /// Closes with an application error code and reason (at most 512 bytes of it are sent).
    func closeLocally(code: UInt64, message: String) {
        guard phase.open != nil else { return }
        var ccerr = ngtcp2_connection_close_error()
        var reason = Array(message.utf8.prefix(512))
        reason.withUnsafeMutableBufferPointer { bytes in
            ngtcp2_connection_close_error_set_application_error(&ccerr, code, bytes.baseAddress, bytes.count)
            startClosing(ccerr, reason: .local(code: code, message: message))
        }
    }

    /// Sends CONNECTION_CLOSE and keeps answering with it for three PTOs (RFC 9000 §10.2).
    private func startClosing(_ ccerr: ngtcp2_connection_close_error, reason: CloseReason) {
        guard let native = phase.open else { return }
        var ccerr = ccerr
        let batch = output.batch
        var pathStorage = ngtcp2_path_storage()
        ngtcp2_path_storage_zero(&pathStorage)
        let written = rpcnet_ngtcp2_conn_write_connection_close(
            native.conn, &pathStorage.path, batch.nextPacket.assumingMemoryBound(to: UInt8.self), batch.packetCapacity,
            &ccerr, rpcnet_monotonic_ns())
        var answer = CloseAnswer(packet: [], destination: remoteAddress)
        if written > 0 {
            answer = CloseAnswer(
                packet: Array(UnsafeRawBufferPointer(start: batch.nextPacket, count: written)),
                destination: SocketAddress(pathStorage.path.remote.addr, length: Int(pathStorage.path.remote.addrlen))
                    ?? remoteAddress)
            answer.send(on: output.socket)
        }
        logger.debug("closing connection", metadata: ["reason": "\(reason)"])
        let period = closingPeriod(native.conn)
        phase = .closing(native, answer)
        finishApplicationState(reason)
        native.timer.arm(after: period)
    }

    /// The peer closed: stay silent for three PTOs, then release (RFC 9000 §10.2.2).
    private func enterDraining(reason: CloseReason) {
        guard let native = phase.open else { return }
        logger.debug("peer closed connection", metadata: ["reason": "\(reason)"])
        let period = closingPeriod(native.conn)
        phase = .draining(native)
        finishApplicationState(reason)
        native.timer.arm(after: period)
    }

    private func closingPeriod(_ conn: OpaquePointer) -> Duration {
        .nanoseconds(Int64(clamping: 3 * ngtcp2_conn_get_pto(conn)))
    }

    /// Frees everything now: after closing/draining, on idle timeout, or on shutdown.
    func terminate(reason: CloseReason) {
        let native: NativeState?
        switch phase {
        case .closed:
            return
        case .idle:
            native = nil
        case .handshaking(let open), .established(let open):
            logger.debug("connection terminated", metadata: ["reason": "\(reason)"])
            native = open
        case .closing(let ending, _), .draining(let ending):
            native = ending
        }
        phase = .closed
        finishApplicationState(reason)
        native?.release()
        // Streams the peer opened that nobody accepted hold this connection (their driver), and
        // it holds them in its queue: release them, or the connection, its endpoint and the
        // endpoint's buffers are never freed. Until now (the closing period) a stream whose
        // request arrived whole could still be accepted and read.
        incomingStreams.finishDiscardingElements()
        host.connection(self, did: .terminated)
    }

    /// Closes the connection for the reactor's or endpoint's shutdown: one CONNECTION_CLOSE, then
    /// immediate release (no closing period: the loop is going away).
    func abort(reason: CloseReason) {
        if phase.open != nil {
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_application_error(&ccerr, 0, nil, 0)
            startClosing(ccerr, reason: reason)
        }
        terminate(reason: reason)
    }

    /// Fails every stream and waiter with `reason` and records it; runs once.
    private func finishApplicationState(_ reason: CloseReason) {
        guard closeSignal.close(reason) else { return }
        if !handshakeCompleted { host.connection(self, did: .failedHandshake(reason)) }
        for stream in streams.values { stream.connectionClosed(reason) }
        streams.removeAll()
        writable.removeAll()
        incomingStreams.finish()
        for waiter in openWaiters { waiter.continuation.resume(throwing: TransportError.connectionClosed(reason)) }
        openWaiters.removeAll()
        for waiter in handshakeWaiters { waiter.continuation.resume(throwing: TransportError.connectionClosed(reason)) }
        handshakeWaiters.removeAll()
    }
}
