import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import RpcNet
@testable import Transports

@Suite("swift-service-lifecycle services")
struct LifecycleTests {
    @Test(
        "on graceful shutdown a membership leaves, a server drains its calls, and the reactor stops",
        .timeLimit(.minutes(1)))
    func gracefulShutdown() async throws {
        let reactor = try Reactor.start(name: "lifecycle")
        let configuration = TestCertificates.node
        let endpoint = try await QUICEndpoint.listen(reactor: reactor, configuration: configuration)
        let server = try RPCServer(configuration)
        let started = Atomic<Bool>(false)
        server.register(
            "Slow.echo",
            unary: { request, _ in
                started.store(true, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(500))
                return request
            })
        let member = try ClusterMembership(
            configuration: .init(name: "served"), transport: endpoint.sideChannel())
        let observerEndpoint = try await UDPDatagramEndpoint.bind(
            reactor: reactor, address: .loopback(), maxDatagramSize: 1400)
        let observer = try ClusterMembership(configuration: .init(name: "observer"), transport: observerEndpoint)
        defer { observer.shutdown() }

        // In shutdown order reversed, as a node's group would be: the membership leaves first,
        // then the server drains, then the reactor stops.
        let services = ServiceGroup(
            services: [
                ReactorService(reactor), RPCServerService(server: server, listener: endpoint, gracePeriod: .seconds(5)),
                member,
            ],
            logger: Logger(label: "lifecycle-test"))
        let running = Task { try await services.run() }
        try await observer.join(seeds: [member.address], timeout: .seconds(10))
        try await eventually { observer.member(named: "served")?.status == .alive }
        let client = try await RPCClient.connect(
            to: "localhost:\(endpoint.localAddress.port)",
            configuration: TestCertificates.client, reactor: reactor)
        defer { client.close() }
        let call = Task { try await client.unary("Slow.echo", [42]) }
        try await eventually { started.load(ordering: .relaxed) }
        await services.triggerGracefulShutdown()
        // The call in flight finishes; the observer heard the member leave, not fail.
        #expect(try await call.value == [42])
        try await running.value
        #expect(observer.member(named: "served")?.status == .left)
        #expect(reactor.isLoopReleased)
    }
}
