import Foundation
public import Logging
public import Metrics
import Synchronization
public import Transports

/// Cluster membership: runs the SWIM + Lifeguard state machine (`SWIMInstance`) over any
/// ``/Transports/DatagramTransport`` — UDP in production, the simulated network in tests — on the real or a
/// virtual clock.
///
/// Datagrams are handled where the transport delivers them (the reactor's loop thread for UDP),
/// and timers are clock callbacks, so the membership owns no task or thread. Every datagram is
/// opened, decoded and checked before it reaches the state machine; one that fails is dropped,
/// counted by reason and logged (rate-limited), and never changes membership.
///
/// Every event is logged with the member it is about as metadata (`member`, `address`,
/// `status`, `incarnation`, `tags` as `key=value,…`); the logger carries this member's own name
/// as `local`. The membership's swift-metrics instruments are described in
/// ``Configuration/metricsNaming``.
public final class ClusterMembership: Sendable {
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
    private let transport: any DatagramTransport
    private let clock: any NetworkClock
    private let sealer: GossipSealer
    private let hub: EventHub
    private let logger: Logger
    private let configuration: Configuration
    /// Wall-clock nanoseconds when this membership was created: names this run, so peers can
    /// tell its clock readings from a previous run's, and grows from run to run, so a datagram
    /// recorded during an earlier run is refused while this run is heard from (`ReplayRecord`,
    /// §7.6 of PROTOCOL.md).
    private let boot = UInt64(max(Date().timeIntervalSince1970, 0) * 1e9) & VarInt.max
    private let state: Mutex<ShellState>
    /// The state machine's ``SWIMInstance/workerRevision``, stored before the lock is released
    /// after each change, so it can be read without the lock (``workersRevision``).
    private let publishedWorkerRevision = Atomic<UInt64>(0)
    private let metrics: MembershipMetrics
    /// Drops are caused by peers, so their log lines are rate-limited per reason.
    private let dropLog: LogRateLimiter

    private struct ShellState {
        var instance: SWIMInstance
        var timer: (id: ScheduledTimer, at: MonotonicInstant)?
        var replay: [String: ReplayRecord] = [:]
        var statistics = MembershipStatistics()
        /// What the gauges last recorded.
        var health: MembershipHealth?
        var joinWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID: UInt64 = 0
        var running = false
        var stopped = false
    }

