import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// The cluster example across hosts under faults: random loss everywhere, a worker draining
    /// on SIGTERM mid-stream, and a worker partitioned off and healed.
    @Suite("Cluster example across hosts: loss, drain, partition", .serialized)
    struct MultiHostFaultTests {
        @Test(
            "5 % loss on every host: two clients stream 200 tokens each, nothing lost, no worker declared failed",
            .timeLimit(.minutes(1)))
        func streamingUnderLoss() async throws {
            let clientHosts = ["client-1", "client-2"]
            let workerHosts = ["worker-a", "worker-b", "worker-c"]
            try await withNetworkLab(hosts: ["director"] + workerHosts + clientHosts) { lab in
                // From before the cluster starts: joining and gossip cross the loss too.
                for host in lab.hosts { try lab.setLoss(host.name, probability: 0.05) }
                let cluster = try await LabCluster.start(in: lab, workerHosts: workerHosts)
                let clients = try clientHosts.map { try cluster.startClient(on: $0, tokens: 200) }
                for (host, client) in zip(clientHosts, clients) {
                    #expect(try await client.exitStatus(within: .seconds(40)) == 0, "\(host):\n\(client.output)")
                    #expect(
                        try await client.shows(
                            "received 200 tokens in order: none lost, none repeated", within: .seconds(2)),
                        "\(host):\n\(client.output)")
                    LabMeasurements.report("loss5-\(host)-failovers", Double(client.failovers))
                    if let gap = client.longestTokenGap {
                        LabMeasurements.report("loss5-\(host)-longest-token-gap", gap)
                    }
                }
                // Loss is not failure: the director's detector must not have declared anyone failed.
                #expect(!cluster.director.output.contains("failed"), "\(cluster.director.output)")
                let workerFailures = cluster.workers.values.map { $0.all { $0.contains(" failed") }.count }
                LabMeasurements.report("loss5-worker-seen-failures", Double(workerFailures.reduce(0, +)))
            }
        }

        @Test(
            "SIGTERM to the worker a client streams from: it drains and exits 0 within 3 s, the client loses nothing",
            .timeLimit(.minutes(1)))
        func drainWhileStreaming() async throws {
            try await withNetworkLab(hosts: ["director", "worker-a", "worker-b", "client-1"]) { lab in
                let cluster = try await LabCluster.start(in: lab, workerHosts: ["worker-a", "worker-b"])
                let client = try cluster.startClient(on: "client-1", tokens: 200)
                try #require(try await client.shows("(sequence=40,", within: .seconds(20)), "\(client.output)")
                let victim = try #require(cluster.assignedWorker(of: client), "\(client.output)")
                let worker = try #require(cluster.workers[victim])
                let stoppedAt = LabClock.now
                worker.signal(SIGTERM)

                #expect(try await worker.exitStatus(within: .seconds(3)) == 0, "\(worker.output)")
                LabMeasurements.report("drain-worker-exit", LabClock.seconds(since: stoppedAt))
                #expect(try await client.exitStatus(within: .seconds(30)) == 0, "\(client.output)")
                #expect(
                    try await client.shows(
                        "received 200 tokens in order: none lost, none repeated", within: .seconds(2)),
                    "\(client.output)")
                let resumed = client.receivedTokens.first { $0.at >= stoppedAt && $0.worker != victim }
                #expect(resumed != nil, "\(client.output)")
                if let gap = client.tokenGap(leaving: victim) { LabMeasurements.report("drain-token-gap", gap) }
                // It left: the director was told, rather than finding it failed.
                #expect(
                    try await cluster.director.shows("\(victim) left", within: .seconds(2)),
                    "\(cluster.director.output)")
                #expect(!cluster.director.output.contains("\(victim) failed"), "\(cluster.director.output)")
            }
        }

        @Test(
            "a worker partitioned off for 10 s: failed at the director, clients stream from the others; back after heal",
            .timeLimit(.minutes(1)))
        func partitionAndHeal() async throws {
            let workerHosts = ["worker-a", "worker-b", "worker-c"]
            try await withNetworkLab(hosts: ["director"] + workerHosts + ["client-1", "client-2"]) { lab in
                let cluster = try await LabCluster.start(in: lab, workerHosts: workerHosts)
                let director = cluster.director
                let first = try cluster.startClient(on: "client-1", tokens: 300)
                try #require(try await first.shows("(sequence=40,", within: .seconds(20)), "\(first.output)")
                let victim = try #require(cluster.assignedWorker(of: first), "\(first.output)")
                let partitionedAt = LabClock.now
                try lab.partition(victim)

                let failed = try await director.line(after: partitionedAt, within: .seconds(8)) {
                    $0.contains("\(victim) failed")
                }
                let failedAt = try #require(failed, "\(director.output)").at
                LabMeasurements.report("partition-detection", LabClock.seconds(from: partitionedAt, to: failedAt))
                // A client that comes meanwhile is never given the partitioned worker.
                let second = try cluster.startClient(on: "client-2", tokens: 100)
                for (client, tokens) in [(first, 300), (second, 100)] {
                    #expect(try await client.exitStatus(within: .seconds(20)) == 0, "\(client.output)")
                    #expect(
                        try await client.shows(
                            "received \(tokens) tokens in order: none lost, none repeated", within: .seconds(2)),
                        "\(client.output)")
                }
                #expect(
                    first.receivedTokens.contains { $0.at >= partitionedAt && $0.worker != victim }, "\(first.output)")
                #expect(!second.receivedTokens.contains { $0.worker == victim }, "\(second.output)")
                #expect(!second.output.contains("(\(victim) at "), "\(second.output)")

                // Ten seconds of partition rather than twenty, to save CI time: past the failure
                // detection (about 3 s) and the clients' failovers, which is what the partition tests.
                let remaining = 10 - LabClock.seconds(since: partitionedAt)
                if remaining > 0 { try await Task.sleep(for: .seconds(remaining)) }
                let healedAt = LabClock.now
                try lab.heal(victim)
                // After the heal the first datagram either side hears from the other, which it
                // holds failed or suspect, brings its view back at once (an introduction, or a
                // re-join through a suspect seed), the other refutes, and the pool is whole
                // (about 0.3 s measured; the bound leaves room for the 10 s reconnect round).
                let back = try await director.line(after: healedAt, within: .seconds(10)) {
                    $0.contains("Worker pool status: \(workerHosts.count) workers available")
                }
                let backAt = try #require(back, "\(director.output)\n\(cluster.workerOutputs)").at
                LabMeasurements.report("partition-heal-rejoin", LabClock.seconds(from: healedAt, to: backAt))
                #expect(director.first(after: backAt) { $0.contains("- \(victim) at ") } != nil, "\(director.output)")
            }
        }
    }
}
