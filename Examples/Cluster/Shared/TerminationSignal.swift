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
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID: UInt64 = 0
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

    /// Returns once a signal arrived (at once if one already did), or when the waiting task is
    /// cancelled.
    public func wait() async {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.signalled || Task.isCancelled { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume()
        }
    }

    /// Runs `body`, cancelling it when a signal arrives; returns nil if it was cut short.
    public func unlessSignalled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let work = Task { try await body() }
        let watcher = Task {
            await wait()
            if isSignalled { work.cancel() }
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
        for waiter in waiters { waiter.continuation.resume() }
    }
}
