import Glibc
public import Transports

extension RPCConfiguration {
    /// The side of a connection a configuration is checked for.
    public enum Role: Sendable {
        /// Accepts connections: needs a certificate and key.
        case server
        /// Dials out: needs a certificate and key only for mutual TLS.
        case client
    }

    /// A configuration that passed ``validated(for:)``: the parsed address and the settings of
    /// each layer.
    public struct Validated: Sendable {
        /// The address to bind, parsed but not resolved; `nil` for the role's default (see
        /// ``RPCConfiguration/bindAddress``).
        public let bindAddress: HostAndPort?
        /// The transport settings.
        public let quic: QUICConfiguration
        /// The RPC server settings.
        public let server: RPCServer.Configuration
        /// The RPC client settings.
        public let client: RPCClient.Configuration
    }

    /// Checks every setting for `role`, reading each file named (bounded to 1 MiB), and returns
    /// the settings each layer takes. The first problem found is thrown.
    public func validated(for role: Role) throws(RPCConfigurationError) -> Validated {
        let address: HostAndPort?
        do {
            address = try bindAddress.map(HostAndPort.init(parsing:))
        } catch {
            throw .badAddress(setting: "bindAddress", error)
        }
        var quic = self.quic
        quic.requireClientCertificate = role == .server && requireClientCertificate
        switch (certificateChainFile, privateKeyFile) {
        case (let chain?, let key?):
            try Self.checkPEM(chain, setting: "certificateChainFile", holds: ["CERTIFICATE"], expected: "certificate")
            try Self.checkPEM(
                key, setting: "privateKeyFile", holds: ["PRIVATE KEY"], expected: "PEM private key")
            quic.certificateChainFile = chain
            quic.privateKeyFile = key
        case (nil, nil):
            if role == .server {
                throw .invalidSetting(setting: "certificateChainFile", reason: "a server needs a certificate and key")
            }
        default:
            throw .invalidSetting(
                setting: "certificateChainFile", reason: "the certificate chain and private key go together")
        }
        if let ca = trustedCAFile {
            try Self.checkPEM(ca, setting: "trustedCAFile", holds: ["CERTIFICATE"], expected: "CA certificate")
            quic.trustRoots = .file(ca)
        } else if quic.requireClientCertificate {
            throw .invalidSetting(
                setting: "trustedCAFile", reason: "requiring client certificates needs the CA that signs them")
        }
        if let serverName, serverName.isEmpty || serverName.utf8.count > 253 {
            throw .invalidSetting(setting: "serverName", reason: "must be 1 to 253 bytes")
        }
        if let timeout = defaultTimeout, timeout <= .zero {
            throw .invalidSetting(setting: "defaultTimeout", reason: "must be positive")
        }
        if let interval = quic.keepAliveInterval, interval <= .zero || interval >= quic.idleTimeout {
            throw .invalidSetting(setting: "keepAlive", reason: "must be positive and shorter than the idle timeout")
        }
        if maxConcurrentCallsPerConnection <= 0 {
            throw .invalidSetting(setting: "maxConcurrentCallsPerConnection", reason: "must be positive")
        }
        try Self.check(limits)
        do {
            try quic.validate(asServer: role == .server)
        } catch {
            throw .rejectedByTransport("\(error)")
        }
        var server = RPCServer.Configuration()
        server.limits = limits
        server.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        var client = RPCClient.Configuration()
        client.limits = limits
        client.defaultTimeout = defaultTimeout
        return Validated(bindAddress: address, quic: quic, server: server, client: client)
    }

    private static func check(_ limits: WireLimits) throws(RPCConfigurationError) {
        let positive: [(String, Int)] = [
            ("maxMessageSize", limits.maxMessageSize), ("maxMethodNameLength", limits.maxMethodNameLength),
            ("maxMetadataSize", limits.maxMetadataSize), ("maxMetadataEntries", limits.maxMetadataEntries),
            ("maxStatusMessageLength", limits.maxStatusMessageLength),
            ("maxErrorDetailsSize", limits.maxErrorDetailsSize),
        ]
        for (name, value) in positive where value <= 0 {
            throw .invalidSetting(setting: "limits.\(name)", reason: "must be positive")
        }
        // A frame length is a QUIC varint: messages beyond 2^62 cannot be framed at all.
        if UInt64(limits.maxMessageSize) > VarInt.max {
            throw .invalidSetting(setting: "limits.maxMessageSize", reason: "must be below 2^62")
        }
    }

    /// The most a PEM file the configuration names may hold; real chains are a few kilobytes.
    static let maxPEMFileSize = 1024 * 1024

    /// Reads `path` and checks it holds a PEM block whose label contains one of `labels`.
    private static func checkPEM(_ path: String, setting: String, holds labels: [String], expected: String)
        throws(RPCConfigurationError)
    {
        let contents = try readFile(path, setting: setting)
        let text = String(decoding: contents, as: UTF8.self)
        let found = labels.contains { label in
            text.split(separator: "\n").contains { line in
                line.hasPrefix("-----BEGIN ") && line.contains(label) && line.hasSuffix("-----")
            }
        }
        guard found else { throw .invalidContents(setting: setting, path: path, expected: expected) }
    }

    private static func readFile(_ path: String, setting: String) throws(RPCConfigurationError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw .missingFile(setting: setting, path: path) }
            throw .unreadableFile(setting: setting, path: path, reason: String(cString: strerror(code)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .unreadableFile(setting: setting, path: path, reason: String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw .unreadableFile(setting: setting, path: path, reason: "not a regular file")
        }
        guard status.st_size <= maxPEMFileSize else {
            throw .unreadableFile(setting: setting, path: path, reason: "larger than \(maxPEMFileSize) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw .unreadableFile(
                    setting: setting, path: path, reason: count == 0 ? "file shrank" : String(cString: strerror(errno)))
            }
            filled += count
        }
        return bytes
    }
}
