import DequeModule
import Foundation
import HeapModule
import Transports

/// What the state machine asks its shell to do.
enum SWIMDirective: Equatable, Sendable {
    /// Send `message` with `updates` piggybacked to `destination`.
    case send(GossipMessage, updates: [MemberUpdate], to: SocketAddress)
    /// Tell subscribers.
    case event(ClusterEvent)
    /// Measure (see ``MembershipMetrics``).
    case observe(SWIMObservation)
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
    /// ``members`` counted by status, kept in step with every status change.
    var statusCounts = MemberStatusCounts()
    /// Counts changes to what a worker registry reads of ``members`` (see
    /// ``answeringMembers(tags:now:)``): a member added or forgotten, a new status, address or
    /// tags, a member that answered a probe of ours for the first time at its address. Nothing
    /// else moves it (a datagram heard, a φ update), so a registry's index stays valid until it
    /// moves (``noteWorkerChange(_:)``).
    var workerRevision: UInt64 = 0
    /// The members behind the last ``workerChangeLimit`` moves of ``workerRevision``, oldest
    /// first: the last one made the current revision, the one before it the revision before.
    var workerChanges = Deque<String>()
    /// Changes kept in ``workerChanges``: a registry further behind reads the whole table again,
    /// which costs about as much as applying this many changes to a large cluster's index.
    static let workerChangeLimit = 1024
    /// Lifeguard's local health multiplier (§4.3), 0 when healthy.
    var localHealth = 0
    /// Counters for statistics.
    var counters = SWIMCounters()

    var dissemination = Dissemination()
    var random: SeededGenerator
    /// The largest body a datagram may carry (datagram size less the sealer's overhead).
    let bodyBudget: Int
    /// Whether gossip is sealed with a cluster key: only key holders can then send it, so every
    /// member and address counts as verified (see ``SWIMInstance+Verification``).
    let authenticated: Bool
    var output: [SWIMDirective] = []

