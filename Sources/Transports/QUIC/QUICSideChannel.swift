import Synchronization

/// Plain datagrams sharing a ``QUICEndpoint``'s UDP port: how a cluster node gossips on the same
/// address it serves RPC on, so one address names a node.
///
/// The two are told apart as the endpoint reads each datagram. One whose destination connection
/// ID belongs to a connection of ours is QUIC. Otherwise, one whose first byte is in the
/// channel's ``firstBytes`` comes here. Those bytes have both high bits clear: every QUIC v1
/// packet that could start a connection is a long-header packet (`0x80`), and a short-header
/// packet (`0x40`, the fixed bit) is only meaningful for an existing connection. Keep the range
/// narrow: RFC 9287 lets peers clear the fixed bit, and a short-header packet of a connection
/// this endpoint no longer has (from before a restart) that falls in the range is taken for a
/// side-channel datagram, where outside it would be answered with a stateless reset. Gossip's
/// first byte is its version, 1 (docs/PROTOCOL.md §7.2), the default range. Anything sent
/// through this channel must start with such a byte, or the receiving endpoint would take it for
/// QUIC; a datagram whose bytes 1… happen to equal one of the receiver's connection IDs (16
/// random bytes) would be taken for QUIC too, and dropped.
///
/// Sends are handed to the loop thread and written on the endpoint's socket; a datagram the
/// kernel refuses (buffer full) is dropped and not counted as sent, as UDP may drop it anyway.
public final class QUICSideChannel: DatagramTransport, @unchecked Sendable {
    /// The first bytes of this channel's datagrams, within `0x00...0x3F`.
    public let firstBytes: ClosedRange<UInt8>

    /// Whether `firstByte` starts a datagram for this side channel rather than a QUIC packet.
    public func carries(firstByte: UInt8) -> Bool {
        firstBytes.contains(firstByte)
    }

    public let localAddress: SocketAddress
    public let maxDatagramSize: Int
    /// The endpoint's reactor, whose loop thread reads the socket.
    public var owner: any TransportOwner { reactor }

    /// Weak: the endpoint keeps its channel, and a strong reference back would keep both alive
    /// forever. A listening endpoint lives until it is closed (its reactor holds it).
    private weak let endpoint: QUICEndpoint?
    private let reactor: Reactor
    private let inbox: DatagramInbox
    private let stats = Mutex(DatagramStatistics())
    private let closed = Atomic<Bool>(false)

    init(endpoint: QUICEndpoint, firstBytes: ClosedRange<UInt8>, maxDatagramSize: Int, receiveQueueCapacity: Int) {
        precondition(firstBytes.upperBound <= 0x3F, "side-channel first bytes must have both high bits clear")
        self.firstBytes = firstBytes
        self.endpoint = endpoint
        self.localAddress = endpoint.localAddress
        self.reactor = endpoint.reactor
        self.maxDatagramSize = maxDatagramSize
        inbox = DatagramInbox(capacity: receiveQueueCapacity)
    }

    /// A snapshot of the channel's counters.
    public var statistics: DatagramStatistics {
        stats.withLock { $0 }
    }

    public func send(_ payload: [UInt8], to destination: SocketAddress) throws(TransportError) {
        guard !closed.load(ordering: .relaxed) else { throw .endpointClosed }
        guard payload.count <= maxDatagramSize else {
            stats.withLock { $0.droppedOversized += 1 }
            throw .messageTooLarge(size: payload.count, limit: maxDatagramSize)
        }
        guard let first = payload.first, carries(firstByte: first) else {
            throw .invalidDatagram("a side-channel datagram must start with a byte in \(firstBytes)")
        }
        guard let endpoint else { throw .endpointClosed }
        reactor.execute { [self] in
            if endpoint.sendRaw(payload, to: destination) { stats.withLock { $0.sent += 1 } }
        }
    }

    public func receive() async throws -> Datagram? {
        try await inbox.next()
    }

    public func setReceiveHandler(_ handler: (@Sendable (Datagram) -> Void)?) {
        inbox.setHandler(handler)
    }

    /// Stops the channel; the endpoint and its connections carry on.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        inbox.finish()
    }

    /// A datagram the endpoint read for us (loop thread).
    func deliver(_ payload: UnsafeRawBufferPointer, from source: SocketAddress) {
        guard !closed.load(ordering: .relaxed) else { return }
        guard payload.count <= maxDatagramSize else {
            stats.withLock { $0.droppedOversized += 1 }
            return
        }
        let delivered = inbox.delivery(Datagram(payload: Array(payload), source: source))
        stats.withLock { delivered ? ($0.received += 1) : ($0.droppedQueueFull += 1) }
    }
}
