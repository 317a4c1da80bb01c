import DequeModule

/// Settings of simulated connections; they mirror the QUIC ones that matter to the layers above.
public struct SimulatedConnectionConfiguration: Sendable {
    /// Bytes a stream receives beyond what its reader consumed (flow-control window).
    public var streamReceiveWindow = 256 * 1024
    /// Unacknowledged bytes a stream buffers before its writer is suspended.
    public var streamSendBufferLimit = 1024 * 1024
    /// Unacknowledged bytes all streams of one connection buffer together (``SendBudget``).
    public var connectionSendBudget = 4 * 1024 * 1024
    /// A connection whose traffic cannot get through (partition, frozen peer) for this long closes
    /// with ``CloseReason/idleTimeout`` on both sides.
    public var idleTimeout: Duration = .seconds(30)
    /// A dial that gets no answer (no listener, partition) fails with
    /// ``CloseReason/handshakeTimeout`` after this long.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How often blocked traffic is retried, like a retransmission timer.
    public var retransmitInterval: Duration = .milliseconds(50)
    /// The identity this side proves to its peers, as a certificate would under mutual TLS: the
    /// peer's connection reports it as its ``TransportConnection/peerIdentity``.
    public var identity: PeerIdentity?

    /// Creates the defaults.
    public init() {}
}

/// Accepts simulated connections at one virtual address.
public final class SimulatedListener: ConnectionListener {
    public let localAddress: SocketAddress
    let configuration: SimulatedConnectionConfiguration
    private let network: SimulatedNetwork
    private let queue = AsyncQueue<SimulatedConnection>(capacity: 1024)

    init(network: SimulatedNetwork, address: SocketAddress, configuration: SimulatedConnectionConfiguration) {
        self.network = network
        self.localAddress = address
        self.configuration = configuration
    }

    public func accept() async throws -> (any TransportConnection)? {
        try await queue.next()
    }

    /// Stops accepting: later dials find no listener. Connections are separate objects here,
    /// so this is ``close()``.
    public func stopAccepting() {
        close()
    }

    public func close() {
        network.unlisten(self)
        queue.finish()
    }

    func enqueue(_ connection: SimulatedConnection) -> Bool {
        queue.push(connection)
    }
}

/// Opens simulated connections from one virtual host.
public struct SimulatedDialer: ConnectionDialer {
    let network: SimulatedNetwork
    let host: SocketAddress.Host
    let configuration: SimulatedConnectionConfiguration

    public func connect(to address: SocketAddress, serverName: String? = nil) async throws -> any TransportConnection {
        let network = network
        let local = network.ephemeralAddress(on: host)
        let handshake =
            network.connectionDelay(from: host, to: address.host)
            + network.connectionDelay(from: address.host, to: host)
        let configuration = configuration
        return try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<any TransportConnection, any Error>) in
            // Weak: a dial still pending when a test ends must not keep the network (and through
            // its clock, this closure) alive.
            network.clock.schedule(after: handshake) { [weak network] in
                guard let network else {
                    continuation.resume(throwing: TransportError.endpointClosed)
                    return
                }
                guard let listener = network.listener(at: address),
                    network.canReach(from: local.host, to: address.host),
                    network.canReach(from: address.host, to: local.host)
                else {
                    network.clock.schedule(after: max(configuration.handshakeTimeout - handshake, .zero)) {
                        continuation.resume(throwing: TransportError.connectionClosed(.handshakeTimeout))
                    }
                    return
                }
                let client = SimulatedConnection(
                    network: network, local: local, remote: address, configuration: configuration, initiator: true)
                let server = SimulatedConnection(
                    network: network, local: address, remote: local, configuration: listener.configuration,
                    initiator: false)
                client.pair(with: server)
                guard listener.enqueue(server) else {
                    continuation.resume(
                        throwing: TransportError.connectionClosed(.peer(code: 0x2, message: "server busy")))
                    return
                }
                continuation.resume(returning: client)
            }
        }
    }
}

/// One side of a simulated connection: reliable, ordered, flow-controlled streams whose frames
/// cross the ``SimulatedNetwork`` with its latency, partitions and freezes.
public final class SimulatedConnection: TransportConnection, StreamDriver {
    private enum Frame {
        case data(id: Int64, bytes: [UInt8], fin: Bool, endOffset: UInt64)
        case acknowledged(id: Int64, offset: UInt64)
        case credit(id: Int64, bytes: Int)
        case reset(id: Int64, code: UInt64)
        case stopSending(id: Int64, code: UInt64)
        case close(code: UInt64, message: String)
    }

    private struct SendWindow {
        var sent: UInt64 = 0
        var credit: UInt64
        /// This side will send nothing more (FIN or reset sent).
        var finSent = false
        /// The peer will send nothing more (FIN or reset received).
        var finReceived = false
    }

