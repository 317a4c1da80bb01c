import Foundation
public import Logging
public import Metrics
import Synchronization
public import Transports

/// Cluster membership: runs the SWIM + Lifeguard state machine (`SWIMInstance`) over any
/// ``/Transports/DatagramTransport`` — UDP in production, the simulated network in tests — on the real or a
/// virtual clock.
///
/// One owner drives it: the transport's ``/Transports/TransportOwner``, which is the reactor
/// whose loop thread reads the socket, or a simulation's virtual clock. Received datagrams, the
/// state machine's timer and every command (start, join, tag changes, leave, shutdown) run there,
/// one at a time: a command called elsewhere is handed over — the async ones wait for it,
/// ``setTags(_:)`` and the other synchronous ones return at once — so the membership owns no task
/// or thread. Every datagram is opened, decoded and checked before it reaches the state machine;
/// one that fails is dropped, counted by reason and logged (rate-limited), and never changes
/// membership.
///
/// Reads (``members``, ``tags``, ``statistics``, …) work from any thread, the owner's included:
/// the owner holds the lock on what they read only while it steps the state machine, never while
/// it seals, sends or publishes.
///
/// Every event is logged with the member it is about as metadata (`member`, `address`,
/// `status`, `incarnation`, `tags` as `key=value,…`); the logger carries this member's own name
/// as `local`. The membership's swift-metrics instruments are described in
/// ``Configuration/metricsNaming``.
public final class ClusterMembership: @unchecked Sendable {
    /// Settings of a member.
    public struct Configuration: Sendable {
        /// This member's unique name.
        public var name: String
        /// Its initial tags.
        public var tags: [String: String]
        /// Protocol settings.
        public var settings = SWIMSettings()
        /// Cluster keys; the first seals outgoing gossip and all open incoming gossip. Empty for
        /// an unauthenticated cluster (loopback tests and trusted networks only).
        public var keys: [ClusterKey] = []
        /// A datagram whose send time is older than the newest seen from its sender by more
        /// than this is a replay and is dropped.
        public var replayWindow: Duration = .seconds(30)
        /// Events buffered per subscriber before the oldest are dropped.
        public var eventBufferSize = 1024
        /// Seed of the state machine's random choices (probe order, helpers); fixed in
        /// simulations for reproducibility.
        public var randomSeed: UInt64 = .random(in: 0...UInt64.max)
        /// Members to join through when started, and to re-join through whenever none of them
        /// has been seen alive for ``SWIMSettings/rejoinAfter`` (a seed that restarted).
        /// ``join(seeds:timeout:)-([SocketAddress],_)`` adds to them.
        public var seeds: [SocketAddress] = []
        /// The address other members reach this one at, announced in gossip. `nil` announces
        /// the transport's address; when that is a wildcard (`0.0.0.0`, `::`), the local
        /// address the kernel would use towards the first seed, with the transport's port. A
        /// wildcard without an advertise address or seeds is refused: nobody could reach it.
        public var advertiseAddress: SocketAddress?
        /// How the membership's swift-metrics instruments are named: `rpcnet.membership.<what>`
        /// behind the naming's prefix, each with the dimension `member` (this member's name):
        ///
        /// - `members` (gauge, by `status`: `alive`, `suspect`, `failed`, `left`): members known
        ///   here, this one and tombstones included;
        /// - `probes` (counter, by `kind`: `direct`, `indirect`): probes run (SWIM §3.1);
        /// - `probe.round_trip` (timer, by `kind`): how long probes' targets took to answer;
        /// - `local_health` (gauge): Lifeguard's local health multiplier (§4.3), 0 when healthy;
        /// - `suspicions` (counter, by `origin`: `local`, `remote`): members that turned suspect;
        /// - `refutations` (counter): suspicions and other news about this member it refuted;
        /// - `datagrams.sent`, `datagrams.received` (counters, by message `kind`) and
        ///   `datagrams.dropped` (counter, by `reason`).
        public var metricsNaming = MetricsNaming()

        /// A configuration for the member `name`.
        public init(name: String, tags: [String: String] = [:]) {
            self.name = name
            self.tags = tags
        }
    }

    /// This member's name.
    public let name: String
    /// The address this member announces (see ``Configuration/advertiseAddress``).
    public let address: SocketAddress
    let transport: any DatagramTransport
    /// Where every step that changes this membership runs: the transport's owner.
    let owner: any TransportOwner
    let clock: any NetworkClock
    let hub: EventHub
    let logger: Logger
    let configuration: Configuration
    /// Wall-clock nanoseconds when this membership was created: names this run, so peers can
    /// tell its clock readings from a previous run's, and grows from run to run, so a datagram
    /// recorded during an earlier run is refused while this run is heard from (`ReplayRecord`,
    /// §7.6 of PROTOCOL.md).
    let boot = UInt64(max(Date().timeIntervalSince1970, 0) * 1e9) & VarInt.max
    let metrics: MembershipMetrics
    /// Drops are caused by peers, so their log lines are rate-limited per reason.
    let dropLog: LogRateLimiter

