import CRpcNet

extension QUICConnection {
    /// Coalesces flushes requested during one loop iteration into one, run before the loop polls.
    func scheduleFlush() {
        guard !flushQueued else { return }
        flushQueued = true
        reactor.execute { [self] in
            flushQueued = false
            flush()
        }
    }

    /// Writes every packet ngtcp2 has to send (stream data in round-robin order, ACKs, control
    /// frames), up to one send quantum, then re-arms the timer.
    ///
    /// Packets go to the path ngtcp2 chose for each (after a peer's address change ngtcp2
    /// validates the new path); a batch never mixes destinations. Every exit leaves no packet
    /// half-built: a `NGTCP2_ERR_WRITE_MORE` is always followed by a call that completes it.
    func flush() {
        guard let conn = phase.open?.conn else { return }
        let now = rpcnet_monotonic_ns()
        let batch = output.batch
        let quantum = ngtcp2_conn_get_send_quantum(conn) / max(ngtcp2_conn_get_max_tx_udp_payload_size(conn), 1)
        let maxPackets = max(1, min(batch.maxPackets, quantum))
        let vectors = output.vectors
        var pathStorage = ngtcp2_path_storage()
        ngtcp2_path_storage_zero(&pathStorage)
        var batchDestination = remoteAddress
        var packets = 0
        var blockedForWrite = false
        var unreachable: Int32?
        /// Sends the batch, noting why it could not all leave.
        func sendBatch() {
            let (datagrams, bytes) = (batch.packetCount, batch.byteCount)
            switch batch.send(on: output.socket, to: batchDestination) {
            case .sent:
                output.metrics.datagramsSent.increment(by: datagrams)
                output.metrics.bytesSent.increment(by: bytes)
            case .blocked: blockedForWrite = true
            case .unreachable(let code): unreachable = code
            }
        }
        var connectionBlocked = ngtcp2_conn_get_max_data_left(conn) == 0

        while packets < maxPackets {
            var stream: TransportStream? = nil
            while !connectionBlocked, let candidate = writable.first {
                if candidate.hasPendingSend, streams[candidate.id] === candidate {
                    stream = candidate
                    break
                }
                writable.removeFirst()
            }
            var written = 0
            var dataLength: ngtcp2_ssize = -1
            let destination = batch.nextPacket.assumingMemoryBound(to: UInt8.self)
            if let stream {
                var wrote = false
                stream.withUnsentData(maxRegions: output.vectorCount) { regions, finPending in
                    wrote = true
                    for (index, region) in regions.enumerated() {
                        vectors[index] = ngtcp2_vec(
                            base: UnsafeMutablePointer(
                                mutating: region.baseAddress?.assumingMemoryBound(to: UInt8.self)), len: region.count)
                    }
                    let total = regions.reduce(0) { $0 + $1.count }
                    var flags = UInt32(NGTCP2_WRITE_STREAM_FLAG_MORE)
                    if finPending { flags |= UInt32(NGTCP2_WRITE_STREAM_FLAG_FIN) }
                    written = rpcnet_ngtcp2_conn_writev_stream(
                        conn, &pathStorage.path, destination, batch.packetCapacity, &dataLength, flags, stream.id,
                        vectors, regions.count, now)
                    let accepted = max(Int(dataLength), 0)
                    let finSent =
                        finPending && dataLength >= 0 && accepted == total
                        && (written > 0 || written == NGTCP2_ERR_WRITE_MORE)
                    return (accepted, finSent)
                }
                if !wrote {
                    // Reset by the application since it was picked: nothing to send on it.
                    writable.remove(stream)
                    continue
                }
            } else {
                written = rpcnet_ngtcp2_conn_writev_stream(
                    conn, &pathStorage.path, destination, batch.packetCapacity, &dataLength,
                    UInt32(NGTCP2_WRITE_STREAM_FLAG_MORE), -1, nil, 0, now)
            }

            if written == NGTCP2_ERR_WRITE_MORE {
                if let stream, !stream.hasPendingSend { writable.remove(stream) }
                continue
            }
            if written == NGTCP2_ERR_STREAM_DATA_BLOCKED, let stream {
                if ngtcp2_conn_get_max_stream_data_left(conn, stream.id) == 0 {
                    writable.remove(stream)  // extend_max_stream_data puts it back
                } else {
                    connectionBlocked = true
                }
                continue
            }
            if written == NGTCP2_ERR_STREAM_SHUT_WR || written == NGTCP2_ERR_STREAM_NOT_FOUND, let stream {
                // Our own reset already failed the writer; otherwise the peer sent STOP_SENDING.
                // ngtcp2 0.12 reports its code only when the stream closes, a round trip later,
                // and only once our receiving half is complete: until then writers fail now,
                // with code 0.
                if !stream.finReceived { stream.deliverStopSending(code: 0) }
                writable.remove(stream)
                continue
            }
            if written < 0 {
                // Packets already built are valid: send them before closing.
                _ = batch.send(on: output.socket, to: batchDestination)
                closeForError(Int32(written))
                return
            }
            if written == 0 { break }
            let packetDestination =
                SocketAddress(pathStorage.path.remote.addr, length: Int(pathStorage.path.remote.addrlen))
                ?? remoteAddress
            if packetDestination != batchDestination {
                // The packet was built at the batch's end; move it into a batch of its own.
                let packet = Array(UnsafeRawBufferPointer(start: destination, count: written))
                sendBatch()
                batchDestination = packetDestination
                packet.withUnsafeBytes { batch.nextPacket.copyMemory(from: $0.baseAddress!, byteCount: written) }
            }
            batch.commit(written)
            packets += 1
            if let stream {
                if !stream.hasPendingSend {
                    writable.remove(stream)
                } else {
                    writable.rotate()  // round-robin between busy streams
                }
            }
            if batch.isFull { sendBatch() }
            if blockedForWrite || unreachable != nil { break }
        }
        sendBatch()
        if let unreachable {
            // Nothing this connection sends can leave: waiting for the idle or handshake timeout
            // would only hide the cause from the caller.
            terminate(reason: .unreachable(errno: unreachable))
            return
        }
        // Pacing advances only for packets actually written; calling this after an empty flush
        // would push the next send time out again and again.
        if packets > 0 { ngtcp2_conn_update_pkt_tx_time(conn, now) }
        if blockedForWrite {
            host.connection(self, did: .blockedOnSocket)
        } else if packets == maxPackets {
            // The send quantum ran out, not necessarily what ngtcp2 has to send (handshake
            // CRYPTO, ACKs, control frames, stream data): continue after the loop polls I/O.
            scheduleFlush()
        }
        updateTimer()
    }

