import CRpcNet
import Logging

// Packets in, and what ngtcp2 reports while it reads them (through QUICCallbacks.swift). All on
// the loop thread.
extension QUICConnection {
    /// Feeds one datagram to ngtcp2. The endpoint flushes the connection after the whole batch.
    func receive(_ packet: UnsafeRawBufferPointer, from source: SocketAddress) {
        let conn: OpaquePointer
        switch phase {
        case .closing(let native, var answer):
            // Answer retransmissions with our CONNECTION_CLOSE, thinning out (RFC 9000 §10.2.1).
            if answer.packetArrived() { answer.send(on: output.socket) }
            phase = .closing(native, answer)
            return
        case .idle, .draining, .closed:
            return
        case .handshaking(let native), .established(let native):
            conn = native.conn
        }
        let result = source.withSockAddr { address, length in
            var packetPath = path
            packetPath.remote = ngtcp2_addr(addr: UnsafeMutablePointer(mutating: address), addrlen: length)
            return rpcnet_ngtcp2_conn_read_pkt(
                conn, &packetPath, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count,
                rpcnet_monotonic_ns())
        }
        if result != 0 { handleReadError(result) }
    }

    /// The peer sent a stateless reset (RFC 9000 §10.3): ngtcp2 drains the connection next.
    func onStatelessReset() {
        resetByPeer = true
    }

    /// The network reported `errno` (ICMP port or host unreachable) for a datagram sent to this
    /// connection's peer. Only a handshake gives up on it: the peer was never heard, so nothing
    /// is lost, while an established connection could be torn down by a forged ICMP message
    /// (RFC 9000 §14.2.1); a restarted peer tells those with a stateless reset instead.
    func networkReported(errno code: Int32) {
        guard case .handshaking = phase else { return }
        terminate(reason: .unreachable(errno: code))
    }

    func onStreamData(id: Int64, bytes: UnsafeRawBufferPointer, fin: Bool) {
        guard let stream = streams[id] else { return }
        let dropped = stream.deliver(bytes, fin: fin)
        if dropped > 0, returnCredit(streamID: id, bytes: dropped) { scheduleFlush() }
    }

    func onStreamOpen(id: Int64) {
        guard streams[id] == nil else { return }
        let stream = TransportStream(
            id: id, sendBufferLimit: configuration.streamSendBufferLimit, budget: sendBudget, driver: self)
        streams[id] = stream
        output.metrics.peerStreams.increment()
        if !incomingStreams.push(stream) {
            // Cannot happen while the queue is as large as the stream limit; refuse it if it does.
            _ = shutdownStream(id: id, half: .sending, code: 0)
            _ = shutdownStream(id: id, half: .receiving, code: 0)
            scheduleFlush()
        }
    }

    /// ngtcp2 closed stream `id`, with the application error `code` when it was aborted.
    ///
    /// ngtcp2 0.12 answers a peer's STOP_SENDING with RESET_STREAM itself and reports only this
    /// close, after our own reset and stop-sending as well: whichever halves are still open
    /// fail with the code.
    func onStreamClose(id: Int64, code: UInt64?) {
        guard let conn = phase.native?.conn, let stream = streams.removeValue(forKey: id) else { return }
        let lost = ngtcp2_conn_get_stream_loss_count(conn, id)
        if lost > 0 { output.metrics.packetsLost.increment(by: lost) }
        writable.remove(stream)
        if let code {
            stream.failOpenHalves(receiving: .streamReset(code: code), sending: .stopSendingRequested(code: code))
        }
        if ngtcp2_conn_is_local_stream(conn, id) == 0 {
            ngtcp2_conn_extend_max_streams_bidi(conn, 1)
        }
    }

    func onStreamReset(id: Int64, code: UInt64) {
        guard let conn = phase.native?.conn, let stream = streams[id] else { return }
        let discarded = stream.deliverReset(code: code)
        if discarded > 0 { ngtcp2_conn_extend_max_offset(conn, UInt64(discarded)) }
    }

    func onAcked(id: Int64, upTo offset: UInt64) {
        streams[id]?.acknowledge(upTo: offset)
    }

    /// The peer allows more streams: waiting openers get them, in order.
    func onStreamCreditAvailable() {
        while let waiter = openWaiters.first {
            do {
                guard let stream = try openStreamNow() else { return }
                openWaiters.removeFirst()
                waiter.continuation.resume(returning: stream)
            } catch {
                openWaiters.removeFirst()
                waiter.continuation.resume(throwing: error)
            }
        }
    }

    func onStreamUnblocked(id: Int64) {
        if let stream = streams[id], stream.hasPendingSend { writable.insert(stream) }
    }

    func onHandshakeCompleted() {
        guard case .handshaking(let native) = phase else { return }
        phase = .established(native)
        handshakeCompleted = true
        handshakeResult.withLock {
            $0 = HandshakeResult(
                peerIdentity: PeerIdentity(session: native.session),
                applicationProtocol: TLSContext.negotiatedProtocol(native.session),
                resumed: gnutls_session_is_resumed(native.session) != 0)
        }
        host.connection(self, did: .establishedHandshake)
        resumeHandshakeWaiters()
    }

    func onHandshakeConfirmed() {
        handshakeConfirmed = true
        resumeHandshakeWaiters()
    }

    /// Whether the handshake got as far as `milestone`.
    func handshakeReached(_ milestone: HandshakeMilestone) -> Bool {
        guard case .established = phase else { return false }
        switch milestone {
        case .completed: return true
        case .confirmed: return handshakeConfirmed
        }
    }

    private func resumeHandshakeWaiters() {
        var pending: [(milestone: HandshakeMilestone, continuation: CheckedContinuation<Void, any Error>)] = []
        for waiter in handshakeWaiters {
            if handshakeReached(waiter.milestone) { waiter.continuation.resume() } else { pending.append(waiter) }
        }
        handshakeWaiters = pending
    }

    func onNewConnectionID(_ cid: ngtcp2_cid, token: UnsafeMutablePointer<UInt8>) {
        let id = ConnectionID(cid)
        host.statelessResetToken(for: cid, into: token)
        routedIDs.insert(id)
        host.connection(self, did: .issuedID(id))
    }

    func onRetiredConnectionID(_ cid: ngtcp2_cid) {
        let id = ConnectionID(cid)
        routedIDs.remove(id)
        host.connection(self, did: .retiredID(id))
    }

    /// The server sent a session ticket (client with resumption): the TLS context keeps it for
    /// the next connection to the same server.
    func sessionTicketReceived(_ session: gnutls_session_t) {
        if let ticketKey { tls.storeTicket(of: session, for: ticketKey) }
    }

    /// The ngtcp2 connection, for the crypto layer's callbacks.
    func connectionPointer() -> OpaquePointer? {
        phase.native?.conn
    }

    /// Logs one ngtcp2 debug line at trace level.
    func logDebugLine(_ line: String) {
        logger.trace("\(line)")
    }
}
