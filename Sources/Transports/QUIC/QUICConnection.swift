import CRpcNet
import DequeModule
import Glibc
import Logging
import Synchronization

/// One QUIC connection: an `ngtcp2_conn` and its GnuTLS session, driven by the endpoint's reactor.
///
/// Everything ngtcp2 and GnuTLS see is touched on the loop thread only. Application calls from
/// other threads (writes, credit, resets, close) are queued and applied by the loop, coalescing
/// wake-ups; from the loop thread (a task running on the reactor as its executor) they are direct.
public final class QUICConnection: TransportConnection, StreamDriver, @unchecked Sendable {
    private enum Phase {
        case handshaking
        case established
        /// We sent CONNECTION_CLOSE; we answer further packets with it until the deadline.
        case closing
        /// The peer closed; we stay silent until the deadline.
        case draining
        case closed
    }

    public let localAddress: SocketAddress
    public let remoteAddress: SocketAddress
    /// True for connections accepted by a listener.
    public let isServer: Bool

    let endpoint: QUICEndpoint
    private let reactor: Reactor
    private let configuration: QUICConfiguration
    /// Unacknowledged send bytes this connection's streams hold together.
    private let sendBudget: SendBudget
    private let logger: Logger

    // Thread-safe state.
    private let closeSignal = CloseSignal()
    private let incomingStreams: AsyncQueue<TransportStream>
    private let crossThread = Locked(CrossThreadRequests())
    private let wakeScheduled = Atomic<Bool>(false)
    /// Set by the loop when the handshake completes, before the connection is handed out.
    private let provenIdentity = Locked<PeerIdentity?>(nil)

    // Loop-thread state.
    private var conn: OpaquePointer?
    private var session: gnutls_session_t?
    /// The name the peer's certificate is verified against; GnuTLS keeps this pointer.
    private var verifiedName: UnsafeMutablePointer<CChar>?
    private let connectionReference: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>
    private let pathStorage: UnsafeMutablePointer<(local: sockaddr_storage, remote: sockaddr_storage)>
    private var path = ngtcp2_path()
    private var phase = Phase.handshaking
    private var timer: ReactorTimer?
    private var streams: [Int64: TransportStream] = [:]
    private var writable: Deque<TransportStream> = []
    private var writableIDs: Set<Int64> = []
    private var openWaiters: Deque<(id: Int, continuation: CheckedContinuation<TransportStream, any Error>)> = []
    private let nextOpenWaiterID = Atomic<Int>(0)
    private var connectWaiter: CheckedContinuation<Void, any Error>?
    private var closePacket: [UInt8] = []
    private lazy var closeDestination = remoteAddress
    private var packetsSinceCloseResend = 0
    private var flushQueued = false
    private var handshakeConfirmed = false
    /// Set when the peer's stateless reset arrived (it lost this connection's state: restarted).
    private var resetByPeer = false
    /// Whether the TLS handshake completed (loop thread).
    private(set) var handshakeCompleted = false
    /// Connection IDs routed to this connection by the endpoint.
    private(set) var routedIDs: Set<ConnectionID> = []

    /// Credit and control requests made off the loop thread, applied by the loop.
    private struct CrossThreadRequests {
        var writable: [TransportStream] = []
        var credit: [Int64: Int] = [:]
        var creditTotal = 0
        var shutdowns: [(id: Int64, write: Bool, code: UInt64)] = []
        var close: (code: UInt64, message: String)?
    }

    /// Bytes of unreturned credit that make an off-loop reader wake the loop: a quarter of the
    /// initial windows, so the peer always keeps most of its window.
    private let streamCreditThreshold: Int
    private let connectionCreditThreshold: Int

