import CRpcNet
import DequeModule
import Logging
import Synchronization

/// One QUIC connection: an `ngtcp2_conn` and its GnuTLS session, driven by its endpoint's reactor.
///
/// The connection is a state machine owned by the reactor's loop thread: ngtcp2, GnuTLS and every
/// field marked "loop thread" below are touched there only, and its life is a `Phase` carrying
/// each phase's state. The application reaches it from any thread through one path,
/// `perform(_:)`, which applies a request at once on the loop thread and otherwise queues it
/// for the loop, coalescing wake-ups. The code is split by concern: requests
/// (`+Requests`), set-up (`+Start`), packets out and timers (`+Flush`), packets in and ngtcp2's
/// callbacks (`+Events`), closing (`+Closing`). What it needs from its endpoint is the small
/// `QUICConnectionHost` interface and the endpoint's `QUICPacketOutput`.
public final class QUICConnection: TransportConnection, @unchecked Sendable {
    public let localAddress: SocketAddress
    public let remoteAddress: SocketAddress
    /// True for connections accepted by a listener.
    public let isServer: Bool

    // Set at creation, read from any thread.
    let host: any QUICConnectionHost
    let output: QUICPacketOutput
    let reactor: Reactor
    let configuration: QUICConfiguration
    /// The TLS settings this connection's session was made from.
    let tls: TLSContext
    /// Unacknowledged send bytes this connection's streams hold together.
    let sendBudget: SendBudget
    let logger: Logger
    let creditThresholds: CreditThresholds
    /// Client: the name the server's certificate is verified against.
    let serverName: String?
    /// Client: the server's key in the TLS context's session-ticket cache.
    let ticketKey: String?
    /// Lets the crypto layer find the `ngtcp2_conn` (`quicGetConnection`); freed in deinit.
    let connectionReference: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>
    /// The addresses `path` points into; freed in deinit.
    private let pathStorage: UnsafeMutablePointer<(local: sockaddr_storage, remote: sockaddr_storage)>

    // Owned by their own locks or atomics: any thread.
    /// The close reason, once the connection ends; wakes ``closed()``.
    let closeSignal = CloseSignal()
    /// Streams the peer opened, until the application accepts them.
    let incomingStreams: AsyncQueue<TransportStream>
    /// Requests made off the loop thread, until the loop applies them.
    let inbox = Locked(RequestInbox())
    /// Set while a wake-up to apply the inbox is queued on the reactor.
    let wakeScheduled = Atomic<Bool>(false)
    /// What the handshake proved, published by the loop when it completes.
    let handshakeResult = Locked<HandshakeResult?>(nil)
    /// Numbers the tasks waiting to open a stream, so a cancelled one can be found.
    private let nextOpenWaiterID = Atomic<Int>(0)

    // Owned by the loop thread.
    /// The ngtcp2 path of this connection (our address and the peer's); fixed at creation.
    var path = ngtcp2_path()
    /// Where the connection is in its life, with that phase's state.
    var phase = Phase.idle
    /// Open streams by ID.
    var streams: [Int64: TransportStream] = [:]
    /// Streams with something to send, in round-robin order.
    var writable = WritableStreams()
    /// Tasks waiting for the peer to allow another stream, in order.
    var openWaiters: Deque<OpenWaiter> = []
    /// Whether the server confirmed the handshake (HANDSHAKE_DONE, RFC 9001 §4.1.2; clients
    /// only), recorded whenever ngtcp2 reports it.
    var handshakeConfirmed = false
    /// Tasks waiting for the handshake to reach a milestone: dials, and ``waitUntilAccepted()``.
    var handshakeWaiters: [(milestone: HandshakeMilestone, continuation: CheckedContinuation<Void, any Error>)] = []
    /// Set while a flush is queued for this loop iteration.
    var flushQueued = false
    /// Set when the peer's stateless reset arrived (it lost this connection's state: restarted).
    var resetByPeer = false
    /// Whether the TLS handshake completed, whatever happened since.
    var handshakeCompleted = false
    /// Connection IDs routed to this connection by the endpoint.
    var routedIDs: Set<ConnectionID> = []

    /// What a completed handshake established about the peer.
    struct HandshakeResult {
        /// The subject of the certificate the peer presented and TLS verified.
        let peerIdentity: PeerIdentity?
        /// The application protocol agreed through ALPN.
        let applicationProtocol: String?
        /// Whether the session resumed an earlier one with a ticket (RFC 8446 §2.2).
        let resumed: Bool
    }

