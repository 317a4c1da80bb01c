import Foundation
import HeapModule
import Transports

/// What the state machine asks its shell to do.
enum SWIMDirective: Equatable, Sendable {
    /// Send `message` with `updates` piggybacked to `destination`.
    case send(GossipMessage, updates: [MemberUpdate], to: SocketAddress)
    /// Tell subscribers.
    case event(ClusterEvent)
}

/// SWIM with Lifeguard as a pure state machine: datagrams and clock readings go in, datagrams
/// to send and events come out (``SWIMDirective``). It never reads a clock or touches a
/// socket, so the same code runs over UDP and in a deterministic simulation, and every
/// decision can be tested by feeding it messages.
///
/// Identity is the member's name. Only a member increments its own incarnation: to refute a
/// suspicion or failure about itself, to publish new tags, and to leave (SWIM §4.2).
struct SWIMInstance {
    let settings: SWIMSettings
    /// This member's name.
    let name: String
    /// This member's gossip address.
    let address: SocketAddress
    var incarnation: UInt64 = 0
    var tags: [String: String]
    /// Set by ``leave(now:)``: the member no longer refutes, probes or answers.
    var hasLeft = false

    /// Everyone else this member knows of, tombstones included.
    var members: [String: MemberRecord] = [:]
    /// Lifeguard's local health multiplier (§4.3), 0 when healthy.
    var localHealth = 0
    /// Counters for statistics.
    var counters = SWIMCounters()

    var dissemination = Dissemination()
    var random: SeededGenerator
    /// The largest body a datagram may carry (datagram size less the sealer's overhead).
    let bodyBudget: Int
    var output: [SWIMDirective] = []

    // Probing (SWIM §3.1, §4.3).
    var probeOrder: [String] = []
    var probeIndex = 0
    var probe: Probe?
    /// Members to probe before the round-robin resumes: suspects others reported (to confirm or
    /// clear them quickly) and members whose φ passed the threshold.
    var urgentProbes: [String] = []
    var relays: [UInt64: Relay] = [:]
    var nextSequence: UInt64 = 0
    var nextProbeAt: MonotonicInstant
    var nextGossipAt: MonotonicInstant
    var nextSyncAt: MonotonicInstant
    var nextReconnectAt: MonotonicInstant
    var nextHousekeepingAt: MonotonicInstant
    /// Members in suspicion, with their deadlines, so timeouts need no scan of everyone.
    var suspicions: [String: MonotonicInstant] = [:]
    /// Failed and left members, with when they were buried, for reaping.
    var tombstones: [String: MonotonicInstant] = [:]
    /// Names of alive and suspect members, sorted: random choices index into it, so a
    /// simulation makes the same choices whatever the process's hash seed.
    var activeNames: [String] = []
    /// When each member's φ would pass the threshold if it stays silent, one entry per datagram
    /// heard; entries made stale by later datagrams are discarded when they come due (see
    /// ``checkPhi(now:)``).
    var phiCrossings = Heap<PhiCrossing>()
    /// The standard score at which φ reaches ``SWIMSettings/phiThreshold``.
    let phiScore: Double

    /// Unknown senders offered our state in the current one-second window (see
    /// ``introduce(_:at:now:)``).
    var introductionWindow: (start: MonotonicInstant, names: Set<String>) = (.zero, [])

    // Joining and re-joining.
    var seeds: [SocketAddress] = []
    var seedContact = SeedContact.settled
    /// When a seed was last seen alive (or joining began): re-joining starts
    /// ``SWIMSettings/rejoinAfter`` later.
    var seedLastSeen: MonotonicInstant

    // Partition detection.
    var partition: PartitionStatus?
    var partitionSuspectedSince: MonotonicInstant?

