/// The end of a connection as an event: recorded once, awaited by any number of tasks.
final class CloseSignal: Sendable {
    private let state = Locked<(reason: CloseReason?, waiters: [CheckedContinuation<CloseReason, Never>])>((nil, []))

    /// The reason, once closed.
    var reason: CloseReason? {
        state.withLock { $0.reason }
    }

    /// Records `reason` and wakes every waiter; false (and no effect) if already closed.
    @discardableResult
    func close(_ reason: CloseReason) -> Bool {
        let waiters: [CheckedContinuation<CloseReason, Never>]? = state.withLock { state in
            guard state.reason == nil else { return nil }
            state.reason = reason
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: reason) }
        return true
    }

    /// Waits until closed and returns why.
    func wait() async -> CloseReason {
        await withCheckedContinuation { continuation in
            let reason: CloseReason? = state.withLock { state in
                if let reason = state.reason { return reason }
                state.waiters.append(continuation)
                return nil
            }
            if let reason { continuation.resume(returning: reason) }
        }
    }
}
