import Transports

extension SWIMInstance {
    /// Starts this period's probe: an urgent target if any, else the next member of the shuffled
    /// round-robin order (SWIM §4.3), reshuffled after each full pass.
    mutating func startProbe(now: MonotonicInstant) {
        guard let target = nextProbeTarget(), let record = members[target] else { return }
        nextSequence += 1
        probe = Probe(
            sequence: nextSequence, target: target, targetAddress: record.state.address,
            directDeadline: now.advanced(by: scaled(settings.probeTimeout)),
            periodEnd: now.advanced(by: scaled(settings.probeInterval)))
        counters.probes += 1
        // Buddy system (Lifeguard §4.5): a suspect hears of its suspicion from every prober,
        // even one whose copy of the news has used up its retransmissions, and refutes in its ack.
        let buddy: MemberUpdate? =
            record.state.status == .suspect
            ? .suspect(name: target, incarnation: record.state.incarnation, from: record.suspecters.min() ?? name) : nil
        send(
            .ping(sequence: nextSequence, target: target), to: record.state.address, preferring: target,
            attaching: buddy)
    }

    private mutating func nextProbeTarget() -> String? {
        while let urgent = urgentProbes.first {
            urgentProbes.removeFirst()
            if members[urgent]?.state.status.isActive == true { return urgent }
        }
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let candidate = probeOrder[probeIndex]
                probeIndex += 1
                if members[candidate]?.state.status.isActive == true { return candidate }
            }
            probeOrder = activeNames
            probeOrder.shuffle(using: &random)
            probeIndex = 0
        }
        return nil
    }

    /// A new member joins the round-robin at a random position (SWIM §4.3), so it is probed
    /// within one pass.
    mutating func addToProbeOrder(_ member: String) {
        let position = probeIndex + Int(random.next() % UInt64(probeOrder.count - probeIndex + 1))
        probeOrder.insert(member, at: position)
    }

    /// Moves the current probe along: after the probe timeout, ask `k` others; at the end of
    /// the period without an ack, suspect the target.
    mutating func advanceProbe(now: MonotonicInstant) {
        guard var current = probe else { return }
        if !current.indirect, now >= current.directDeadline {
            current.indirect = true
            let helpers = pick(settings.indirectProbes, excluding: current.target)
            current.expectedNacks = helpers.count
            for helper in helpers {
                send(
                    .pingRequest(sequence: current.sequence, target: current.target, address: current.targetAddress),
                    to: helper)
            }
            probe = current
        }
        guard now >= current.periodEnd else { return }
        probe = nil
        counters.failedProbes += 1
        // Lifeguard §4.3: missing nacks mean our own links are the problem as much as the
        // target; with no helpers to ask, count the failure itself.
        adjustLocalHealth(by: current.expectedNacks > 0 ? current.expectedNacks - current.nacks : 1)
        guard let record = members[current.target], record.state.status.isActive else { return }
        apply(.suspect(name: current.target, incarnation: record.state.incarnation, from: name), now: now)
        // A new suspicion of ours is probed once more next period: the ping tells the suspect
        // (buddy system) and a live member's ack carries its refutation, so the accuser itself
        // hears it first.
        if record.state.status == .alive, !urgentProbes.contains(current.target) {
            urgentProbes.append(current.target)
        }
    }

    /// An ack for our probe, or for one we relay.
    mutating func acknowledged(_ sequence: UInt64, from source: SocketAddress, now: MonotonicInstant) {
        if let current = probe, current.sequence == sequence {
            probe = nil
            if !current.indirect { adjustLocalHealth(by: -1) }
            return
        }
        if let relay = relays.removeValue(forKey: sequence) {
            send(.ack(sequence: relay.originSequence), to: relay.origin)
        }
    }

    /// Probes `target` for the member at `origin` (SWIM §3.1); a nack goes back if the target
    /// has not answered by the nack deadline (Lifeguard §4.2).
    mutating func relayProbe(
        originSequence: UInt64, target: String, targetAddress: SocketAddress, origin: SocketAddress,
        now: MonotonicInstant
    ) {
        nextSequence += 1
        relays[nextSequence] = Relay(
            origin: origin, originSequence: originSequence,
            nackAt: now.advanced(by: settings.probeTimeout * settings.nackFraction),
            expiresAt: now.advanced(by: settings.probeInterval))
        send(.ping(sequence: nextSequence, target: target), to: targetAddress)
    }

    mutating func expireRelays(now: MonotonicInstant) {
        let due = relays.filter { now >= ($0.value.nackSent ? $0.value.expiresAt : $0.value.nackAt) }
        for (sequence, relay) in due.sorted(by: { $0.key < $1.key }) {
            if now >= relay.expiresAt {
                relays.removeValue(forKey: sequence)
            } else if !relay.nackSent, now >= relay.nackAt {
                relays[sequence]?.nackSent = true
                send(.nack(sequence: relay.originSequence), to: relay.origin)
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
            guard let record = members[next.member], record.state.status.isActive,
                let phi = record.phi.phi(at: now), phi >= settings.phiThreshold,
                probe?.target != next.member, !urgentProbes.contains(next.member)
            else { continue }
            urgentProbes.append(next.member)
        }
    }
}
