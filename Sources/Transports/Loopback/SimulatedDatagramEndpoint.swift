import Synchronization

/// A datagram endpoint on a ``SimulatedNetwork``.
///
/// Received datagrams go to a synchronous handler when one is installed (a deterministic
/// simulation steps protocol state machines inside ``VirtualClock/advance(by:)``), otherwise to a
/// bounded queue read by ``receive()``.
public final class SimulatedDatagramEndpoint: DatagramTransport {
    public let localAddress: SocketAddress
    public let maxDatagramSize: Int
    /// The network's clock: datagrams arrive while it is driven.
    public var owner: any TransportOwner { network.clock }

    private let network: SimulatedNetwork
    private let inbox: DatagramInbox
    private let closed = Atomic<Bool>(false)

    init(network: SimulatedNetwork, address: SocketAddress, receiveQueueCapacity: Int, maxDatagramSize: Int) {
        self.network = network
        self.localAddress = address
        self.maxDatagramSize = maxDatagramSize
        inbox = DatagramInbox(capacity: receiveQueueCapacity)
    }

    public func setReceiveHandler(_ handler: (@Sendable (Datagram) -> Void)?) {
        inbox.setHandler(handler)
    }

    public func send(_ payload: [UInt8], to destination: SocketAddress) throws(TransportError) {
        guard !closed.load(ordering: .relaxed) else { throw .endpointClosed }
        guard payload.count <= maxDatagramSize else {
            throw .messageTooLarge(size: payload.count, limit: maxDatagramSize)
        }
        network.send(payload, from: localAddress, to: destination)
    }

    public func receive() async throws -> Datagram? {
        try await inbox.next()
    }

    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        network.unbind(self)
        inbox.finish()
    }

    /// Takes a datagram from the network; false when the queue is full.
    func accept(_ datagram: Datagram) -> Bool {
        inbox.delivery(datagram)
    }
}