    init(
        host: any QUICConnectionHost, output: QUICPacketOutput, reactor: Reactor, configuration: QUICConfiguration,
        tls: TLSContext, sendBudget parentBudget: SendBudget, isServer: Bool, serverName: String?,
        localAddress: SocketAddress, remoteAddress: SocketAddress, logger: Logger
    ) {
        self.host = host
        self.output = output
        self.reactor = reactor
        self.configuration = configuration
        self.tls = tls
        sendBudget = SendBudget(limit: configuration.connectionSendBudget, parent: parentBudget)
        self.isServer = isServer
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        var logger = logger
        logger[metadataKey: "peer"] = "\(remoteAddress)"
        self.logger = logger
        // As large as the number of streams the peer may open, so ngtcp2 never admits one that
        // cannot be queued.
        incomingStreams = AsyncQueue(capacity: Int(clamping: configuration.maxConcurrentStreams))
        creditThresholds = CreditThresholds(configuration)
        self.serverName = serverName
        ticketKey = serverName.map { SessionTicketCache.key(serverName: $0, address: remoteAddress) }
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
        // A started connection is released only by `terminate`, which frees its C state and
        // closes its timer; dropping one still holding them would leave the timer firing into a
        // freed object later, so stop here, where the cause is visible.
        precondition(phase.native == nil, "QUICConnection to \(remoteAddress) released without terminate()")
        connectionReference.deallocate()
        pathStorage.deallocate()
    }

    // MARK: Public API

    /// The application protocol agreed in the handshake (`rpcnet/1`).
    public var applicationProtocol: String? {
        get async { handshakeResult.withLock { $0?.applicationProtocol } }
    }

    /// The subject of the certificate the peer presented and TLS verified: the client's under
    /// mutual TLS on a server, the server's on a client.
    public var peerIdentity: PeerIdentity? {
        handshakeResult.withLock { $0?.peerIdentity }
    }

    /// Whether the handshake resumed an earlier session with a ticket instead of verifying
    /// certificates again (``QUICConfiguration/sessionResumption``).
    public var resumedSession: Bool {
        handshakeResult.withLock { $0?.resumed ?? false }
    }

    public var closeReason: CloseReason? {
        closeSignal.reason
    }

    /// The reactor this connection's state machine runs on.
    public var preferredExecutor: (any TaskExecutor)? {
        reactor
    }

    /// Waits for the handshake to complete (client side), or throws why it failed.
    func waitUntilEstablished() async throws {
        try await waitForHandshake(.completed)
    }

    /// Waits until the server accepted this client: until it confirmed the handshake
    /// (HANDSHAKE_DONE, RFC 9001 §4.1.2), which a server that refuses the client after its
    /// Finished (mutual TLS without an acceptable certificate) never does; throws why the
    /// connection closed instead. A server's connections are accepted once established.
    public func waitUntilAccepted() async throws {
        try await waitForHandshake(isServer ? .completed : .confirmed)
    }

    private func waitForHandshake(_ milestone: HandshakeMilestone) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            perform(.notifyWhenHandshake(milestone, continuation))
        }
    }

    public func openStream() async throws -> TransportStream {
        if reactor.isOnLoopThread, let stream = try openStreamNow() { return stream }
        let id = nextOpenWaiterID.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<TransportStream, any Error>) in
                perform(.openStream(OpenWaiter(id: id, continuation: continuation)))
                // A cancellation that came before the request was queued found nothing to cancel.
                if Task.isCancelled { perform(.cancelOpening(id: id)) }
            }
        } onCancel: {
            perform(.cancelOpening(id: id))
        }
    }

    /// Opens a stream if the peer's limit allows; nil when the caller must wait for credit (loop
    /// thread).
    func openStreamNow() throws(TransportError) -> TransportStream? {
        if let reason = closeReason { throw .connectionClosed(reason) }
        guard let conn = phase.open?.conn else { throw .connectionClosed(.endpointClosed) }
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
        output.metrics.localStreams.increment()
        return stream
    }

    public func acceptStream() async throws -> TransportStream? {
        try await incomingStreams.next()
    }

    public func close(code: UInt64 = 0, message: String = "") {
        perform(.close(code: code, message: message))
    }

    public func closed() async -> CloseReason {
        await closeSignal.wait()
    }
}
