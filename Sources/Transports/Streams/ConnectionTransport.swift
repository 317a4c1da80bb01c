/// A connection carrying multiplexed bidirectional streams: what the RPC layer runs on.
///
/// Implemented by ``QUICConnection`` (ngtcp2 + GnuTLS) and by the simulated network's
/// connections, so RPC code is tested on the loopback network with a virtual clock and runs
/// unchanged on QUIC.
public protocol TransportConnection: AnyObject, Sendable {
    /// This side's address.
    var localAddress: SocketAddress { get }
    /// The peer's address.
    var remoteAddress: SocketAddress { get }
    /// Opens a new bidirectional stream, waiting while the peer's stream limit is reached.
    func openStream() async throws -> TransportStream
    /// The next stream the peer opened; `nil` once the connection is closed.
    func acceptStream() async throws -> TransportStream?
    /// Closes the connection with an application error code (0 for a normal close) that the
    /// peer receives; every open stream fails with ``TransportError/connectionClosed(_:)``.
    func close(code: UInt64, message: String)
    /// Waits until the connection has closed and returns why.
    func closed() async -> CloseReason
    /// Why the connection closed, or `nil` while it is open.
    var closeReason: CloseReason? { get }
    /// The identity the peer's certificate proved during the handshake; `nil` when it presented
    /// none (a client without mutual TLS) or the transport has no certificates.
    var peerIdentity: PeerIdentity? { get }
    /// The executor the connection's own work runs on (a QUIC connection's ``Reactor``), which
    /// tasks serving it may prefer so as not to hop threads; `nil` when it has none.
    var preferredExecutor: (any TaskExecutor)? { get }
    /// Waits until the peer has accepted this connection, or throws why it closed instead. A
    /// dial returns as soon as the connection can carry data, which over QUIC is before the
    /// server has judged the client's certificate (RFC 9001 §4.1.1–§4.1.2): this waits for that
    /// verdict, for callers that want a refusal to show up at once rather than at the first call.
    func waitUntilAccepted() async throws
}

extension TransportConnection {
    /// Transports whose connections are accepted once dialled have nothing to wait for.
    public func waitUntilAccepted() async throws {}
    /// Transports without certificates prove no identity.
    public var peerIdentity: PeerIdentity? { nil }
    /// Transports without a reactor have no executor to prefer.
    public var preferredExecutor: (any TaskExecutor)? { nil }
}

/// Accepts connections that peers open to it.
public protocol ConnectionListener: AnyObject, Sendable {
    /// The address peers connect to.
    var localAddress: SocketAddress { get }
    /// The next connection whose handshake completed; `nil` once the listener is closed.
    func accept() async throws -> (any TransportConnection)?
    /// Stops accepting new connections; those already accepted carry on (a graceful drain).
    /// Clients trying to connect are refused rather than left to time out where the
    /// transport can say so.
    func stopAccepting()
    /// Stops accepting and closes every connection.
    func close()
}

/// Opens connections to listeners.
public protocol ConnectionDialer: Sendable {
    /// Connects to `address`, verifying the peer as `serverName` (a host name or IP literal;
    /// defaults to the address's IP), and returns once the handshake completed on this side
    /// (a server may still refuse this client after that: the connection then closes with why).
    func connect(to address: SocketAddress, serverName: String?) async throws -> any TransportConnection
    /// The executor the dialer's connections run on (a QUIC endpoint's ``Reactor``): a task that
    /// dials on it costs no thread hop on the way in or out; `nil` when it has none.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension ConnectionDialer {
    /// Dialers without a reactor have no executor to prefer.
    public var preferredExecutor: (any TaskExecutor)? { nil }
}