    /// Creates a member on `transport`; call ``start()`` (or
    /// ``join(seeds:timeout:)-([SocketAddress],_)``) to take part. Its metrics are made by
    /// `metricsFactory` (by default the one `MetricsSystem` was bootstrapped with).
    public init(
        configuration: Configuration, transport: any DatagramTransport, clock: any NetworkClock = MonotonicClock(),
        logger: Logger = Logger(label: "rpcnet.cluster"), metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(ClusterConfigurationError) {
        try configuration.validate(maxDatagramSize: transport.maxDatagramSize)
        self.name = configuration.name
        self.configuration = configuration
        self.transport = transport
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
        state = Mutex(ShellState(instance: instance))
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

    // MARK: Lifecycle

    /// Starts answering and probing, joining through the configured seeds if there are any
    /// (alone otherwise, until another member joins through it).
    public func start() {
        begin(joiningThrough: nil)
    }

    /// Starts taking part if not started yet, and joins through the configured seeds plus
    /// `seeds` (a join when `seeds` is given, or when starting with configured seeds).
    private func begin(joiningThrough seeds: [SocketAddress]?) {
        let started = state.withLock { state in
            guard !state.running, !state.stopped else { return false }
            state.running = true
            return true
        }
        if started {
            transport.setReceiveHandler { [weak self] datagram in self?.handle(datagram) }
            logger.info("membership started", metadata: ["address": "\(address)"])
        }
        guard started || seeds != nil else { return }
        perform { instance, now in
            let added = seeds ?? []
            return instance.seeds.isEmpty && added.isEmpty ? [] : instance.join(seeds: added, now: now)
        }
    }

    /// Joins the cluster through `seeds` (any members' gossip addresses, added to the
    /// configured ones), retrying with backoff, and returns once one has answered with its view
    /// of the cluster. While it waits it logs, at info, which seeds it is still waiting for
    /// every 5 s.
    ///
    /// Fails with ``ClusterJoinError/timedOut(after:seeds:)`` after `timeout` (the membership
    /// keeps trying in the background), ``ClusterJoinError/cancelled`` when the calling task
    /// is cancelled (likewise), ``ClusterJoinError/stopped`` when the membership is shut down
    /// meanwhile, and ``ClusterJoinError/nameInUse(name:holder:)`` when a seed answers that a
    /// live member at another address has this name; the membership then stops, since taking
    /// part under that name would take the live member's place.
    public func join(seeds: [SocketAddress], timeout: Duration? = nil) async throws(ClusterJoinError) {
        startJoining(seeds: seeds)
        let started = clock.now
        while true {
            let progressAt = clock.now.advanced(by: .seconds(5))
            let deadline = timeout.map { started.advanced(by: $0) }
            await waitUntilJoined(until: min(progressAt, deadline ?? progressAt))
            let (contact, stopped, waitingFor) = state.withLock {
                ($0.instance.seedContact, $0.stopped || $0.instance.hasLeft, $0.instance.seeds)
            }
            if case .refused(let holder) = contact {
                logger.error(
                    "the name is held by a live member at another address; not joining",
                    metadata: ["name": "\(name)", "holder": "\(holder)"])
                shutdown()
                throw .nameInUse(name: name, holder: holder)
            }
            // Leaving or stopping while joining settles the join too: that is no success.
            if stopped { throw .stopped }
            guard case .joining = contact else { return }
            if Task.isCancelled { throw .cancelled }
            let waited = started.duration(to: clock.now)
            if let timeout, waited >= timeout { throw .timedOut(after: timeout, seeds: waitingFor) }
            logger.info(
                "still waiting for a seed to answer",
                metadata: ["seeds": "\(waitingFor.map(\.description).joined(separator: ", "))", "waited": "\(waited)"])
        }
    }

    /// Resolves `seeds` (`host:port`, see ``/Transports/HostAndPort``), then joins through them (see
    /// ``join(seeds:timeout:)``); a seed that does not resolve fails the join with
    /// ``ClusterJoinError/badSeed(_:)`` before anything is sent.
    public func join(seeds: [String], timeout: Duration? = nil) async throws(ClusterJoinError) {
        var resolved: [SocketAddress] = []
        for seed in seeds {
            do {
                resolved.append(try await SocketAddress.resolve(seed))
            } catch {
                throw .badSeed(error)
            }
        }
        try await join(seeds: resolved, timeout: timeout)
    }

    /// Starts joining through `seeds` without waiting (see ``join(seeds:timeout:)-([SocketAddress],_)``).
    public func startJoining(seeds: [SocketAddress]) {
        begin(joiningThrough: seeds)
    }

    /// Returns once a seed has answered (at once if not joining), the membership stopped, the
    /// calling task is cancelled, or `deadline` passed on the membership's clock.
    public func waitUntilJoined(until deadline: MonotonicInstant? = nil) async {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timer = Mutex<ScheduledTimer?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { state in
                    if !state.instance.isJoining || state.stopped || Task.isCancelled { return true }
                    state.joinWaiters.append((id, continuation))
                    return false
                }
                if done {
                    continuation.resume()
                } else if let deadline {
                    // Armed once the waiter is registered, so a deadline already past still finds it.
                    let scheduled = clock.schedule(at: deadline) { [weak self] in self?.resumeJoinWaiter(id) }
                    timer.withLock { $0 = scheduled }
                }
            }
        } onCancel: {
            resumeJoinWaiter(id)
        }
        if let scheduled = timer.withLock({ $0 }) { clock.cancel(scheduled) }
    }

    private func resumeJoinWaiter(_ id: UInt64) {
        let waiter = state.withLock { state in
            state.joinWaiters.firstIndex { $0.id == id }.map { state.joinWaiters.remove(at: $0) }
        }
        waiter?.continuation.resume()
    }

    /// Leaves gracefully: tells up to 32 members directly and the rest by gossip, waits for
    /// two gossip rounds so the news spreads, then stops.
    public func leave() async {
        perform { instance, now in instance.leave(now: now) }
        logger.info("left the cluster")
        try? await clock.sleep(
            until: clock.now.advanced(by: configuration.settings.gossipInterval * 2), tolerance: nil)
        shutdown()
    }

    /// Stops taking part at once, without telling anyone (others will find this member
    /// failed); ends every event sequence.
    public func shutdown() {
        let (timer, waiters) = state.withLock { state in
            state.stopped = true
            state.running = false
            defer {
                state.timer = nil
                state.joinWaiters.removeAll()
            }
            return (state.timer, state.joinWaiters)
        }
        if let timer { clock.cancel(timer.id) }
        transport.setReceiveHandler(nil)
        for waiter in waiters { waiter.continuation.resume() }
        hub.finish()
    }

