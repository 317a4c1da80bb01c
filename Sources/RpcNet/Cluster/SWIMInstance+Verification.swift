import Transports

/// Bytes exchanged with one unverified address.
struct Exchange {
    var received = 0
    var sent = 0
}

/// A ping sent to find out whether `address` receives this member's datagrams.
struct Verification {
    var address: SocketAddress
    /// The member the ping names, which must be the one that answers.
    var target: String
    var sentAt: MonotonicInstant
}

/// Verification: which members and addresses have shown they are real.
///
/// A member is *verified* once it answered a probe of ours (an ack from its announced address,
/// or relayed by a helper we asked), or sent us a datagram from its announced address; it has
/// *answered* only in the first case. An address is verified once a ping sent there was
/// answered, or when it is a seed's. A source address can be forged, so a member known only
/// from datagrams that claim to come from it is verified but has not answered: it takes part in
/// probing and detection like any other, but gets no full state and no work. Without a cluster key anyone can claim any name and source address, and inject
/// members that do not exist; the rules that hang on verification keep such claims cheap:
///
/// - Anti-amplification (RFC 9000 §8): answers to an unverified address total at most 3 × the
///   bytes received from it (``SWIMInstance/send(_:to:preferring:attaching:response:)``), and it
///   gets a full state only once verified: until then the state is owed, and a ping with a
///   random sequence is sent to verify the address
///   (``SWIMInstance/sendState(to:replyWanted:join:member:now:)``).
/// - Unverified members are probed in an order of their own, every other period; a failed probe
///   of one does not raise local health; they are not probed out of turn, count towards neither
///   the suspicion timeout nor partition detection, and are chosen for gossip, syncs and ping-reqs
///   only when too few verified members exist. Worker registries hand out only members that
///   answered.
///
/// With a cluster key only key holders can send, so every member and address counts as
/// verified and none of this applies.
extension SWIMInstance {
    /// Sealing overhead of a plain (unkeyed) datagram, counted in byte allowances.
    static let plainOverhead = 2
    /// Unverified addresses tracked at once before the table is cleared (which loses their
    /// allowance too: what they received never exceeds 3 × what they sent in either epoch).
    static let maxTrackedExchanges = 4096
    /// Verification pings in flight at once, and full states owed at once.
    static let maxVerifications = 256

    /// Whether `member` counts as real: it answered a probe of ours or sent us a datagram from
    /// its address, or the cluster is keyed.
    func isVerified(_ member: String) -> Bool {
        authenticated || members[member]?.verified == true
    }

    /// Whether `member` answered a probe of ours at its current address (or the cluster is keyed).
    func hasAnswered(_ member: String) -> Bool {
        authenticated || members[member]?.answered == true
    }

    /// A datagram from `member` came from the address it announced.
    mutating func noteHeard(_ member: String, at source: SocketAddress) {
        guard let record = members[member], !record.verified, record.state.address == source else { return }
        setVerified(member, true)
    }

    /// `member` answered a ping we sent to `address`: both are verified.
    mutating func noteAnswered(_ member: String, at address: SocketAddress) {
        verifiedAddresses.insert(address)
        exchanged.removeValue(forKey: address)
        guard let record = members[member], record.state.address == address else { return }
        setVerified(member, true)
        guard !record.answered else { return }
        members[member]?.answered = true
        noteWorkerChange(member)
    }

    /// Whether `address` proved it receives our datagrams (or is a seed, or the cluster is keyed).
    func isVerified(address: SocketAddress) -> Bool {
        authenticated || verifiedAddresses.contains(address) || seeds.contains(address)
    }

    /// The bytes `destination` may still be sent, nil when unlimited (verified or keyed).
    func allowance(for destination: SocketAddress) -> Int? {
        guard !isVerified(address: destination) else { return nil }
        let exchange = exchanged[destination] ?? Exchange()
        return max(3 * exchange.received - exchange.sent, 0)
    }

    /// Counts `size` bytes received from `source` towards its allowance.
    mutating func received(_ size: Int, from source: SocketAddress) {
        guard !isVerified(address: source) else { return }
        if exchanged[source] == nil, exchanged.count >= Self.maxTrackedExchanges { exchanged.removeAll() }
        exchanged[source, default: Exchange()].received += size
    }

    /// An upper bound of the bytes a datagram takes on the wire without a key.
    static func sizeBound(of message: GossipMessage, updates: [MemberUpdate]) -> Int {
        plainOverhead + GossipCodec.headerSize(sender: "", message: message) + (updates.count >= 64 ? 1 : 0)
            + updates.reduce(0) { $0 + GossipCodec.encodedSize(of: $1) }
    }

