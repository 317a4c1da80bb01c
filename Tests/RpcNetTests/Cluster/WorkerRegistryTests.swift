import Synchronization
import Testing
import Transports

@testable import RpcNet

@Suite("Worker registry")
struct WorkerRegistryTests {
    @Test("the registry follows tags live, drops a killed worker and re-adds it when it comes back")
    func followsMembership() throws {
        let workers = try SimulatedWorkers(workers: 3)
        defer { workers.cluster.shutdown() }
        let registry = workers.registry
        #expect(registry.workers.map(\.name) == ["w1", "w2", "w3"])
        #expect(registry.workers.first?.tags["label"] == "w1")

        try workers.cluster.members["w2"]!.setTag("gpu", to: "true")
        workers.cluster.run(for: .seconds(1))
        for _ in 0..<5 { #expect(try registry.select(matching: ["gpu": "true"]).worker.name == "w2") }
        #expect(throws: ClusterClientError.noWorkerAvailable(filter: ["gpu": "false"])) {
            try registry.select(matching: ["gpu": "false"])
        }

        workers.cluster.kill("w1")
        let dropped = workers.cluster.run(until: { !registry.workers.map(\.name).contains("w1") }, limit: .seconds(10))
        #expect(dropped != nil)
        #expect(dropped.map { $0 <= .seconds(3) } ?? false, "dropped after \(String(describing: dropped))")

        try workers.cluster.add(
            "w1", index: 1, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker", "label": "w1"])
        let back = workers.cluster.run(until: { registry.workers.map(\.name).contains("w1") }, limit: .seconds(10))
        #expect(back != nil)
    }

    @Test("round-robin takes each worker in turn; random spreads evenly")
    func roundRobinAndRandom() throws {
        let roundRobin = try SimulatedWorkers(workers: 3, strategy: .roundRobin)
        defer { roundRobin.cluster.shutdown() }
        var counts: [String: Int] = [:]
        for _ in 0..<300 { counts[try roundRobin.registry.select().worker.name, default: 0] += 1 }
        #expect(counts == ["w1": 100, "w2": 100, "w3": 100])
        #expect(roundRobin.registry.totalLoad == 0)

        let random = try SimulatedWorkers(workers: 3, strategy: .random, seed: 2)
        defer { random.cluster.shutdown() }
        counts = [:]
        for _ in 0..<3_000 { counts[try random.registry.select().worker.name, default: 0] += 1 }
        #expect(counts.count == 3)
        #expect(counts.values.allSatisfy { (850...1_150).contains($0) }, "\(counts)")
    }

    @Test("a worker that joins with the wrong cluster key is never handed out")
    func wrongKeyWorker() throws {
        let key = ClusterKey.random()
        let cluster = ClusterSimulation(seed: 4)
        defer { cluster.shutdown() }
        let director = try cluster.add("director", index: 0, keys: [key])
        try cluster.add("w1", index: 1, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"], keys: [key])
        try cluster.add(
            "intruder", index: 2, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker"],
            keys: [ClusterKey.random()])
        cluster.run(for: .seconds(10))
        let registry = WorkerRegistry(membership: director)
        #expect(registry.workers.map(\.name) == ["w1"])
        for _ in 0..<20 { #expect(try registry.select().worker.name == "w1") }
    }

    @Test("tag filters parse from text and reject what is not key=value")
    func tagFilterText() throws {
        #expect(try TagFilter.parse("gpu=true, zone=eu-1") == ["gpu": "true", "zone": "eu-1"])
        #expect(try TagFilter.parse("") == [:])
        #expect(try TagFilter.parse("model=a=b") == ["model": "a=b"])
        #expect(throws: ClusterClientError.invalidFilter("gpu")) { try TagFilter.parse("gpu") }
        #expect(throws: ClusterClientError.invalidFilter("a=1,a=2")) { try TagFilter.parse("a=1,a=2") }
    }
}

@Suite("Cluster client")
struct ClusterClientTests {
    @Test("LeastConnections spreads 100 concurrent streams evenly over 3 workers; counts return to zero")
    func leastConnectionsSpreadsStreams() async throws {
        let workers = try SimulatedWorkers(workers: 3)
        let started = Shared(0)
        let loads = try await workers.run {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        _ = try await workers.client.serverStreaming("Work.hold", []) { responses in
                            for try await _ in responses { started.withLock { $0 += 1 } }
                        }
                    }
                }
                while started.current < 100 { try await Task.sleep(for: .milliseconds(1)) }
                let loads = workers.registry.workers.map(\.load)
                workers.openGate()
                try await group.waitForAll()
                return loads
            }
        }
        #expect(loads.sorted() == [33, 33, 34])
        #expect(workers.registry.totalLoad == 0)
        #expect(workers.registry.workers.allSatisfy { $0.load == 0 })
    }

