import Transports

/// Where a member stands with its seeds.
enum SeedContact: Equatable {
    /// Not joining: no seeds, or a seed answered.
    case settled
    /// Sending join exchanges to the seeds: `attempts` so far, the next one at `next`;
    /// `rejoin` marks a return after every seed was lost from sight.
    case joining(attempts: Int, next: MonotonicInstant, rejoin: Bool)
    /// A seed answered that a live member at `holder` has this member's name.
    case refused(holder: SocketAddress)
}

extension SWIMInstance {
    /// Sends a join exchange to every seed, retried with exponential backoff from 0.2 s until a
    /// seed answers: up to 5 s apart for a first join, up to ``SWIMSettings/rejoinMaxBackoff``
    /// for a re-join. A first join sends this member's full state; a re-join (after losing
    /// sight of every seed) only this member and its view of the seeds, one small datagram per
    /// seed, as a member that knew the cluster has nothing else to teach a seed that comes back.
    mutating func attemptJoin(now: MonotonicInstant) {
        guard case .joining(let attempts, _, let rejoin) = seedContact, !seeds.isEmpty else {
            if isJoining { seedContact = .settled }
            return
        }
        // A re-join carries this member and what it believes of the seeds: a seed it suspects
        // learns so and refutes in its answer, which clears the suspicion (an alive at the same
        // incarnation would not).
        let seedStates = rejoin ? members.values.map(\.state).filter { seeds.contains($0.address) } : []
        for seed in seeds {
            if rejoin {
                send(.sync(members: [selfState] + seedStates, replyWanted: true, join: true), to: seed)
            } else {
                sendState(to: seed, replyWanted: true, join: true)
            }
        }
        let ceiling = rejoin ? settings.rejoinMaxBackoff : .seconds(5)
        let backoff = min(Duration.milliseconds(200) * (1 << min(attempts, 5)), ceiling)
        seedContact = .joining(attempts: attempts + 1, next: now.advanced(by: backoff), rejoin: rejoin)
    }

    /// A seed answered: joining is done.
    mutating func joinAnswered(now: MonotonicInstant) {
        seedContact = .settled
        seedLastSeen = now
    }

    /// Whether the join is still waiting for a seed to answer.
    var isJoining: Bool {
        if case .joining = seedContact { return true }
        return false
    }

    /// When the next join attempt is due, while joining.
    var nextJoinAt: MonotonicInstant? {
        if case .joining(_, let next, _) = seedContact { return next }
        return nil
    }

    /// Re-joins through the seeds once none of them has been alive in this member's view for
    /// ``SWIMSettings/rejoinAfter``: a seed that left or crashed and came back knows nobody, and
    /// nobody contacts a member that left, so without this a cluster whose seed restarted
    /// would stay apart.
    mutating func checkSeeds(now: MonotonicInstant) {
        guard case .settled = seedContact, !seeds.isEmpty else { return }
        // Alive, not merely suspect: a seed this member suspects for a second may be on the
        // other side of a partition, and a re-join is what finds it again once the partition
        // heals (the seed has likely declared this member failed and stopped probing it).
        func isAliveSeed(_ record: MemberRecord) -> Bool {
            record.state.status == .alive && seeds.contains(record.state.address)
        }
        if let known = aliveSeedName, let record = members[known], isAliveSeed(record) {
            seedLastSeen = now
            return
        }
        aliveSeedName = members.first { isAliveSeed($0.value) }?.key
        if aliveSeedName != nil {
            seedLastSeen = now
            return
        }
        guard seedLastSeen.duration(to: now) >= settings.rejoinAfter else { return }
        seedContact = .joining(attempts: 0, next: now, rejoin: true)
        attemptJoin(now: now)
    }

    /// The address of the live member that already holds the name of `packet`'s sender, when
    /// the packet is a sync (a join, or an introduction) from another address: the sender is
    /// turned away (answered with ``GossipMessage/nameInUse(holder:)``) rather than let take
    /// over the entry, which would move the live member's traffic to it. A new life of a member
    /// at its old address, or of a member already declared failed or gone, is no conflict.
    func conflictingHolder(of packet: GossipPacket) -> SocketAddress? {
        guard case .sync(let states, _, _) = packet.message,
            let claimed = states.first(where: { $0.name == packet.sender })?.address
        else { return nil }
        if packet.sender == name { return claimed == address ? nil : address }
        guard let record = members[packet.sender], record.state.status.isActive, record.state.address != claimed
        else { return nil }
        return record.state.address
    }

    /// This member's own full state.
    var selfState: MemberState {
        MemberState(name: name, address: address, status: .alive, incarnation: incarnation, tags: tags)
    }