    // MARK: Views and commands

    /// Every known member, this one first, then the others in name order, tombstones included.
    public var members: [ClusterMember] {
        let now = clock.now
        return state.withLock { $0.instance.memberList(now: now) }
    }

    /// What this member knows of the member called `name` (itself included), tombstones
    /// included; nil if it never heard of it. Cheaper than searching ``members``.
    public func member(named name: String) -> ClusterMember? {
        let now = clock.now
        return state.withLock { $0.instance.member(named: name, now: now) }
    }

    /// Members with `status` (any when nil) whose tags include every pair of `tags`.
    public func members(status: MemberStatus? = .alive, tags: [String: String] = [:]) -> [ClusterMember] {
        members.filter { (status == nil || $0.status == status) && $0.matches(tags) }
    }

    /// Alive members whose tags include every pair of `tags` and that answered a probe of this
    /// member (every member, with a cluster key), in name order: what a worker registry may
    /// hand out. A member only others vouch for may not exist (without a key anyone can
    /// announce one).
    func answeringMembers(tags: [String: String]) -> [ClusterMember] {
        answeringMembersAndRevision(tags: tags).members
    }

    /// ``answeringMembers(tags:)`` and the ``workersRevision`` it was read at, taken together.
    func answeringMembersAndRevision(tags: [String: String]) -> (members: [ClusterMember], revision: UInt64) {
        let now = clock.now
        return state.withLock { state in
            (state.instance.answeringMembers(tags: tags, now: now), state.instance.workerRevision)
        }
    }

    /// What changed in ``answeringMembers(tags:)`` after `revision`: each member whose entry
    /// changed since, with its view if it is now listed there and nil if not, and the revision
    /// now. Nil when the changes since `revision` are no longer kept (then read the whole list).
    /// Costs a lookup per change, however large the cluster.
    func answeringMemberChanges(since revision: UInt64, tags: [String: String])
        -> (changes: [(name: String, member: ClusterMember?)], revision: UInt64)?
    {
        let now = clock.now
        return state.withLock { state in
            guard let names = state.instance.workerChanges(since: revision) else { return nil }
            let changes = names.map { ($0, state.instance.answeringMember(named: $0, tags: tags, now: now)) }
            return (changes, state.instance.workerRevision)
        }
    }

    /// A number that moves whenever ``answeringMembers(tags:)`` may have changed (for any
    /// tags): a member joined, was forgotten, or changed status, address or tags, or answered
    /// a probe of this member for the first time at its address. It moves within the locked
    /// step that makes the change, so a reader that finds it where it was at its last
    /// ``answeringMembersAndRevision(tags:)`` or ``answeringMemberChanges(since:tags:)`` may
    /// keep using what that returned, and a change is seen by every read that starts after the
    /// step that made it, as with a read of the member table. One atomic load, no lock.
    var workersRevision: UInt64 {
        publishedWorkerRevision.load(ordering: .acquiring)
    }

    /// This member's current tags.
    public var tags: [String: String] {
        state.withLock { $0.instance.tags }
    }

    /// Publishes new tags (at a new incarnation); everyone sees ``ClusterEvent/nodeTagsUpdated(_:previous:)``.
    public func setTags(_ tags: [String: String]) throws(ClusterConfigurationError) {
        try Configuration.validate(tags: tags, settings: configuration.settings)
        perform { instance, now in instance.setTags(tags, now: now) }
    }

    /// Sets one tag, keeping the others.
    public func setTag(_ key: String, to value: String) throws(ClusterConfigurationError) {
        var tags = self.tags
        tags[key] = value
        try setTags(tags)
    }

    /// Removes one tag.
    public func removeTag(_ key: String) throws(ClusterConfigurationError) {
        var tags = self.tags
        tags.removeValue(forKey: key)
        try setTags(tags)
    }

    /// A new subscription to membership events, starting now.
    public var events: ClusterEvents { hub.subscribe() }

    /// The partition this member is in, if it detected one.
    public var partition: PartitionStatus? {
        state.withLock { $0.instance.partition }
    }