    /// A member called `name` at `address`. `incarnation` starts its first life's incarnation:
    /// the shell passes its boot time in milliseconds, so that a new life of a member outranks
    /// every update about its earlier lives (docs/PROTOCOL.md §7.5).
    init(
        name: String, address: SocketAddress, tags: [String: String], settings: SWIMSettings, bodyBudget: Int,
        seed: UInt64, now: MonotonicInstant, incarnation: UInt64 = 0
    ) {
        self.name = name
        self.address = address
        self.incarnation = incarnation
        self.seedLastSeen = now
        self.tags = tags
        self.settings = settings
        self.bodyBudget = bodyBudget
        self.random = SeededGenerator(seed: seed)
        self.phiScore = PhiAccrualDetector.standardScore(atPhi: settings.phiThreshold)
        nextProbeAt = now.advanced(by: settings.probeInterval)
        nextGossipAt = now.advanced(by: settings.gossipInterval)
        nextSyncAt = now.advanced(by: settings.syncInterval)
        nextReconnectAt = now.advanced(by: settings.reconnectInterval)
        nextHousekeepingAt = now.advanced(by: .seconds(1))
    }

    // MARK: Views

    /// Members taking part in the protocol (alive or suspect), this one excluded.
    var activeCount: Int { activeNames.count }

    /// This member as others see it.
    var selfMember: ClusterMember {
        ClusterMember(
            name: name, address: address, status: hasLeft ? .left : .alive, incarnation: incarnation, tags: tags)
    }

    /// Every known member, this one first, with φ as of `now`.
    func memberList(now: MonotonicInstant) -> [ClusterMember] {
        [selfMember] + members.values.sorted { $0.state.name < $1.state.name }.map { $0.view(now: now) }
    }

    /// What this member knows of `member` (itself included), nil if it never heard of it.
    func member(named member: String, now: MonotonicInstant) -> ClusterMember? {
        member == name ? selfMember : members[member]?.view(now: now)
    }

    // MARK: Commands

    /// Starts joining through `seeds`: a full-state exchange with each, retried with backoff
    /// until one answers.
    mutating func join(seeds: [SocketAddress], now: MonotonicInstant) -> [SWIMDirective] {
        for seed in seeds where seed != address && !self.seeds.contains(seed) { self.seeds.append(seed) }
        seedContact = .joining(attempts: 0, next: now, rejoin: false)
        seedLastSeen = now
        attemptJoin(now: now)
        return takeOutput()
    }

    /// Leaves: announces it at a new incarnation directly to up to
    /// ``directAnnouncementLimit`` members and by gossip, then stops taking part.
    mutating func leave(now: MonotonicInstant) -> [SWIMDirective] {
        guard !hasLeft else { return [] }
        hasLeft = true
        incarnation += 1
        let update = MemberUpdate.left(name: name, incarnation: incarnation)
        dissemination.enqueue(update)
        announceDirectly()
        probe = nil
        seedContact = .settled
        return takeOutput()
    }

    /// Publishes new tags at a new incarnation: by gossip, and directly to the members most
    /// likely to act on them (``announceOwnChange()``).
    mutating func setTags(_ newTags: [String: String], now: MonotonicInstant) -> [SWIMDirective] {
        guard newTags != tags, !hasLeft else { return [] }
        tags = newTags
        incarnation += 1
        announceSelf()
        announceOwnChange()
        return takeOutput()
    }

    /// Clusters this small get a member's own changes from the member itself, directly.
    static let smallClusterLimit = 8

    /// Sends this member's own news straight to its seeds, and in a cluster of up to
    /// ``smallClusterLimit`` others to all of them. Gossip alone sends an update
    /// `retransmitMultiplier` × ⌈log10(n + 2)⌉ times (4 in such a cluster) to random members, and
    /// its relays as many again, so now and then one member hears of a change only at the next
    /// anti-entropy exchange, 30 s later; a director (a seed) missing a worker's `role=worker`
    /// tag that long was seen in about 3 % of four-member starts.
    mutating func announceOwnChange() {
        if activeCount <= Self.smallClusterLimit {
            announceDirectly()
            return
        }
        for seed in seeds { send(.gossip, to: seed, preferring: name) }
    }

