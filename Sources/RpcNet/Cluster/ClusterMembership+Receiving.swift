import Logging
import Synchronization
import Transports

/// Received datagrams, on the owner: the transport's receive handler.
extension ClusterMembership {
    /// What the checks made of a datagram that opened and decoded.
    private enum Admission {
        case accepted
        case refused(GossipDropReason)
        case nameInUse(holder: SocketAddress)
    }

    /// Handles one datagram: open and decode it (outside the lock), then, in one step, check it
    /// and hand it to the state machine.
    func receive(_ datagram: Datagram) {
        let packet: GossipPacket
        do throws(GossipDropReason) {
            packet = try open(datagram)
        } catch {
            dropped(datagram, reason: error)
            return
        }
        // Nil when the membership has stopped: the step does not run.
        var admission: Admission?
        step { state, now in
            // Before the replay record: a joiner under a live member's name must not make the
            // member's own datagrams look replayed.
            if let holder = state.instance.conflictingHolder(of: packet) {
                admission = .nameInUse(holder: holder)
                return nil
            }
            guard packet.sender != name else {
                admission = .refused(.foreign)
                return nil
            }
            if let seen = replay[packet.sender] {
                guard seen.accepts(packet, window: configuration.replayWindow, now: now) else {
                    admission = .refused(.replayed)
                    return nil
                }
            } else if replay.count > 4 * (state.instance.members.count + 16) {
                let members = state.instance.members
                replay = replay.filter { members[$0.key] != nil }
            }
            replay[packet.sender, default: ReplayRecord(packet, now: now)].record(packet, now: now)
            state.statistics.received += 1
            admission = .accepted
            return state.instance.receive(packet, from: datagram.source, now: now, size: datagram.payload.count)
        }
        switch admission {
        case nil:
            break
        case .accepted:
            metrics.received(packet.message.kind)
        case .refused(let reason):
            dropped(datagram, reason: reason, sender: packet.sender)
        case .nameInUse(let holder):
            dropped(datagram, reason: .nameConflict, sender: packet.sender)
            answerNameConflict(holder: holder, to: datagram.source)
        }
    }

    /// Tells a joiner that a live member at `holder` has its name.
    private func answerNameConflict(holder: SocketAddress, to joiner: SocketAddress) {
        let packet = GossipPacket(
            sender: name, boot: boot, sentAt: clock.now.nanoseconds, message: .nameInUse(holder: holder), updates: [])
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
        shared.withLock { $0.statistics.dropped[reason, default: 0] += 1 }
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
}

extension [String: Int] {
    fileprivate subscript(reason: GossipDropReason, default value: Int) -> Int {
        get { self[reason.rawValue, default: value] }
        set { self[reason.rawValue] = newValue }
    }
}