    /// Arms the timer at ngtcp2's next expiry (loss detection, ACK delay, idle, keep-alive).
    private func updateTimer() {
        guard let native = phase.open else { return }
        let expiry = ngtcp2_conn_get_expiry(native.conn)
        if expiry == UInt64.max {
            native.timer.stop()
            return
        }
        let now = rpcnet_monotonic_ns()
        native.timer.arm(after: .nanoseconds(Int64(clamping: expiry > now ? expiry - now : 0)))
    }

    /// The timer fired: ngtcp2's expiry while open, the end of the closing or draining period
    /// after.
    func handleTimer() {
        let conn: OpaquePointer
        let handshaking: Bool
        switch phase {
        case .closing, .draining:
            terminate(reason: closeReason ?? .endpointClosed)
            return
        case .idle, .closed:
            return
        case .handshaking(let native):
            (conn, handshaking) = (native.conn, true)
        case .established(let native):
            (conn, handshaking) = (native.conn, false)
        }
        let result = ngtcp2_conn_handle_expiry(conn, rpcnet_monotonic_ns())
        switch result {
        case 0:
            flush()
        case NGTCP2_ERR_IDLE_CLOSE:
            terminate(reason: handshaking ? .handshakeTimeout : .idleTimeout)
        case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
            terminate(reason: .handshakeTimeout)
        default:
            closeForError(result)
        }
    }
}
