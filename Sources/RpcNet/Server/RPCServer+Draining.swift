// Admission of calls and the drain: counting running calls, refusing new ones while draining,
// waiting for the last and closing connections.
extension RPCServer {
    /// Whether a call whose header has been read may run.
    enum Admission {
        /// Admitted; `holdsDrain` when a drain waits for it (its method is not served while draining).
        case started(holdsDrain: Bool)
        case refused(RPCStatus)
    }

    /// Admits a call to `method` or says why not: refused while draining (unless the method is
    /// served to the end, like health checks) and beyond `maxConcurrentCalls`.
    func callStarted(_ method: String) -> Admission {
        state.withLock { state in
            let holdsDrain = !state.servedWhileDraining.contains(method)
            guard state.accepting || !holdsDrain else {
                return .refused(RPCStatus(code: .unavailable, message: Self.drainMessage))
            }
            guard state.runningCalls < configuration.maxConcurrentCalls else {
                return .refused(RPCStatus(code: .resourceExhausted, message: "the server runs too many calls"))
            }
            state.runningCalls += 1
            if holdsDrain { state.activeCalls += 1 }
            return .started(holdsDrain: holdsDrain)
        }
    }

    /// Gives an admitted call's place back; the last call a drain waits for wakes it.
    func callEnded(holdingDrain holdsDrain: Bool) {
        let waiters = state.withLock { state -> [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] in
            state.runningCalls -= 1
            guard holdsDrain else { return [] }
            state.activeCalls -= 1
            guard state.activeCalls == 0 else { return [] }
            defer { state.drained.removeAll() }
            return state.drained
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns when no call is running, or when the waiting task is cancelled (the grace
    /// period ended).
    private func waitUntilDrained() async {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let idle = state.withLock { state in
                    if state.activeCalls == 0 || Task.isCancelled { return true }
                    state.drained.append((id, continuation))
                    return false
                }
                if idle { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.drained.firstIndex { $0.id == id }.map { state.drained.remove(at: $0) }
            }
            waiter?.continuation.resume()
        }
    }

    /// Drains the server: tells a registered ``HealthService`` (its statuses turn to not
    /// serving), stops accepting connections (clients trying to connect are refused at
    /// once) and calls (refused with ``RPCStatus/Code-swift.struct/unavailable``, so callers go
    /// elsewhere), closes each connection as soon as it has no call running, lets calls in
    /// flight finish for up to `gracePeriod`, then closes every connection left, which cancels
    /// what is still running. Health checks are answered to the end without holding the drain
    /// up. The listeners stay open (a QUIC endpoint keeps answering its
    /// connections until they close); closing them is the caller's, after this returns.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        for action in state.withLock({ $0.drainActions }) { action() }
        let idle = state.withLock { state in
            state.accepting = false
            // Told under the lock, so whoever sees the server no longer accepting (`isAccepting`)
            // finds its listeners already refusing.
            for listener in state.listeners { listener.stopAccepting() }
            return state.connections.values.filter { $0.calls.isIdle }.map(\.connection)
        }
        for connection in idle { connection.close(code: 0, message: Self.drainMessage) }
        _ = try? await withDeadline(gracePeriod, on: clock) { await self.waitUntilDrained() }
        let connections = state.withLock { $0.connections.values.map(\.connection) }
        for connection in connections { connection.close(code: 0, message: "server shut down") }
    }
}
