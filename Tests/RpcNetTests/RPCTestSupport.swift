import Foundation
import Logging
import TestSupport
import Testing

@testable import RpcNet

/// The transports every RPC test runs on.
enum TestTransport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case simulated
    case quic

    var testDescription: String { rawValue }
}

extension TestCertificates {
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
        defer { settle(clock) }
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

/// A server on the simulated network (methods registered by `setup`), a client, and a raw
/// connection to the server for hand-made bytes; time is virtual.
func withRawServer(
    configuration: RPCServer.Configuration = .init(),
    connections: SimulatedConnectionConfiguration = .init(),
    logger: Logger = Logger(label: "rpcnet.server"),
    setup: @escaping @Sendable (RPCServer) -> Void,
    _ body: @escaping @Sendable (RPCClient, any TransportConnection, VirtualClock) async throws -> Void
) async throws {
    let clock = VirtualClock()
    let network = SimulatedNetwork(clock: clock, seed: 9)
    let listener = try network.listen(at: SocketAddress(ip: "10.0.0.1", port: 7000), configuration: connections)
    let server = RPCServer(configuration: configuration, clock: clock, logger: logger)
    setup(server)
    let dialer = network.dialer(from: try SocketAddress(ip: "10.0.0.2", port: 0).host, configuration: connections)
    let client = RPCClient(
        dialer: network.dialer(from: try SocketAddress(ip: "10.0.0.3", port: 0).host), address: listener.localAddress,
        clock: clock)
    defer { settle(clock) }
    try await clock.drive(step: .microseconds(200)) {
        let serving = Task { await server.serve(listener) }
        let raw = try await dialer.connect(to: listener.localAddress, serverName: nil)
        try await body(client, raw, clock)
        raw.close(code: 0, message: "")
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        await serving.value
    }
}

/// Lets a finished simulation deliver what is still in flight: closes sent at the end of a test
/// reach their peers only as virtual time passes, and until then each simulated connection pair
/// (and through it the network, the clock and its timers) holds itself alive, which
/// LeakSanitizer reports at exit. A minute covers the 30 s idle timeout that ends a pair whose
/// path is cut (a frozen worker's host).
func settle(_ clock: VirtualClock) {
    clock.advance(by: .seconds(60))
}

/// The bytes of a call header for `method` with `timeoutMicros` as sent on the wire.
func callHeaderBytes(_ method: String, timeoutMicros: UInt64 = 0) -> [UInt8] {
    var payload: [UInt8] = []
    VarInt.append(UInt64(method.utf8.count), to: &payload)
    payload += Array(method.utf8)
    VarInt.append(timeoutMicros, to: &payload)
    payload.append(0)  // no metadata
    var bytes = [FrameType.callHeader.rawValue]
    VarInt.append(UInt64(payload.count), to: &bytes)
    return bytes + payload
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
    var text: String { String(decoding: self, as: UTF8.self) }
}
