import Foundation
import TestSupport
import Testing

@testable import RpcNet

private let certs = TestCertificates.directory

private var serverConfiguration: RPCConfiguration {
    RPCConfiguration().withCertificate(chain: "\(certs)/server.pem", key: "\(certs)/server-key.pem")
}

private var clientConfiguration: RPCConfiguration {
    RPCConfiguration().withTrustedCA("\(certs)/ca.pem")
}

/// A scratch directory removed when the test ends.
private func withScratchDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "rpcnet-config-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

@Suite("Builder-style configuration")
struct ConfigurationTests {
    @Test("a server and a client built from configurations call each other over QUIC")
    func serveAndConnect() async throws {
        try await withReactor(name: "config-test") { reactor in
            let configuration = serverConfiguration.withKeepAlive(.seconds(5)).withIdleTimeout(.seconds(20))
                .withMaxConcurrentCallsPerConnection(8)
            let server = try RPCServer(configuration)
            #expect(server.configuration.maxConcurrentCallsPerConnection == 8)
            server.register(
                "Echo.echo", unary: { request, context in request + [UInt8(context.remainingTime != nil ? 1 : 0)] })
            let listener = try await QUICEndpoint.listen(reactor: reactor, configuration: configuration)
            let serving = Task { await server.serve(listener) }
            let client = try await RPCClient.connect(
                to: "localhost:\(listener.localAddress.port)",
                configuration: clientConfiguration.withDefaultTimeout(.seconds(120)), reactor: reactor)
            #expect(try await client.unary("Echo.echo", [7] as [UInt8]) == [7, 1])
            client.close()
            await server.shutdown(gracePeriod: .seconds(1))
            await serving.value
        }
    }

    @Test("a server name the certificate does not carry fails the connect with unavailable, naming the cause")
    func wrongServerName() async throws {
        try await withReactor(name: "config-test") { reactor in
            let listener = try await QUICEndpoint.listen(reactor: reactor, configuration: serverConfiguration)
            defer { listener.close() }
            do {
                _ = try await RPCClient.connect(
                    to: "127.0.0.1:\(listener.localAddress.port)",
                    configuration: clientConfiguration.withServerName("elsewhere.example"), reactor: reactor)
                Issue.record("the connect must fail")
            } catch let status as RPCStatus {
                #expect(status.code == .unavailable)
                #expect(status.message.contains("server name"))
            }
        }
    }

    @Test("a missing file, an unreadable key and a file with the wrong contents are named precisely")
    func badFiles() throws {
        try withScratchDirectory { scratch in
            #expect(
                throws: RPCConfigurationError.missingFile(setting: "certificateChainFile", path: "\(scratch)/nope.pem")
            ) {
                try RPCConfiguration().withCertificate(chain: "\(scratch)/nope.pem", key: "\(certs)/server-key.pem")
                    .validated(for: .server)
            }
            // A directory where the key should be cannot be read as one (tests run as root, so
            // file permissions would not stop the read).
            #expect(
                throws: RPCConfigurationError.unreadableFile(
                    setting: "privateKeyFile", path: scratch, reason: "not a regular file")
            ) {
                try RPCConfiguration().withCertificate(chain: "\(certs)/server.pem", key: scratch).validated(
                    for: .server)
            }
            let garbage = "\(scratch)/garbage.pem"
            _ = FileManager.default.createFile(atPath: garbage, contents: Data("not a key\n".utf8))
            #expect(
                throws: RPCConfigurationError.invalidContents(
                    setting: "privateKeyFile", path: garbage, expected: "PEM private key")
            ) {
                try RPCConfiguration().withCertificate(chain: "\(certs)/server.pem", key: garbage).validated(
                    for: .server)
            }
            // A key is not a certificate.
            #expect(
                throws: RPCConfigurationError.invalidContents(
                    setting: "trustedCAFile", path: "\(certs)/ca-key.pem", expected: "CA certificate")
            ) {
                try RPCConfiguration().withTrustedCA("\(certs)/ca-key.pem").validated(for: .client)
            }
        }
    }

    @Test(
        "bad bind addresses are refused before anything binds, naming the setting and the mistake",
        arguments: [
            ("nonsense", "no ':port'"), ("127.0.0.1", "no ':port'"), ("[::1]4433", "no ':port' after the IPv6 host"),
            ("127.0.0.1:99999", "port '99999' is not a number from 0 to 65535"), ("", "no ':port'"),
            ("::1:80", "an IPv6 host must be in brackets"), ("a b:80", "'a b' is not a host name or IP address"),
            ("[10.0.0.1]:80", "'10.0.0.1' in brackets is not an IPv6 address"),
        ])
    func badAddresses(address: String, reason: String) {
        do {
            _ = try serverConfiguration.withBindAddress(address).validated(for: .server)
            Issue.record("'\(address)' was accepted")
        } catch {
            guard case .badAddress(let setting, .malformed(let text, let why)) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(setting == "bindAddress")
            #expect(text == address)
            #expect(why.hasPrefix(reason), "\(why)")
            #expect("\(error)".hasPrefix("bindAddress: invalid address '\(address)': \(reason)"))
        }
    }

    @Test("settings that cannot work for the role are refused with the setting's name")
    func badSettings() throws {
        func setting(of configuration: RPCConfiguration, as role: RPCConfiguration.Role) -> String? {
            do {
                _ = try configuration.validated(for: role)
                return nil
            } catch {
                guard case .invalidSetting(let setting, _) = error else { return "\(error)" }
                return setting
            }
        }
        #expect(setting(of: RPCConfiguration(), as: .server) == "certificateChainFile")
        #expect(setting(of: RPCConfiguration(), as: .client) == nil)
        #expect(setting(of: clientConfiguration.withKeepAlive(.seconds(60)), as: .client) == "keepAlive")
        #expect(setting(of: serverConfiguration.requiringClientCertificates(), as: .server) == "trustedCAFile")
        #expect(setting(of: clientConfiguration.withDefaultTimeout(.zero), as: .client) == "defaultTimeout")
        #expect(setting(of: clientConfiguration.withMaxMessageSize(0), as: .client) == "limits.maxMessageSize")
        #expect(setting(of: clientConfiguration.withServerName(""), as: .client) == "serverName")
        #expect(
            setting(of: serverConfiguration.withMaxConcurrentCallsPerConnection(0), as: .server)
                == "maxConcurrentCallsPerConnection")
        let validated = try serverConfiguration.withTrustedCA("\(certs)/ca.pem").requiringClientCertificates()
            .withDefaultTimeout(.seconds(3)).validated(for: .server)
        #expect(validated.quic.requireClientCertificate)
        #expect(validated.client.defaultTimeout == .seconds(3))
        #expect(validated.bindAddress == nil)
        #expect(
            try serverConfiguration.withBindAddress("director.example:61000").validated(for: .server).bindAddress
                == HostAndPort(host: "director.example", port: 61000))
    }

    @Test("a key that does not match the certificate is refused by TLS when binding")
    func mismatchedKey() async throws {
        let configuration = RPCConfiguration().withCertificate(
            chain: "\(certs)/server.pem", key: "\(certs)/client-key.pem")
        _ = try configuration.validated(for: .server)
        try await withReactor(name: "config-test") { reactor in
            await #expect {
                _ = try await QUICEndpoint.listen(reactor: reactor, configuration: configuration)
            } throws: { error in
                guard case RPCConfigurationError.rejectedByTransport(let reason) = error else { return false }
                return reason.contains("server.pem")
            }
        }
    }
}
