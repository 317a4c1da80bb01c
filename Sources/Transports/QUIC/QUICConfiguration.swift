public import CoreMetrics

/// Settings of a QUIC endpoint: TLS identity and trust, limits, timeouts and windows.
///
/// Defaults suit an RPC service on a LAN; every limit bounds memory a peer can make us spend.
public struct QUICConfiguration: Sendable {
    /// Where trusted certificate authorities come from.
    public enum TrustRoots: Sendable, Equatable {
        /// The operating system's store.
        case system
        /// A PEM file of CA certificates.
        case file(String)
    }

    /// Application protocols offered (client) or accepted (server); negotiation is mandatory.
    public var applicationProtocols: [String] = ["rpcnet/1"]
    /// Client only, for tests: whether the ClientHello carries the ALPN extension at all (a
    /// server must refuse a client that offers none).
    var offersApplicationProtocols = true
    /// PEM certificate chain presented to peers: required for servers, and for clients when the
    /// server demands client certificates.
    public var certificateChainFile: String?
    /// PEM private key for ``certificateChainFile``.
    public var privateKeyFile: String?
    /// Authorities used to verify the peer's certificate.
    public var trustRoots: TrustRoots = .system
    /// Server only: reject clients that do not present a certificate signed by ``trustRoots``.
    public var requireClientCertificate = false
    /// TLS 1.3 session resumption (RFC 8446 §2.2): a server issues session tickets, and a client
    /// keeps the latest ticket of each server it reached (by server name and address, at most
    /// 256, each used once) and resumes with it, which skips the certificate signature and
    /// verification that dominate a handshake's CPU. The resumed session keeps the identity
    /// proven by the full handshake it came from. 1-RTT only: no 0-RTT early data is sent or
    /// accepted, so nothing a client sends can be replayed by an attacker (RFC 8446 §8).
    public var sessionResumption = true

    /// Close a connection after this long without receiving anything (RFC 9000 §10.1).
    public var idleTimeout: Duration = .seconds(30)
    /// Send a PING when nothing was sent for this long, keeping an idle connection open; `nil` disables.
    public var keepAliveInterval: Duration?
    /// The round-trip time assumed before the first measurement (RFC 9002 §6.2.2). It sets the
    /// first retransmission timeout and ngtcp2's first pacing interval; RFC 9002's 333 ms suits
    /// unknown Internet paths, but with it ngtcp2 0.12 holds the client's TLS Finished for about
    /// 23 ms on a LAN. RpcNet's clusters run on LANs and data-centre networks, hence 10 ms.
    public var initialRTT: Duration = .milliseconds(10)
    /// Abandon a handshake that has not completed after this long.
    public var handshakeTimeout: Duration = .seconds(10)

