import Foundation
import Testing

@testable import RpcNet

/// The transports every RPC test runs on.
enum TestTransport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case simulated
    case quic

    var testDescription: String { rawValue }
}

enum TestCertificates {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("certs").path

    /// A node's configuration: it serves with the test server certificate and trusts the test CA.
    static var node: RPCConfiguration {
        RPCConfiguration()
            .withCertificate(chain: "\(directory)/server.pem", key: "\(directory)/server-key.pem")
            .withTrustedCA("\(directory)/ca.pem")
    }

    /// A client's configuration: it trusts the test CA.
    static var client: RPCConfiguration {
        RPCConfiguration().withTrustedCA("\(directory)/ca.pem")
    }
}

/// Waits up to 10 s of real time for `condition`, polling with `Task.sleep` (never blocking a
/// thread of the cooperative pool); records an issue if it never holds.
func eventually(
    _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for _ in 0..<1000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within 10 s", sourceLocation: sourceLocation)
}

/// Starts an `RPCServer` (methods registered by `setup`) and a client on `transport`, runs `body`
/// and shuts everything down. On the simulated network a virtual clock drives time.
func withRPC<T: Sendable>(
    _ transport: TestTransport,
    serverConfiguration: RPCServer.Configuration = .init(),
    clientConfiguration: RPCClient.Configuration = .init(),
    setup: @escaping @Sendable (RPCServer) -> Void,
    _ body: @escaping @Sendable (RPCClient, any NetworkClock) async throws -> T
) async throws -> T {
    switch transport {
    case .simulated:
        let clock = VirtualClock()
        let network = SimulatedNetwork(
            clock: clock, seed: 1, defaultConditions: LinkConditions(latency: .microseconds(200)))
        let serverHost = try SocketAddress(ip: "10.0.0.1", port: 0).host
        let clientHost = try SocketAddress(ip: "10.0.0.2", port: 0).host
        let listener = try network.listen(at: SocketAddress(host: serverHost, port: 7000))
        let server = RPCServer(configuration: serverConfiguration, clock: clock)
        setup(server)
        let client = RPCClient(
            dialer: network.dialer(from: clientHost), address: listener.localAddress,
            configuration: clientConfiguration, clock: clock)
        return try await clock.drive(step: .microseconds(100)) {
            let serving = Task { await server.serve(listener) }
            defer { serving.cancel() }
            let result = try await body(client, clock)
            client.close()
            await server.shutdown(gracePeriod: .seconds(1))
            await serving.value
            return result
        }
    case .quic:
        let reactor = try Reactor.start(name: "rpc-test")
        do {
            let listener = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(),
                configuration: .server(
                    certificateChainFile: "\(TestCertificates.directory)/server.pem",
                    privateKeyFile: "\(TestCertificates.directory)/server-key.pem"))
            let dialer = try await QUICEndpoint.client(
                reactor: reactor, configuration: .client(trustedCAFile: "\(TestCertificates.directory)/ca.pem"))
            let server = RPCServer(configuration: serverConfiguration)
            setup(server)
            let serving = Task { await server.serve(listener) }
            let client = RPCClient(
                dialer: dialer, address: listener.localAddress, serverName: "localhost",
                configuration: clientConfiguration)
            let result = try await body(client, MonotonicClock())
            client.close()
            await server.shutdown(gracePeriod: .seconds(1))
            await serving.value
            dialer.close()
            await reactor.shutdown()
            return result
        } catch {
            await reactor.shutdown()
            throw error
        }
    }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
    var text: String { String(decoding: self, as: UTF8.self) }
}
