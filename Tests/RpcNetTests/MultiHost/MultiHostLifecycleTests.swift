import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// The cluster example's processes stopped and started across hosts: a director restarted at
    /// its address, a worker stopped before it ever joined, and a second worker under a live
    /// worker's label.
    @Suite("Cluster example across hosts: restarts and names", .serialized)
    struct MultiHostLifecycleTests {
        @Test(
            "director stopped with SIGINT and restarted: its 3 workers are back within 5 s, a new client streams",
            .timeLimit(.minutes(1)))
        func directorRestartAfterSIGINT() async throws {
            let seconds = try await ClusterScenarios.directorRestart(stopping: SIGINT, clientTokens: 50)
            if let seconds { LabMeasurements.report("director-restart-sigint-reassembly", seconds) }
        }

        @Test(
            "director killed with kill -9 and restarted: its 3 workers are back within 5 s, a new client streams",
            .timeLimit(.minutes(1)))
        func directorRestartAfterKill() async throws {
            let seconds = try await ClusterScenarios.directorRestart(stopping: SIGKILL, clientTokens: 50)
            if let seconds { LabMeasurements.report("director-restart-kill9-reassembly", seconds) }
        }

        @Test("a worker stopped with SIGINT while its director is down exits 0 within 2 s", .timeLimit(.minutes(1)))
        func workerStoppedWhileJoining() async throws {
            try await withNetworkLab(hosts: ["director", "worker-a"]) { lab in
                // No director: the worker keeps sending joins to an address where nothing listens.
                let worker = try LabCluster.startWorker(
                    in: lab, on: "worker-a", label: "worker-a",
                    directorAddress: try lab["director"].endpoint(port: LabCluster.directorPort))
                try #require(
                    try await worker.shows("connecting to director", within: .seconds(10)), "\(worker.output)")
                // Past the first retry of its join, so the stop lands in the backoff.
                try await Task.sleep(for: .milliseconds(1500))
                #expect(worker.isRunning, "\(worker.output)")
                let stoppedAt = LabClock.now
                worker.signal(SIGINT)
                #expect(try await worker.exitStatus(within: .seconds(2)) == 0, "\(worker.output)")
                LabMeasurements.report("worker-stopped-while-joining-exit", LabClock.seconds(since: stoppedAt))
                #expect(worker.output.contains("stopped before joining"), "\(worker.output)")
                #expect(!worker.output.contains("joined cluster"), "\(worker.output)")
            }
        }

        @Test(
            "a second worker under a live worker's label exits 1 naming the holder; the original keeps serving",
            .timeLimit(.minutes(1)))
        func duplicateLabel() async throws {
            try await withNetworkLab(hosts: ["director", "worker-a", "impostor", "client-1"]) { lab in
                let cluster = try await LabCluster.start(in: lab, workerHosts: ["worker-a"])
                let original = try lab["worker-a"].endpoint(port: LabCluster.workerPort)
                let impostor = try cluster.startWorker(on: "impostor", label: "worker-a")
                let status = try await impostor.exitStatus(within: .seconds(15))
                #expect(status != nil && status != 0, "exit status \(String(describing: status)):\n\(impostor.output)")
                #expect(
                    impostor.output.contains("is held by a live member at \(original)"), "\(impostor.output)")

                // The original still serves, and the director hands it out at its own address.
                let client = try cluster.startClient(on: "client-1", tokens: 150)
                #expect(try await client.exitStatus(within: .seconds(20)) == 0, "\(client.output)")
                #expect(
                    try await client.shows(
                        "received 150 tokens in order: none lost, none repeated", within: .seconds(2)),
                    "\(client.output)")
                #expect(client.output.contains("(worker-a at \(original))"), "\(client.output)")
                #expect(client.failovers == 0, "\(client.output)")

                // Neither did the director see it leave or fail, nor the impostor take its place.
                let director = cluster.director
                let news = director.all { $0.contains("worker-a left") || $0.contains("worker-a failed") }
                #expect(news.isEmpty, "\(director.output)")
                let pool = director.all { $0.contains("Worker pool status:") }.last?.text ?? ""
                #expect(pool.contains(" 1 workers available"), "\(director.output)")
                let entry = director.all { $0.contains("- worker-a at ") }.last?.text ?? ""
                #expect(entry.contains(original), "\(director.output)")
            }
        }
    }
}