    /// Marks `member` verified (or not, after it moved to another address), keeping
    /// ``verifiedNames`` and the probe orders in step.
    mutating func setVerified(_ member: String, _ verified: Bool) {
        guard var record = members[member], record.verified != verified else { return }
        record.verified = verified
        if !verified, record.answered {
            record.answered = false
            noteWorkerChange(member)
        }
        members[member] = record
        if verified {
            heardAddresses.insert(record.state.address)
            if isActive(member) {
                Self.insert(member, into: &verifiedNames)
                addToProbeOrder(member)
            }
        } else {
            Self.remove(member, from: &verifiedNames)
            if isActive(member) { addToProbeOrder(member) }
        }
    }

    /// The next probe sequence: random 30 bits, so a sender off the path cannot guess one to
    /// fake an answer (which would verify a forged address or member).
    mutating func newSequence() -> UInt64 {
        while true {
            let sequence = random.next() >> 34
            if sequence != 0, relays[sequence] == nil, verifications[sequence] == nil, probe?.sequence != sequence {
                return sequence
            }
        }
    }

    /// Owes `destination` a full state and sends a ping to verify it: answered by `member`
    /// (the name it claims), the state follows (``verified(_:from:)``).
    /// `response`: the state answers a datagram from there (otherwise it is this member's own
    /// initiative, such as a reconnect, and the ping is not held to the allowance).
    mutating func owe(
        _ destination: SocketAddress, member: String, replyWanted: Bool, response: Bool, now: MonotonicInstant
    ) {
        guard owedStates[destination] != nil || owedStates.count < Self.maxVerifications else { return }
        owedStates[destination] = (owedStates[destination] ?? false) || replyWanted
        sendVerification(to: destination, member: member, response: response, now: now)
    }

    /// Pings `member` at `address` with a fresh sequence; as a `response`, within the address's
    /// allowance.
    mutating func sendVerification(
        to address: SocketAddress, member: String, response: Bool, now: MonotonicInstant
    ) {
        guard verifications.count < Self.maxVerifications else { return }
        let sequence = newSequence()
        let message = GossipMessage.ping(sequence: sequence, target: member)
        if response, let allowance = allowance(for: address), Self.sizeBound(of: message, updates: []) > allowance {
            return
        }
        verifications[sequence] = Verification(address: address, target: member, sentAt: now)
        send(message, to: address, response: response)
    }

    /// An ack that answers a verification ping: the address is verified, its member too if it
    /// is the one we know there, and any full state owed to it goes out now.
    mutating func verified(_ sequence: UInt64, from sender: String, at source: SocketAddress) -> Bool {
        guard let verification = verifications[sequence] else { return false }
        guard sender == verification.target, source == verification.address else {
            counters.unexpectedAnswers += 1
            return true
        }
        verifications.removeValue(forKey: sequence)
        noteAnswered(sender, at: source)
        if let replyWanted = owedStates.removeValue(forKey: source) {
            sendState(to: source, replyWanted: replyWanted, join: false)
        }
        return true
    }

    /// Forgets verification pings unanswered for five protocol periods, and what they were for.
    mutating func expireVerifications(now: MonotonicInstant) {
        for (sequence, verification) in verifications
        where verification.sentAt.duration(to: now) >= settings.probeInterval * 5 {
            verifications.removeValue(forKey: sequence)
            if !verifications.values.contains(where: { $0.address == verification.address }) {
                owedStates.removeValue(forKey: verification.address)
            }
        }
        if verifiedAddresses.count > 4 * members.count + 256 {
            verifiedAddresses = Set(members.values.filter(\.answered).map(\.state.address))
        }
        if heardAddresses.count > 4 * members.count + 256 {
            heardAddresses = Set(members.values.filter(\.verified).map(\.state.address))
        }
    }

    /// The cluster size timeouts scale with (Lifeguard's n): verified members, this one, and
    /// unverified ones only up to as many as are verified, 64 at least. Injected members can
    /// thus at most double it, however many there are, while a cluster still getting to know
    /// its members (few verified yet) keeps timeouts close to its real size's.
    var effectiveSize: Int {
        let unverified = activeNames.count - verifiedNames.count
        return verifiedNames.count + min(unverified, max(verifiedNames.count, 64)) + 1
    }
}
