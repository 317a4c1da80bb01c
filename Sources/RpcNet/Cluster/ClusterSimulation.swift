public import Logging
public import Metrics
public import Transports

/// A whole cluster of memberships on a ``/Transports/SimulatedNetwork`` and a ``/Transports/VirtualClock``: timers,
/// deliveries and the state machines all run synchronously inside the clock's `advance`, so a
/// scenario is reproducible from its seed and an hour of protocol time takes seconds. The
/// membership tests and the benchmarks' simulated cluster figures run on it.
///
/// Not thread-safe: drive it from one task.
public final class ClusterSimulation {
    /// The clock every member runs on; only ``run(for:)`` and ``run(until:step:limit:)`` move it.
    public let clock = VirtualClock()
    /// The network the members talk over: set loss, partitions and freezes on it.
    public let network: SimulatedNetwork
    /// The running members, by name.
    public private(set) var members: [String: ClusterMembership] = [:]
    private var endpoints: [String: SimulatedDatagramEndpoint] = [:]
    private var eventStreams: [String: ClusterEvents] = [:]
    /// Every event each member observed, in order.
    public private(set) var events: [String: [ClusterEvent]] = [:]
    /// The seed of the network and of every member's random choices.
    public let seed: UInt64
    /// Settings given to members added from now on.
    public var settings = SWIMSettings()
    /// How the metrics of members added from now on are named.
    public var metricsNaming = MetricsNaming()
    /// What makes the metrics of members added from now on: a test's own factory keeps its
    /// measurements apart from other tests in the same process.
    public var metricsFactory: any MetricsFactory = MetricsSystem.factory

    /// A simulation whose links behave as `conditions` unless changed on ``network``.
    public init(seed: UInt64, conditions: LinkConditions = LinkConditions(latency: .microseconds(200))) {
        self.seed = seed
        network = SimulatedNetwork(clock: clock, seed: seed, defaultConditions: conditions, recordsTrace: false)
    }

    /// The host of member number `index` (below 2^24 − 1): 10.0.0.1 for 0, then counting up
    /// through 10.255.255.255.
    public static func host(_ index: Int) -> SocketAddress.Host {
        precondition((0..<0xFF_FFFF).contains(index), "member index \(index) outside 10.0.0.0/8")
        return .ipv4((0x0A00_0000 | UInt32(index + 1)).bigEndian)
    }

    /// The gossip address of member number `index`.
    public static func address(_ index: Int) -> SocketAddress {
        SocketAddress(host: host(index), port: 7946)
    }

    /// Simulations observe members through their events; a thousand members logging every join
    /// would only flood the test output.
    public static let quiet = Logger(label: "rpcnet.cluster.simulation") { _ in SwiftLogNoOpLogHandler() }

    /// The logger of members added from now on; ``quiet`` unless a test wants their lines.
    public var logger = ClusterSimulation.quiet

    /// Adds member `name` on host `index` and starts it, joining through `seeds`.
    @discardableResult
    public func add(
        _ name: String, index: Int, seeds: [SocketAddress] = [], tags: [String: String] = [:],
        keys: [ClusterKey] = []
    ) throws -> ClusterMembership {
        let endpoint = try network.datagramEndpoint(at: Self.address(index), maxDatagramSize: 1400)
        var configuration = ClusterMembership.Configuration(name: name, tags: tags)
        configuration.settings = settings
        configuration.keys = keys
        configuration.randomSeed = seed &+ UInt64(index) &* 7919
        configuration.metricsNaming = metricsNaming
        let membership = try ClusterMembership(
            configuration: configuration, transport: endpoint, clock: clock, logger: logger,
            metricsFactory: metricsFactory)
        members[name] = membership
        endpoints[name] = endpoint
        eventStreams[name] = membership.events
        if seeds.isEmpty { membership.start() } else { membership.startJoining(seeds: seeds) }
        return membership
    }

    /// Stops a member abruptly, as `kill -9` would: no leave, its address goes silent.
    public func kill(_ name: String) {
        collectEvents()
        members.removeValue(forKey: name)?.shutdown()
        endpoints.removeValue(forKey: name)?.close()
    }

    /// Runs the protocol for `duration` of virtual time.
    public func run(for duration: Duration) {
        clock.advance(by: duration)
        collectEvents()
    }

    /// Runs in steps of `step` until `condition` holds or `limit` passes; returns the virtual
    /// time it took, or nil.
    @discardableResult
    public func run(until condition: () -> Bool, step: Duration = .milliseconds(50), limit: Duration) -> Duration? {
        let start = clock.now
        while start.duration(to: clock.now) < limit {
            if condition() {
                collectEvents()
                return start.duration(to: clock.now)
            }
            clock.advance(by: step)
        }
        collectEvents()
        return condition() ? start.duration(to: clock.now) : nil
    }

    /// Moves the events members published since the last call into ``events``.
    public func collectEvents() {
        for (name, stream) in eventStreams { events[name, default: []] += stream.drain() }
    }

    /// What `observer` believes about `member`.
    public func status(of member: String, seenBy observer: String) -> MemberStatus? {
        members[observer]?.member(named: member)?.status
    }

    /// Whether every running member sees exactly `expected` alive (itself included).
    public func everyoneSees(alive expected: Set<String>) -> Bool {
        members.values.allSatisfy { Set($0.members(status: .alive).map(\.name)) == expected }
    }

    /// Whether every running member other than `member` sees it with `status`.
    public func everyoneSees(_ member: String, as status: MemberStatus) -> Bool {
        members.keys.filter { $0 != member }.allSatisfy { self.status(of: member, seenBy: $0) == status }
    }

    /// Stops every member.
    public func shutdown() {
        for member in members.values { member.shutdown() }
    }
}
