import Synchronization
public import Transports

/// Publishes a worker's calls in flight to the cluster as its ``Worker/loadTag`` tag, so every
/// registry sees the worker's real load: one started after a restart knows it at once, and a
/// caller that died stops counting as soon as the worker's call for it ends, rather than when
/// the registry's own lease for it would be released.
///
/// The count is read every `interval` and published only when it changed, so a busy worker
/// sends at most one membership update per interval (each update is gossiped to every member;
/// in a cluster of hundreds of workers a longer interval keeps that traffic small).
public final class WorkerLoadReporter: Sendable {
    private struct State {
        var published: Int?
        var timer: ScheduledTimer?
        var running = false
    }

    private let membership: ClusterMembership
    private let interval: Duration
    private let clock: any NetworkClock
    private let load: @Sendable () -> Int
    private let state = Mutex(State())

    /// A reporter publishing `load()` (for example ``RPCServer/activeCalls``) on `membership`
    /// every `interval` (250 ms by default) when it changed.
    public init(
        membership: ClusterMembership, interval: Duration = .milliseconds(250),
        clock: any NetworkClock = MonotonicClock(), load: @escaping @Sendable () -> Int
    ) {
        self.membership = membership
        self.interval = interval
        self.clock = clock
        self.load = load
    }

    /// Publishes the load now and then every interval, until ``stop()``.
    public func start() {
        let starting = state.withLock { state in
            defer { state.running = true }
            return !state.running
        }
        if starting { report() }
    }

    /// Stops publishing (the last value stays on the member until its tags change).
    public func stop() {
        let timer = state.withLock { state in
            state.running = false
            defer { state.timer = nil }
            return state.timer
        }
        if let timer { clock.cancel(timer) }
    }

    private func report() {
        let current = load()
        let changed = state.withLock { state -> Bool in
            guard state.running, state.published != current else { return false }
            state.published = current
            return true
        }
        // A tag that does not fit the member's tag budget leaves the last value published.
        if changed { try? membership.setTag(Worker.loadTag, to: "\(current)") }
        let next = clock.schedule(at: clock.now.advanced(by: interval)) { [weak self] in self?.report() }
        let stale = state.withLock { state -> ScheduledTimer? in
            guard state.running else { return next }
            state.timer = next
            return nil
        }
        if let stale { clock.cancel(stale) }
    }
}
