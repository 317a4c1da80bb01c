import Synchronization

@testable import Transports

/// A UDP forwarder between one client and a target, which can start dropping everything: lets a
/// test make a peer vanish without a CONNECTION_CLOSE.
final class UDPRelay: Sendable {
    private let endpoint: UDPDatagramEndpoint
    private let target: SocketAddress
    private let dropping = Atomic<Bool>(false)
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
                try? endpoint.send(datagram.payload, to: target)
            }
        }
    }

    func blackhole() { dropping.store(true, ordering: .relaxed) }

    func stop() {
        endpoint.close()
        task.withLock { $0?.cancel() }
    }
}
