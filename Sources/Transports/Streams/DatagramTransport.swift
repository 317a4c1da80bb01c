/// A datagram received from the network, with the address it came from.
public struct Datagram: Sendable, Equatable {
    /// The payload bytes.
    public var payload: [UInt8]
    /// Where it came from.
    public var source: SocketAddress

    /// Creates a datagram.
    public init(payload: [UInt8], source: SocketAddress) {
        self.payload = payload
        self.source = source
    }
}

/// An unreliable, unordered message endpoint: what cluster gossip runs on.
///
/// Implemented by ``UDPDatagramEndpoint`` and ``QUICSideChannel`` (real sockets on a reactor) and
/// by the simulated network's endpoints, so the same membership code runs in production and in
/// deterministic tests.
public protocol DatagramTransport: AnyObject, Sendable {
    /// The serial context that runs the receive handler, and the work and timers of state kept
    /// beside the transport: the reactor of a socket's endpoint, the virtual clock of a simulated
    /// network's.
    var owner: any TransportOwner { get }
    /// The address peers send to.
    var localAddress: SocketAddress { get }
    /// Largest payload ``send(_:to:)`` accepts.
    var maxDatagramSize: Int { get }
    /// Queues `payload` for `destination` without waiting. Like UDP, delivery is not guaranteed;
    /// throws ``TransportError/messageTooLarge(size:limit:)`` or ``TransportError/endpointClosed``.
    func send(_ payload: [UInt8], to destination: SocketAddress) throws(TransportError)
    /// The next datagram received; `nil` once the endpoint is closed.
    func receive() async throws -> Datagram?
    /// Hands received datagrams to `handler` instead of queueing them for ``receive()``, in the
    /// ``owner``'s context: on the reactor's loop thread for a socket, driving the virtual clock
    /// in a simulation (which keeps a simulation deterministic). Keep the handler short; `nil`
    /// goes back to queueing.
    func setReceiveHandler(_ handler: (@Sendable (Datagram) -> Void)?)
    /// Closes the endpoint; pending and later ``receive()`` calls return `nil`.
    func close()
}

/// Counters every datagram endpoint keeps, for logs, metrics and tests.
public struct DatagramStatistics: Sendable, Equatable {
    /// Datagrams handed to the network.
    public var sent = 0
    /// Datagrams received and queued for the application.
    public var received = 0
    /// Datagrams dropped because the application's receive queue was full.
    public var droppedQueueFull = 0
    /// Datagrams dropped because they were larger than ``DatagramTransport/maxDatagramSize``.
    public var droppedOversized = 0

    /// Creates zeroed counters.
    public init() {}
}
