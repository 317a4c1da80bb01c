import Synchronization

/// A caller waiting in ``ClusterMembership/waitUntilJoined(until:)``, resumed once by whichever
/// comes first: the membership's owner (the join settled, the membership stopped), the caller's
/// deadline, or the cancellation of its task. Only the owner keeps waiters in its list; the
/// deadline and the cancellation only resume this one, from any thread.
final class JoinWaiter: Sendable {
    private enum State {
        case waiting
        case parked(CheckedContinuation<Void, Never>)
        case resumed
    }

    private let state = Mutex(State.waiting)

    /// Whether the waiter was resumed: its caller stopped waiting.
    var isResumed: Bool {
        state.withLock { state in
            if case .resumed = state { return true }
            return false
        }
    }

    /// Parks the caller, or resumes it at once when the waiter was resumed before it parked.
    func park(_ continuation: CheckedContinuation<Void, Never>) {
        let resumed = state.withLock { state -> Bool in
            guard case .waiting = state else { return true }
            state = .parked(continuation)
            return false
        }
        if resumed { continuation.resume() }
    }

    /// Resumes the caller; does nothing the second time.
    func resume() {
        let parked = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .resumed }
            guard case .parked(let continuation) = state else { return nil }
            return continuation
        }
        parked?.resume()
    }
}