    private struct State {
        var peer: SimulatedConnection?
        /// What the peer's configuration proves, kept after the connection closes.
        var peerIdentity: PeerIdentity?
        var streams: [Int64: TransportStream] = [:]
        var windows: [Int64: SendWindow] = [:]
        var nextStreamID: Int64
        var outbound: Deque<(frame: Frame, readyAt: MonotonicInstant)> = []
        var blockedSince: MonotonicInstant?
        var closed = false
    }

    public let localAddress: SocketAddress
    public let remoteAddress: SocketAddress
    private let network: SimulatedNetwork
    private let configuration: SimulatedConnectionConfiguration
    private let sendBudget: SendBudget
    private let incoming = AsyncQueue<TransportStream>(capacity: 1 << 16)
    private let closeSignal = CloseSignal()
    private let state: Locked<State>

    init(
        network: SimulatedNetwork, local: SocketAddress, remote: SocketAddress,
        configuration: SimulatedConnectionConfiguration, initiator: Bool
    ) {
        self.network = network
        self.localAddress = local
        self.remoteAddress = remote
        self.configuration = configuration
        sendBudget = SendBudget(limit: configuration.connectionSendBudget)
        // Stream IDs as in QUIC (RFC 9000 §2.1): client-initiated bidirectional streams are 0, 4,
        // 8…, server-initiated ones 1, 5, 9….
        state = Locked(State(nextStreamID: initiator ? 0 : 1))
    }

    /// The identity the peer's configuration proves.
    public var peerIdentity: PeerIdentity? {
        state.withLock { $0.peerIdentity }
    }

    func pair(with peer: SimulatedConnection) {
        state.withLock {
            $0.peer = peer
            $0.peerIdentity = peer.configuration.identity
        }
        peer.state.withLock {
            $0.peer = self
            $0.peerIdentity = configuration.identity
        }
    }

    // MARK: TransportConnection

    public func openStream() async throws -> TransportStream {
        try state.withLock { state throws(TransportError) in
            if state.closed, let reason = closeSignal.reason { throw .connectionClosed(reason) }
            let id = state.nextStreamID
            state.nextStreamID += 4
            return makeStream(id: id, in: &state)
        }
    }

    private func makeStream(id: Int64, in state: inout State) -> TransportStream {
        let stream = TransportStream(
            id: id, sendBufferLimit: configuration.streamSendBufferLimit, budget: sendBudget, driver: self)
        state.streams[id] = stream
        state.windows[id] = SendWindow(credit: UInt64(configuration.streamReceiveWindow))
        return stream
    }

    public func acceptStream() async throws -> TransportStream? {
        try await incoming.next()
    }

    public func close(code: UInt64, message: String) {
        guard finish(.local(code: code, message: message)) else { return }
        enqueue(.close(code: code, message: message))
    }

    public func closed() async -> CloseReason {
        await closeSignal.wait()
    }

    public var closeReason: CloseReason? {
        closeSignal.reason
    }

    /// Records the close and fails every stream; false if already closed.
    @discardableResult
    private func finish(_ reason: CloseReason) -> Bool {
        // The reason is recorded before `closed` is set, so whoever sees `closed` finds it.
        guard closeSignal.close(reason) else { return false }
        let streams: [TransportStream] = state.withLock { state in
            state.closed = true
            defer { state.streams.removeAll() }
            return Array(state.streams.values)
        }
        for stream in streams { stream.connectionClosed(reason) }
        incoming.finish()
        return true
    }

    // MARK: StreamDriver

    func streamHasDataToSend(_ stream: TransportStream) {
        // Cutting the data and queueing its frames happen in one critical section, so two
        // threads pumping the same stream cannot queue its bytes out of order.
        let deadlines: [MonotonicInstant] = state.withLock { state in
            guard !state.closed, var window = state.windows[stream.id] else { return [] }
            var deadlines: [MonotonicInstant] = []
            while true {
                let allowance = Int(window.credit - min(window.credit, window.sent))
                var taken: [UInt8] = []
                var fin = false
                stream.withUnsentData(maxRegions: 16) { regions, finPending in
                    for region in regions where taken.count < min(allowance, 64 * 1024) {
                        taken.append(contentsOf: region.prefix(min(allowance, 64 * 1024) - taken.count))
                    }
                    fin = finPending && taken.count == regions.reduce(0) { $0 + $1.count }
                    return (taken.count, fin)
                }
                if taken.isEmpty && !fin { break }
                window.sent += UInt64(taken.count)
                if fin { window.finSent = true }
                deadlines.append(
                    append(.data(id: stream.id, bytes: taken, fin: fin, endOffset: window.sent), to: &state))
                if fin || allowance == taken.count { break }
            }
            state.windows[stream.id] = window
            forgetIfComplete(stream.id, in: &state)
            return deadlines
        }
        for deadline in deadlines { schedulePump(at: deadline) }
    }

    func stream(_ stream: TransportStream, consumed bytes: Int) {
        enqueue(.credit(id: stream.id, bytes: bytes))
    }

    func stream(_ stream: TransportStream, reset code: UInt64) {
        schedulePump(
            at: state.withLock { state in
                state.windows[stream.id]?.finSent = true
                defer { forgetIfComplete(stream.id, in: &state) }
                return append(.reset(id: stream.id, code: code), to: &state)
            })
    }

