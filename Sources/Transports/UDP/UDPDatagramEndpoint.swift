public import Logging
import Synchronization

/// A UDP socket on a reactor, exposed as a ``DatagramTransport``: the gossip transport.
///
/// Sends from any thread are queued and written by the loop in batches; received datagrams are
/// read with `recvmmsg` and queued for ``receive()`` up to a bound, beyond which they are dropped
/// and counted (as the kernel would when a process falls behind).
public final class UDPDatagramEndpoint: DatagramTransport, ReactorResource, @unchecked Sendable {
    public let localAddress: SocketAddress
    public let maxDatagramSize: Int
    /// The reactor the socket is on.
    public var owner: any TransportOwner { reactor }

    private let reactor: Reactor
    private let logger: Logger
    private let inbox: DatagramInbox
    private let outgoing = Locked<[(payload: [UInt8], destination: SocketAddress)]>([])
    private let stats = Mutex(DatagramStatistics())
    private let closed = Atomic<Bool>(false)
    private let flushScheduled = Atomic<Bool>(false)

    // Loop-thread state.
    let socket: UDPSocket
    private var watcher: ReactorIO?
    private let batch: ReceiveBatch

    /// Binds a UDP socket at `address` (port 0 picks one) on `reactor`.
    public static func bind(
        reactor: Reactor,
        address: SocketAddress,
        maxDatagramSize: Int = 65_507,
        receiveQueueCapacity: Int = 4096,
        logger: Logger = Logger(label: "rpcnet.udp")
    ) async throws -> UDPDatagramEndpoint {
        try await reactor.submit { () throws(TransportError) in
            try UDPDatagramEndpoint(
                reactor: reactor, address: address, maxDatagramSize: maxDatagramSize,
                receiveQueueCapacity: receiveQueueCapacity, logger: logger)
        }
    }

    private init(
        reactor: Reactor, address: SocketAddress, maxDatagramSize: Int, receiveQueueCapacity: Int, logger: Logger
    ) throws(TransportError) {
        reactor.assertOnLoopThread()
        self.reactor = reactor
        self.maxDatagramSize = min(maxDatagramSize, 65_507)
        self.socket = try UDPSocket(binding: address)
        self.localAddress = socket.localAddress
        var logger = logger
        logger[metadataKey: "udp"] = "\(socket.localAddress)"
        self.logger = logger
        self.inbox = DatagramInbox(capacity: receiveQueueCapacity)
        self.batch = ReceiveBatch(slotSize: self.maxDatagramSize + 1, slotCount: 32)
        watcher = ReactorIO(reactor: reactor, fd: socket.fd) { [unowned self] readable, writable in
            if readable { self.readAvailable() }
            if writable { self.flush() }
        }
        reactor.register(self)
    }

    /// A snapshot of the endpoint's counters.
    public var statistics: DatagramStatistics {
        stats.withLock { $0 }
    }

    public func send(_ payload: [UInt8], to destination: SocketAddress) throws(TransportError) {
        guard !closed.load(ordering: .relaxed) else { throw .endpointClosed }
        guard payload.count <= maxDatagramSize else {
            stats.withLock { $0.droppedOversized += 1 }
            throw .messageTooLarge(size: payload.count, limit: maxDatagramSize)
        }
        outgoing.withLock { $0.append((payload, destination)) }
        if !flushScheduled.exchange(true, ordering: .acquiringAndReleasing) {
            reactor.execute { [self] in flush() }
        }
    }

    public func receive() async throws -> Datagram? {
        try await inbox.next()
    }

    public func setReceiveHandler(_ handler: (@Sendable (Datagram) -> Void)?) {
        inbox.setHandler(handler)
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        inbox.finish()
        reactor.execute { [self] in close(reason: .endpointClosed) }
    }

    func close(reason: CloseReason) {
        closed.store(true, ordering: .releasing)
        inbox.finish()
        guard let watcher else { return }
        watcher.close()
        self.watcher = nil
        socket.close()
        reactor.unregister(self)
        logger.debug("udp endpoint closed", metadata: ["reason": "\(reason)"])
    }

    // MARK: Loop thread

    private func flush() {
        flushScheduled.store(false, ordering: .releasing)
        guard watcher != nil else { return }
        let pending = outgoing.withLock { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        var sent = 0
        var refused = 0
        for (index, item) in pending.enumerated() {
            do {
                let accepted = try item.payload.withUnsafeBytes { bytes throws(TransportError) in
                    try socket.send(bytes, to: item.destination)
                }
                if accepted {
                    sent += 1
                } else {
                    // Kernel buffer full: keep the rest and retry when the socket is writable.
                    let rest = pending[index...]
                    outgoing.withLock { $0.insert(contentsOf: rest, at: 0) }
                    watcher?.setWantsWrite(true)
                    refused = rest.count
                    break
                }
            } catch {
                logger.warning(
                    "udp send failed", metadata: ["destination": "\(item.destination)", "error": "\(error)"])
            }
        }
        if refused == 0 { watcher?.setWantsWrite(false) }
        stats.withLock { $0.sent += sent }
    }

    private func readAvailable() {
        var received = 0
        var dropped = 0
        var oversized = 0
        let deliver = inbox.delivery
        do {
            // Bounded so a flood on this socket cannot starve the rest of the loop; libev is
            // level-triggered and calls again while datagrams remain.
            for _ in 0..<8 {
                let count = try batch.receive(from: socket) { payload, source in
                    guard let source else {
                        oversized += 1
                        return
                    }
                    if deliver(Datagram(payload: Array(payload), source: source)) {
                        received += 1
                    } else {
                        dropped += 1
                    }
                }
                if count < batch.slotCount { break }
            }
        } catch {
            logger.warning("udp receive failed", metadata: ["error": "\(error)"])
        }
        if received + dropped + oversized > 0 {
            stats.withLock {
                $0.received += received
                $0.droppedQueueFull += dropped
                $0.droppedOversized += oversized
            }
        }
    }
}
