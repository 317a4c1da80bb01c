import Foundation
import Transports

extension SWIMInstance {
    /// Whether news about `member` at `incarnation` may be taken in (docs/PROTOCOL.md §7.5).
    /// `firstHand`: an alive or left update about the datagram's own sender. About this member
    /// itself: up to ``GossipCodec/maxRefutedIncarnation``, or its own incarnation. About
    /// another: up to ``GossipCodec/maxIncarnation``; above it only first hand, or when it does
    /// not raise what this member holds (a suspicion at an incarnation the member itself
    /// published). So every accusation a member takes in about itself leaves it room to refute,
    /// and no one but a member can take its incarnation near the ceiling.
    func admits(member: String, incarnation: UInt64, firstHand: Bool) -> Bool {
        if member == name { return incarnation <= GossipCodec.maxRefutedIncarnation || incarnation <= self.incarnation }
        guard incarnation > GossipCodec.maxIncarnation, !firstHand else { return true }
        return incarnation <= members[member]?.state.incarnation ?? 0
    }

    /// Applies an update from the datagram of `sender` (this member's own name for its own
    /// findings): SWIM §4.2's ordering (a higher incarnation wins; at equal ones, failed and left
    /// beat suspect, which beats alive), re-gossiping what was news.
    mutating func apply(_ update: MemberUpdate, from sender: String, now: MonotonicInstant) {
        let firstHand = sender == update.name && !update.isAccusation
        guard admits(member: update.name, incarnation: update.incarnation, firstHand: firstHand) else {
            counters.ignoredIncarnations += 1
            return
        }
        if update.name == name {
            refuteIfNeeded(update)
            return
        }
        switch update {
        case .alive(let member, let address, let incarnation, let newTags):
            guard
                newTags.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count }) <= settings.maxTagBytes
            else {
                counters.oversizedTags += 1
                return
            }
            guard var record = members[member] else {
                admit(
                    MemberState(
                        name: member, address: address, status: .alive, incarnation: incarnation, tags: newTags),
                    now: now)
                dissemination.enqueue(update)
                return
            }
            guard incarnation > record.state.incarnation else { return }
            let previous = record.state
            // A new address has answered nothing yet.
            if address != previous.address, record.verified, !authenticated {
                setVerified(member, false)
                record.verified = false
                record.answered = false
            }
            record.state = MemberState(
                name: member, address: address, status: .alive, incarnation: incarnation, tags: newTags)
            memberChanged(member, from: previous.status, to: .alive)
            record.suspecters = []
            record.suspectedSince = nil
            members[member] = record
            suspicions.removeValue(forKey: member)
            dissemination.enqueue(update)
            let view = record.view(now: now)
            switch previous.status {
            case .failed:
                tombstones.removeValue(forKey: member)
                markActive(member)
                addToProbeOrder(member)
                emit(.nodeRecovered(view))
            case .left:
                tombstones.removeValue(forKey: member)
                markActive(member)
                addToProbeOrder(member)
                emit(.nodeJoined(view))
            case .alive, .suspect:
                if previous.tags != newTags { emit(.nodeTagsUpdated(view, previous: previous.tags)) }
            }
        case .suspect(let member, let incarnation, let from):
            guard var record = members[member], record.state.status.isActive,
                incarnation >= record.state.incarnation
            else { return }
            if record.state.status == .suspect, incarnation == record.state.incarnation {
                // Another member's independent suspicion shortens the timeout (Lifeguard §4.4).
                guard record.suspecters.insert(from).inserted else { return }
                members[member] = record
                suspicions[member] = suspicionDeadline(for: record)
                dissemination.enqueue(update)
                return
            }
            let raised = record.state.status == .alive
            memberChanged(member, from: record.state.status, to: .suspect)
            record.state.status = .suspect
            record.state.incarnation = incarnation
            record.suspecters = [from]
            record.suspectedSince = now
            members[member] = record
            suspicions[member] = suspicionDeadline(for: record)
            dissemination.enqueue(update)
            if raised { observe(.suspicion(from == name ? .local : .remote)) }
            // Someone else's probe failed: probe it ourselves at once, to confirm (and shorten
            // the timeout for everyone) or to clear it (``probeSoon(_:now:)``).
            if from != name, probe?.target != member { probeSoon(member, now: now) }
        case .failed(let member, let incarnation, let from):
            guard var record = members[member], record.state.status.isActive,
                incarnation >= record.state.incarnation
            else { return }
            // Another member's failure report about one we hold alive (not even suspect) is
            // checked first, as a suspicion: we probe it at once, a live member refutes in its
            // ack, a dead one fails when the suspicion runs out. One forged report (anyone can
            // send one without a key) no longer removes a live member.
            if record.state.status == .alive, from != name {
                apply(.suspect(name: member, incarnation: incarnation, from: from), from: sender, now: now)
                return
            }
            memberChanged(member, from: record.state.status, to: .failed)
            record.state.status = .failed
            record.state.incarnation = incarnation
            bury(&record, now: now)
            dissemination.enqueue(update)
            emit(.nodeFailed(record.view(now: now)))
        case .left(let member, let incarnation):
            guard var record = members[member], record.state.status != .left,
                incarnation >= record.state.incarnation
            else { return }
            memberChanged(member, from: record.state.status, to: .left)
            record.state.status = .left
            record.state.incarnation = incarnation
            bury(&record, now: now)
            dissemination.enqueue(update)
            emit(.nodeLeft(record.view(now: now)))
        }
    }

    /// Merges one member of a full-state exchange. A member the peer believes failed is only
    /// suspected here, giving it the chance to refute (memberlist does the same).
    mutating func merge(_ state: MemberState, from sender: String, now: MonotonicInstant) {
        switch state.status {
        case .alive:
            apply(
                .alive(name: state.name, address: state.address, incarnation: state.incarnation, tags: state.tags),
                from: sender, now: now)
        case .suspect, .failed:
            if state.name != name, members[state.name] == nil {
                guard admits(member: state.name, incarnation: state.incarnation, firstHand: false) else {
                    counters.ignoredIncarnations += 1
                    return
                }
                // Never seen alive: remember it as the peer does, without news or events.
                guard state.status == .failed else {
                    apply(
                        .alive(
                            name: state.name, address: state.address, incarnation: state.incarnation,
                            tags: state.tags), from: sender, now: now)
                    return
                }
                var record = MemberRecord(
                    state: state, phi: newDetector(), verified: authenticated, answered: authenticated)
                memberChanged(state.name, from: nil, to: .failed)
                bury(&record, now: now)
                return
            }
            apply(.suspect(name: state.name, incarnation: state.incarnation, from: sender), from: sender, now: now)
        case .left:
            apply(.left(name: state.name, incarnation: state.incarnation), from: sender, now: now)
        }
    }

    /// Adds a member seen for the first time.
    private mutating func admit(_ state: MemberState, now: MonotonicInstant) {
        members[state.name] = MemberRecord(
            state: state, phi: newDetector(), verified: authenticated, answered: authenticated)
        memberChanged(state.name, from: nil, to: state.status)
        markActive(state.name)
        addToProbeOrder(state.name)
        emit(.nodeJoined(members[state.name]!.view(now: now)))
    }

    private func newDetector() -> PhiAccrualDetector {
        PhiAccrualDetector(
            window: settings.phiWindow, minStandardDeviation: settings.phiMinStandardDeviation,
            acceptablePause: settings.phiAcceptablePause)
    }

    /// Turns a record into a tombstone.
    private mutating func bury(_ record: inout MemberRecord, now: MonotonicInstant) {
        record.suspecters = []
        record.suspectedSince = nil
        members[record.state.name] = record
        suspicions.removeValue(forKey: record.state.name)
        tombstones[record.state.name] = now
        markInactive(record.state.name)
        if probe?.target == record.state.name { probe = nil }
    }

    /// Lifeguard §4.4: the timeout starts at β·min and falls logarithmically with independent
    /// confirmations towards min = α·max(1, log10 n)·interval, reached after K of them. It is
    /// also stretched by this member's local health multiplier (Lifeguard §4.3 applied to
    /// suspicion): a member whose own probes keep failing, likely because it is the one in
    /// trouble, takes longer to accuse anyone.
    /// n is ``effectiveSize``, so members that never answered cannot stretch it.
    func suspicionDeadline(for record: MemberRecord) -> MonotonicInstant {
        let n = Double(effectiveSize)
        let minimum = settings.probeInterval * (settings.suspicionMultiplier * max(1, log10(n)))
        let maximum = minimum * settings.suspicionMaxMultiplier
        let expected = max(min(settings.suspicionConfirmations, effectiveSize - 2), 0)
        let confirmations = max(record.suspecters.count - 1, 0)
        var timeout = minimum
        if expected > 0 {
            let fraction = log(Double(confirmations + 1)) / log(Double(expected + 1))
            timeout = max(minimum, maximum - (maximum - minimum) * min(fraction, 1))
        }
        return (record.suspectedSince ?? .zero).advanced(by: scaled(timeout))
    }

    /// Suspicions whose timeout passed become failures, announced by us. Deadlines are
    /// recomputed here, since local health may have changed since the suspicion began.
    mutating func expireSuspicions(now: MonotonicInstant) {
        for (member, _) in suspicions.filter({ $0.value <= now }).sorted(by: { $0.key < $1.key }) {
            guard let record = members[member] else {
                suspicions.removeValue(forKey: member)
                continue
            }
            let deadline = suspicionDeadline(for: record)
            guard deadline <= now else {
                suspicions[member] = deadline
                continue
            }
            apply(.failed(name: member, incarnation: record.state.incarnation, from: name), from: name, now: now)
        }
    }

    /// News about ourselves: a suspicion, failure or departure we did not announce is refuted
    /// with a higher incarnation (SWIM §4.2); only we ever raise it.
    private mutating func refuteIfNeeded(_ update: MemberUpdate) {
        guard !hasLeft else { return }
        let claimed: UInt64
        switch update {
        case .alive(_, let claimedAddress, let incarnation, let claimedTags):
            // Someone gossips an older or identical view of us: nothing to do.
            guard
                incarnation > self.incarnation
                    || (incarnation == self.incarnation
                        && (claimedAddress != address || claimedTags != tags))
            else { return }
            claimed = incarnation
        case .suspect(_, let incarnation, _), .failed(_, let incarnation, _), .left(_, let incarnation):
            guard incarnation >= self.incarnation else { return }
            claimed = incarnation
            // Lifeguard §4.3: being suspected is a sign our own messages are not getting through.
            adjustLocalHealth(by: 1)
        }
        // Past the ceiling there is nothing to raise to: reached only after 2^31 raises at
        // this member's own incarnation (``GossipCodec/maxRefutedIncarnation``).
        guard claimed < GossipCodec.incarnationCeiling else { return }
        incarnation = claimed + 1
        counters.refutations += 1
        observe(.refutation)
        announceSelf()
    }

    /// Gossips our current state.
    mutating func announceSelf() {
        dissemination.enqueue(.alive(name: name, address: address, incarnation: incarnation, tags: tags))
    }
}
