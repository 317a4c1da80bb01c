import TestSupport
import Testing

@testable import Transports

/// Waits (up to two seconds) until `isReleased` holds: objects closed on the loop thread are
/// released once the loop has run the close.
private func eventually(_ isReleased: () -> Bool) async throws -> Bool {
    for _ in 0..<200 {
        if isReleased() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return isReleased()
}

/// Ownership cycles LeakSanitizer found: each object is checked to be freed once closed and
/// dropped by its user.
@Suite("Closed objects are freed")
struct LeakTests {
    @Test("an endpoint closed with established connections nobody accepted is freed, with its TLS credentials")
    func endpointWithUnacceptedConnections() async throws {
        try await withReactor { reactor in
            var server: QUICEndpoint? = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            let address = server!.localAddress
            let connections = try await withTimeout {
                try await (0..<2).asyncMap { _ in try await client.dial(address, serverName: "localhost") }
            }
            #expect(server!.statistics.handshakesCompleted == 2)
            weak let weakServer = server
            weak let weakTLS = server!.tls(isServer: true)
            #expect(weakTLS != nil)
            server!.close()
            server = nil
            #expect(try await eventually { weakServer == nil })
            #expect(weakTLS == nil)
            for connection in connections { connection.close(code: 0, message: "") }
            client.close()
        }
    }

    @Test("a connection closed with a stream the peer opened and nobody accepted is freed, with its endpoint")
    func connectionWithUnacceptedStream() async throws {
        try await withReactor { reactor in
            var server: QUICEndpoint? = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let client = try await QUICEndpoint.client(reactor: reactor, configuration: TestCertificates.client())
            let address = server!.localAddress
            let connection = try await withTimeout { try await client.dial(address, serverName: "localhost") }
            var accepted = try await server!.acceptConnection()
            try #require(accepted != nil)
            let stream = try await connection.openStream()
            try await stream.write([1, 2, 3], finish: true)
            // Acknowledged: the server opened the stream and queued it for acceptStream().
            #expect(try await eventually { stream.bufferedSendBytes == 0 })
            weak let weakServer = server
            weak let weakAccepted = accepted
            accepted!.close(code: 0, message: "")
            accepted = nil
            server!.close()
            server = nil
            #expect(try await eventually { weakAccepted == nil })
            #expect(weakServer == nil)
            connection.close(code: 0, message: "")
            client.close()
        }
    }

    @Test("an endpoint that handed out a side channel is freed once closed; the channel then refuses sends")
    func endpointWithSideChannel() async throws {
        try await withReactor { reactor in
            var endpoint: QUICEndpoint? = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let channel = endpoint!.sideChannel()
            let address = endpoint!.localAddress
            #expect(channel.localAddress == address)
            weak let weakEndpoint = endpoint
            endpoint!.close()
            endpoint = nil
            #expect(try await eventually { weakEndpoint == nil })
            #expect(throws: TransportError.endpointClosed) { try channel.send([0x01], to: address) }
            channel.close()
        }
    }

    @Test("a simulated network, its endpoints, listener and connections are freed with timers still pending")
    func simulatedNetwork() async throws {
        let clock = VirtualClock()
        let objects = try await closedSimulation(clock: clock)
        // Deliveries and frames are still in flight: the clock (kept) holds their timers.
        #expect(clock.nextDeadline != nil)
        #expect(objects.endpoint == nil)
        #expect(objects.listener == nil)
        clock.advance(by: .seconds(1))
        #expect(objects.client == nil)
        #expect(objects.server == nil)
        #expect(objects.network == nil)
    }

    private final class WeakObjects {
        weak var network: SimulatedNetwork?
        weak var endpoint: SimulatedDatagramEndpoint?
        weak var listener: SimulatedListener?
        weak var client: SimulatedConnection?
        weak var server: SimulatedConnection?
    }

    /// Builds a network with an endpoint, a listener and a connection, leaves traffic in flight,
    /// closes everything and returns weak references to it all.
    private func closedSimulation(clock: VirtualClock) async throws -> WeakObjects {
        let objects = WeakObjects()
        let network = SimulatedNetwork(clock: clock, seed: 7)
        let endpoint = try network.datagramEndpoint(at: address(1, port: 1000))
        let listener = try network.listen(at: address(2, port: 2000))
        let dialer = network.dialer(from: address(1, port: 0).host)
        let target = listener.localAddress
        async let dialled = dialer.connect(to: target)
        while clock.nextDeadline == nil { await Task.yield() }
        clock.advance(by: .seconds(1))
        let client = try await dialled
        let server = try #require(try await listener.accept())
        try endpoint.send([1, 2, 3], to: address(2, port: 2001))
        client.close(code: 0, message: "")
        server.close(code: 0, message: "")
        endpoint.close()
        listener.close()
        objects.network = network
        objects.endpoint = endpoint
        objects.listener = listener
        objects.client = client as? SimulatedConnection
        objects.server = server as? SimulatedConnection
        return objects
    }

    @Test("a closed datagram endpoint whose receive handler captures it is freed")
    func endpointCapturedByItsHandler() throws {
        let network = SimulatedNetwork(clock: VirtualClock(), seed: 1)
        weak var weakEndpoint: SimulatedDatagramEndpoint?
        do {
            let endpoint = try network.datagramEndpoint(at: address(1, port: 1000))
            // Answers from the endpoint it listens on, as a gossip member does.
            endpoint.setReceiveHandler { datagram in try? endpoint.send(datagram.payload, to: datagram.source) }
            weakEndpoint = endpoint
            endpoint.close()
        }
        #expect(weakEndpoint == nil)
    }

    @Test("a simulated endpoint dropped without close unbinds, and its address can be bound again")
    func droppedSimulatedEndpoint() throws {
        let network = SimulatedNetwork(clock: VirtualClock(), seed: 1)
        var endpoint: SimulatedDatagramEndpoint? = try network.datagramEndpoint(at: address(1, port: 1000))
        weak let weakEndpoint = endpoint
        endpoint = nil
        #expect(weakEndpoint == nil)
        let again = try network.datagramEndpoint(at: address(1, port: 1000))
        #expect(again.localAddress == address(1, port: 1000))
    }
}

extension Sequence where Element: Sendable {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
