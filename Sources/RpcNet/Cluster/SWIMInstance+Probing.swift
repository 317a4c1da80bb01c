import Transports

extension SWIMInstance {
    /// Starts this period's probe: an urgent target if any, else the next member of the shuffled
    /// round-robin order (SWIM §4.3), reshuffled after each full pass; every other period the
    /// next unverified member instead, when there is one.
    mutating func startProbe(now: MonotonicInstant) {
        guard let target = nextProbeTarget(), let record = members[target] else { return }
        let sequence = newSequence()
        probe = Probe(
            sequence: sequence, target: target, targetAddress: record.state.address, sentAt: now,
            directDeadline: now.advanced(by: scaled(settings.probeTimeout)),
            periodEnd: now.advanced(by: scaled(settings.probeInterval)))
        counters.probes += 1
        observe(.probe(.direct))
        // Buddy system (Lifeguard §4.5): a suspect hears of its suspicion from every prober,
        // even one whose copy of the news has used up its retransmissions, and refutes in its ack.
        let buddy: MemberUpdate? =
            record.state.status == .suspect
            ? .suspect(name: target, incarnation: record.state.incarnation, from: record.suspecters.min() ?? name) : nil
        send(
            .ping(sequence: sequence, target: target), to: record.state.address, preferring: target,
            attaching: buddy)
    }

    private mutating func nextProbeTarget() -> String? {
        while let urgent = urgentProbes.first {
            urgentProbes.removeFirst()
            if members[urgent]?.state.status.isActive == true { return urgent }
        }
        probeTurn &+= 1
        if probeTurn % 2 == 0, let unverified = nextUnverifiedTarget() { return unverified }
        return nextVerifiedTarget() ?? nextUnverifiedTarget()
    }