    /// Counters and the current local health.
    public var statistics: MembershipStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.localHealth = state.instance.localHealth
            statistics.probes = state.instance.counters.probes
            statistics.failedProbes = state.instance.counters.failedProbes
            statistics.refutations = state.instance.counters.refutations
            statistics.unexpectedAnswers = state.instance.counters.unexpectedAnswers
            statistics.refusedRelays = state.instance.counters.refusedRelays
            statistics.oversizedTags = state.instance.counters.oversizedTags
            statistics.ignoredIncarnations = state.instance.counters.ignoredIncarnations
            statistics.withheld = state.instance.counters.withheld
            return statistics
        }
    }

    // MARK: Driving the state machine

    /// Handles one datagram: open, decode, check, then hand to the state machine.
    private func handle(_ datagram: Datagram) {
        let now = clock.now
        let packet: GossipPacket
        do throws(GossipDropReason) {
            packet = try open(datagram)
        } catch {
            dropped(datagram, reason: error)
            return
        }
        enum Admission {
            case accepted
            case refused(GossipDropReason)
            case nameInUse(holder: SocketAddress)
        }
        let admission = state.withLock { state -> Admission in
            // Before the replay record: a joiner under a live member's name must not make the
            // member's own datagrams look replayed.
            if let holder = state.instance.conflictingHolder(of: packet) { return .nameInUse(holder: holder) }
            guard packet.sender != name else { return .refused(.foreign) }
            if let seen = state.replay[packet.sender] {
                guard seen.accepts(packet, window: configuration.replayWindow, now: now) else {
                    return .refused(.replayed)
                }
            } else if state.replay.count > 4 * (state.instance.members.count + 16) {
                let instance = state.instance
                state.replay = state.replay.filter { instance.members[$0.key] != nil }
            }
            state.replay[packet.sender, default: ReplayRecord(packet, now: now)].record(packet, now: now)
            state.statistics.received += 1
            return .accepted
        }
        switch admission {
        case .accepted:
            break
        case .refused(let reason):
            dropped(datagram, reason: reason, sender: packet.sender)
            return
        case .nameInUse(let holder):
            dropped(datagram, reason: .nameConflict, sender: packet.sender)
            answerNameConflict(holder: holder, to: datagram.source, now: now)
            return
        }
        metrics.received(packet.message.kind)
        perform { instance, now in
            instance.receive(packet, from: datagram.source, now: now, size: datagram.payload.count)
        }
    }

    /// Tells a joiner that a live member at `holder` has its name.
    private func answerNameConflict(holder: SocketAddress, to joiner: SocketAddress, now: MonotonicInstant) {
        let packet = GossipPacket(
            sender: name, boot: boot, sentAt: now.nanoseconds, message: .nameInUse(holder: holder), updates: [])
        try? transport.send(sealer.seal(GossipCodec.encode(packet)), to: joiner)
    }

    private func open(_ datagram: Datagram) throws(GossipDropReason) -> GossipPacket {
        guard datagram.payload.count <= configuration.settings.maxDatagramSize else { throw .oversized }
        let body = try sealer.open(datagram.payload)
        let packet: GossipPacket
        do {
            packet = try GossipCodec.decode(body)
        } catch {
            throw .malformed
        }
        return packet
    }

    /// Counts and logs a datagram refused for `reason`; `sender` is the member name it claims,
    /// when it could be read.
    private func dropped(_ datagram: Datagram, reason: GossipDropReason, sender: String? = nil) {
        metrics.dropped(reason)
        state.withLock { $0.statistics.dropped[reason, default: 0] += 1 }
        dropLog.log(
            .warning, kind: reason.rawValue, "dropped gossip datagram",
            metadata: Self.metadata(ofDrop: datagram, reason: reason, sender: sender), to: logger)
    }

    private static func metadata(ofDrop datagram: Datagram, reason: GossipDropReason, sender: String?)
        -> Logger.Metadata
    {
        var metadata: Logger.Metadata = ["reason": "\(reason)", "address": "\(datagram.source)"]
        if let sender { metadata["member"] = "\(sender)" }
        return metadata
    }

    /// Runs `body` on the state machine and a tick, then sends, publishes and re-arms the timer.
    private func perform(_ body: (inout SWIMInstance, MonotonicInstant) -> [SWIMDirective]) {
        let now = clock.now
        var outgoing: [(payload: [UInt8], destination: SocketAddress, kind: GossipMessage.Kind)] = []
        var events: [ClusterEvent] = []
        var observations: [SWIMObservation] = []
        var health: MembershipHealth?
        var joined: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        let rearm: (cancel: ScheduledTimer?, at: MonotonicInstant?) = state.withLock { state in
            guard !state.stopped else { return (nil, nil) }
            var directives = body(&state.instance, now)
            if let due = state.instance.nextDeadline, due <= now { directives += state.instance.tick(now: now) }
            publishedWorkerRevision.store(state.instance.workerRevision, ordering: .releasing)
            for directive in directives {
                switch directive {
                case .send(let message, let updates, let destination):
                    let packet = GossipPacket(
                        sender: name, boot: boot, sentAt: now.nanoseconds, message: message, updates: updates)
                    outgoing.append((sealer.seal(GossipCodec.encode(packet)), destination, message.kind))
                case .event(let event):
                    events.append(event)
                case .observe(let observation):
                    observations.append(observation)
                }
            }
            let current = MembershipHealth(
                members: state.instance.memberCounts, localHealth: state.instance.localHealth)
            if current != state.health {
                state.health = current
                health = current
            }
            state.statistics.sent += outgoing.count
            state.statistics.sentBytes += outgoing.reduce(0) { $0 + $1.payload.count }
            if !state.instance.isJoining {
                joined = state.joinWaiters
                state.joinWaiters.removeAll()
            }
            guard state.running, var next = state.instance.nextDeadline else { return (nil, nil) }
            // Never re-arm in the past: a timer that kept firing at once would spin.
            next = max(next, now.advanced(by: .microseconds(100)))
            if let timer = state.timer, timer.at <= next { return (nil, nil) }
            let previous = state.timer?.id
            state.timer = nil
            return (previous, next)
        }
        if let cancel = rearm.cancel { clock.cancel(cancel) }
        if let at = rearm.at { arm(at: at) }
        for (payload, destination, kind) in outgoing {
            do {
                try transport.send(payload, to: destination)
                metrics.sent(kind)
            } catch {
                logger.debug(
                    "gossip send failed",
                    metadata: ["address": "\(destination)", "kind": "\(kind)", "reason": "\(error)"])
            }
        }
        for observation in observations { metrics.record(observation) }
        if let health { metrics.record(health) }
        for event in events {
            logger.log(level: event.logLevel, event.logMessage, metadata: event.logMetadata)
            hub.publish(event)
        }
        for waiter in joined { waiter.continuation.resume() }
    }

    private func arm(at deadline: MonotonicInstant) {
        let id = clock.schedule(at: deadline) { [weak self] in self?.timerFired(deadline) }
        let stale = state.withLock { state -> ScheduledTimer? in
            if state.stopped || (state.timer.map { $0.at <= deadline } ?? false) { return id }
            let previous = state.timer?.id
            state.timer = (id, deadline)
            return previous
        }
        if let stale { clock.cancel(stale) }
    }

    private func timerFired(_ deadline: MonotonicInstant) {
        state.withLock { state in
            if state.timer?.at == deadline { state.timer = nil }
        }
        perform { _, _ in [] }
    }
}

