import Logging
import Testing
import Transports

@testable import RpcNet

@Suite("Membership logging")
struct MembershipLoggingTests {
    @Test("a member joining is logged with its name, address, incarnation, status and tags as metadata")
    func joinedEventMetadata() throws {
        let captured = CapturedLog()
        let cluster = ClusterSimulation(seed: 31)
        defer { cluster.shutdown() }
        cluster.logger = captured.logger(level: .info)
        try cluster.add("m0", index: 0)
        let joiner = try cluster.add(
            "m1", index: 1, seeds: [ClusterSimulation.address(0)], tags: ["role": "worker", "label": "gpu-a"])
        cluster.run(for: .seconds(2))
        let lines = captured.lines.withLock { $0 }
        let joined = try #require(
            lines.first { $0.message == "member joined" && $0.metadata["local"] == "m0" })
        #expect(joined.metadata["member"] == "m1")
        #expect(joined.metadata["address"] == "\(ClusterSimulation.address(1))")
        #expect(joined.metadata["incarnation"] == "\(joiner.member(named: "m1")!.incarnation)")
        #expect(joined.metadata["status"] == "alive")
        #expect(joined.metadata["tags"] == "label=gpu-a,role=worker")
        // No line carries a Swift debug description: tuple arrays, optionals, dictionaries.
        for line in lines {
            let text = ([line.message] + line.metadata.values.map { "\($0)" }).joined(separator: " ")
            for debris in ["Optional(", "[(", "(key:", "[\""] {
                #expect(!text.contains(debris), "\(text)")
            }
        }
    }

    @Test("dropped datagrams are logged with reason and address, once per reason per interval")
    func dropsAreRateLimited() throws {
        let captured = CapturedLog()
        let cluster = ClusterSimulation(seed: 32)
        defer { cluster.shutdown() }
        cluster.logger = captured.logger(level: .warning)
        try cluster.add("m0", index: 0)
        let stranger = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(9), maxDatagramSize: 1400)
        defer { stranger.close() }
        for _ in 0..<50 { try stranger.send([0xFF], to: ClusterSimulation.address(0)) }
        cluster.run(for: .seconds(1))
        let drops = captured.lines.withLock { $0 }.filter { $0.message == "dropped gossip datagram" }
        #expect(drops.count == 1)
        #expect(drops.first?.metadata["reason"] == "malformed")
        #expect(drops.first?.metadata["address"] == "\(ClusterSimulation.address(9))")
        cluster.run(for: .seconds(10))
        try stranger.send([0xFF], to: ClusterSimulation.address(0))
        cluster.run(for: .milliseconds(10))
        let later = captured.lines.withLock { $0 }.filter { $0.message == "dropped gossip datagram" }
        #expect(later.count == 2)
        #expect(later.last?.metadata["suppressed"] == "49")
    }
}