    @Test("1,000 calls to a worker that cannot be reached leave no pool slot and no load behind")
    func failedConnectsLeakNothing() async throws {
        let workers = try SimulatedWorkers(workers: 0) { $0.connectTimeout = .milliseconds(10) }
        // A member tagged as a worker, with no RPC server behind it.
        try workers.startWorker(index: 1, serving: false)
        workers.cluster.run(for: .seconds(2))
        let failures = try await workers.run {
            var failures = 0
            for _ in 0..<1_000 {
                do {
                    _ = try await workers.client.unary("Work.who", [], options: CallOptions())
                } catch ClusterClientError.exhausted(let attempts) {
                    if attempts.count == 1, attempts[0].status.code == .unavailable { failures += 1 }
                }
            }
            return failures
        }
        #expect(failures == 1_000)
        #expect(workers.client.pooledConnections == 0)
        #expect(workers.registry.totalLoad == 0)
    }

    @Test("an idempotent call is retried on another worker when its worker fails; other calls are not")
    func idempotentRetry() async throws {
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin)
        workers.setFailing("w1", true)
        try await workers.run {
            // Round-robin sends the first call to w1, which answers unavailable.
            let answer = try await workers.client.unary("Work.who", [], options: CallOptions(idempotent: true))
            #expect(String(decoding: answer, as: UTF8.self) == "w2")
            // The turn is back on w1: without idempotent, its failure reaches the caller as is.
            await #expect(throws: RPCStatus(code: .unavailable, message: "w1 is failing")) {
                _ = try await workers.client.unary("Work.who", [], options: CallOptions())
            }
            #expect(workers.registry.totalLoad == 0)
        }
    }

    @Test("a worker that cannot be reached is skipped within the connect timeout, whatever the call")
    func unreachableWorkerIsSkipped() async throws {
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin)
        workers.killWorker(index: 1)
        try await workers.run {
            let answer = try await workers.client.unary("Work.who", [], options: CallOptions(timeout: .seconds(5)))
            #expect(String(decoding: answer, as: UTF8.self) == "w2")
        }
    }

    @Test("a token stream fails over when its worker fails or is killed: no token lost, none repeated")
    func resumableStreamFailsOver() async throws {
        let workers = try SimulatedWorkers(workers: 3) { $0.streamStallTimeout = .milliseconds(300) }
        let received = Shared<[Int]>([])
        let switches = Shared<[String]>([])
        let last = try await workers.run {
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await workers.client.resumableStream(
                        "Tokens.stream", from: 0, request: { Array("\($0)/300".utf8) },
                        onSwitch: { to, _, reason in
                            switches.withLock { $0.append("\(to.name) \(reason.map { "\($0)" } ?? "start")") }
                        },
                        handle: { message in
                            let sequence = Int(String(decoding: message, as: UTF8.self).split(separator: ":")[1])!
                            received.withLock { $0.append(sequence) }
                            return sequence
                        })
                }
                // After 100 tokens, the stream's worker starts failing (error responses).
                while received.withLock({ $0.count }) < 100 { try await Task.sleep(for: .milliseconds(1)) }
                let first = switches.withLock { String($0[0].prefix(2)) }
                workers.setFailing(first, true)
                // After 200, the next worker is killed outright.
                while received.withLock({ $0.count }) < 200 { try await Task.sleep(for: .milliseconds(1)) }
                let second = switches.withLock { String($0.last!.prefix(2)) }
                workers.killWorker(index: Int(second.dropFirst())!)
                return try await group.next()!
            }
        }
        #expect(last == 300)
        #expect(received.current == Array(1...300))
        let log = switches.current
        #expect(log.count == 3, "\(log)")
        #expect(log.dropFirst().first?.contains("failed") == true, "\(log)")
        #expect(log.last?.contains("stalled") == true, "\(log)")
    }

    @Test("a resumable stream fails once its client is closed, and gives up when every leg fails at once")
    func resumableStreamEnds() async throws {
        let workers = try SimulatedWorkers(workers: 2)
        try await workers.run {
            for name in ["w1", "w2"] { workers.setFailing(name, true) }
            do {
                _ = try await workers.client.resumableStream(
                    "Tokens.stream", from: 0, request: { Array("\($0)/100".utf8) }, handle: { _ in 0 })
                Issue.record("the stream should have given up")
            } catch ClusterClientError.exhausted(let attempts) {
                // Three legs in a row delivered nothing (maxAttempts), each failing unavailable.
                #expect(attempts.count == 3)
                #expect(attempts.allSatisfy { $0.status.code == .unavailable })
            }
            workers.client.close()
            await #expect(throws: ClusterClientError.closed) {
                _ = try await workers.client.resumableStream(
                    "Tokens.stream", from: 0, request: { Array("\($0)/100".utf8) }, handle: { _ in 0 })
            }
            #expect(workers.registry.totalLoad == 0)
        }
    }

    @Test("pooled connections are reused per worker and closed after the idle timeout")
    func idleEviction() async throws {
        let workers = try SimulatedWorkers(workers: 2, strategy: .roundRobin) { $0.idleTimeout = .seconds(5) }
        try await workers.run {
            for _ in 0..<10 { _ = try await workers.client.unary("Work.who", [], options: CallOptions()) }
            #expect(workers.client.pooledConnections == 2)
            try await workers.cluster.clock.sleep(for: .seconds(12))
            #expect(workers.client.pooledConnections == 0)
            // A later call dials again.
            _ = try await workers.client.unary("Work.who", [], options: CallOptions())
            #expect(workers.client.pooledConnections == 1)
        }
    }
}
