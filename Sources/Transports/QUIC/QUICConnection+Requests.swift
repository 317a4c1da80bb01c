import CRpcNet
import Synchronization

extension QUICConnection {
    /// Something the application asks of a connection, from any thread. The loop thread applies
    /// it (``apply(_:)``): at once when asked there, otherwise from the ``RequestInbox``, in one
    /// wake-up for everything queued meanwhile.
    enum Request {
        /// `stream` queued bytes or a FIN while it had nothing pending.
        case send(TransportStream)
        /// The reader of stream `streamID` consumed `bytes`: flow-control credit for the peer.
        case returnCredit(streamID: Int64, bytes: Int)
        /// Abort one half of a stream with `code`: RESET_STREAM for the sending half,
        /// STOP_SENDING for the receiving half (RFC 9000 §3.5).
        case shutdown(streamID: Int64, half: StreamHalf, code: UInt64)
        /// Close the connection with an application error (RFC 9000 §10.2).
        case close(code: UInt64, message: String)
        /// Open a stream for the waiter, now or once the peer allows another (RFC 9000 §4.6).
        case openStream(OpenWaiter)
        /// The task waiting to open the stream `id` was cancelled.
        case cancelOpening(id: Int)
        /// Resume the continuation once the handshake reached the milestone; fail it if the
        /// connection ends first.
        case notifyWhenHandshake(HandshakeMilestone, CheckedContinuation<Void, any Error>)

        /// Whether the request must be applied after those already queued even when made on the
        /// loop thread: a cancellation (which a handler aborted inside an ngtcp2 callback can
        /// cause) must not overtake the `openStream` it cancels, or it would find nothing and
        /// leave the cancelled task waiting for the peer's stream limit.
        var mustFollowQueuedRequests: Bool {
            if case .cancelOpening = self { return true }
            return false
        }
    }

    /// One half of a stream.
    enum StreamHalf {
        case sending
        case receiving
    }

    /// A task waiting for the peer to allow one more stream.
    struct OpenWaiter {
        let id: Int
        let continuation: CheckedContinuation<TransportStream, any Error>
    }

    /// Requests made off the loop thread that the loop has not applied yet. Owned by the lock of
    /// the connection's `inbox`.
    struct RequestInbox {
        /// Credit to return, summed per stream. It commutes with every other request, so it is
        /// applied first, and it wakes the loop only once a threshold's worth has gathered.
        var credit: [Int64: Int] = [:]
        /// The sum of `credit`.
        var creditTotal = 0
        /// Every other request, in the order made.
        var requests: [Request] = []

        /// Queues `request`; true when the loop must be woken for it.
        mutating func add(_ request: Request, creditThresholds: CreditThresholds) -> Bool {
            guard case .returnCredit(let id, let bytes) = request else {
                requests.append(request)
                return true
            }
            let pending = credit[id, default: 0] + bytes
            credit[id] = pending
            creditTotal += bytes
            return pending >= creditThresholds.stream || creditTotal >= creditThresholds.connection
        }
    }

    /// Bytes of credit an off-loop reader gathers before it wakes the loop to return them: a
    /// quarter of the initial windows, so the peer always keeps most of its window.
    struct CreditThresholds {
        let stream: Int
        let connection: Int

        init(_ configuration: QUICConfiguration) {
            stream = Int(min(configuration.streamReceiveWindow / 4, 64 * 1024))
            connection = Int(min(configuration.connectionReceiveWindow / 4, 256 * 1024))
        }
    }

    /// The one way in for the application: applies `request` now on the loop thread, otherwise
    /// queues it and wakes the loop (once for any number of requests).
    func perform(_ request: Request) {
        if reactor.isOnLoopThread, !request.mustFollowQueuedRequests {
            if apply(request) { scheduleFlush() }
            return
        }
        let wake = inbox.withLock { $0.add(request, creditThresholds: creditThresholds) }
        guard wake, !wakeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        reactor.execute({ [self] in applyInbox() }, ifShutDown: { failInbox() })
    }

