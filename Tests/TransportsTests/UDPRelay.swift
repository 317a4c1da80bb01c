import Synchronization

@testable import Transports

/// A UDP forwarder between one client and a target, which can start dropping everything (a peer
/// vanishing without a CONNECTION_CLOSE) or swap the next two datagrams from a client (a
/// reordering network).
final class UDPRelay: Sendable {
    private let endpoint: UDPDatagramEndpoint
    private let target: SocketAddress
    private let dropping = Atomic<Bool>(false)
    /// Set by ``swapNextTwoFromClient()``; the first of the two while it is held back.
    private let swapping = Mutex<(armed: Bool, held: Datagram?)>((false, nil))
    /// Datagrams from a client that went out in swapped order.
    let swapped = Atomic<Int>(0)
    private let client = Mutex<SocketAddress?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    var localAddress: SocketAddress { endpoint.localAddress }

    private init(endpoint: UDPDatagramEndpoint, target: SocketAddress) {
        self.endpoint = endpoint
        self.target = target
    }

    static func start(reactor: Reactor, target: SocketAddress) async throws -> UDPRelay {
        let relay = UDPRelay(
            endpoint: try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback()), target: target)
        // On the reactor's thread, so a busy cooperative pool cannot delay forwarding.
        let task = Task(executorPreference: reactor) { [relay] in await relay.run() }
        relay.task.withLock { $0 = task }
        return relay
    }

    private func run() async {
        while let datagram = try? await endpoint.receive() {
            if dropping.load(ordering: .relaxed) { continue }
            if datagram.source == target {
                if let client = client.withLock({ $0 }) { try? endpoint.send(datagram.payload, to: client) }
            } else {
                client.withLock { $0 = datagram.source }
                let (forward, thenHeld): (Datagram?, Datagram?) = swapping.withLock { swapping in
                    guard swapping.armed else { return (datagram, nil) }
                    guard let held = swapping.held else {
                        swapping.held = datagram
                        return (nil, nil)
                    }
                    swapping = (false, nil)
                    return (datagram, held)
                }
                if let forward { try? endpoint.send(forward.payload, to: target) }
                if let thenHeld {
                    try? endpoint.send(thenHeld.payload, to: target)
                    swapped.add(2, ordering: .relaxed)
                }
            }
        }
    }

    func blackhole() { dropping.store(true, ordering: .relaxed) }

    /// Holds back the next datagram from a client until the one after it has been forwarded.
    func swapNextTwoFromClient() { swapping.withLock { $0 = (true, nil) } }

    func stop() {
        endpoint.close()
        task.withLock { $0?.cancel() }
    }
}