    /// Bidirectional streams the peer may have open at once.
    public var maxConcurrentStreams: UInt64 = 1024
    /// Initial per-stream receive window; ngtcp2 grows it up to ``maxStreamReceiveWindow``.
    public var streamReceiveWindow: UInt64 = 256 * 1024
    /// Upper bound of the auto-tuned per-stream receive window.
    public var maxStreamReceiveWindow: UInt64 = 6 * 1024 * 1024
    /// Initial connection-wide receive window.
    public var connectionReceiveWindow: UInt64 = 1024 * 1024
    /// Upper bound of the auto-tuned connection receive window.
    public var maxConnectionReceiveWindow: UInt64 = 16 * 1024 * 1024
    /// Unacknowledged bytes a stream buffers before its writer is suspended.
    public var streamSendBufferLimit = 1024 * 1024
    /// Unacknowledged bytes all streams of one connection buffer together before their writers
    /// are suspended: what one peer that stops reading can pin, however many streams it opens
    /// (``SendBudget``).
    public var connectionSendBudget = 4 * 1024 * 1024
    /// Unacknowledged bytes all connections of one endpoint buffer together. A write that would
    /// overdraw it resets the streams of the connection holding the most, rather than making
    /// every peer wait for the slowest (``SendBudget``).
    public var endpointSendBudget = 256 * 1024 * 1024
    /// Largest UDP payload this endpoint sends and accepts. The RFC 9000 floor is 1,200; 1,452
    /// fits Ethernet. Jumbo-frame networks (8,952) and loopback can use more, up to 65,507, the
    /// most an IPv4 UDP datagram carries.
    public var maxUDPPayloadSize = 1452
    /// Server only: connections (established or handshaking) kept at once; further Initial
    /// packets are dropped.
    public var maxConnections = 10_000
    /// Server only: once this many connections are mid-handshake, a new client must first prove
    /// it owns its address with a Retry round trip (RFC 9000 §8.1.2), so spoofed Initial packets
    /// cannot fill ``maxConnections``. 0 demands it of every client; `nil` never does.
    public var retryThreshold: Int? = 64
    /// Server only: connections that completed their handshake but were not yet accepted.
    public var acceptBacklog = 256
    /// The secret stateless-reset tokens are derived from (RFC 9000 §10.3), at least 16 bytes.
    /// A server restarted with the same secret answers packets of connections it forgot with a
    /// stateless reset its clients accept, so they re-dial at once instead of waiting for the
    /// idle timeout. `nil` derives it from the server's private key file and bound port (stable
    /// across restarts, distinct per key and port); a client draws a random one.
    public var statelessResetSecret: [UInt8]?
    /// Stateless resets sent per second at most, so unknown packets cannot be turned into a
    /// flood of replies.
    public var maxStatelessResetsPerSecond = 100
    /// Route ngtcp2's debug log to the endpoint's logger at trace level (very verbose).
    public var debugLogging = false
    /// How the endpoint's swift-metrics instruments are named (`rpcnet.quic.*`, ``QUICEndpoint``).
    public var metricsNaming = MetricsNaming()
    /// Where the endpoint's instruments are made; `nil` for the factory `MetricsSystem` was
    /// bootstrapped with. Tests pass their own.
    public var metricsFactory: (any MetricsFactory)?

    /// Creates a configuration with the defaults.
    public init() {}

    /// A server configuration presenting `certificateChainFile` / `privateKeyFile`.
    public static func server(certificateChainFile: String, privateKeyFile: String) -> QUICConfiguration {
        var configuration = QUICConfiguration()
        configuration.certificateChainFile = certificateChainFile
        configuration.privateKeyFile = privateKeyFile
        return configuration
    }

    /// A client configuration trusting the authorities in `trustedCAFile` (system store when nil).
    public static func client(trustedCAFile: String? = nil) -> QUICConfiguration {
        var configuration = QUICConfiguration()
        configuration.trustRoots = trustedCAFile.map { .file($0) } ?? .system
        return configuration
    }

    /// Checks the settings, naming the first bad one.
    public func validate(asServer: Bool) throws(TransportError) {
        if applicationProtocols.isEmpty || applicationProtocols.contains(where: { $0.isEmpty || $0.utf8.count > 255 }) {
            throw .invalidConfiguration("applicationProtocols must hold 1 to 255-byte names")
        }
        if asServer, certificateChainFile == nil || privateKeyFile == nil {
            throw .invalidConfiguration("a server needs certificateChainFile and privateKeyFile")
        }
        if (certificateChainFile == nil) != (privateKeyFile == nil) {
            throw .invalidConfiguration("certificateChainFile and privateKeyFile go together")
        }
        if let secret = statelessResetSecret, secret.count < 16 {
            throw .invalidConfiguration("statelessResetSecret must hold at least 16 bytes")
        }
        if maxStatelessResetsPerSecond < 0 {
            throw .invalidConfiguration("maxStatelessResetsPerSecond must not be negative")
        }
        if !(1200...65_507).contains(maxUDPPayloadSize) {
            throw .invalidConfiguration("maxUDPPayloadSize must be within 1200...65507")
        }
        if idleTimeout <= .zero || handshakeTimeout <= .zero || initialRTT <= .zero {
            throw .invalidConfiguration("idleTimeout, handshakeTimeout and initialRTT must be positive")
        }
        if maxConcurrentStreams == 0 || streamReceiveWindow == 0 || connectionReceiveWindow == 0
            || streamSendBufferLimit <= 0 || connectionSendBudget <= 0 || endpointSendBudget < connectionSendBudget
        {
            throw .invalidConfiguration(
                "stream limits, windows and send budgets must be positive, endpointSendBudget at least connectionSendBudget"
            )
        }
    }
}