    // Changed by `owner`, read from any thread.

    /// What the owner's steps change and readers look at, guarded by its lock, which the owner
    /// holds for the state machine's step only. Two writers besides the steps, also under the
    /// lock: a caller setting tags records them (``SharedState/desiredTags``), and
    /// ``stopWithoutOwner()`` marks the membership stopped once the owner has shut down.
    let shared: Mutex<SharedState>
    /// The state machine's ``SWIMInstance/workerRevision``, stored by the owner before the lock
    /// is released after each change, so it can be read without the lock (``workersRevision``).
    let publishedWorkerRevision = Atomic<UInt64>(0)
    /// Gossip datagrams sealed for sending, counted by the owner after each step's sends.
    let sentDatagrams = Atomic<Int>(0)
    /// Their bytes, sealing included.
    let sentBytes = Atomic<Int>(0)

    // Owned by `owner`: touched only in its context, so no lock guards them.

    /// Seals outgoing and opens incoming gossip; its AES-GCM contexts are not thread-safe.
    let sealer: GossipSealer
    /// The one timer, armed at the state machine's next deadline.
    var timer: (id: ScheduledTimer, at: MonotonicInstant)?
    /// What each sender's datagrams said about their send times, for refusing replays.
    var replay: [String: ReplayRecord] = [:]
    /// What the gauges last recorded.
    var health: MembershipHealth?

    /// What the owner's steps change and readers look at (``shared``).
    struct SharedState {
        /// The state machine.
        var instance: SWIMInstance
        /// Datagrams accepted and dropped (``statistics`` adds the ones sent).
        var statistics = MembershipStatistics()
        /// The tags last set by ``setTags(_:)``, ``setTag(_:to:)`` or ``removeTag(_:)``: written
        /// by the caller, checked as it sets them, and published by the owner's next step.
        var desiredTags: [String: String]
        /// Callers waiting for the join to settle; the owner resumes them.
        var joinWaiters: [JoinWaiter] = []
        /// Started and not stopped: the receive handler is installed and the timer kept armed.
        var running = false
        /// Stopped for good: steps do nothing more.
        var stopped = false
    }

    /// Creates a member on `transport`; call ``start()`` (or
    /// ``join(seeds:timeout:)-([SocketAddress],_)``) to take part. Its metrics are made by
    /// `metricsFactory` (by default the one `MetricsSystem` was bootstrapped with). `clock` must
    /// be the one the transport's owner keeps time by: the default for a reactor's transports,
    /// the simulated network's virtual clock for its endpoints.
    public init(
        configuration: Configuration, transport: any DatagramTransport, clock: any NetworkClock = MonotonicClock(),
        logger: Logger = Logger(label: "rpcnet.cluster"), metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(ClusterConfigurationError) {
        try configuration.validate(maxDatagramSize: transport.maxDatagramSize)
        self.name = configuration.name
        self.configuration = configuration
        self.transport = transport
        self.owner = transport.owner
        self.clock = clock
        self.sealer = GossipSealer(keys: configuration.keys)
        self.hub = EventHub(capacity: configuration.eventBufferSize)
        var logger = logger
        logger[metadataKey: "local"] = "\(configuration.name)"
        self.logger = logger
        self.metrics = MembershipMetrics(
            member: configuration.name, naming: configuration.metricsNaming, factory: metricsFactory)
        self.dropLog = LogRateLimiter(clock: clock)
        let address = try Self.advertisedAddress(configuration, bound: transport.localAddress)
        self.address = address
        let budget = min(configuration.settings.maxDatagramSize, transport.maxDatagramSize) - sealer.overhead
        var instance = SWIMInstance(
            name: configuration.name, address: address, tags: configuration.tags, settings: configuration.settings,
            bodyBudget: budget, seed: configuration.randomSeed, now: clock.now, incarnation: boot / 1_000_000,
            authenticated: !configuration.keys.isEmpty)
        instance.seeds = configuration.seeds.filter { $0 != address }
        shared = Mutex(SharedState(instance: instance, desiredTags: configuration.tags))
    }

    /// The address to announce: the configured one, the bound one, or for a wildcard bind the
    /// local address that routes to the first seed.
    private static func advertisedAddress(_ configuration: Configuration, bound: SocketAddress)
        throws(ClusterConfigurationError) -> SocketAddress
    {
        if let advertised = configuration.advertiseAddress {
            guard !advertised.isWildcard, advertised.port != 0 else {
                throw .invalidAdvertiseAddress("\(advertised) cannot be reached: give an address and port of this host")
            }
            return advertised
        }
        guard bound.isWildcard else { return bound }
        guard let seed = configuration.seeds.first else {
            throw .invalidAdvertiseAddress(
                "bound to the wildcard \(bound) with no advertise address or seed to choose one by")
        }
        do {
            var routed = try SocketAddress.localAddress(routingTo: seed)
            routed.port = bound.port
            return routed
        } catch {
            throw .invalidAdvertiseAddress("no local address routes to the seed \(seed): \(error)")
        }
    }
}
