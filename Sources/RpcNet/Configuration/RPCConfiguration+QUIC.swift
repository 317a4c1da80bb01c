public import Logging
public import Transports

extension QUICEndpoint {
    /// Validates `configuration` for a server and binds a QUIC listener at its address.
    public static func listen(
        reactor: Reactor, configuration: RPCConfiguration, logger: Logger = Logger(label: "rpcnet.quic")
    ) async throws -> QUICEndpoint {
        let validated = try configuration.validated(for: .server)
        let address = try await resolve(validated.bindAddress ?? HostAndPort(host: "127.0.0.1", port: 0), "bindAddress")
        return try await rejectedByTransport {
            try await listen(reactor: reactor, address: address, configuration: validated.quic, logger: logger)
        }
    }
}

extension RPCServer {
    /// A server with the limits of `configuration`, validated for a server.
    public convenience init(
        _ configuration: RPCConfiguration, clock: any NetworkClock = MonotonicClock(),
        logger: Logger = Logger(label: "rpcnet.server")
    ) throws(RPCConfigurationError) {
        self.init(configuration: try configuration.validated(for: .server).server, clock: clock, logger: logger)
    }
}

extension RPCClient {
    /// Validates `configuration` for a client, binds a QUIC endpoint, connects to `address`
    /// (`host:port`, the host a name or an IP address; see ``/Transports/HostAndPort``) and returns a client
    /// that redials after losing the connection. A host name is resolved off the reactor thread.
    /// The server's certificate must carry the configuration's server name, or else the host
    /// written in `address` (the name as given, not the address it resolved to). The endpoint
    /// binds the configuration's bind address, or by default the wildcard address of the
    /// server's family. Closing the client closes the endpoint.
    ///
    /// Fails with ``RPCConfigurationError`` for bad settings (an address that does not parse or
    /// resolve included) and with ``RPCStatus`` (code `unavailable`, naming the cause: a TLS
    /// failure, an unreachable network, nothing listening) when the server cannot be reached.
    public static func connect(
        to address: String, configuration: RPCConfiguration, reactor: Reactor,
        logger: Logger = Logger(label: "rpcnet.client")
    ) async throws -> RPCClient {
        let validated = try configuration.validated(for: .client)
        let server: HostAndPort
        do {
            server = try HostAndPort(parsing: address)
        } catch {
            throw RPCConfigurationError.badAddress(setting: "address", error)
        }
        let target = try await resolve(server, "address")
        var bindAddress = SocketAddress.wildcard(family: target.family)
        if let configured = validated.bindAddress {
            bindAddress = try await resolve(configured, "bindAddress", for: target)
        }
        let endpoint = try await rejectedByTransport {
            try await QUICEndpoint.client(
                reactor: reactor, configuration: validated.quic, bindAddress: bindAddress, logger: logger)
        }
        let client = RPCClient(
            dialer: endpoint, address: target, serverName: configuration.serverName ?? server.host,
            configuration: validated.client, logger: logger, onClose: { endpoint.close() })
        do {
            try await client.connect()
        } catch {
            client.close()
            throw error
        }
        return client
    }
}

/// Resolves the address of `setting`, reporting failure as an ``RPCConfigurationError``.
private func resolve(_ address: HostAndPort, _ setting: String, for peer: SocketAddress? = nil)
    async throws(RPCConfigurationError) -> SocketAddress
{
    do {
        return try await address.resolve(for: peer)
    } catch {
        throw .badAddress(setting: setting, error)
    }
}

/// Runs `body`, reporting the transport's configuration errors as ``RPCConfigurationError``.
private func rejectedByTransport<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch TransportError.invalidConfiguration(let reason) {
        throw RPCConfigurationError.rejectedByTransport(reason)
    }
}
