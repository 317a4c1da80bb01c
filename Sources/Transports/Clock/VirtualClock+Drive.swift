import Synchronization

extension VirtualClock {
    /// Why ``drive(step:limit:_:)`` gave up.
    public struct DriveLimitReached: Error, Equatable {
        /// The virtual time that passed.
        public let limit: Duration
    }

    /// Runs `body` while moving this clock forward in steps of `step`, so asynchronous code that
    /// waits on simulated time (timers, deadlines, simulated network delays) makes progress. Each
    /// step yields briefly to the real world so woken tasks can run. When `limit` of virtual time
    /// passes first, `body` is cancelled and ``DriveLimitReached`` is thrown.
    public func drive<T: Sendable>(
        step: Duration = .milliseconds(1), limit: Duration = .seconds(600),
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await body() }
        let done = Atomic<Bool>(false)
        let watcher = Task {
            _ = try? await task.value
            done.store(true, ordering: .releasing)
        }
        var elapsed = Duration.zero
        while !done.load(ordering: .acquiring), elapsed < limit {
            advance(by: step)
            elapsed += step
            try await Task.sleep(for: .microseconds(50))
        }
        guard done.load(ordering: .acquiring) else {
            task.cancel()
            await watcher.value
            throw DriveLimitReached(limit: limit)
        }
        return try await task.value
    }
}