    private mutating func nextVerifiedTarget() -> String? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let candidate = probeOrder[probeIndex]
                probeIndex += 1
                if members[candidate]?.state.status.isActive == true, isVerified(candidate) { return candidate }
            }
            probeOrder = verifiedNames
            probeOrder.shuffle(using: &random)
            probeIndex = 0
        }
        return nil
    }

    /// Probes `member` out of turn: at the next period if it answered before; if it never did,
    /// at the next period given to unverified members, behind at most
    /// ``maxUrgentUnverified`` others (suspicions of injected members cannot take every probe).
    mutating func probeSoon(_ member: String, now: MonotonicInstant) {
        if isVerified(member) {
            guard !urgentProbes.contains(member) else { return }
            urgentProbes.append(member)
        } else {
            guard !urgentUnverified.contains(member), urgentUnverified.count < Self.maxUrgentUnverified else { return }
            urgentUnverified.append(member)
        }
        if probe == nil { nextProbeAt = min(nextProbeAt, now) }
    }

    /// Unverified members waiting to be probed out of turn, at most.
    static let maxUrgentUnverified = 16

    private mutating func nextUnverifiedTarget() -> String? {
        while let urgent = urgentUnverified.first {
            urgentUnverified.removeFirst()
            if members[urgent]?.state.status.isActive == true { return urgent }
        }
        guard verifiedNames.count < activeNames.count else { return nil }
        for _ in 0..<2 {
            while unverifiedIndex < unverifiedOrder.count {
                let candidate = unverifiedOrder[unverifiedIndex]
                unverifiedIndex += 1
                if members[candidate]?.state.status.isActive == true, !isVerified(candidate) { return candidate }
            }
            unverifiedOrder = activeNames.filter { !isVerified($0) }
            unverifiedOrder.shuffle(using: &random)
            unverifiedIndex = 0
        }
        return nil
    }

    /// A new verified member joins the round-robin at a random position (SWIM §4.3), so it is
    /// probed within one pass; a new unverified one is probed next in the unverified order, so a
    /// new member is verified within two periods unless others joined after it.
    mutating func addToProbeOrder(_ member: String) {
        if isVerified(member) {
            let position = probeIndex + Int(random.next() % UInt64(probeOrder.count - probeIndex + 1))
            probeOrder.insert(member, at: position)
        } else {
            unverifiedOrder.insert(member, at: unverifiedIndex)
        }
    }

    /// Moves the current probe along: after the probe timeout, ask `k` others; at the end of
    /// the period without an ack, suspect the target.
    mutating func advanceProbe(now: MonotonicInstant) {
        guard var current = probe else { return }
        if !current.indirect, now >= current.directDeadline {
            current.indirectSince = now
            current.helpers = pickNames(settings.indirectProbes, excluding: current.target)
            if !current.helpers.isEmpty { observe(.probe(.indirect)) }
            for helper in current.helpers {
                guard let address = members[helper]?.state.address else { continue }
                send(
                    .pingRequest(sequence: current.sequence, target: current.target, address: current.targetAddress),
                    to: address)
            }
            probe = current
        }
        // Once every helper has said it cannot reach the target either, waiting out the period
        // only gives a lost ack a few more milliseconds; the suspicion starts now.
        guard now >= current.periodEnd || current.allHelpersNacked else { return }
        probe = nil
        counters.failedProbes += 1
        // Lifeguard §4.3: missing nacks mean our own links are the problem as much as the
        // target; with no helpers to ask, count the failure itself. Not for a member that never
        // answered: injected members would otherwise slow this member's every timeout.
        let verified = isVerified(current.target)
        if verified {
            adjustLocalHealth(by: current.helpers.isEmpty ? 1 : current.helpers.count - current.nackedBy.count)
        }
        guard let record = members[current.target], record.state.status.isActive else { return }
        apply(.suspect(name: current.target, incarnation: record.state.incarnation, from: name), from: name, now: now)
        // A new suspicion of ours is probed once more next period: the ping tells the suspect
        // (buddy system) and a live member's ack carries its refutation, so the accuser itself
        // hears it first.
        if record.state.status == .alive { probeSoon(current.target, now: now) }
    }

    /// An ack for our probe, a verification ping, or a probe we relay. Only the member pinged,
    /// or a helper of our indirect probe, can answer a probe: a sequence number alone is easy
    /// to guess for anyone who saw one. The target answering from the address pinged, or a
    /// helper relaying its answer, verifies it.
    mutating func acknowledged(
        _ sequence: UInt64, from sender: String, at source: SocketAddress, now: MonotonicInstant
    ) {
        if verified(sequence, from: sender, at: source) { return }
        if let current = probe, current.sequence == sequence {
            let direct = sender == current.target && source == current.targetAddress
            guard sender == current.target || current.helpers.contains(sender) else {
                counters.unexpectedAnswers += 1
                return
            }
            probe = nil
            if direct || sender != current.target { noteAnswered(current.target, at: current.targetAddress) }
            if sender == current.target {
                observe(.probeAnswered(.direct, after: current.sentAt.duration(to: now)))
            } else if let asked = current.indirectSince {
                observe(.probeAnswered(.indirect, after: asked.duration(to: now)))
            }
            if !current.indirect { adjustLocalHealth(by: -1) }
            // The target answered, yet we still suspect it: its refutation was lost on the way
            // (epidemics miss a member now and then, and a relayed ack carries none of its
            // own). Each ping to a suspect carries the suspicion and the suspect answers with
            // its refutation, so it is asked again next period until that arrives. Without
            // this, a live member was declared failed by the one member that missed the news.
            if members[current.target]?.state.status == .suspect { probeSoon(current.target, now: now) }
            return
        }
        if let relay = relays[sequence] {
            guard sender == relay.target else {
                counters.unexpectedAnswers += 1
                return
            }
            relays.removeValue(forKey: sequence)
            send(.ack(sequence: relay.originSequence), to: relay.origin, preferring: relay.target, response: true)
        }
    }

    /// A helper of our indirect probe could not reach the target either (Lifeguard §4.2).
    mutating func nacked(_ sequence: UInt64, from sender: String, now: MonotonicInstant) {
        guard var current = probe, current.sequence == sequence, current.helpers.contains(sender) else {
            counters.unexpectedAnswers += 1
            return
        }
        current.nackedBy.insert(sender)
        probe = current
        advanceProbe(now: now)
    }

    /// Probes `target` for the member at `origin` (SWIM §3.1); a nack goes back if the target
    /// has not answered by the nack deadline (Lifeguard §4.2).
    mutating func relayProbe(
        originSequence: UInt64, target: String, targetAddress: SocketAddress, origin: SocketAddress,
        now: MonotonicInstant
    ) {
        // Only a member we know, at the address we know: otherwise, in a cluster without a key,
        // anyone could make us send pings to any address (reflection).
        guard members[target]?.state.address == targetAddress, members[target]?.state.status.isActive == true else {
            counters.refusedRelays += 1
            return
        }
        let sequence = newSequence()
        relays[sequence] = Relay(
            origin: origin, originSequence: originSequence, target: target,
            nackAt: now.advanced(by: settings.probeTimeout * settings.nackFraction),
            expiresAt: now.advanced(by: settings.probeInterval))
        send(.ping(sequence: sequence, target: target), to: targetAddress)
    }

    mutating func expireRelays(now: MonotonicInstant) {
        let due = relays.filter { now >= ($0.value.nackSent ? $0.value.expiresAt : $0.value.nackAt) }
        for (sequence, relay) in due.sorted(by: { $0.key < $1.key }) {
            if now >= relay.expiresAt {
                relays.removeValue(forKey: sequence)
            } else if !relay.nackSent, now >= relay.nackAt {
                relays[sequence]?.nackSent = true
                send(.nack(sequence: relay.originSequence), to: relay.origin, response: true)
            }
        }
    }

    /// Sends pending updates to a few random members, so news spreads between probes.
    mutating func gossipRound() {
        guard !dissemination.isEmpty else { return }
        for peer in pick(settings.gossipFanout) where !dissemination.isEmpty {
            send(.gossip, to: peer)
        }
    }

    /// Records a datagram from `member` for its φ detector, and when φ would pass the threshold
    /// if nothing more arrives.
    mutating func heard(from member: String, at now: MonotonicInstant) {
        guard members[member] != nil else { return }
        members[member]!.phi.heard(at: now)
        if let crossing = members[member]!.phi.crossing(standardScore: phiScore) {
            phiCrossings.insert(PhiCrossing(at: crossing, member: member))
        }
    }

    /// Phi Accrual's part (see docs/ARCHITECTURE.md): a member whose φ passed the threshold has
    /// been silent for far longer than usual, so it is probed at once, before its round-robin
    /// turn. Only crossings that came due are looked at; one made stale by a later datagram
    /// finds φ below the threshold and is dropped.
    mutating func checkPhi(now: MonotonicInstant) {
        while let next = phiCrossings.min, next.at <= now {
            phiCrossings.removeMin()
            guard let record = members[next.member], record.state.status.isActive, isVerified(next.member),
                let phi = record.phi.phi(at: now), phi >= settings.phiThreshold,
                probe?.target != next.member, !urgentProbes.contains(next.member)
            else { continue }
            urgentProbes.append(next.member)
            if probe == nil { nextProbeAt = min(nextProbeAt, now) }
        }
    }
}