    /// Sends this member's view (itself, active members and tombstones) to `destination`, in as
    /// many datagrams as it takes (anti-entropy, memberlist's push/pull). Only the first
    /// datagram asks for a reply: one exchange costs the two full states, not one full state
    /// per datagram received. Without a key, an unverified destination is owed the state
    /// instead, and pinged under `member`'s name to verify it (``owe(_:member:replyWanted:now:)``).
    /// `response`: the state answers a datagram from `destination`.
    mutating func sendState(
        to destination: SocketAddress, replyWanted: Bool, join: Bool, member: String? = nil,
        response: Bool = false, now: MonotonicInstant? = nil
    ) {
        if !isVerified(address: destination) {
            let member = member ?? members.values.first { $0.state.address == destination }?.state.name
            if let member, let now {
                owe(destination, member: member, replyWanted: replyWanted, response: response, now: now)
            }
            return
        }
        var replyWanted = replyWanted
        var states = [selfState]
        states += members.values.map(\.state).sorted { $0.name < $1.name }
        // Room for the member count's varint to grow, and for a few piggybacked updates' count.
        let budget =
            bodyBudget
            - GossipCodec.headerSize(sender: name, message: .sync(members: [], replyWanted: true, join: true))
            - 4
        var chunk: [MemberState] = []
        var used = 0
        for state in states {
            let size = GossipCodec.encodedSize(of: state)
            if used + size > budget, !chunk.isEmpty {
                send(.sync(members: chunk, replyWanted: replyWanted, join: join), to: destination)
                replyWanted = false
                chunk = []
                used = 0
            }
            chunk.append(state)
            used += size
        }
        if !chunk.isEmpty { send(.sync(members: chunk, replyWanted: replyWanted, join: join), to: destination) }
    }

    /// Offers a full-state exchange to one member believed failed, chosen at random: if it is
    /// reachable again, each side refutes the other's view of it and both recover.
    mutating func reconnect(now: MonotonicInstant) {
        let failed = tombstones.keys.filter { members[$0]?.state.status == .failed }.sorted()
        guard !failed.isEmpty, let record = members[failed[Int(random.next() % UInt64(failed.count))]] else { return }
        sendState(to: record.state.address, replyWanted: true, join: false, member: record.state.name, now: now)
    }

    /// A member we have not heard of contacted us (gossip about it has not reached us yet):
    /// exchange full states with it at once rather than wait for dissemination or the next
    /// anti-entropy round. Once per name, and at most ``maxIntroductionsPerSecond`` in all, per
    /// one-second window: in a cluster without a key a sender's name and address are whatever a
    /// datagram claims, and a full state is many datagrams, so each introduction is a small
    /// datagram turned into a large reply to an address nobody checked.
    mutating func introduce(_ sender: String, at source: SocketAddress, now: MonotonicInstant) {
        if introductionWindow.start.duration(to: now) >= .seconds(1) {
            introductionWindow = (now, [])
        }
        guard introductionWindow.names.count < Self.maxIntroductionsPerSecond,
            introductionWindow.names.insert(sender).inserted
        else { return }
        sendState(to: source, replyWanted: true, join: false, member: sender, response: true, now: now)
    }

    /// Most introductions (full states sent to members not heard of before) per second.
    static let maxIntroductionsPerSecond = 8

    /// Forgets tombstones older than their lifetime.
    mutating func reapTombstones(now: MonotonicInstant) {
        for (member, buried) in tombstones where buried.duration(to: now) >= settings.tombstoneLifetime {
            tombstones.removeValue(forKey: member)
            memberChanged(member, from: members.removeValue(forKey: member)?.state.status, to: nil)
            dissemination.forget(member)
        }
    }

    /// Reports a partition when this member has reached only a minority of the last known
    /// membership, or has lost at least a third of it (two members at least), for the grace
    /// period; and its end. Only verified members count: injected ones that never answered
    /// would otherwise make any member report a partition.
    mutating func checkPartition(now: MonotonicInstant) {
        // Counted from the indexes the state machine keeps, not by walking every record: this
        // runs four times a second on every member.
        let failed = tombstones.keys.reduce(0) {
            $0 + (members[$1]?.state.status == .failed && isVerified($1) ? 1 : 0)
        }
        let suspects = suspicions.keys.reduce(0) { $0 + (isVerified($1) ? 1 : 0) }
        let known = verifiedNames.count + failed + 1
        let reachable = verifiedNames.count - suspects + 1
        let lost = known - reachable
        // One member lost is a failure, not a partition: in a cluster of three it is also a
        // third, and every single crash would be reported as a split.
        let cutOff = known >= 3 && (reachable * 2 <= known || (lost >= 2 && lost * 3 >= known))
        if !cutOff {
            partitionSuspectedSince = nil
            if partition != nil {
                partition = nil
                emit(.partitionHealed(reachable: reachable, known: known))
            }
            return
        }
        let since = partitionSuspectedSince ?? now
        partitionSuspectedSince = since
        let status = PartitionStatus(reachable: reachable, known: known, isMinority: reachable * 2 <= known)
        if partition == nil, since.duration(to: now) >= settings.partitionGracePeriod {
            partition = status
            emit(.partitionDetected(status))
        } else if partition != nil {
            partition = status
        }
    }
}