    // Probing (SWIM §3.1, §4.3).
    var probeOrder: [String] = []
    var probeIndex = 0
    /// Members that never answered a probe of ours, probed every other period in an order of
    /// their own (newest first), so any number of them cannot delay the probes of real members.
    var unverifiedOrder: [String] = []
    var unverifiedIndex = 0
    /// Counts probe periods, to alternate between the two orders.
    var probeTurn = 0
    var probe: Probe?
    /// Members to probe before the round-robin resumes: suspects others reported (to confirm or
    /// clear them quickly) and members whose φ passed the threshold.
    var urgentProbes: [String] = []
    /// The same for members that never answered, probed in their own turns.
    var urgentUnverified: [String] = []
    var relays: [UInt64: Relay] = [:]
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
    /// The verified among ``activeNames``, sorted the same way.
    var verifiedNames: [String] = []
    /// Addresses that proved they receive this member's datagrams (answered a ping sent there),
    /// and the seeds.
    var verifiedAddresses: Set<SocketAddress> = []
    /// Announced addresses of verified members (heard from there, or answered there).
    var heardAddresses: Set<SocketAddress> = []
    /// Bytes received from and sent to unverified addresses (anti-amplification).
    var exchanged: [SocketAddress: Exchange] = [:]
    /// Pings sent to verify an address, by sequence.
    var verifications: [UInt64: Verification] = [:]
    /// Full states owed to unverified addresses, sent once they answer a verification ping:
    /// whether the state asks for a reply.
    var owedStates: [SocketAddress: Bool] = [:]
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
    /// The member last found alive at a seed's address: ``checkSeeds(now:)`` looks it up first
    /// and scans the member table only when it is no longer alive there (a scan four times a
    /// second per member was most of a 1,000-member simulation's time).
    var aliveSeedName: String?
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
        seed: UInt64, now: MonotonicInstant, incarnation: UInt64 = 0, authenticated: Bool = false
    ) {
        self.authenticated = authenticated
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

    /// Every known member counted by status, this one included.
    var memberCounts: MemberStatusCounts {
        var counts = statusCounts
        counts[hasLeft ? .left : .alive] += 1
        return counts
    }

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
        incarnation = Self.raised(incarnation)
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
        incarnation = Self.raised(incarnation)
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

    /// `incarnation` + 1, or the ceiling when it is there already: only reached after 2^31
    /// raises past ``GossipCodec/maxRefutedIncarnation``, and never a crash.
    static func raised(_ incarnation: UInt64) -> UInt64 {
        incarnation < GossipCodec.incarnationCeiling ? incarnation + 1 : incarnation
    }

    /// Handles a datagram of `size` bytes (sealing included; nil: its plain encoding) from
    /// `source`.
    mutating func receive(
        _ packet: GossipPacket, from source: SocketAddress, now: MonotonicInstant, size: Int? = nil
    ) -> [SWIMDirective] {
        guard !hasLeft else { return [] }
        received(size ?? GossipCodec.encode(packet).count + 2, from: source)
        if case .nameInUse(let holder) = packet.message {
            // Only a seed we are joining through may turn us away; nothing else in the datagram
            // is taken in, and it introduces nobody.
            if isJoining, seeds.contains(source) { seedContact = .refused(holder: holder) }
            return takeOutput()
        }
        counters.received += 1
        heard(from: packet.sender, at: now)
        // A sender we do not know, or hold failed or gone (a partition healed, a new life), gets
        // our view at once, its own entry included, so it learns what we think and refutes. Not
        // for a sync: the sender is sending its state, and asks for ours if it wants it (an
        // introduction as well would send our full state twice).
        if !(members[packet.sender]?.state.status.isActive ?? false) {
            // Nor for a seed we are joining through: its answer is on the way.
            let joinAnswer = isJoining && seeds.contains(source)
            if case .sync = packet.message {} else if !joinAnswer { introduce(packet.sender, at: source, now: now) }
        }
        for update in packet.updates { apply(update, from: packet.sender, now: now) }
        noteHeard(packet.sender, at: source)
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
            send(.ack(sequence: sequence), to: source, preferring: name, response: true)
            return takeOutput()
        case .pingRequest(let sequence, let target, let targetAddress):
            relayProbe(originSequence: sequence, target: target, targetAddress: targetAddress, origin: source, now: now)
        case .ack(let sequence):
            acknowledged(sequence, from: packet.sender, at: source, now: now)
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
            noteHeard(packet.sender, at: source)
            if answersJoin {
                announceSelf()
                announceDirectly()
            }
            if replyWanted {
                sendState(to: source, replyWanted: false, join: false, member: packet.sender, response: true, now: now)
            }
        case .nameInUse, .gossip:
            break
        }
        if accused { send(.gossip, to: source, preferring: name, response: true) }
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
            if let peer = pick(1, verifiedOnly: true).first {
                sendState(to: peer, replyWanted: true, join: false, now: now)
            }
            nextSyncAt = now.advanced(by: syncInterval)
        }
        if now >= nextReconnectAt {
            reconnect(now: now)
            nextReconnectAt = now.advanced(by: settings.reconnectInterval)
        }
        if let nextJoinAt, now >= nextJoinAt { attemptJoin(now: now) }
        if now >= nextHousekeepingAt {
            expireVerifications(now: now)
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
    ///
    /// Without a cluster key, a datagram to an address not verified (``isVerified(address:)``),
    /// unless a verified member announced it, fits within 3 × the bytes received from it less those sent to it (RFC 9000 §8's
    /// anti-amplification rule): updates are trimmed first, and the datagram is withheld when
    /// even its header does not fit. Datagrams that are not a `response` are sent on this
    /// member's own initiative to announced member addresses at protocol rates: gossip,
    /// announcements and syncs (a full state only to a verified address) are not limited; a
    /// ping or ping-req (a probe, a relayed probe, a request for an indirect probe) to an
    /// address no verified member announced goes out, its updates within the allowance (see
    /// ``SWIMInstance+Verification``).
    mutating func send(
        _ message: GossipMessage, to destination: SocketAddress, preferring preferred: String? = nil,
        attaching extra: MemberUpdate? = nil, response: Bool = false
    ) {
        let header = GossipCodec.headerSize(sender: name, message: message)
        // The header counts one byte for the update count; 64 or more updates need a second.
        var budget = bodyBudget - header - 1
        let freePing =
            switch message {
            case .ping, .pingRequest: !response
            default: false
            }
        // Our own gossip, announcements and syncs to members are not held to the allowance, nor
        // is any of our traffic to a member heard from at its address.
        let limited = (response || freePing) && !heardAddresses.contains(destination)
        let allowance = limited ? self.allowance(for: destination) : nil
        if let allowance {
            if freePing {
                budget = min(budget, allowance - 1)
            } else {
                guard header + Self.plainOverhead + 1 <= allowance else {
                    counters.withheld += 1
                    return
                }
                budget = min(budget, allowance - header - Self.plainOverhead - 1)
                if budget < 4, case .gossip = message { return }
            }
        }
        let limit = settings.retransmitMultiplier * Self.ceilLog10(activeCount + 2)
        var updates: [MemberUpdate] = []
        if let extra, !dissemination.contains(extra.name) {
            let size = GossipCodec.encodedSize(of: extra)
            if size <= budget {
                updates.append(extra)
                budget -= size
            }
        }
        updates += dissemination.take(budget: max(budget, 0), limit: limit, preferred: preferred)
        counters.sent += 1
        if allowance != nil {
            let bytes = Self.sizeBound(of: message, updates: updates)
            exchanged[destination, default: Exchange()].sent +=
                freePing ? bytes - Self.sizeBound(of: message, updates: []) : bytes
        }
        output.append(.send(message, updates: updates, to: destination))
    }

    mutating func emit(_ event: ClusterEvent) {
        output.append(.event(event))
    }

    mutating func observe(_ observation: SWIMObservation) {
        output.append(.observe(observation))
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

    /// Counts `member`, whose status went from `old` to `new` (nil: unknown before, or
    /// forgotten) or whose address or tags changed (`old` == `new`), in ``statusCounts`` and as a
    /// worker change (``noteWorkerChange(_:)``). Every such change goes through here.
    mutating func memberChanged(_ member: String, from old: MemberStatus?, to new: MemberStatus?) {
        statusCounts.move(from: old, to: new)
        noteWorkerChange(member)
    }

    /// Records that what a worker registry reads of `member` may have changed: moves
    /// ``workerRevision`` and logs the name in ``workerChanges``.
    mutating func noteWorkerChange(_ member: String) {
        workerRevision &+= 1
        workerChanges.append(member)
        if workerChanges.count > Self.workerChangeLimit { workerChanges.removeFirst() }
    }

    /// The members whose entries changed after `revision` (each once, in no particular order),
    /// or nil when ``workerChanges`` no longer reaches back that far.
    func workerChanges(since revision: UInt64) -> Set<String>? {
        guard revision <= workerRevision, workerRevision - revision <= UInt64(workerChanges.count) else { return nil }
        return Set(workerChanges.suffix(Int(workerRevision - revision)))
    }

    /// Alive members other than this one whose tags include every pair of `tags` and that
    /// answered a probe of ours (every member, with a cluster key), in name order: what a worker
    /// registry may hand out. A member only others vouch for may not exist (without a key anyone
    /// can announce one).
    func answeringMembers(tags: [String: String], now: MonotonicInstant) -> [ClusterMember] {
        memberList(now: now).dropFirst().filter { isAnswering($0, tags: tags) }
    }

    /// `member` as ``answeringMembers(tags:now:)`` would list it, or nil when it would not.
    func answeringMember(named member: String, tags: [String: String], now: MonotonicInstant) -> ClusterMember? {
        guard member != name, let view = members[member]?.view(now: now), isAnswering(view, tags: tags) else {
            return nil
        }
        return view
    }

    private func isAnswering(_ member: ClusterMember, tags: [String: String]) -> Bool {
        member.status == .alive && member.matches(tags) && hasAnswered(member.name)
    }

    /// Records that `member` takes part in the protocol (again).
    mutating func markActive(_ member: String) {
        guard !isActive(member) else { return }
        activeNames.insert(member, at: Self.insertionIndex(of: member, in: activeNames))
        if members[member]?.verified == true { Self.insert(member, into: &verifiedNames) }
    }

    /// Whether `member` is alive or suspect (a binary search of ``activeNames``).
    func isActive(_ member: String) -> Bool {
        Self.contains(member, in: activeNames)
    }

    /// Records that `member` no longer takes part (failed or left).
    mutating func markInactive(_ member: String) {
        guard isActive(member) else { return }
        activeNames.remove(at: Self.insertionIndex(of: member, in: activeNames))
        Self.remove(member, from: &verifiedNames)
    }

    static func insertionIndex(of member: String, in names: [String]) -> Int {
        var low = 0
        var high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < member { low = middle + 1 } else { high = middle }
        }
        return low
    }

    static func contains(_ member: String, in names: [String]) -> Bool {
        let index = insertionIndex(of: member, in: names)
        return index < names.count && names[index] == member
    }

    static func insert(_ member: String, into names: inout [String]) {
        guard !contains(member, in: names) else { return }
        names.insert(member, at: insertionIndex(of: member, in: names))
    }

    static func remove(_ member: String, from names: inout [String]) {
        guard contains(member, in: names) else { return }
        names.remove(at: insertionIndex(of: member, in: names))
    }

    /// Up to `count` distinct active members' addresses, chosen at random, never `excluded`
    /// (see ``pickNames(_:excluding:verifiedOnly:)``).
    mutating func pick(_ count: Int, excluding excluded: String? = nil, verifiedOnly: Bool = false)
        -> [SocketAddress]
    {
        pickNames(count, excluding: excluded, verifiedOnly: verifiedOnly).compactMap { members[$0]?.state.address }
    }

    /// Up to `count` distinct active members chosen at random, `excluded` never among them:
    /// verified members first (those that answered a probe), others only to make up the count
    /// unless `verifiedOnly`. Injected members that never answer thus get none of the gossip,
    /// syncs or ping-reqs real members need, however many of them there are.
    mutating func pickNames(_ count: Int, excluding excluded: String? = nil, verifiedOnly: Bool = false)
        -> [String]
    {
        var names = Self.pick(count, from: verifiedNames, excluding: excluded.map { [$0] } ?? [], using: &random)
        if names.count < count, !verifiedOnly, verifiedNames.count < activeNames.count {
            let others = Self.pick(
                count - names.count, from: activeNames, excluding: Set(names + (excluded.map { [$0] } ?? [])),
                using: &random)
            names += others
        }
        return names
    }

    /// Up to `count` distinct names of `pool` chosen at random, none of `excluded`.
    private static func pick(
        _ count: Int, from pool: [String], excluding excluded: Set<String>, using random: inout SeededGenerator
    ) -> [String] {
        let eligible = pool.count - excluded.reduce(0) { $0 + (contains($1, in: pool) ? 1 : 0) }
        let wanted = min(count, eligible)
        var chosen: Set<Int> = []
        var names: [String] = []
        while names.count < wanted {
            let index = Int(random.next() % UInt64(pool.count))
            guard !excluded.contains(pool[index]), chosen.insert(index).inserted else { continue }
            names.append(pool[index])
        }
        return names
    }
}

/// One member as this member knows it.
struct MemberRecord {
    var state: MemberState
    var phi: PhiAccrualDetector
    /// Whether it showed it exists at its current address: answered a probe of ours, or sent us
    /// a datagram from there (see ``SWIMInstance/isVerified(_:)``).
    var verified = false
    /// Whether it answered a probe of ours at its current address.
    var answered = false
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
    /// Updates and member states ignored for their incarnation (§7.5 of PROTOCOL.md).
    var ignoredIncarnations = 0
    /// Datagrams not sent to an unverified address: over its anti-amplification allowance.
    var withheld = 0
}

/// The probe of the current protocol period.
struct Probe {
    var sequence: UInt64
    var target: String
    var targetAddress: SocketAddress
    /// When the direct ping went out.
    var sentAt: MonotonicInstant
    var directDeadline: MonotonicInstant
    var periodEnd: MonotonicInstant
    /// When the direct ping's timeout passed and helpers were asked; nil before.
    var indirectSince: MonotonicInstant?
    /// The members asked to probe indirectly; only their acks and nacks count.
    var helpers: [String] = []
    var nackedBy: Set<String> = []

    /// Whether the direct ping timed out and the probe went on through helpers.
    var indirect: Bool { indirectSince != nil }

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
