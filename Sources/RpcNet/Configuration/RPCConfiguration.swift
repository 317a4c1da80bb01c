public import Transports

/// Everything an RpcNet server or client over QUIC needs, set builder-style and checked with
/// ``validated(for:)`` before anything binds a socket:
///
/// ```swift
/// let configuration = RPCConfiguration(bindAddress: "0.0.0.0:4433")
///     .withCertificate(chain: "certs/server.pem", key: "certs/server-key.pem")
///     .withKeepAlive(.seconds(5))
///     .withDefaultTimeout(.seconds(30))
/// ```
///
/// Each `with…` method returns a changed copy, so one base configuration can be specialised for
/// several roles. Settings not exposed here are on ``quic`` (windows, packet size, Retry policy).
public struct RPCConfiguration: Sendable {
    /// The address to bind, `host:port` (a host name, an IPv4 address or a bracketed IPv6
    /// address; see ``/Transports/HostAndPort``); port 0 picks a free one. When `nil`, a server binds
    /// `127.0.0.1:0` and a client binds the wildcard address of the family of the server it
    /// dials (`0.0.0.0:0` or `[::]:0`), so it can reach any host.
    public var bindAddress: String?
    /// PEM certificate chain presented to peers (required for a server).
    public var certificateChainFile: String?
    /// PEM private key of ``certificateChainFile``.
    public var privateKeyFile: String?
    /// PEM file of the authorities that sign peers' certificates; `nil` trusts the system store.
    public var trustedCAFile: String?
    /// The name a client checks the server's certificate against; `nil` uses the host of the
    /// address it dials.
    public var serverName: String?
    /// Server: refuse clients without a certificate signed by ``trustedCAFile`` (mutual TLS).
    public var requireClientCertificate = false
    /// Wire limits checked before allocating, on both sides.
    public var limits = WireLimits()
    /// Timeout of calls whose options set none; `nil` for none.
    public var defaultTimeout: Duration?
    /// Server: calls one connection may run at once.
    public var maxConcurrentCallsPerConnection = 1024
    /// Transport settings; the certificate, trust, keep-alive and idle-timeout settings above
    /// are copied into it.
    public var quic = QUICConfiguration()

    /// A configuration binding `bindAddress` (see ``bindAddress`` for the defaults).
    public init(bindAddress: String? = nil) {
        self.bindAddress = bindAddress
    }

    /// Sets the address to bind.
    public func withBindAddress(_ address: String) -> Self { changing { $0.bindAddress = address } }

    /// Sets the certificate chain and private key this side presents.
    public func withCertificate(chain: String, key: String) -> Self {
        changing {
            $0.certificateChainFile = chain
            $0.privateKeyFile = key
        }
    }

    /// Trusts the authorities in `caFile` instead of the system store.
    public func withTrustedCA(_ caFile: String) -> Self { changing { $0.trustedCAFile = caFile } }

    /// Sets the name the server's certificate must carry.
    public func withServerName(_ name: String) -> Self { changing { $0.serverName = name } }

    /// Requires clients to present a certificate signed by the trusted CA.
    public func requiringClientCertificates() -> Self { changing { $0.requireClientCertificate = true } }

    /// Sends a PING after `interval` without traffic so idle connections stay open; `nil` disables.
    public func withKeepAlive(_ interval: Duration?) -> Self { changing { $0.quic.keepAliveInterval = interval } }

    /// Closes a connection after `timeout` without hearing from the peer (RFC 9000 §10.1).
    public func withIdleTimeout(_ timeout: Duration) -> Self { changing { $0.quic.idleTimeout = timeout } }

    /// Sets the timeout of calls whose options set none.
    public func withDefaultTimeout(_ timeout: Duration?) -> Self { changing { $0.defaultTimeout = timeout } }

    /// Sets the wire limits.
    public func withLimits(_ limits: WireLimits) -> Self { changing { $0.limits = limits } }

    /// Sets the largest message either side accepts.
    public func withMaxMessageSize(_ bytes: Int) -> Self { changing { $0.limits.maxMessageSize = bytes } }

    /// Sets how many calls one connection may run at once on a server.
    public func withMaxConcurrentCallsPerConnection(_ calls: Int) -> Self {
        changing { $0.maxConcurrentCallsPerConnection = calls }
    }

    private func changing(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}
