import CRpcNet
import CoreMetrics
import Glibc
public import Logging
import Synchronization

/// A UDP socket speaking QUIC (ngtcp2 + GnuTLS) on a reactor: it dials connections, and when
/// listening accepts them.
///
/// Incoming datagrams are read in batches and routed by destination connection ID: the client's
/// original DCID and every ID issued to a connection. Datagrams that are not QUIC, or belong to no
/// connection and are not a valid Initial, are dropped and counted; nothing a peer sends can stop
/// the endpoint serving its other connections.
public final class QUICEndpoint: ConnectionListener, ConnectionDialer, ReactorResource, QUICConnectionHost,
    @unchecked Sendable
{
    /// Counters of what the endpoint saw; cheap to read from any thread.
    public struct Statistics: Sendable, Equatable {
        /// Datagrams read from the socket.
        public var datagramsReceived = 0
        /// Datagrams that were not parseable QUIC packets, or were truncated.
        public var malformedDatagrams = 0
        /// Packets for no known connection that could not start one.
        public var unroutablePackets = 0
        /// Connections that completed a handshake (accepted or dialled).
        public var handshakesCompleted = 0
        /// Of those, handshakes that resumed an earlier session with a ticket
        /// (``QUICConfiguration/sessionResumption``).
        public var handshakesResumed = 0
        /// Connections that ended before their handshake completed.
        public var handshakesFailed = 0
        /// Initial packets refused because ``QUICConfiguration/maxConnections`` was reached or
        /// the accept backlog was full.
        public var connectionsRefused = 0
        /// Connections currently held (handshaking, open, closing or draining).
        public var liveConnections = 0
        /// Retry packets sent to make new clients prove their address.
        public var retriesSent = 0
        /// Initial packets whose Retry token was forged, stale or for another address.
        public var invalidRetryTokens = 0
        /// Stateless resets sent for packets of connections this endpoint does not have (a
        /// previous run's, after a restart).
        public var statelessResetsSent = 0
        /// ICMP errors (port or host unreachable) the network reported for datagrams sent.
        public var networkErrors = 0
    }

    public let localAddress: SocketAddress
    /// The settings the endpoint was created with.
    public let configuration: QUICConfiguration
    /// Unacknowledged send bytes all of this endpoint's connections hold together.
    let sendBudget: SendBudget

    let reactor: Reactor
    let socket: UDPSocket
    /// What every connection writes its packets with: the socket, a packet batch and scratch
    /// vectors shared on the loop thread, and the metrics.
    let output: QUICPacketOutput
    private let logger: Logger
    private let listening: Bool
    private let acceptQueue: AsyncQueue<QUICConnection>
    private let stats = Mutex(Statistics())
    /// The endpoint's swift-metrics instruments (`rpcnet.quic.*`).
    let metrics: QUICMetrics
    private let isClosed = Atomic<Bool>(false)

    // Loop-thread state.
    private let serverTLS: TLSContext?
    private var clientTLS: TLSContext?
    private var watcher: ReactorIO?
    private let receiveBatch: ReceiveBatch
    private var routes: [ConnectionID: QUICConnection] = [:]
    private var connections: [ObjectIdentifier: QUICConnection] = [:]
    /// Connections this endpoint dialled, by server address: a stateless reset from a server
    /// carries no connection ID of ours, so it is offered to these (RFC 9000 §10.3.1), and so
    /// are ICMP errors about the server's address.
    private var dialled: [SocketAddress: [QUICConnection]] = [:]
    /// Where datagrams that are not QUIC go, once
    /// ``sideChannel(firstBytes:maxDatagramSize:receiveQueueCapacity:)``
    /// was asked for.
    private let sideChannelSlot = Mutex<QUICSideChannel?>(nil)
    /// Server connections whose handshake has not completed (drives Retry under load).
    private var handshaking = 0
    /// Set by ``stopAccepting()``: new clients are answered with CONNECTION_REFUSED.
    private var refusingConnections = false
    private var waitingForWritable: [QUICConnection] = []
    private let resetter: StatelessResetter
    /// Key material of Retry tokens, separate from the stateless-reset secret.
    private let tokenSecret: [UInt8]

    /// Binds an endpoint at `address` (port 0 picks one) that accepts connections; the
    /// configuration must name the server certificate and key.
    public static func listen(
        reactor: Reactor, address: SocketAddress, configuration: QUICConfiguration,
        logger: Logger = Logger(label: "rpcnet.quic")
    ) async throws -> QUICEndpoint {
        try configuration.validate(asServer: true)
        return try await reactor.submit { () throws(TransportError) in
            try QUICEndpoint(
                reactor: reactor, address: address, configuration: configuration, listening: true, logger: logger)
        }
    }

    /// Binds an endpoint that only dials out, on `bindAddress`: by default the IPv4 wildcard
    /// with an ephemeral port, which reaches any IPv4 host (pass
    /// ``SocketAddress/anyIPv6`` for IPv6 servers). A loopback bind reaches only this host.
    public static func client(
        reactor: Reactor, configuration: QUICConfiguration, bindAddress: SocketAddress = .anyIPv4,
        logger: Logger = Logger(label: "rpcnet.quic")
    ) async throws -> QUICEndpoint {
        try configuration.validate(asServer: false)
        return try await reactor.submit { () throws(TransportError) in
            try QUICEndpoint(
                reactor: reactor, address: bindAddress, configuration: configuration, listening: false, logger: logger)
        }
    }

    private init(
        reactor: Reactor, address: SocketAddress, configuration: QUICConfiguration, listening: Bool, logger: Logger
    ) throws(TransportError) {
        reactor.assertOnLoopThread()
        self.reactor = reactor
        self.configuration = configuration
        sendBudget = SendBudget(limit: configuration.endpointSendBudget)
        self.listening = listening
        serverTLS = listening ? try TLSContext(configuration: configuration, isServer: true) : nil
        clientTLS = listening ? nil : try TLSContext(configuration: configuration, isServer: false)
        socket = try UDPSocket(binding: address, enableGRO: true, enableErrorQueue: true)
        localAddress = socket.localAddress
        metrics = QUICMetrics(
            endpoint: localAddress, naming: configuration.metricsNaming,
            factory: configuration.metricsFactory ?? MetricsSystem.factory)
        do {
            resetter = try StatelessResetter(configuration: configuration, port: localAddress.port, isServer: listening)
        } catch {
            socket.close()
            throw error
        }
        var logger = logger
        logger[metadataKey: "quic"] = "\(socket.localAddress)"
        self.logger = logger
        acceptQueue = AsyncQueue(capacity: configuration.acceptBacklog)
        let vectorCount = 16
        let vectors = UnsafeMutablePointer<ngtcp2_vec>.allocate(capacity: vectorCount)
        vectors.initialize(repeating: ngtcp2_vec(), count: vectorCount)
        output = QUICPacketOutput(
            socket: socket,
            batch: PacketBatch(
                maxPacketSize: configuration.maxUDPPayloadSize, maxPackets: 64, useGSO: socket.supportsGSO),
            vectors: vectors, vectorCount: vectorCount, metrics: metrics)
        receiveBatch = ReceiveBatch(
            slotSize: socket.usesGRO ? 65_536 : max(configuration.maxUDPPayloadSize, 1500) + 1, slotCount: 32)
        var secret = [UInt8](repeating: 0, count: 32)
        _ = gnutls_rnd(GNUTLS_RND_RANDOM, &secret, secret.count)
        tokenSecret = secret
        watcher = ReactorIO(reactor: reactor, fd: socket.fd) { [unowned self] readable, writable in
            if readable { readAvailable() }
            if writable { resumeWriters() }
        }
        reactor.register(self)
        logger.debug("quic endpoint bound", metadata: ["listening": "\(listening)", "gso": "\(socket.supportsGSO)"])
    }

    deinit {
        output.vectors.deallocate()
    }

    /// A snapshot of the endpoint's counters.
    public var statistics: Statistics {
        stats.withLock { $0 }
    }

    // MARK: Dialling and accepting

    public func connect(to address: SocketAddress, serverName: String? = nil) async throws -> any TransportConnection {
        try await dial(address, serverName: serverName)
    }

    /// The reactor that runs this endpoint's connections.
    public var preferredExecutor: (any TaskExecutor)? { reactor }

    /// Connects to `address`, verifying its certificate for `serverName` (default: the IP), and
    /// returns once the handshake completed on this side (RFC 9001 §4.1.1): the client's Finished
    /// leaves with the first stream's data, so a new connection's first call costs one round trip
    /// after the handshake's, not two. A server that rejects this client only after its Finished
    /// (mutual TLS without an acceptable certificate) closes the connection then: its streams fail
    /// with that reason, e.g. ``TransportError/connectionClosed(_:)`` with
    /// ``TLSFailure/clientCertificateMissing``; ``QUICConnection/waitUntilAccepted()`` waits
    /// for the server's verdict.
    public func dial(_ address: SocketAddress, serverName: String? = nil) async throws -> QUICConnection {
        guard !isClosed.load(ordering: .acquiring) else { throw TransportError.endpointClosed }
        let connection = try await reactor.submit { () throws(TransportError) in
            try self.startClient(to: address, serverName: serverName ?? address.ipString)
        }
        try await withTaskCancellationHandler {
            try await connection.waitUntilEstablished()
        } onCancel: {
            connection.close(code: 0, message: "connect cancelled")
        }
        return connection
    }

    private func startClient(to address: SocketAddress, serverName: String) throws(TransportError) -> QUICConnection {
        guard watcher != nil else { throw .endpointClosed }
        if clientTLS == nil { clientTLS = try TLSContext(configuration: configuration, isServer: false) }
        let connection = QUICConnection(
            host: self, output: output, reactor: reactor, configuration: configuration, tls: clientTLS!,
            sendBudget: sendBudget, isServer: false, serverName: serverName, localAddress: localAddress,
            remoteAddress: address, logger: logger)
        try connection.startClient()
        adopt(connection)
        connection.flush()
        return connection
    }

    public func accept() async throws -> (any TransportConnection)? {
        try await acceptQueue.next()
    }

    /// The next connection a client opened, once its handshake completed; `nil` after ``close()``.
    public func acceptConnection() async throws -> QUICConnection? {
        try await acceptQueue.next()
    }

    /// Stops accepting connections (a graceful drain): ``acceptConnection()`` returns nil,
    /// connections already accepted carry on, and a client that tries to connect is answered at
    /// once with CONNECTION_REFUSED (RFC 9000 §20.1) rather than left to time out.
    public func stopAccepting() {
        acceptQueue.finish()
        reactor.execute { [self] in refusingConnections = true }
    }

    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        acceptQueue.finish()
        reactor.execute { [self] in close(reason: .endpointClosed) }
    }

    func close(reason: CloseReason) {
        close(reason: reason, notifyingPeers: true)
    }

    /// Closes the endpoint and its connections (loop thread). Peers are sent a
    /// CONNECTION_CLOSE unless `notifyingPeers` is false, which leaves them as a crash would.
    func close(reason: CloseReason, notifyingPeers: Bool) {
        isClosed.store(true, ordering: .releasing)
        // Established connections nobody accepted hold this endpoint: drop them (they are
        // closed below with the others), or the endpoint and its buffers are never freed.
        acceptQueue.finishDiscardingElements()
        guard let watcher else { return }
        for connection in connections.values {
            if notifyingPeers { connection.abort(reason: reason) } else { connection.terminate(reason: reason) }
        }
        watcher.close()
        self.watcher = nil
        socket.close()
        reactor.unregister(self)
        logger.debug("quic endpoint closed", metadata: ["reason": "\(reason)"])
    }

    /// Plain datagrams on this endpoint's port, beside QUIC (see ``QUICSideChannel``), for
    /// datagrams starting with a byte in `firstBytes` (gossip's version byte by default); the
    /// same channel on every call (the arguments of the first call stand). Datagrams that are not
    /// QUIC are dropped as malformed until this is first called.
    public func sideChannel(
        firstBytes: ClosedRange<UInt8> = 0x01...0x01, maxDatagramSize: Int = 1_400, receiveQueueCapacity: Int = 4096
    ) -> QUICSideChannel {
        sideChannelSlot.withLock { slot in
            if let slot { return slot }
            let channel = QUICSideChannel(
                endpoint: self, firstBytes: firstBytes, maxDatagramSize: maxDatagramSize,
                receiveQueueCapacity: receiveQueueCapacity)
            slot = channel
            return channel
        }
    }

    /// Writes one datagram on the socket (loop thread); false when it was not sent.
    func sendRaw(_ payload: [UInt8], to destination: SocketAddress) -> Bool {
        guard watcher != nil else { return false }
        do {
            return try payload.withUnsafeBytes { bytes throws(TransportError) in try socket.send(bytes, to: destination)
            }
        } catch {
            logger.debug("side-channel send failed", metadata: ["destination": "\(destination)", "error": "\(error)"])
            return false
        }
    }

    /// Waits until every connection of a closed endpoint was released (for leak checks).
    public func liveConnectionCount() async throws -> Int {
        try await reactor.submit { self.connections.count }
    }

    // MARK: Connection bookkeeping (loop thread)

    /// The TLS settings of this endpoint's server or client connections (leak tests check
    /// they are freed with it).
    func tls(isServer: Bool) -> TLSContext? {
        isServer ? serverTLS : clientTLS
    }

    private func adopt(_ connection: QUICConnection) {
        if connection.isServer {
            handshaking += 1
        } else {
            dialled[connection.remoteAddress, default: []].append(connection)
        }
        connections[ObjectIdentifier(connection)] = connection
        for id in connection.routedIDs { routes[id] = connection }
        stats.withLock { $0.liveConnections = connections.count }
        metrics.connections.record(connections.count)
    }

    /// Derives the stateless-reset token of `cid` from the endpoint's secret (RFC 9000 §10.3.2).
    func statelessResetToken(for cid: ngtcp2_cid, into token: UnsafeMutablePointer<UInt8>) {
        resetter.token(for: cid, into: token)
    }

    func connection(_ connection: QUICConnection, did event: QUICConnectionEvent) {
        switch event {
        case .establishedHandshake: connectionEstablished(connection)
        case .failedHandshake(let reason):
            stats.withLock { $0.handshakesFailed += 1 }
            metrics.handshakeFailed(reason)
        case .issuedID(let id): routes[id] = connection
        case .retiredID(let id): routes[id] = nil
        case .blockedOnSocket:
            if !waitingForWritable.contains(where: { $0 === connection }) { waitingForWritable.append(connection) }
            watcher?.setWantsWrite(true)
        case .terminated: connectionTerminated(connection)
        }
    }

    private func connectionEstablished(_ connection: QUICConnection) {
        let resumed = connection.resumedSession
        stats.withLock {
            $0.handshakesCompleted += 1
            if resumed { $0.handshakesResumed += 1 }
        }
        metrics.handshakesCompleted.increment()
        guard connection.isServer else { return }
        handshaking -= 1
        if !acceptQueue.push(connection) {
            stats.withLock { $0.connectionsRefused += 1 }
            metrics.refused.increment()
            logger.warning(
                "accept backlog full; refusing connection", metadata: ["peer": "\(connection.remoteAddress)"])
            // Not from inside ngtcp2's handshake callback, which must not write a close.
            reactor.execute { connection.close(code: 0x2, message: "server busy") }
        }
    }

    private func connectionTerminated(_ connection: QUICConnection) {
        if connection.isServer, !connection.handshakeCompleted { handshaking -= 1 }
        for id in connection.routedIDs where routes[id] === connection { routes[id] = nil }
        connections[ObjectIdentifier(connection)] = nil
        if !connection.isServer {
            dialled[connection.remoteAddress]?.removeAll { $0 === connection }
            if dialled[connection.remoteAddress]?.isEmpty == true { dialled[connection.remoteAddress] = nil }
        }
        waitingForWritable.removeAll { $0 === connection }
        stats.withLock { $0.liveConnections = connections.count }
        metrics.connections.record(connections.count)
    }

    private func resumeWriters() {
        watcher?.setWantsWrite(false)
        let waiting = waitingForWritable
        waitingForWritable.removeAll()
        for connection in waiting { connection.flush() }
    }

    // MARK: Receiving (loop thread)

    private func readAvailable() {
        var received = 0
        var receivedBytes = 0
        var receivedDatagrams = 0
        var malformed = 0
        var unroutable = 0
        var errorPending = false
        do {
            // Bounded, so a flood cannot starve timers and other sockets; libev calls again.
            for _ in 0..<8 {
                let count = try receiveBatch.receive(from: socket) { payload, source in
                    receivedBytes += payload.count
                    receivedDatagrams += 1
                    guard let source else {
                        malformed += 1
                        return
                    }
                    switch dispatch(payload, from: source) {
                    case .delivered: break
                    case .malformed: malformed += 1
                    case .unroutable: unroutable += 1
                    }
                }
                received += count
                // Woken with nothing to read: the kernel may hold an ICMP error for us.
                if count == 0 { errorPending = true }
                if count < receiveBatch.slotCount { break }
            }
        } catch {
            // With the error queue on, a pending ICMP error fails one receive call.
            if case .system(_, let code) = error, Self.networkErrorCodes.contains(code) {
                errorPending = true
            } else {
                logger.warning("quic receive failed", metadata: ["error": "\(error)"])
            }
        }
        if errorPending { readNetworkErrors() }
        if received > 0 {
            metrics.datagramsReceived.increment(by: receivedDatagrams)
            metrics.bytesReceived.increment(by: receivedBytes)
            stats.withLock {
                $0.datagramsReceived += received
                $0.malformedDatagrams += malformed
                $0.unroutablePackets += unroutable
            }
        }
        if malformed + unroutable > 0 {
            logger.trace("dropped datagrams", metadata: ["malformed": "\(malformed)", "unroutable": "\(unroutable)"])
        }
    }

    /// The errors an ICMP message reports on a socket with an error queue.
    private static let networkErrorCodes: Set<Int32> = [
        ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EPROTO, EACCES, EMSGSIZE,
    ]

    /// Drains the socket's error queue, telling the connections this endpoint dialled to a
    /// destination the network reported unreachable (only a handshake acts on it, see
    /// ``QUICConnection/networkReported(errno:)``): a lookup, not a scan of every connection,
    /// since anyone can send ICMP messages.
    private func readNetworkErrors() {
        var count = 0
        while count < 64, let (destination, code) = socket.readError() {
            count += 1
            // Counted before the connections hear of it: a dial it fails is observed at once.
            stats.withLock { $0.networkErrors += 1 }
            logger.debug(
                "network reported an error", metadata: ["destination": "\(destination)", "errno": "\(code)"])
            for connection in dialled[destination] ?? [] { connection.networkReported(errno: code) }
        }
    }

    private enum Dispatch {
        case delivered
        case malformed
        case unroutable
    }

    private func dispatch(_ payload: UnsafeRawBufferPointer, from source: SocketAddress) -> Dispatch {
        // ngtcp2 asserts on empty input, and accepts Version Negotiation packets (version 0)
        // whose connection IDs exceed QUIC v1's 20 bytes: both are refused here.
        guard !payload.isEmpty, let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return .malformed
        }
        var versionCID = ngtcp2_version_cid()
        let decoded = ngtcp2_pkt_decode_version_cid(&versionCID, base, payload.count, ConnectionID.issuedLength)
        var id: ConnectionID?
        if decoded == 0, let dcid = versionCID.dcid, versionCID.dcidlen <= Int(NGTCP2_MAX_CIDLEN) {
            id = ConnectionID(UnsafeRawBufferPointer(start: dcid, count: versionCID.dcidlen))
        }
        if let id, let connection = routes[id] {
            deliver(payload, from: source, to: connection)
            return .delivered
        }
        // Not for a connection of ours: a side-channel datagram if it is shaped like one. A
        // short-header packet with its fixed bit greased (RFC 9287, which ngtcp2 0.12 does) was
        // routed above by its connection ID.
        if let channel = sideChannelSlot.withLock({ $0 }), channel.carries(firstByte: base[0]) {
            channel.deliver(payload, from: source)
            return .delivered
        }
        guard decoded == 0, let dcid = versionCID.dcid else {
            return decoded == NGTCP2_ERR_VERSION_NEGOTIATION ? .unroutable : .malformed
        }
        if base[0] & 0x80 == 0 {
            // A short-header packet for no connection of ours: a stateless reset from a server
            // we dialled (its connection ID is random), which that connection recognises by its
            // token; or a packet of a connection we no longer have, most likely one from before
            // a restart, and a stateless reset tells its sender at once.
            if let candidates = dialled[source] {
                for connection in candidates { deliver(payload, from: source, to: connection) }
                return .delivered
            }
            sendStatelessReset(
                dcid: UnsafeRawBufferPointer(start: dcid, count: versionCID.dcidlen),
                triggerLength: payload.count, to: source)
            return .unroutable
        }
        guard versionCID.dcidlen <= Int(NGTCP2_MAX_CIDLEN), versionCID.scidlen <= Int(NGTCP2_MAX_CIDLEN) else {
            return .malformed
        }
        guard listening, let serverTLS else { return .unroutable }
        var header = ngtcp2_pkt_hd()
        guard ngtcp2_accept(&header, base, payload.count) == 0 else { return .unroutable }
        guard connections.count < configuration.maxConnections, !refusingConnections else {
            stats.withLock { $0.connectionsRefused += 1 }
            metrics.refused.increment()
            if refusingConnections { refuseConnection(header, to: source) }
            return .unroutable
        }
        var originalDCID: ngtcp2_cid?
        if header.token.len > 0, header.token.base[0] == UInt8(NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
            originalDCID = verifyRetryToken(header, from: source)
            guard originalDCID != nil else {
                stats.withLock { $0.invalidRetryTokens += 1 }
                return .unroutable
            }
        } else if let threshold = configuration.retryThreshold, handshaking >= threshold {
            sendRetry(header, to: source)
            return .delivered
        }
        let connection = QUICConnection(
            host: self, output: output, reactor: reactor, configuration: configuration, tls: serverTLS,
            sendBudget: sendBudget, isServer: true, serverName: nil, localAddress: localAddress, remoteAddress: source,
            logger: logger)
        do {
            try connection.startServer(header: header, originalDCID: originalDCID)
        } catch {
            logger.warning("could not start connection", metadata: ["peer": "\(source)", "error": "\(error)"])
            return .unroutable
        }
        adopt(connection)
        deliver(payload, from: source, to: connection)
        return .delivered
    }

    private func sendStatelessReset(dcid: UnsafeRawBufferPointer, triggerLength: Int, to source: SocketAddress) {
        guard
            let packet = resetter.reset(for: dcid, triggerLength: triggerLength, now: rpcnet_monotonic_ns())
        else { return }
        packet.withUnsafeBytes { _ = try? socket.send($0, to: source) }
        stats.withLock { $0.statelessResetsSent += 1 }
    }

    // MARK: Address validation (RFC 9000 §8.1.2)

    /// How long a Retry token stays valid.
    private static let retryTokenLifetime: UInt64 = 10 * 1_000_000_000

    /// Answers an Initial with a Retry carrying a token bound to the client's address.
    private func sendRetry(_ header: ngtcp2_pkt_hd, to source: SocketAddress) {
        var retrySCID = ConnectionID.random()
        var originalDCID = header.dcid
        var clientSCID = header.scid
        var token = [UInt8](repeating: 0, count: 256)
        let tokenLength = source.withSockAddr { address, length in
            tokenSecret.withUnsafeBufferPointer { secret in
                ngtcp2_crypto_generate_retry_token(
                    &token, secret.baseAddress, secret.count, header.version, address, length, &retrySCID,
                    &originalDCID,
                    rpcnet_monotonic_ns())
            }
        }
        guard tokenLength > 0 else { return }
        var packet = [UInt8](repeating: 0, count: 1500)
        let written = ngtcp2_crypto_write_retry(
            &packet, packet.count, header.version, &clientSCID, &retrySCID, &originalDCID, token, tokenLength)
        guard written > 0 else { return }
        packet.withUnsafeBytes {
            _ = try? socket.send(UnsafeRawBufferPointer(rebasing: $0.prefix(written)), to: source)
        }
        stats.withLock { $0.retriesSent += 1 }
        metrics.retries.increment()
    }

    /// Answers an Initial with an Initial carrying CONNECTION_CLOSE (CONNECTION_REFUSED), without
    /// keeping any state. It is smaller than the client's padded Initial, so it amplifies
    /// nothing.
    private func refuseConnection(_ header: ngtcp2_pkt_hd, to source: SocketAddress) {
        var clientSCID = header.scid
        var clientDCID = header.dcid
        var packet = [UInt8](repeating: 0, count: 256)
        let reason = Array("server draining".utf8)
        let written = ngtcp2_crypto_write_connection_close(
            &packet, packet.count, header.version, &clientSCID, &clientDCID, UInt64(NGTCP2_CONNECTION_REFUSED),
            reason, reason.count)
        guard written > 0 else { return }
        packet.withUnsafeBytes {
            _ = try? socket.send(UnsafeRawBufferPointer(rebasing: $0.prefix(written)), to: source)
        }
    }

    /// The client's original DCID if `header` carries a Retry token we issued to `source` recently.
    private func verifyRetryToken(_ header: ngtcp2_pkt_hd, from source: SocketAddress) -> ngtcp2_cid? {
        var originalDCID = ngtcp2_cid()
        var dcid = header.dcid
        let result = source.withSockAddr { address, length in
            tokenSecret.withUnsafeBufferPointer { secret in
                ngtcp2_crypto_verify_retry_token(
                    &originalDCID, header.token.base, header.token.len, secret.baseAddress, secret.count,
                    header.version,
                    address, length, &dcid, Self.retryTokenLifetime, rpcnet_monotonic_ns())
            }
        }
        return result == 0 ? originalDCID : nil
    }

    private func deliver(_ payload: UnsafeRawBufferPointer, from source: SocketAddress, to connection: QUICConnection) {
        connection.receive(payload, from: source)
        // Queued on the reactor (coalesced per connection) behind the work this packet woke, so
        // an answer written by that work leaves with the ACKs; work it queues in turn may follow
        // the flush. Deferring further, until the loop's queue drains, was measured slower: the
        // early ACK wakes the peer while the handler runs, and early flushes keep both sides
        // busy (docs/BENCHMARKS.md, fourth session of issue 15).
        connection.scheduleFlush()
    }
}