    // MARK: Input

    /// Handles a datagram from `source`.
    mutating func receive(_ packet: GossipPacket, from source: SocketAddress, now: MonotonicInstant)
        -> [SWIMDirective]
    {
        guard !hasLeft else { return [] }
        if case .nameInUse(let holder) = packet.message {
            // Only a seed we are joining through may turn us away; nothing else in the datagram
            // is taken in, and it introduces nobody.
            if isJoining, seeds.contains(source) { seedContact = .refused(holder: holder) }
            return takeOutput()
        }
        counters.received += 1
        heard(from: packet.sender, at: now)
        // A sender we do not know, or hold failed or gone (a partition healed, a new life), gets
        // our view at once, its own entry included, so it learns what we think and refutes.
        if !(members[packet.sender]?.state.status.isActive ?? false) {
            introduce(packet.sender, at: source, now: now)
        }
        for update in packet.updates { apply(update, now: now) }
        // A sender still spreading an accusation about us, even one we already refuted, gets
        // our refutation straight back: fixed retransmission counts let an epidemic miss a
        // member now and then, and the one that missed it may be the accuser.
        let accused = packet.updates.contains { $0.name == name && $0.isAccusation }
        if accused, !dissemination.contains(name) { announceSelf() }
        switch packet.message {
        case .ping(let sequence, let target):
            guard target == name else { break }
            // Buddy system (Lifeguard §4.5): a prober that suspects us piggybacks it first, and
            // our ack carries the refutation.
            send(.ack(sequence: sequence), to: source, preferring: name)
            return takeOutput()
        case .pingRequest(let sequence, let target, let targetAddress):
            relayProbe(originSequence: sequence, target: target, targetAddress: targetAddress, origin: source, now: now)
        case .ack(let sequence):
            acknowledged(sequence, from: packet.sender)
        case .nack(let sequence):
            nacked(sequence, from: packet.sender, now: now)
        case .sync(let states, let replyWanted, _):
            // Only a seed's answer ends joining. A sync from anyone else (a member joining
            // through us, an introduction) says nothing about whether we reached the cluster:
            // ending the join on it left chains of members that joined through each other as
            // islands when a seed's answer was lost.
            let answersJoin = isJoining && seeds.contains(source)
            if answersJoin { joinAnswered(now: now) }
            for state in states { merge(state, from: packet.sender, now: now) }
            if answersJoin {
                announceSelf()
                announceDirectly()
            }
            if replyWanted { sendState(to: source, replyWanted: false, join: false) }
        case .nameInUse, .gossip:
            break
        }
        if accused { send(.gossip, to: source, preferring: name) }
        return takeOutput()
    }

    /// Advances timers to `now`: probe deadlines, suspicion timeouts, gossip and sync rounds,
    /// join retries, housekeeping.
    mutating func tick(now: MonotonicInstant) -> [SWIMDirective] {
        guard !hasLeft else { return [] }
        advanceProbe(now: now)
        expireRelays(now: now)
        expireSuspicions(now: now)
        if probe == nil, now >= nextProbeAt {
            startProbe(now: now)
            nextProbeAt = now.advanced(by: scaled(settings.probeInterval))
        }
        // News goes out at once; further rounds follow at most every gossip interval while
        // anything is left to retransmit, so a quiet cluster sends nothing.
        if now >= nextGossipAt, !dissemination.isEmpty {
            gossipRound()
            nextGossipAt = now.advanced(by: settings.gossipInterval)
        }
        if now >= nextSyncAt {
            if let peer = pick(1).first { sendState(to: peer, replyWanted: true, join: false) }
            nextSyncAt = now.advanced(by: syncInterval)
        }
        if now >= nextReconnectAt {
            reconnect()
            nextReconnectAt = now.advanced(by: settings.reconnectInterval)
        }
        if let nextJoinAt, now >= nextJoinAt { attemptJoin(now: now) }
        if now >= nextHousekeepingAt {
            checkSeeds(now: now)
            reapTombstones(now: now)
            checkPhi(now: now)
            checkPartition(now: now)
            nextHousekeepingAt = now.advanced(by: .milliseconds(250))
        }
        return takeOutput()
    }

