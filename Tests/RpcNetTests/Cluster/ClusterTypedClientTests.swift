import Testing
import Transports

@testable import RpcNet

@Suite("Generated clients over a cluster client")
struct ClusterTypedClientTests {
    @Test("a generated client runs over a ClusterClient: tag routing, typed errors, idempotent retry")
    func generatedClientOverCluster() async throws {
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin)
        try workers.startWorker(index: 3, tags: ["gpu": "true"])
        workers.cluster.run(for: .seconds(3))
        try await workers.run {
            let gpu = GeneratorClient(workers.client.workers(matching: ["gpu": "true"]))
            for _ in 0..<3 {
                let name = try await gpu.identify(IdentifyRequest())
                #expect(name == "w3")
            }
            workers.setFailing("w3", true)
            // A service error comes back typed; a stream whose request left is not retried.
            await #expect(throws: GeneratorError.refused(worker: "w3")) {
                try await gpu.tokens(TokenRange(after: 0, through: 2)) { tokens in for try await _ in tokens {} }
            }
            // An idempotent call is retried while another matching worker exists; here none does.
            await #expect(throws: ClusterClientError.self) { try await gpu.identify(IdentifyRequest()) }
            // `identify` is idempotent: a worker failing it sends it to another.
            workers.setFailing("w1", true)
            let any = GeneratorClient(workers.client)
            for _ in 0..<4 {
                let name = try await any.identify(IdentifyRequest())
                #expect(name == "w2")
            }
            #expect(workers.registry.totalLoad == 0)
        }
    }

    @Test("a typed resumable stream moves to another worker and resumes after the last position")
    func typedResumableStream() async throws {
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin)
        workers.setFailing("w1", true)
        try await workers.run {
            let received = Shared<[GeneratedToken]>([])
            let last = try await workers.client.resumableStream(
                GeneratorClient.Methods.tokens, from: 0, request: { TokenRange(after: $0, through: 5) }
            ) { token in
                received.withLock { $0.append(token) }
                return token.sequence
            }
            #expect(last == 5)
            #expect(received.current == (1...5).map { GeneratedToken(sequence: $0, worker: "w2") })
        }
    }

    @Test("call every worker: results as they arrive, one failing, one slow past the deadline, none matching")
    func callEachWorker() async throws {
        let workers = try SimulatedWorkers(workers: 3)
        workers.setFailing("w2", true)
        try await workers.run {
            let request = IdentifyRequest(slowWorker: "w3", delayMilliseconds: 5_000)
            var arrived: [String] = []
            var outcomes: [String: Result<String, any Error>] = [:]
            let replies = workers.client.callEachWorker(options: CallOptions(timeout: .seconds(1))) { caller, options in
                try await GeneratorClient(caller).identify(request, options: options)
            }
            for await reply in replies {
                arrived.append(reply.worker.name)
                outcomes[reply.worker.name] = reply.result
            }
            #expect(Set(arrived) == ["w1", "w2", "w3"])
            #expect(arrived.last == "w3")
            #expect(try outcomes["w1"]?.get() == "w1")
            #expect(throws: GeneratorError.refused(worker: "w2")) { try outcomes["w2"]?.get() }
            do {
                _ = try outcomes["w3"]?.get()
                Issue.record("the slow worker's call outlived the deadline")
            } catch let status as RPCStatus {
                #expect(status.code == .deadlineExceeded)
            }
            var none = 0
            for await _ in workers.client.callEachWorker(matching: ["gpu": "true"], { _, _ in 1 }) { none += 1 }
            #expect(none == 0)
            #expect(workers.registry.totalLoad == 0)
        }
    }
}
