import Foundation
import TestSupport
import Testing

@testable import RpcNet
@testable import Transports

@Suite("Workers' published load over QUIC")
struct WorkerLoadQUICTests {
    @Test(
        "a client that dies mid-stream stops counting in the director's view once the worker's connection idles out",
        .timeLimit(.minutes(1)))
    func deadClientStopsCounting() async throws {
        let reactor = try Reactor.start(name: "worker-load")
        defer { Task { await reactor.shutdown() } }
        let certificates = TestCertificates.directory
        let node = TestCertificates.node.withKeepAlive(.milliseconds(300)).withIdleTimeout(.milliseconds(1500))
        // The worker: a QUIC server streaming forever, gossip on its port, its load published.
        let workerEndpoint = try await QUICEndpoint.listen(reactor: reactor, configuration: node)
        defer { workerEndpoint.close() }
        let server = try RPCServer(node)
        server.register(
            "Tokens.stream",
            serverStreaming: { _, tokens, _ in
                while true {
                    try await tokens.send([1])
                    try await Task.sleep(for: .milliseconds(20))
                }
            })
        let serving = Task { await server.serve(workerEndpoint) }
        defer { serving.cancel() }
        let worker = try ClusterMembership(
            configuration: .init(name: "worker", tags: ["role": "worker"]), transport: workerEndpoint.sideChannel())
        let reporter = WorkerLoadReporter(membership: worker) { server.activeCalls }
        // The director: a member with a registry.
        let directorEndpoint = try await QUICEndpoint.listen(reactor: reactor, configuration: node)
        defer { directorEndpoint.close() }
        let director = try ClusterMembership(
            configuration: .init(name: "director"), transport: directorEndpoint.sideChannel())
        director.start()
        defer {
            director.shutdown()
            worker.shutdown()
            reporter.stop()
        }
        try await worker.join(seeds: [director.address], timeout: .seconds(10))
        reporter.start()
        let registry = WorkerRegistry(membership: director)
        func directorSees(load: Int) -> Bool { registry.workers.first?.reportedLoad == load }
        try await eventually { directorSees(load: 0) }

        // A client process that streams, then dies without a word (kill -9).
        var clientConfiguration = QUICConfiguration.client(trustedCAFile: "\(certificates)/ca.pem")
        clientConfiguration.keepAliveInterval = .milliseconds(300)
        let clientEndpoint = try await QUICEndpoint.client(reactor: reactor, configuration: clientConfiguration)
        let client = RPCClient(dialer: clientEndpoint, address: workerEndpoint.localAddress, serverName: "localhost")
        let stream = Task {
            try await client.serverStreaming("Tokens.stream", []) { tokens in
                for try await _ in tokens {}
            }
        }
        try await eventually { directorSees(load: 1) }
        try await reactor.submit { clientEndpoint.close(reason: .reactorShutdown, notifyingPeers: false) }
        let died = ContinuousClock.now
        try await eventually { directorSees(load: 0) }
        let noticed = ContinuousClock.now - died
        print("MEASURE dead-client-load-cleared \(noticed)")
        #expect(server.activeCalls == 0)
        stream.cancel()
    }
}