    /// When ``tick(now:)`` next has something to do; nil once the member has left.
    var nextDeadline: MonotonicInstant? {
        guard !hasLeft else { return nil }
        var deadline = min(nextSyncAt, nextReconnectAt, nextHousekeepingAt)
        if !dissemination.isEmpty { deadline = min(deadline, nextGossipAt) }
        if let probe {
            deadline = min(deadline, probe.indirect ? probe.periodEnd : probe.directDeadline)
        } else {
            deadline = min(deadline, nextProbeAt)
        }
        for relay in relays.values { deadline = min(deadline, relay.nackSent ? relay.expiresAt : relay.nackAt) }
        for suspicion in suspicions.values { deadline = min(deadline, suspicion) }
        if let nextJoinAt { deadline = min(deadline, nextJoinAt) }
        return deadline
    }

    // MARK: Sending

    /// Members told of this member's own join or departure at once, rather than by the epidemic
    /// alone: in a small cluster that is everyone, so nobody waits for a gossip round (random
    /// fanout misses someone about half the time with five members); in a large one it seeds
    /// the epidemic in many places. 32, a few datagrams once per join or leave.
    static let directAnnouncementLimit = 32

    /// Sends this member's queued news about itself straight to up to
    /// ``directAnnouncementLimit`` members.
    mutating func announceDirectly() {
        for member in pick(Self.directAnnouncementLimit) {
            send(.gossip, to: member, preferring: name)
        }
    }

    mutating func takeOutput() -> [SWIMDirective] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Queues `message` for `destination` with as many pending updates as fit, those about
    /// `preferred` first. `attaching` rides along when no pending update is about its member,
    /// whatever the retransmission counts say.
    mutating func send(
        _ message: GossipMessage, to destination: SocketAddress, preferring preferred: String? = nil,
        attaching extra: MemberUpdate? = nil
    ) {
        // The header counts one byte for the update count; 64 or more updates need a second.
        var budget = bodyBudget - GossipCodec.headerSize(sender: name, message: message) - 1
        let limit = settings.retransmitMultiplier * Self.ceilLog10(activeCount + 2)
        var updates: [MemberUpdate] = []
        if let extra, !dissemination.contains(extra.name) {
            updates.append(extra)
            budget -= GossipCodec.encodedSize(of: extra)
        }
        updates += dissemination.take(budget: max(budget, 0), limit: limit, preferred: preferred)
        counters.sent += 1
        output.append(.send(message, updates: updates, to: destination))
    }

    mutating func emit(_ event: ClusterEvent) {
        output.append(.event(event))
    }

    /// ceil(log10(n)) for n ≥ 1, the scale of SWIM's dissemination and Lifeguard's timeouts.
    static func ceilLog10(_ n: Int) -> Int {
        var digits = 0
        var value = max(n - 1, 0)
        while value > 0 {
            digits += 1
            value /= 10
        }
        return max(digits, 1)
    }

    /// The anti-entropy interval for the current cluster size. A full state grows with the
    /// cluster, so beyond 32 members the interval grows by one step per doubling (memberlist's
    /// pushPullScale), which keeps the datagrams it costs each member per period small: 30 s up
    /// to 32 members, 180 s at 1,000.
    var syncInterval: Duration {
        let members = activeCount + 1
        guard members > 32 else { return settings.syncInterval }
        return settings.syncInterval * Int((log2(Double(members)) - 5).rounded(.up) + 1)
    }

    /// `duration` stretched by the local health multiplier (Lifeguard §4.3).
    func scaled(_ duration: Duration) -> Duration {
        duration * (localHealth + 1)
    }

    mutating func adjustLocalHealth(by delta: Int) {
        localHealth = min(max(localHealth + delta, 0), settings.maxLocalHealth)
    }