    /// Takes what the inbox holds; clears the wake-up flag first, so a request queued after the
    /// take wakes the loop again.
    private func takeInbox() -> RequestInbox {
        wakeScheduled.store(false, ordering: .releasing)
        return inbox.withLock { inbox in
            defer { inbox = RequestInbox() }
            return inbox
        }
    }

    /// Applies every queued request, then flushes once.
    private func applyInbox() {
        let queued = takeInbox()
        var flushNeeded = false
        for (id, bytes) in queued.credit where apply(.returnCredit(streamID: id, bytes: bytes)) { flushNeeded = true }
        for request in queued.requests where apply(request) { flushNeeded = true }
        if flushNeeded { flush() }
    }

    /// The reactor is gone: waiters learn it, the rest has nothing left to act on.
    private func failInbox() {
        for request in takeInbox().requests {
            switch request {
            case .openStream(let waiter):
                waiter.continuation.resume(throwing: TransportError.connectionClosed(.reactorShutdown))
            case .notifyWhenHandshake(_, let continuation):
                continuation.resume(throwing: TransportError.connectionClosed(.reactorShutdown))
            case .send, .returnCredit, .shutdown, .close, .cancelOpening:
                break
            }
        }
    }

    /// Applies one request on the loop thread; true when it left packets to send.
    private func apply(_ request: Request) -> Bool {
        switch request {
        case .send(let stream):
            // The stream table is emptied when the connection closes: a stream in it is open.
            guard streams[stream.id] === stream else { return false }
            writable.insert(stream)
            return true
        case .returnCredit(let id, let bytes):
            return returnCredit(streamID: id, bytes: bytes)
        case .shutdown(let id, let half, let code):
            return shutdownStream(id: id, half: half, code: code)
        case .close(let code, let message):
            closeLocally(code: code, message: message)
            return false
        case .openStream(let waiter):
            do {
                if let stream = try openStreamNow() {
                    waiter.continuation.resume(returning: stream)
                } else {
                    openWaiters.append(waiter)
                }
            } catch {
                waiter.continuation.resume(throwing: error)
            }
            return false
        case .cancelOpening(let id):
            if let index = openWaiters.firstIndex(where: { $0.id == id }) {
                openWaiters.remove(at: index).continuation.resume(throwing: CancellationError())
            }
            return false
        case .notifyWhenHandshake(let milestone, let continuation):
            if handshakeReached(milestone) {
                continuation.resume()
            } else if let reason = closeReason {
                continuation.resume(throwing: TransportError.connectionClosed(reason))
            } else {
                handshakeWaiters.append((milestone, continuation))
            }
            return false
        }
    }

    /// Extends the peer's stream and connection windows by `bytes` the application consumed
    /// (or the transport discarded); true when that left a window update to send.
    func returnCredit(streamID: Int64, bytes: Int) -> Bool {
        guard let conn = phase.open?.conn, bytes > 0 else { return false }
        if streams[streamID] != nil {
            _ = ngtcp2_conn_extend_max_stream_offset(conn, streamID, UInt64(bytes))
        }
        ngtcp2_conn_extend_max_offset(conn, UInt64(bytes))
        return true
    }

    /// Aborts one half of stream `id`; true when that left a frame to send.
    func shutdownStream(id: Int64, half: StreamHalf, code: UInt64) -> Bool {
        guard let conn = phase.open?.conn, streams[id] != nil else { return false }
        switch half {
        case .sending: _ = ngtcp2_conn_shutdown_stream_write(conn, id, code)
        case .receiving: _ = ngtcp2_conn_shutdown_stream_read(conn, id, code)
        }
        return true
    }
}

extension QUICConnection: StreamDriver {
    func streamHasDataToSend(_ stream: TransportStream) {
        perform(.send(stream))
    }

    func stream(_ stream: TransportStream, consumed bytes: Int) {
        perform(.returnCredit(streamID: stream.id, bytes: bytes))
    }

    func stream(_ stream: TransportStream, reset code: UInt64) {
        perform(.shutdown(streamID: stream.id, half: .sending, code: code))
    }

    func stream(_ stream: TransportStream, stopSending code: UInt64) {
        perform(.shutdown(streamID: stream.id, half: .receiving, code: code))
    }
}
