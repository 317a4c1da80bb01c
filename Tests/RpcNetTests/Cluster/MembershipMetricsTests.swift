import MetricsTestKit
import Testing
import Transports

@testable import RpcNet

/// The membership's swift-metrics instruments, read from a `TestMetrics` factory of the test's
/// own: nothing is bootstrapped, so tests running in parallel never see each other's values.
@Suite("Membership metrics")
struct MembershipMetricsTests {
    /// A simulation whose members measure into `metrics`.
    private static func cluster(seed: UInt64, metrics: TestMetrics) -> ClusterSimulation {
        let cluster = ClusterSimulation(seed: seed)
        cluster.metricsFactory = metrics
        return cluster
    }

    /// Starts m0, m1 and m2 joining through m0 and runs until they converge.
    private static func converge(_ cluster: ClusterSimulation) throws {
        try cluster.add("m0", index: 0)
        for index in 1..<3 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
        #expect(cluster.run(until: { cluster.everyoneSees(alive: ["m0", "m1", "m2"]) }, limit: .seconds(10)) != nil)
    }

    @Test("three converged members: 3 alive, probes counted and timed, datagrams counted by kind")
    func converged() throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 21, metrics: metrics)
        defer { cluster.shutdown() }
        try Self.converge(cluster)
        cluster.run(for: .seconds(10))
        for name in ["m0", "m1", "m2"] {
            let reading = MembershipReading(metrics, member: name)
            #expect(try reading.members(.alive) == 3, "\(name)")
            for status in [MemberStatus.suspect, .failed, .left] { #expect(try reading.members(status) == 0) }
            #expect(try reading.localHealth() == 0)
            // One probe per second, after joining.
            #expect(try (8...11).contains(reading.counter("probes", ("kind", "direct"))), "\(name)")
            #expect(try reading.counter("probes", ("kind", "indirect")) == 0)
            // Every probe answered after two hops of the simulated 200 µs links.
            let roundTrips = try metrics.expectTimer(
                "rpcnet.membership.probe.round_trip", [("member", name), ("kind", "direct")]
            ).values
            #expect(roundTrips.count >= 8)
            #expect(roundTrips.allSatisfy { $0 == 400_000 }, "\(roundTrips)")
            #expect(try reading.counter("datagrams.sent", ("kind", "ping")) >= 8)
            #expect(try reading.counter("datagrams.received", ("kind", "ack")) >= 8)
            #expect(try reading.counter("datagrams.received", ("kind", "sync")) >= 1)
            #expect(
                metrics.counterTotal(label: "rpcnet.membership.datagrams.dropped", dimensions: [("member", name)]) == 0)
            #expect(metrics.counterTotal(label: "rpcnet.membership.suspicions", dimensions: [("member", name)]) == 0)
        }
    }

    @Test("a killed member is suspected, then counted failed by the others")
    func killedMember() throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 22, metrics: metrics)
        defer { cluster.shutdown() }
        try Self.converge(cluster)
        cluster.kill("m2")
        #expect(cluster.run(until: { cluster.everyoneSees("m2", as: .failed) }, limit: .seconds(30)) != nil)
        var localSuspicions: Int64 = 0
        var indirectProbes: Int64 = 0
        for name in ["m0", "m1"] {
            let reading = MembershipReading(metrics, member: name)
            #expect(try reading.members(.alive) == 2, "\(name)")
            #expect(try reading.members(.suspect) == 0, "\(name)")
            #expect(try reading.members(.failed) == 1, "\(name)")
            // Each saw m2 suspect before failed: its own probe failed, or it heard the other's.
            #expect(try reading.gauge("members", ("status", "suspect")).values.contains(1), "\(name)")
            #expect(
                metrics.counterTotal(label: "rpcnet.membership.suspicions", dimensions: [("member", name)]) == 1,
                "\(name)")
            localSuspicions += try reading.counter("suspicions", ("origin", "local"))
            indirectProbes += try reading.counter("probes", ("kind", "indirect"))
        }
        #expect(localSuspicions >= 1)
        // With three members, a failed direct probe asks the third for help.
        #expect(indirectProbes >= 1)
    }

    @Test("a member suspected while frozen refutes once it runs again, and the refutation is counted")
    func refutation() throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 23, metrics: metrics)
        defer { cluster.shutdown() }
        try Self.converge(cluster)
        cluster.run(for: .seconds(3))
        #expect(try MembershipReading(metrics, member: "m2").counter("refutations") == 0)
        cluster.network.freeze(ClusterSimulation.host(2))
        let suspected = cluster.run(
            until: { ["m0", "m1"].contains { cluster.status(of: "m2", seenBy: $0) == .suspect } },
            step: .milliseconds(10), limit: .seconds(10))
        #expect(suspected != nil)
        cluster.network.unfreeze(ClusterSimulation.host(2))
        #expect(cluster.run(until: { cluster.everyoneSees(alive: ["m0", "m1", "m2"]) }, limit: .seconds(10)) != nil)
        cluster.run(for: .seconds(2))
        #expect(try MembershipReading(metrics, member: "m2").counter("refutations") >= 1)
        for name in ["m0", "m1"] {
            #expect(cluster.events[name, default: []].allSatisfy { if case .nodeFailed = $0 { false } else { true } })
            let reading = MembershipReading(metrics, member: name)
            #expect(try reading.members(.suspect) == 0)
            #expect(try reading.members(.alive) == 3)
        }
    }

    @Test("the members gauges match the member list through failures, a leave, a return and reaping")
    func countsFollowChurn() async throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 26, metrics: metrics)
        cluster.settings.tombstoneLifetime = .seconds(20)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        for index in 1..<5 { try cluster.add("m\(index)", index: index, seeds: [ClusterSimulation.address(0)]) }
        /// Every running member's gauges against its own member list.
        func expectCountsMatch(_ moment: Comment) {
            for (name, member) in cluster.members {
                let list = member.members
                for status in MemberStatus.allCases {
                    let gauge = try? MembershipReading(metrics, member: name).members(status)
                    #expect(
                        gauge == Double(list.filter { $0.status == status }.count), "\(moment): \(name) \(status)")
                }
            }
        }
        cluster.run(for: .seconds(3))
        expectCountsMatch("converged")
        cluster.kill("m4")
        cluster.run(for: .milliseconds(1_500))
        expectCountsMatch("m4 suspected")
        cluster.run(for: .seconds(5))
        expectCountsMatch("m4 failed")
        let leaving = try #require(cluster.members["m3"])
        let leave = Task { await leaving.leave() }
        await cluster.clock.waitForSleepers(atLeast: 1)
        cluster.run(for: .seconds(1))
        await leave.value
        expectCountsMatch("m3 left")
        try cluster.add("m4", index: 4, seeds: [ClusterSimulation.address(0)])
        cluster.run(for: .seconds(3))
        expectCountsMatch("m4 back")
        #expect(try MembershipReading(metrics, member: "m0").members(.left) == 1)
        cluster.run(for: .seconds(30))
        expectCountsMatch("m3 reaped")
        #expect(try MembershipReading(metrics, member: "m0").members(.left) == 0)
    }

    @Test("a datagram that fails its checks is counted by reason")
    func drops() throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 24, metrics: metrics)
        defer { cluster.shutdown() }
        try cluster.add("m0", index: 0)
        let stranger = try cluster.network.datagramEndpoint(at: ClusterSimulation.address(9), maxDatagramSize: 1400)
        defer { stranger.close() }
        for _ in 0..<3 { try stranger.send([0xFF, 0x00, 0x01], to: ClusterSimulation.address(0)) }
        cluster.run(for: .milliseconds(100))
        #expect(try MembershipReading(metrics, member: "m0").counter("datagrams.dropped", ("reason", "malformed")) == 3)
    }

    @Test("the naming's prefix is put in front of every membership instrument")
    func prefix() throws {
        let metrics = TestMetrics()
        let cluster = Self.cluster(seed: 25, metrics: metrics)
        cluster.metricsNaming = MetricsNaming(prefix: "edge_")
        defer { cluster.shutdown() }
        try Self.converge(cluster)
        let labels = Set(metrics.counters.map(\.label) + metrics.recorders.map(\.label) + metrics.timers.map(\.label))
        #expect(
            labels == [
                "edge_rpcnet.membership.members", "edge_rpcnet.membership.probes",
                "edge_rpcnet.membership.probe.round_trip", "edge_rpcnet.membership.local_health",
                "edge_rpcnet.membership.suspicions", "edge_rpcnet.membership.refutations",
                "edge_rpcnet.membership.datagrams.sent", "edge_rpcnet.membership.datagrams.received",
                "edge_rpcnet.membership.datagrams.dropped",
            ])
        #expect(
            try metrics.expectGauge("edge_rpcnet.membership.members", [("member", "m1"), ("status", "alive")]).lastValue
                == 3)
    }
}

/// One member's instruments in a `TestMetrics`, by the part of their label after
/// `rpcnet.membership.` and their dimensions besides `member`.
private struct MembershipReading {
    let metrics: TestMetrics
    let member: String

    init(_ metrics: TestMetrics, member: String) {
        self.metrics = metrics
        self.member = member
    }

    private func dimensions(_ extra: [(String, String)]) -> [(String, String)] {
        [("member", member)] + extra
    }

    func counter(_ what: String, _ dimension: (String, String)...) throws -> Int64 {
        try metrics.expectCounter("rpcnet.membership." + what, dimensions(dimension)).totalValue
    }

    func gauge(_ what: String, _ dimension: (String, String)...) throws -> TestRecorder {
        try metrics.expectGauge("rpcnet.membership." + what, dimensions(dimension))
    }

    /// The last recorded count of members with `status`.
    func members(_ status: MemberStatus) throws -> Double? {
        try gauge("members", ("status", "\(status)")).lastValue
    }

    func localHealth() throws -> Double? {
        try gauge("local_health").lastValue
    }
}