/// Counters of a membership.
public struct MembershipStatistics: Sendable, Equatable {
    /// Gossip datagrams sent.
    public var sent = 0
    /// Their bytes, sealing included (UDP and IP headers not).
    public var sentBytes = 0
    /// Gossip datagrams accepted.
    public var received = 0
    /// Datagrams dropped, by reason (`oversized`, `malformed`, `unauthenticated`, `replayed`,
    /// `foreign`, `nameConflict`).
    public var dropped: [String: Int] = [:]
    /// Probes started, and those that failed (direct and indirect).
    public var probes = 0
    public var failedProbes = 0
    /// Times this member refuted a suspicion about itself.
    public var refutations = 0
    /// Acks and nacks ignored because they came from a member this one had not asked: late
    /// after a restart, or forged by someone who guessed a sequence number.
    public var unexpectedAnswers = 0
    /// Ping-reqs refused because their target is not a member known here at the address given
    /// (in a cluster without a key they could make this member ping anyone).
    public var refusedRelays = 0
    /// Member updates ignored because their tags exceed this member's `maxTagBytes`: a peer is
    /// configured with a larger limit.
    public var oversizedTags = 0
    /// Updates and member states ignored for an incarnation out of range (§7.5 of PROTOCOL.md):
    /// above 2^62 − 2^32 − 1 in news from anyone but the member itself.
    public var ignoredIncarnations = 0
    /// Datagrams not sent because they would exceed an unverified address's anti-amplification
    /// allowance (3 × the bytes received from it; clusters without a key only).
    public var withheld = 0
    /// Lifeguard's local health multiplier now (0 is healthy).
    public var localHealth = 0

    /// Total datagrams dropped.
    public var totalDropped: Int { dropped.values.reduce(0, +) }
}

extension [String: Int] {
    fileprivate subscript(reason: GossipDropReason, default value: Int) -> Int {
        get { self[reason.rawValue, default: value] }
        set { self[reason.rawValue] = newValue }
    }
}