    func stream(_ stream: TransportStream, stopSending code: UInt64) {
        enqueue(.stopSending(id: stream.id, code: code))
    }

    // MARK: Frames across the network

    private func enqueue(_ frame: Frame) {
        schedulePump(at: state.withLock { append(frame, to: &$0) })
    }

    /// Queues `frame` behind every frame already queued (frames never overtake each other) and
    /// returns when it is due.
    private func append(_ frame: Frame, to state: inout State) -> MonotonicInstant {
        let readyAt = network.clock.now.advanced(
            by: network.connectionDelay(from: localAddress.host, to: remoteAddress.host))
        let ordered = max(readyAt, state.outbound.last?.readyAt ?? readyAt)
        state.outbound.append((frame, ordered))
        return ordered
    }

    /// Weak: the clock must not own connections (clock → pump → connection → network → clock
    /// would keep a finished simulation alive). A closing connection stays alive until its last
    /// frames are out through its peer, which references it until then.
    private func schedulePump(at deadline: MonotonicInstant) {
        network.clock.schedule(at: deadline) { [weak self] in self?.pump() }
    }

    /// Drops the bookkeeping of a stream neither side will send on again; the stream object
    /// itself lives on with whoever holds it.
    private func forgetIfComplete(_ id: Int64, in state: inout State) {
        guard let window = state.windows[id], window.finSent, window.finReceived else { return }
        state.windows[id] = nil
        state.streams[id] = nil
    }

    /// Delivers every frame that is due, or retries later while the path is blocked.
    private func pump() {
        let now = network.clock.now
        let reachable = network.canReach(from: localAddress.host, to: remoteAddress.host)
        enum Step {
            case deliver(SimulatedConnection, [Frame])
            case retry
            case timeout(SimulatedConnection?)
            case nothing
        }
        let step: Step = state.withLock { state in
            guard let first = state.outbound.first, first.readyAt <= now else { return .nothing }
            guard reachable else {
                let since = state.blockedSince ?? now
                state.blockedSince = since
                if since.duration(to: now) >= configuration.idleTimeout {
                    state.outbound.removeAll()
                    return .timeout(state.peer)
                }
                return .retry
            }
            state.blockedSince = nil
            guard let peer = state.peer else { return .nothing }
            var frames: [Frame] = []
            while let next = state.outbound.first, next.readyAt <= now {
                frames.append(state.outbound.removeFirst().frame)
            }
            // A closed connection whose last frames are out needs its peer no more: break the
            // reference cycle the pair forms.
            if state.closed, state.outbound.isEmpty { state.peer = nil }
            return .deliver(peer, frames)
        }
        switch step {
        case .deliver(let peer, let frames):
            for frame in frames { peer.receive(frame) }
        case .retry:
            network.clock.schedule(after: configuration.retransmitInterval) { [weak self] in self?.pump() }
        case .timeout(let peer):
            finish(.idleTimeout)
            peer?.finish(.idleTimeout)
            state.withLock { $0.peer = nil }
        case .nothing:
            break
        }
    }

    private func receive(_ frame: Frame) {
        switch frame {
        case .data(let id, let bytes, let fin, let endOffset):
            guard let stream = stream(id, createIfNew: true) else { return }
            let dropped = bytes.withUnsafeBytes { stream.deliver($0, fin: fin) }
            if dropped > 0 { enqueue(.credit(id: id, bytes: dropped)) }
            enqueue(.acknowledged(id: id, offset: endOffset))
            if fin { peerFinished(id) }
        case .acknowledged(let id, let offset):
            stream(id, createIfNew: false)?.acknowledge(upTo: offset)
        case .credit(let id, let bytes):
            let stream: TransportStream? = state.withLock { state in
                state.windows[id]?.credit += UInt64(bytes)
                return state.streams[id]
            }
            if let stream, stream.hasPendingSend { streamHasDataToSend(stream) }
        case .reset(let id, let code):
            _ = stream(id, createIfNew: true)?.deliverReset(code: code)
            peerFinished(id)
        case .stopSending(let id, let code):
            stream(id, createIfNew: false)?.deliverStopSending(code: code)
        case .close(let code, let message):
            finish(.peer(code: code, message: message))
            state.withLock { state in
                if state.outbound.isEmpty { state.peer = nil }
            }
        }
    }

    private func peerFinished(_ id: Int64) {
        state.withLock { state in
            state.windows[id]?.finReceived = true
            forgetIfComplete(id, in: &state)
        }
    }

    private func stream(_ id: Int64, createIfNew: Bool) -> TransportStream? {
        let (stream, isNew): (TransportStream?, Bool) = state.withLock { state in
            if let stream = state.streams[id] { return (stream, false) }
            guard createIfNew, !state.closed else { return (nil, false) }
            return (makeStream(id: id, in: &state), true)
        }
        if let stream, isNew { _ = incoming.push(stream) }
        return stream
    }
}