    init(
        endpoint: QUICEndpoint, reactor: Reactor, configuration: QUICConfiguration, isServer: Bool,
        localAddress: SocketAddress, remoteAddress: SocketAddress, logger: Logger
    ) {
        self.endpoint = endpoint
        self.reactor = reactor
        self.configuration = configuration
        sendBudget = SendBudget(limit: configuration.connectionSendBudget, parent: endpoint.sendBudget)
        self.isServer = isServer
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        var logger = logger
        logger[metadataKey: "peer"] = "\(remoteAddress)"
        self.logger = logger
        // As large as the number of streams the peer may open, so ngtcp2 never admits one that
        // cannot be queued.
        incomingStreams = AsyncQueue(capacity: Int(clamping: configuration.maxConcurrentStreams))
        streamCreditThreshold = Int(min(configuration.streamReceiveWindow / 4, 64 * 1024))
        connectionCreditThreshold = Int(min(configuration.connectionReceiveWindow / 4, 256 * 1024))
        connectionReference = .allocate(capacity: 1)
        connectionReference.initialize(to: ngtcp2_crypto_conn_ref(get_conn: quicGetConnection, user_data: nil))
        pathStorage = .allocate(capacity: 1)
        pathStorage.initialize(to: (sockaddr_storage(), sockaddr_storage()))
        let localLength = localAddress.write(to: &pathStorage.pointee.local)
        let remoteLength = remoteAddress.write(to: &pathStorage.pointee.remote)
        withUnsafeMutablePointer(to: &pathStorage.pointee.local) { local in
            withUnsafeMutablePointer(to: &pathStorage.pointee.remote) { remote in
                path.local = ngtcp2_addr(
                    addr: UnsafeMutableRawPointer(local).assumingMemoryBound(to: sockaddr.self), addrlen: localLength)
                path.remote = ngtcp2_addr(
                    addr: UnsafeMutableRawPointer(remote).assumingMemoryBound(to: sockaddr.self), addrlen: remoteLength)
            }
        }
        connectionReference.pointee.user_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        connectionReference.deallocate()
        pathStorage.deallocate()
    }

    // MARK: Creation (loop thread)

    /// Creates the ngtcp2 state for a client connection.
    func startClient(tls: TLSContext, serverName: String) throws(TransportError) {
        let dcid = ConnectionID.random()
        let scid = ConnectionID.random()
        var callbacks = ngtcp2_callbacks()
        rpcnet_ngtcp2_callbacks_init(&callbacks, 0)
        installCallbacks(&callbacks)
        var settings = makeSettings()
        var params = makeTransportParameters()
        var created: OpaquePointer?
        let result = rpcnet_ngtcp2_conn_client_new(
            &created, [dcid], [scid], &path, UInt32(NGTCP2_PROTO_VER_V1), &callbacks, &settings, &params,
            Unmanaged.passUnretained(self).toOpaque())
        guard result == 0, let created else {
            throw .invalidConfiguration("ngtcp2_conn_client_new: \(String(cString: ngtcp2_strerror(result)))")
        }
        conn = created
        routedIDs.insert(ConnectionID(scid))
        try attachSession(tls: tls, serverName: serverName)
    }

    /// Creates the ngtcp2 state for a connection a client opened with `header`'s Initial packet;
    /// `originalDCID` is set when the client came back with a valid Retry token.
    func startServer(tls: TLSContext, header: ngtcp2_pkt_hd, originalDCID: ngtcp2_cid? = nil) throws(TransportError) {
        let scid = ConnectionID.random()
        var callbacks = ngtcp2_callbacks()
        rpcnet_ngtcp2_callbacks_init(&callbacks, 1)
        installCallbacks(&callbacks)
        var settings = makeSettings()
        var params = makeTransportParameters()
        if let originalDCID {
            // After a Retry the client's DCID is the ID we chose for the Retry (RFC 9000 §7.3).
            params.original_dcid = originalDCID
            params.retry_scid = header.dcid
            params.retry_scid_present = 1
        } else {
            params.original_dcid = header.dcid
        }
        params.stateless_reset_token_present = 1
        endpoint.statelessResetToken(for: scid, into: &params.stateless_reset_token)
        var clientSCID = header.scid
        var created: OpaquePointer?
        let result = rpcnet_ngtcp2_conn_server_new(
            &created, &clientSCID, [scid], &path, header.version, &callbacks, &settings, &params,
            Unmanaged.passUnretained(self).toOpaque())
        guard result == 0, let created else {
            throw .invalidConfiguration("ngtcp2_conn_server_new: \(String(cString: ngtcp2_strerror(result)))")
        }
        conn = created
        routedIDs.insert(ConnectionID(scid))
        routedIDs.insert(ConnectionID(header.dcid))
        try attachSession(tls: tls, serverName: nil)
    }

