import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// Addresses as people write them across hosts: names, wildcards, hosts that are not there.
    @Suite("Addresses across hosts")
    struct MultiHostAddressTests {
        @Test(
            "names resolve on every host; a wildcard-bound worker announces its routed address; TLS checks the name",
            .timeLimit(.minutes(1)))
        func hostNames() async throws {
            try await withNetworkLab(hosts: ["director", "worker-a", "client-1"]) { lab in
                let common = ["TOKEN_INTERVAL_MS": "20", "RPCNET_LOG": "error"]
                let director = try lab.startExample(
                    "director", on: "director", environment: common.merging(["DIRECTOR_ADDR": "director:61000"]) { $1 })
                #expect(try await director.shows("Director ready", within: .seconds(15)), "\(director.output)")
                let worker = try lab.startExample(
                    "worker", on: "worker-a",
                    environment: common.merging([
                        "WORKER_LABEL": "worker-a", "WORKER_ADDR": "0.0.0.0:62001", "DIRECTOR_ADDR": "director:61000",
                    ]) { $1 })
                #expect(try await director.shows("1 workers available", within: .seconds(15)), "\(director.output)")
                // Bound to 0.0.0.0, it announced the address that routes to the director.
                let workerAddress = try lab["worker-a"].endpoint(port: 62001)
                #expect(director.output.contains("worker-a at \(workerAddress)"), "\(director.output)")
                let client = try lab.startExample(
                    "client", on: "client-1",
                    environment: common.merging(["DIRECTOR_ADDR": "director:61000", "TOKEN_LIMIT": "40"]) { $1 })
                #expect(try await client.exitStatus(within: .seconds(30)) == 0, "\(client.output)\n\(worker.output)")
                #expect(client.output.contains("received 40 tokens in order"), "\(client.output)")
            }
        }

        @Test(
            "a host that is not there, or a port nobody serves, fails the client fast, naming the cause",
            .timeLimit(.minutes(1)))
        func unreachable() async throws {
            try await withNetworkLab(hosts: ["director", "client-1"]) { lab in
                // The director's host is up, but nothing listens there: ICMP port unreachable.
                let started = ContinuousClock.now
                let refused = try lab.startExample(
                    "client", on: "client-1",
                    environment: ["DIRECTOR_ADDR": "director:61000", "RPCNET_LOG": "error"])
                #expect(try await refused.exitStatus(within: .seconds(10)) == 1, "\(refused.output)")
                #expect(ContinuousClock.now - started < .seconds(3))
                #expect(refused.output.contains("nothing is listening at that address and port"), "\(refused.output)")
                // No host at all at that address: the neighbour lookup fails (EHOSTUNREACH),
                // before the 10 s handshake timeout.
                let absent = "\(LabHost.subnet).200:61000"
                let unreachableStart = ContinuousClock.now
                let lost = try lab.startExample(
                    "client", on: "client-1", environment: ["DIRECTOR_ADDR": absent, "RPCNET_LOG": "error"])
                #expect(try await lost.exitStatus(within: .seconds(15)) == 1, "\(lost.output)")
                #expect(ContinuousClock.now - unreachableStart < .seconds(8))
                #expect(lost.output.contains("unreachable"), "\(lost.output)")
            }
        }
    }
}
