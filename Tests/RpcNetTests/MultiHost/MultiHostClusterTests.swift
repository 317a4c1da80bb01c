import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// The cluster example with each process on a host of its own: gossip, RPC and the clients'
    /// direct connections to workers all cross the lab's switch.
    @Suite("Cluster example across hosts")
    struct MultiHostClusterTests {
        @Test("three workers converge at the director; two clients stream from them", .timeLimit(.minutes(1)))
        func convergence() async throws {
            let hosts = ["director", "worker-a", "worker-b", "worker-c", "client-1", "client-2"]
            try await withNetworkLab(hosts: hosts) { lab in
                let cluster = try await LabCluster.start(in: lab, workerHosts: ["worker-a", "worker-b", "worker-c"])
                let clients = try ["client-1", "client-2"].map { try cluster.startClient(on: $0, tokens: 150) }
                for (host, client) in zip(["client-1", "client-2"], clients) {
                    #expect(try await client.exitStatus(within: .seconds(30)) == 0, "\(host):\n\(client.output)")
                    #expect(
                        try await client.shows(
                            "received 150 tokens in order: none lost, none repeated", within: .seconds(2)),
                        "\(host):\n\(client.output)")
                    // Its worker is on another host, and the director saw it come from its own.
                    #expect(client.output.contains(" at \(LabHost.subnet)."), "\(client.output)")
                    let address = try lab[host].address
                    #expect(cluster.director.output.contains("to client \(address):"), "\(cluster.director.output)")
                }
            }
        }

        @Test(
            "kill -9 of the worker a client streams from: the client finishes on another, losing nothing",
            .timeLimit(.minutes(1)))
        func workerKilled() async throws {
            try await withNetworkLab(hosts: ["director", "worker-a", "worker-b", "client-1"]) { lab in
                let cluster = try await LabCluster.start(in: lab, workerHosts: ["worker-a", "worker-b"])
                let client = try cluster.startClient(on: "client-1", tokens: 200)
                try #require(try await client.shows("(sequence=40,", within: .seconds(20)), "\(client.output)")
                let victim = try #require(cluster.assignedWorker(of: client), "\(client.output)")
                let killedAt = DispatchTime.now().uptimeNanoseconds
                let worker = try #require(cluster.workers[victim])
                worker.signal(SIGKILL)

                #expect(try await client.exitStatus(within: .seconds(30)) == 0, "\(client.output)")
                #expect(
                    try await client.shows(
                        "received 200 tokens in order: none lost, none repeated", within: .seconds(2)),
                    "\(client.output)")
                #expect(client.output.contains("worker \(victim) failed"), "\(client.output)")
                let resumed = client.first(after: killedAt) {
                    $0.contains("received token") && !$0.contains("from \(victim)")
                }
                #expect(resumed != nil, "\(client.output)")
                // The director's failure detector, across the switch, sees the worker gone.
                #expect(
                    try await cluster.director.shows("\(victim) failed", within: .seconds(20)),
                    "\(cluster.director.output)")
            }
        }
    }
}