    /// Records that `member` takes part in the protocol (again).
    mutating func markActive(_ member: String) {
        guard !isActive(member) else { return }
        activeNames.insert(member, at: insertionIndex(of: member))
    }

    /// Whether `member` is alive or suspect (a binary search of ``activeNames``).
    func isActive(_ member: String) -> Bool {
        let index = insertionIndex(of: member)
        return index < activeNames.count && activeNames[index] == member
    }

    /// Records that `member` no longer takes part (failed or left).
    mutating func markInactive(_ member: String) {
        guard isActive(member) else { return }
        activeNames.remove(at: insertionIndex(of: member))
    }

    private func insertionIndex(of member: String) -> Int {
        var low = 0
        var high = activeNames.count
        while low < high {
            let middle = (low + high) / 2
            if activeNames[middle] < member { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Up to `count` distinct active members' addresses, chosen at random, never `excluded`.
    mutating func pick(_ count: Int, excluding excluded: String? = nil) -> [SocketAddress] {
        pickNames(count, excluding: excluded).compactMap { members[$0]?.state.address }
    }

    /// Up to `count` distinct active members chosen at random, `excluded` never among them.
    mutating func pickNames(_ count: Int, excluding excluded: String? = nil) -> [String] {
        let eligible = activeNames.count - (excluded.map { isActive($0) ? 1 : 0 } ?? 0)
        let wanted = min(count, eligible)
        var chosen: Set<Int> = []
        var names: [String] = []
        while names.count < wanted {
            let index = Int(random.next() % UInt64(activeNames.count))
            guard activeNames[index] != excluded, chosen.insert(index).inserted else { continue }
            names.append(activeNames[index])
        }
        return names
    }
}

/// One member as this member knows it.
struct MemberRecord {
    var state: MemberState
    var phi: PhiAccrualDetector
    /// Members that independently suspect it (Lifeguard §4.4), the first suspecter included.
    var suspecters: Set<String> = []
    var suspectedSince: MonotonicInstant?

    func view(now: MonotonicInstant) -> ClusterMember {
        ClusterMember(
            name: state.name, address: state.address, status: state.status, incarnation: state.incarnation,
            tags: state.tags, phi: state.status.isActive ? phi.phi(at: now) : nil)
    }
}

/// The instant a member's φ passes the threshold unless it is heard from first.
struct PhiCrossing: Comparable {
    var at: MonotonicInstant
    var member: String

    static func < (lhs: PhiCrossing, rhs: PhiCrossing) -> Bool {
        (lhs.at, lhs.member) < (rhs.at, rhs.member)
    }
}

/// Counters the state machine keeps.
struct SWIMCounters: Equatable {
    var sent = 0
    var received = 0
    var probes = 0
    var failedProbes = 0
    var refutations = 0
    /// Acks and nacks from a member that was not asked: stale, or forged.
    var unexpectedAnswers = 0
    /// Ping-reqs for a target not known here at the address given.
    var refusedRelays = 0
    /// Alive updates ignored because their tags exceed this member's `maxTagBytes`.
    var oversizedTags = 0
}

/// The probe of the current protocol period.
struct Probe {
    var sequence: UInt64
    var target: String
    var targetAddress: SocketAddress
    var directDeadline: MonotonicInstant
    var periodEnd: MonotonicInstant
    var indirect = false
    /// The members asked to probe indirectly; only their acks and nacks count.
    var helpers: [String] = []
    var nackedBy: Set<String> = []

    /// Every helper answered that it could not reach the target either (Lifeguard §4.2).
    var allHelpersNacked: Bool { !helpers.isEmpty && nackedBy.count == helpers.count }
}

/// A probe this member runs for another (a ping-req it received).
struct Relay {
    var origin: SocketAddress
    var originSequence: UInt64
    /// The member pinged; only its ack is relayed.
    var target: String
    var nackAt: MonotonicInstant
    var expiresAt: MonotonicInstant
    var nackSent = false
}
