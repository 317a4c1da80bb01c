import Synchronization
public import Transports

extension ClusterMembership {
    /// Starts answering and probing, joining through the configured seeds if there are any
    /// (alone otherwise, until another member joins through it). Called elsewhere than on the
    /// owner, it returns once the start is handed over.
    public func start() {
        begin(joiningThrough: nil)
    }

    /// Starts joining through `seeds` without waiting (see ``join(seeds:timeout:)-([SocketAddress],_)``).
    public func startJoining(seeds: [SocketAddress]) {
        begin(joiningThrough: seeds)
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
            let (contact, stopped, waitingFor) = shared.withLock {
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

    /// Returns once a seed has answered (at once if not joining), the membership stopped, the
    /// calling task is cancelled, or `deadline` passed on the membership's clock.
    public func waitUntilJoined(until deadline: MonotonicInstant? = nil) async {
        let waiter = JoinWaiter()
        // The deadline is the caller's, on the clock rather than the owner: it ends the wait
        // even after the owner has shut down.
        let timer = deadline.map { clock.schedule(at: $0) { waiter.resume() } }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiter.park(continuation)
                owner.run(
                    { self.register(waiter) },
                    ifShutDown: {
                        stopWithoutOwner()
                        waiter.resume()
                    })
            }
        } onCancel: {
            waiter.resume()
        }
        if let timer { clock.cancel(timer) }
    }

    /// Leaves gracefully: tells up to 32 members directly and the rest by gossip, waits for
    /// two gossip rounds so the news spreads, then stops.
    public func leave() async {
        await owner.runAndWait(
            { self.step { state, now in state.instance.leave(now: now) } }, ifShutDown: stopWithoutOwner)
        logger.info("left the cluster")
        try? await clock.sleep(
            until: clock.now.advanced(by: configuration.settings.gossipInterval * 2), tolerance: nil)
        await owner.runAndWait(stop, ifShutDown: stopWithoutOwner)
    }

    /// Stops taking part, without telling anyone (others will find this member failed), and
    /// ends every event sequence: at once on the owner, or as soon as the owner gets to it when
    /// called elsewhere.
    public func shutdown() {
        owner.run(stop, ifShutDown: stopWithoutOwner)
    }

    // MARK: On the owner

    /// Starts if not started yet, and joins through the configured seeds plus `seeds` (a join
    /// when `seeds` is given, or when starting with configured seeds).
    private func begin(joiningThrough seeds: [SocketAddress]?) {
        owner.run(
            {
                let started = self.shared.withLock { state in
                    guard !state.running, !state.stopped else { return false }
                    state.running = true
                    return true
                }
                if started {
                    self.transport.setReceiveHandler { [weak self] datagram in self?.receive(datagram) }
                    self.logger.info("membership started", metadata: ["address": "\(self.address)"])
                }
                guard started || seeds != nil else { return }
                self.step { state, now in
                    let added = seeds ?? []
                    return state.instance.seeds.isEmpty && added.isEmpty
                        ? [] : state.instance.join(seeds: added, now: now)
                }
            }, ifShutDown: stopWithoutOwner)
    }

    /// Adds `waiter` to those the join's end resumes, or resumes it now if not joining.
    private func register(_ waiter: JoinWaiter) {
        let settled = shared.withLock { state -> Bool in
            // Waiters whose deadline passed or whose task was cancelled stopped waiting.
            state.joinWaiters.removeAll { $0.isResumed }
            guard !waiter.isResumed, state.instance.isJoining, !state.stopped else { return true }
            state.joinWaiters.append(waiter)
            return false
        }
        if settled { waiter.resume() }
    }

    /// Stops: cancels the timer, then ``stopWithoutOwner()``.
    private func stop() {
        if let timer { owner.cancel(timer.id) }
        timer = nil
        stopWithoutOwner()
    }

    /// Stops with what the lock guards alone: marks the membership stopped, lets go of the
    /// transport, resumes the join's waiters and ends the event sequences. How a membership
    /// stops once its owner has shut down (a reactor stopped first), whose timer died with it.
    func stopWithoutOwner() {
        let waiters = shared.withLock { state in
            state.stopped = true
            state.running = false
            defer { state.joinWaiters.removeAll() }
            return state.joinWaiters
        }
        transport.setReceiveHandler(nil)
        for waiter in waiters { waiter.resume() }
        hub.finish()
    }
}
