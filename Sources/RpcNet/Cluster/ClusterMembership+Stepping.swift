import Logging
import Synchronization
import Transports

/// Driving the state machine, on the owner.
extension ClusterMembership {
    /// What a step leaves to do once the lock is released.
    private struct StepOutcome {
        var directives: [SWIMDirective]
        var health: MembershipHealth
        var joined: [JoinWaiter]
        /// When the timer should fire next; nil when the membership is not running.
        var nextDeadline: MonotonicInstant?
    }

    /// One step of the state machine, on the owner: under the lock, runs `body` (nil: nothing to
    /// do, a refused datagram) and a tick if a deadline passed; then, with the lock released,
    /// re-arms the timer, seals and sends the packets it asked for, records metrics, publishes
    /// events and resumes the join's waiters once the join settled.
    func step(_ body: (inout SharedState, MonotonicInstant) -> [SWIMDirective]?) {
        precondition(owner.isCurrent, "a membership steps only on its transport's owner")
        let now = clock.now
        let outcome: StepOutcome? = shared.withLock { state in
            guard !state.stopped, var directives = body(&state, now) else { return nil }
            if let due = state.instance.nextDeadline, due <= now { directives += state.instance.tick(now: now) }
            publishedWorkerRevision.store(state.instance.workerRevision, ordering: .releasing)
            var joined: [JoinWaiter] = []
            if !state.instance.isJoining {
                joined = state.joinWaiters
                state.joinWaiters.removeAll()
            }
            return StepOutcome(
                directives: directives,
                health: MembershipHealth(members: state.instance.memberCounts, localHealth: state.instance.localHealth),
                joined: joined, nextDeadline: state.running ? state.instance.nextDeadline : nil)
        }
        guard let outcome else { return }
        if let next = outcome.nextDeadline { rearm(for: next, now: now) }
        var events: [ClusterEvent] = []
        var observations: [SWIMObservation] = []
        var sent = 0
        var bytes = 0
        for directive in outcome.directives {
            switch directive {
            case .send(let message, let updates, let destination):
                let packet = GossipPacket(
                    sender: name, boot: boot, sentAt: now.nanoseconds, message: message, updates: updates)
                let payload = sealer.seal(GossipCodec.encode(packet))
                sent += 1
                bytes += payload.count
                send(payload, to: destination, kind: message.kind)
            case .event(let event):
                events.append(event)
            case .observe(let observation):
                observations.append(observation)
            }
        }
        if sent > 0 {
            sentDatagrams.add(sent, ordering: .relaxed)
            sentBytes.add(bytes, ordering: .relaxed)
        }
        for observation in observations { metrics.record(observation) }
        if outcome.health != health {
            health = outcome.health
            metrics.record(outcome.health)
        }
        for event in events {
            logger.log(level: event.logLevel, event.logMessage, metadata: event.logMetadata)
            hub.publish(event)
        }
        for waiter in outcome.joined { waiter.resume() }
    }

    private func send(_ payload: [UInt8], to destination: SocketAddress, kind: GossipMessage.Kind) {
        do {
            try transport.send(payload, to: destination)
            metrics.sent(kind)
        } catch {
            logger.debug(
                "gossip send failed", metadata: ["address": "\(destination)", "kind": "\(kind)", "reason": "\(error)"])
        }
    }

    /// Arms the timer for `deadline` unless it is armed for that or earlier already.
    private func rearm(for deadline: MonotonicInstant, now: MonotonicInstant) {
        // Never in the past: a timer that kept firing at once would spin.
        let deadline = max(deadline, now.advanced(by: .microseconds(100)))
        if let timer, timer.at <= deadline { return }
        if let timer { owner.cancel(timer.id) }
        timer = (owner.schedule(at: deadline) { [weak self] in self?.timerFired(deadline) }, deadline)
    }

    private func timerFired(_ deadline: MonotonicInstant) {
        if timer?.at == deadline { timer = nil }
        step { _, _ in [] }
    }
}
