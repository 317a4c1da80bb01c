import Dispatch
import Foundation
import Synchronization

/// SIGINT (Ctrl+C) and SIGTERM, turned into something a process can wait for at any moment
/// (during start-up and joining included), so it can leave the cluster before it exits.
/// `@unchecked Sendable`: `sources` is written once in `init` and only kept alive after that;
/// `state` is behind its mutex.
public final class TerminationSignal: @unchecked Sendable {
    private struct State {
        var signalled = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private var sources: [any DispatchSourceSignal] = []

    /// Starts listening for the signals (their default action, exiting at once, is turned off).
    public init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.fire() }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal arrived.
    public var isSignalled: Bool { state.withLock { $0.signalled } }

    /// Returns once a signal arrived (at once if one already did).
    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.signalled { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Runs `body`, cancelling it when a signal arrives; returns nil if it was cut short.
    public func unlessSignalled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let work = Task { try await body() }
        let watcher = Task {
            await wait()
            work.cancel()
        }
        defer { watcher.cancel() }
        do {
            return try await work.value
        } catch  where isSignalled {
            return nil
        }
    }

    private func fire() {
        let waiters = state.withLock { state in
            state.signalled = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