    private func attachSession(tls: TLSContext, serverName: String?) throws(TransportError) {
        verifiedName = serverName.map { strdup($0) }
        do {
            let session = try tls.makeSession(connectionReference: connectionReference, serverName: verifiedName)
            self.session = session
            ngtcp2_conn_set_tls_native_handle(conn, UnsafeMutableRawPointer(session))
        } catch {
            ngtcp2_conn_del(conn)
            conn = nil
            free(verifiedName)
            verifiedName = nil
            throw error
        }
        timer = ReactorTimer(reactor: reactor) { [unowned self] in handleTimer() }
        if let keepAlive = configuration.keepAliveInterval {
            ngtcp2_conn_set_keep_alive_timeout(conn, UInt64(keepAlive.nanoseconds))
        }
    }

    private func makeSettings() -> ngtcp2_settings {
        var settings = ngtcp2_settings()
        rpcnet_ngtcp2_settings_default(&settings)
        settings.initial_ts = rpcnet_monotonic_ns()
        settings.max_tx_udp_payload_size = configuration.maxUDPPayloadSize
        settings.no_tx_udp_payload_size_shaping = configuration.maxUDPPayloadSize > 1452 ? 1 : 0
        settings.max_window = configuration.maxConnectionReceiveWindow
        settings.max_stream_window = configuration.maxStreamReceiveWindow
        settings.handshake_timeout = UInt64(configuration.handshakeTimeout.nanoseconds)
        settings.initial_rtt = UInt64(configuration.initialRTT.nanoseconds)
        if configuration.debugLogging {
            rpcnet_ngtcp2_enable_log(&settings, quicLogSink)
        }
        return settings
    }

    private func makeTransportParameters() -> ngtcp2_transport_params {
        var params = ngtcp2_transport_params()
        rpcnet_ngtcp2_transport_params_default(&params)
        params.initial_max_stream_data_bidi_local = configuration.streamReceiveWindow
        params.initial_max_stream_data_bidi_remote = configuration.streamReceiveWindow
        params.initial_max_data = configuration.connectionReceiveWindow
        params.initial_max_streams_bidi = configuration.maxConcurrentStreams
        params.initial_max_streams_uni = 0
        params.max_idle_timeout = UInt64(configuration.idleTimeout.nanoseconds)
        params.max_udp_payload_size = UInt64(configuration.maxUDPPayloadSize)
        params.active_connection_id_limit = 4
        return params
    }

    // MARK: Public API

    /// The application protocol agreed in the handshake (`rpcnet/1`).
    public var applicationProtocol: String? {
        get async {
            try? await reactor.submit { [self] in session.flatMap(TLSContext.negotiatedProtocol) }
        }
    }

