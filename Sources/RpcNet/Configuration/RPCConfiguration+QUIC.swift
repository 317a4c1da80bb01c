public import Logging
public import Transports

extension QUICEndpoint {
    /// Validates `configuration` for a server and binds a QUIC listener at its address.
    public static func listen(
        reactor: Reactor, configuration: RPCConfiguration, logger: Logger = Logger(label: "rpcnet.quic")
    ) async throws -> QUICEndpoint {
        let validated = try configuration.validated(for: .server)
        return try await rejectedByTransport {
            try await listen(
                reactor: reactor, address: validated.bindAddress, configuration: validated.quic, logger: logger)
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
    /// Validates `configuration` for a client, binds a QUIC endpoint at its address, connects to
    /// `address` (`host:port`) and returns a client that redials after losing the connection.
    /// The server's certificate must carry the configuration's server name, or else the host
    /// written in `address`. Closing the client closes the endpoint.
    ///
    /// Fails with ``RPCConfigurationError`` for bad settings and with ``RPCStatus`` (code
    /// `unavailable`, naming the cause, e.g. a TLS failure) when the server cannot be reached.
    public static func connect(
        to address: String, configuration: RPCConfiguration, reactor: Reactor,
        logger: Logger = Logger(label: "rpcnet.client")
    ) async throws -> RPCClient {
        let validated = try configuration.validated(for: .client)
        let target: SocketAddress
        do {
            target = try SocketAddress(parsing: address)
        } catch {
            throw RPCConfigurationError.invalidSetting(setting: "address", reason: "\"\(address)\" is not host:port")
        }
        let endpoint = try await rejectedByTransport {
            try await QUICEndpoint.client(
                reactor: reactor, configuration: validated.quic, bindAddress: validated.bindAddress, logger: logger)
        }
        let client = RPCClient(
            dialer: endpoint, address: target, serverName: configuration.serverName ?? host(of: address),
            configuration: validated.client, logger: logger, onClose: { endpoint.close() })
        do {
            try await client.connect()
        } catch {
            client.close()
            throw error
        }
        return client
    }

    /// The host part of `host:port` or `[v6]:port`.
    private static func host(of address: String) -> String {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<close])
        }
        return String(address[..<(address.lastIndex(of: ":") ?? address.endIndex)])
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