    /// Waits for the handshake to be confirmed (client side), or throws why it failed.
    func waitUntilConnected() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            reactor.execute(
                { [self] in
                    if handshakeConfirmed {
                        continuation.resume()
                    } else if let reason = closeReason {
                        continuation.resume(throwing: TransportError.connectionClosed(reason))
                    } else {
                        connectWaiter = continuation
                    }
                },
                ifShutDown: { continuation.resume(throwing: TransportError.connectionClosed(.reactorShutdown)) })
        }
    }

    public func openStream() async throws -> TransportStream {
        if reactor.isOnLoopThread, let stream = try openStreamNow() { return stream }
        let id = nextOpenWaiterID.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<TransportStream, any Error>) in
                reactor.execute(
                    { [self] in
                        do {
                            if Task.isCancelled { throw CancellationError() }
                            if let stream = try openStreamNow() {
                                continuation.resume(returning: stream)
                            } else {
                                openWaiters.append((id, continuation))
                            }
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    },
                    ifShutDown: { continuation.resume(throwing: TransportError.connectionClosed(.reactorShutdown)) })
            }
        } onCancel: {
            reactor.execute { [self] in
                guard let index = openWaiters.firstIndex(where: { $0.id == id }) else { return }
                openWaiters.remove(at: index).continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Opens a stream if the peer's limit allows; nil when the caller must wait for credit.
    private func openStreamNow() throws(TransportError) -> TransportStream? {
        if let reason = closeReason { throw .connectionClosed(reason) }
        guard let conn, phase == .established || phase == .handshaking else { throw .connectionClosed(.endpointClosed) }
        var id: Int64 = -1
        let result = ngtcp2_conn_open_bidi_stream(conn, &id, nil)
        if result == NGTCP2_ERR_STREAM_ID_BLOCKED { return nil }
        guard result == 0 else {
            throw .connectionClosed(
                .transportError(code: 0, message: String(cString: ngtcp2_strerror(result)), byPeer: false))
        }
        let stream = TransportStream(
            id: id, sendBufferLimit: configuration.streamSendBufferLimit, budget: sendBudget, driver: self)
        streams[id] = stream
        endpoint.metrics.localStreams.increment()
        return stream
    }

    public func acceptStream() async throws -> TransportStream? {
        try await incomingStreams.next()
    }

    public func close(code: UInt64 = 0, message: String = "") {
        if reactor.isOnLoopThread {
            closeLocally(code: code, message: message)
            return
        }
        crossThread.withLock { $0.close = (code, message) }
        wakeLoop()
    }

    public func closed() async -> CloseReason {
        await closeSignal.wait()
    }

    /// The subject of the certificate the peer presented and TLS verified: the client's under
    /// mutual TLS on a server, the server's on a client.
    public var peerIdentity: PeerIdentity? {
        provenIdentity.withLock { $0 }
    }

    public var closeReason: CloseReason? {
        closeSignal.reason
    }

    /// The reactor this connection's state machine runs on.
    public var preferredExecutor: (any TaskExecutor)? {
        reactor
    }

    // MARK: StreamDriver

    func streamHasDataToSend(_ stream: TransportStream) {
        if reactor.isOnLoopThread {
            markWritable(stream)
            scheduleFlush()
            return
        }
        crossThread.withLock { $0.writable.append(stream) }
        wakeLoop()
    }

    func stream(_ stream: TransportStream, consumed bytes: Int) {
        if reactor.isOnLoopThread {
            returnCredit(streamID: stream.id, bytes: bytes)
            return
        }
        let wake = crossThread.withLock { requests in
            let pending = requests.credit[stream.id, default: 0] + bytes
            requests.credit[stream.id] = pending
            requests.creditTotal += bytes
            return pending >= streamCreditThreshold || requests.creditTotal >= connectionCreditThreshold
        }
        if wake { wakeLoop() }
    }

    func stream(_ stream: TransportStream, reset code: UInt64) {
        requestShutdown(of: stream, write: true, code: code)
    }

    func stream(_ stream: TransportStream, stopSending code: UInt64) {
        requestShutdown(of: stream, write: false, code: code)
    }

    /// Shuts one direction of `stream` now on the loop thread, or queues it, in order, for the loop.
    private func requestShutdown(of stream: TransportStream, write: Bool, code: UInt64) {
        if reactor.isOnLoopThread {
            shutdownStream(id: stream.id, write: write, code: code)
            return
        }
        crossThread.withLock { $0.shutdowns.append((stream.id, write, code)) }
        wakeLoop()
    }

    private func wakeLoop() {
        guard !wakeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        reactor.execute { [self] in applyCrossThreadRequests() }
    }

    // MARK: Loop thread: requests

    private func applyCrossThreadRequests() {
        wakeScheduled.store(false, ordering: .releasing)
        let requests = crossThread.withLock { requests in
            defer { requests = CrossThreadRequests() }
            return requests
        }
        for (id, bytes) in requests.credit { returnCredit(streamID: id, bytes: bytes) }
        for (id, write, code) in requests.shutdowns { shutdownStream(id: id, write: write, code: code) }
        for stream in requests.writable { markWritable(stream) }
        if let close = requests.close {
            closeLocally(code: close.code, message: close.message)
            return
        }
        flush()
    }

    private func returnCredit(streamID: Int64, bytes: Int) {
        guard let conn, bytes > 0, phase == .established || phase == .handshaking else { return }
        if streams[streamID] != nil {
            _ = ngtcp2_conn_extend_max_stream_offset(conn, streamID, UInt64(bytes))
        }
        ngtcp2_conn_extend_max_offset(conn, UInt64(bytes))
        scheduleFlush()
    }

    private func shutdownStream(id: Int64, write: Bool, code: UInt64) {
        guard let conn, streams[id] != nil else { return }
        if write {
            _ = ngtcp2_conn_shutdown_stream_write(conn, id, code)
        } else {
            _ = ngtcp2_conn_shutdown_stream_read(conn, id, code)
        }
        scheduleFlush()
    }

    private func markWritable(_ stream: TransportStream) {
        guard streams[stream.id] === stream, writableIDs.insert(stream.id).inserted else { return }
        writable.append(stream)
    }

    /// Coalesces flushes requested during one loop iteration into one, run before the loop polls.
    func scheduleFlush() {
        guard !flushQueued else { return }
        flushQueued = true
        reactor.execute { [self] in
            flushQueued = false
            flush()
        }
    }

    // MARK: Loop thread: packets in

    /// Feeds one datagram to ngtcp2. The endpoint flushes the connection after the whole batch.
    func receive(_ packet: UnsafeRawBufferPointer, from source: SocketAddress) {
        switch phase {
        case .closing:
            // Answer retransmissions with our CONNECTION_CLOSE, with exponential spacing (RFC 9000 §10.2.1).
            packetsSinceCloseResend += 1
            if packetsSinceCloseResend.nonzeroBitCount == 1, !closePacket.isEmpty {
                closePacket.withUnsafeBytes { _ = try? endpoint.socket.send($0, to: closeDestination) }
            }
            return
        case .draining, .closed:
            return
        case .handshaking, .established:
            break
        }
        guard let conn else { return }
        let result = source.withSockAddr { address, length in
            var packetPath = path
            packetPath.remote = ngtcp2_addr(addr: UnsafeMutablePointer(mutating: address), addrlen: length)
            return rpcnet_ngtcp2_conn_read_pkt(
                conn, &packetPath, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count,
                rpcnet_monotonic_ns())
        }
        if result != 0 { handleReadError(result) }
    }

    private func handleReadError(_ error: Int32) {
        guard let conn else { return }
        switch error {
        case NGTCP2_ERR_DRAINING:
            enterDraining(reason: resetByPeer ? .statelessReset : peerCloseReason())
        case NGTCP2_ERR_DROP_CONN:
            terminate(reason: .transportError(code: 0, message: "connection dropped", byPeer: false))
        case NGTCP2_ERR_CRYPTO:
            let alert = ngtcp2_conn_get_tls_alert(conn)
            let failure =
                session.map {
                    endpoint.tls(isServer: isServer)?.classifyLocalFailure(
                        session: $0, alert: alert, hadPeerCertificate: TLSContext.peerPresentedCertificate($0))
                        ?? .local(alert: alert, message: "")
                } ?? .local(alert: alert, message: "")
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nil, 0)
            startClosing(ccerr, reason: .handshakeFailed(failure))
        default:
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, error, nil, 0)
            startClosing(
                ccerr,
                reason: .transportError(
                    code: ccerr.error_code, message: String(cString: ngtcp2_strerror(error)), byPeer: false))
        }
    }

    private func peerCloseReason() -> CloseReason {
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

    // MARK: Loop thread: packets out

    /// Writes every packet ngtcp2 has to send (stream data in round-robin order, ACKs, control
    /// frames), up to one send quantum, then re-arms the timer.
    ///
    /// Packets go to the path ngtcp2 chose for each (after a peer's address change ngtcp2
    /// validates the new path); a batch never mixes destinations. Every exit leaves no packet
    /// half-built: a `NGTCP2_ERR_WRITE_MORE` is always followed by a call that completes it.
    func flush() {
        guard let conn, phase == .handshaking || phase == .established else { return }
        let now = rpcnet_monotonic_ns()
        let batch = endpoint.packetBatch
        let quantum = ngtcp2_conn_get_send_quantum(conn) / max(ngtcp2_conn_get_max_tx_udp_payload_size(conn), 1)
        let maxPackets = max(1, min(batch.maxPackets, quantum))
        let vectors = endpoint.vectorScratch
        var pathStorage = ngtcp2_path_storage()
        ngtcp2_path_storage_zero(&pathStorage)
        var batchDestination = remoteAddress
        var packets = 0
        var blockedForWrite = false
        var unreachable: Int32?
        /// Sends the batch, noting why it could not all leave.
        func sendBatch() {
            let (datagrams, bytes) = (batch.packetCount, batch.byteCount)
            switch batch.send(on: endpoint.socket, to: batchDestination) {
            case .sent:
                endpoint.metrics.datagramsSent.increment(by: datagrams)
                endpoint.metrics.bytesSent.increment(by: bytes)
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
                writableIDs.remove(candidate.id)
            }
            var written = 0
            var dataLength: ngtcp2_ssize = -1
            let destination = batch.nextPacket.assumingMemoryBound(to: UInt8.self)
            if let stream {
                var wrote = false
                stream.withUnsentData(maxRegions: endpoint.vectorScratchCount) { regions, finPending in
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
                    dropWritable(stream)
                    continue
                }
            } else {
                written = rpcnet_ngtcp2_conn_writev_stream(
                    conn, &pathStorage.path, destination, batch.packetCapacity, &dataLength,
                    UInt32(NGTCP2_WRITE_STREAM_FLAG_MORE), -1, nil, 0, now)
            }

            if written == NGTCP2_ERR_WRITE_MORE {
                if let stream, !stream.hasPendingSend { dropWritable(stream) }
                continue
            }
            if written == NGTCP2_ERR_STREAM_DATA_BLOCKED, let stream {
                if ngtcp2_conn_get_max_stream_data_left(conn, stream.id) == 0 {
                    dropWritable(stream)  // extend_max_stream_data puts it back
                } else {
                    connectionBlocked = true
                }
                continue
            }
            if written == NGTCP2_ERR_STREAM_SHUT_WR || written == NGTCP2_ERR_STREAM_NOT_FOUND, let stream {
                // Our own reset already failed the writer; otherwise the peer sent STOP_SENDING.
                stream.sendingRefusedByPeer()
                dropWritable(stream)
                continue
            }
            if written < 0 {
                // Packets already built are valid: send them before closing.
                _ = batch.send(on: endpoint.socket, to: batchDestination)
                var ccerr = ngtcp2_connection_close_error()
                ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, Int32(written), nil, 0)
                startClosing(
                    ccerr,
                    reason: .transportError(
                        code: ccerr.error_code, message: String(cString: ngtcp2_strerror(Int32(written))), byPeer: false
                    ))
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
                    dropWritable(stream)
                } else if writable.count > 1 {
                    writable.append(writable.removeFirst())  // round-robin between busy streams
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
            endpoint.waitForWritable(self)
        } else if packets == maxPackets {
            // The send quantum ran out, not necessarily what ngtcp2 has to send (handshake
            // CRYPTO, ACKs, control frames, stream data): continue after the loop polls I/O.
            scheduleFlush()
        }
        updateTimer()
    }

    private func dropWritable(_ stream: TransportStream) {
        guard writableIDs.remove(stream.id) != nil else { return }
        if let index = writable.firstIndex(where: { $0 === stream }) { writable.remove(at: index) }
    }

    private func updateTimer() {
        guard let conn, let timer else { return }
        let expiry = ngtcp2_conn_get_expiry(conn)
        if expiry == UInt64.max {
            timer.stop()
            return
        }
        let now = rpcnet_monotonic_ns()
        timer.arm(after: .nanoseconds(Int64(clamping: expiry > now ? expiry - now : 0)))
    }

    private func handleTimer() {
        switch phase {
        case .closing, .draining:
            terminate(reason: closeReason ?? .endpointClosed)
            return
        case .closed:
            return
        case .handshaking, .established:
            break
        }
        guard let conn else { return }
        let result = ngtcp2_conn_handle_expiry(conn, rpcnet_monotonic_ns())
        switch result {
        case 0:
            flush()
        case NGTCP2_ERR_IDLE_CLOSE:
            terminate(reason: phase == .handshaking ? .handshakeTimeout : .idleTimeout)
        case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
            terminate(reason: .handshakeTimeout)
        default:
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, result, nil, 0)
            startClosing(
                ccerr,
                reason: .transportError(
                    code: ccerr.error_code, message: String(cString: ngtcp2_strerror(result)), byPeer: false))
        }
    }

    // MARK: Loop thread: closing

    private func closeLocally(code: UInt64, message: String) {
        guard phase == .handshaking || phase == .established else { return }
        var ccerr = ngtcp2_connection_close_error()
        var reason = Array(message.utf8.prefix(512))
        reason.withUnsafeMutableBufferPointer { bytes in
            ngtcp2_connection_close_error_set_application_error(&ccerr, code, bytes.baseAddress, bytes.count)
            startClosing(ccerr, reason: .local(code: code, message: message))
        }
    }

    /// Sends CONNECTION_CLOSE and keeps answering with it for three PTOs (RFC 9000 §10.2).
    private func startClosing(_ ccerr: ngtcp2_connection_close_error, reason: CloseReason) {
        guard let conn, phase == .handshaking || phase == .established else { return }
        var ccerr = ccerr
        let batch = endpoint.packetBatch
        var pathStorage = ngtcp2_path_storage()
        ngtcp2_path_storage_zero(&pathStorage)
        let written = rpcnet_ngtcp2_conn_write_connection_close(
            conn, &pathStorage.path, batch.nextPacket.assumingMemoryBound(to: UInt8.self), batch.packetCapacity, &ccerr,
            rpcnet_monotonic_ns())
        if written > 0 {
            closePacket = Array(UnsafeRawBufferPointer(start: batch.nextPacket, count: written))
            closeDestination =
                SocketAddress(pathStorage.path.remote.addr, length: Int(pathStorage.path.remote.addrlen))
                ?? remoteAddress
            closePacket.withUnsafeBytes { _ = try? endpoint.socket.send($0, to: closeDestination) }
        }
        logger.debug("closing connection", metadata: ["reason": "\(reason)"])
        phase = .closing
        finishApplicationState(reason)
        timer?.arm(after: closingPeriod)
    }

    private func enterDraining(reason: CloseReason) {
        guard phase == .handshaking || phase == .established else { return }
        logger.debug("peer closed connection", metadata: ["reason": "\(reason)"])
        phase = .draining
        finishApplicationState(reason)
        timer?.arm(after: closingPeriod)
    }

    private var closingPeriod: Duration {
        guard let conn else { return .zero }
        return .nanoseconds(Int64(clamping: 3 * ngtcp2_conn_get_pto(conn)))
    }

    /// Frees everything now: after closing/draining, on idle timeout, or on shutdown.
    func terminate(reason: CloseReason) {
        guard phase != .closed else { return }
        if phase == .handshaking || phase == .established {
            logger.debug("connection terminated", metadata: ["reason": "\(reason)"])
        }
        phase = .closed
        finishApplicationState(reason)
        timer?.close()
        timer = nil
        if let conn { ngtcp2_conn_del(conn) }
        conn = nil
        if let session { gnutls_deinit(session) }
        session = nil
        free(verifiedName)
        verifiedName = nil
        // Streams the peer opened that nobody accepted hold this connection (their driver), and
        // it holds them in its queue: release them, or the connection, its endpoint and the
        // endpoint's buffers are never freed. Until now (the closing period) a stream whose
        // request arrived whole could still be accepted and read.
        incomingStreams.finishDiscardingElements()
        endpoint.connectionTerminated(self)
    }

    /// Closes the connection for the reactor's or endpoint's shutdown: one CONNECTION_CLOSE, then
    /// immediate release (no closing period: the loop is going away).
    func abort(reason: CloseReason) {
        if phase == .handshaking || phase == .established {
            var ccerr = ngtcp2_connection_close_error()
            ngtcp2_connection_close_error_set_application_error(&ccerr, 0, nil, 0)
            startClosing(ccerr, reason: reason)
        }
        terminate(reason: reason)
    }

    /// Fails every stream and waiter with `reason` and records it; runs once.
    private func finishApplicationState(_ reason: CloseReason) {
        guard closeSignal.close(reason) else { return }
        if !handshakeCompleted { endpoint.handshakeFailed(reason) }
        for stream in streams.values { stream.connectionClosed(reason) }
        streams.removeAll()
        writable.removeAll()
        writableIDs.removeAll()
        incomingStreams.finish()
        for waiter in openWaiters { waiter.continuation.resume(throwing: TransportError.connectionClosed(reason)) }
        openWaiters.removeAll()
        connectWaiter?.resume(throwing: TransportError.connectionClosed(reason))
        connectWaiter = nil
    }

    // MARK: ngtcp2 callbacks (loop thread)

    private func installCallbacks(_ callbacks: inout ngtcp2_callbacks) {
        callbacks.recv_stream_data = quicRecvStreamData
        callbacks.acked_stream_data_offset = quicAckedStreamDataOffset
        callbacks.stream_open = quicStreamOpen
        callbacks.stream_close = quicStreamClose
        callbacks.stream_reset = quicStreamReset
        callbacks.extend_max_local_streams_bidi = quicExtendMaxLocalStreamsBidi
        callbacks.extend_max_stream_data = quicExtendMaxStreamData
        callbacks.handshake_completed = quicHandshakeCompleted
        callbacks.handshake_confirmed = quicHandshakeConfirmed
        callbacks.rand = quicRand
        callbacks.get_new_connection_id = quicGetNewConnectionID
        callbacks.remove_connection_id = quicRemoveConnectionID
        callbacks.recv_stateless_reset = quicRecvStatelessReset
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
        guard phase == .handshaking, !handshakeCompleted else { return }
        terminate(reason: .unreachable(errno: code))
    }

    func onStreamData(id: Int64, bytes: UnsafeRawBufferPointer, fin: Bool) {
        guard let stream = streams[id] else { return }
        let dropped = stream.deliver(bytes, fin: fin)
        if dropped > 0 { returnCredit(streamID: id, bytes: dropped) }
    }

    func onStreamOpen(id: Int64) {
        guard streams[id] == nil else { return }
        let stream = TransportStream(
            id: id, sendBufferLimit: configuration.streamSendBufferLimit, budget: sendBudget, driver: self)
        streams[id] = stream
        endpoint.metrics.peerStreams.increment()
        if !incomingStreams.push(stream) {
            // Cannot happen while the queue is as large as the stream limit; refuse it if it does.
            shutdownStream(id: id, write: true, code: 0)
            shutdownStream(id: id, write: false, code: 0)
        }
    }

    func onStreamClose(id: Int64, code: UInt64?) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        let lost = ngtcp2_conn_get_stream_loss_count(conn, id)
        if lost > 0 { endpoint.metrics.packetsLost.increment(by: lost) }
        dropWritable(stream)
        if let code { stream.closedByTransport(code: code) }
        if ngtcp2_conn_is_local_stream(conn, id) == 0 {
            ngtcp2_conn_extend_max_streams_bidi(conn, 1)
        }
    }

    func onStreamReset(id: Int64, code: UInt64) {
        guard let stream = streams[id] else { return }
        let discarded = stream.deliverReset(code: code)
        if discarded > 0 { ngtcp2_conn_extend_max_offset(conn, UInt64(discarded)) }
    }

    func onAcked(id: Int64, upTo offset: UInt64) {
        streams[id]?.acknowledge(upTo: offset)
    }

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
        if let stream = streams[id], stream.hasPendingSend { markWritable(stream) }
    }

    func onHandshakeCompleted() {
        phase = .established
        handshakeCompleted = true
        if let session, let identity = PeerIdentity(session: session) {
            provenIdentity.withLock { $0 = identity }
        }
        endpoint.connectionEstablished(self)
    }

    func onHandshakeConfirmed() {
        handshakeConfirmed = true
        connectWaiter?.resume()
        connectWaiter = nil
    }

    func onNewConnectionID(_ cid: ngtcp2_cid, token: UnsafeMutablePointer<UInt8>) {
        let id = ConnectionID(cid)
        endpoint.statelessResetToken(for: cid, into: token)
        routedIDs.insert(id)
        endpoint.route(id, to: self)
    }

    func onRetiredConnectionID(_ cid: ngtcp2_cid) {
        let id = ConnectionID(cid)
        routedIDs.remove(id)
        endpoint.unroute(id)
    }

    func connectionPointer() -> OpaquePointer? { conn }

    /// Logs one ngtcp2 debug line at trace level.
    func logDebugLine(_ line: String) {
        logger.trace("\(line)")
    }
}
