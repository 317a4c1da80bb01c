import Synchronization

/// The calls of one connection a server is serving: how many are open (what
/// ``RPCServer/Configuration/maxConcurrentCallsPerConnection`` bounds) and the task each runs in.
///
/// Each call runs in one task of its own, its handler inline, so that the call can cancel it
/// (its caller aborted, its deadline passed) without a second task per call. The tasks are not
/// children of the connection's: this registry is how the connection cancels them when its own
/// task is cancelled, and waits for them before it returns.
final class ConnectionCalls: Sendable {
    /// Calls the peer has open: from their stream's arrival until the server ended them on the
    /// wire (the trailer queued). The peer's QUIC stream limit frees a slot at that moment too.
    let open = Atomic<Int>(0)

    private enum Entry {
        /// The task is being created; `cancelled` when it must be cancelled once it is known.
        case starting(cancelled: Bool)
        case running(Task<Void, Never>)
    }

    private struct Running {
        var calls: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        /// Set once the connection's task is cancelled: later calls start cancelled.
        var cancelled = false
        /// The connection's task, waiting for the last call to return.
        var idleWaiter: CheckedContinuation<Void, Never>?
    }

    private let running = Mutex(Running())

    /// Whether no call's task is running (a handler may still be unwinding after its call
    /// ended on the wire): what a draining server waits for before closing the connection.
    var isIdle: Bool { running.withLock { $0.calls.isEmpty } }

    /// Starts `body` in a task of its own, preferring `executor`, with the call's identifier;
    /// `ended` runs in that task after `body`, with the number of calls still running.
    func start(
        on executor: (any TaskExecutor)?, _ body: @escaping @Sendable (UInt64) async -> Void,
        ended: @escaping @Sendable (_ remaining: Int) -> Void
    ) {
        let id = running.withLock { state in
            state.nextID += 1
            state.calls[state.nextID] = .starting(cancelled: state.cancelled)
            return state.nextID
        }
        let task = Task<Void, Never>(executorPreference: executor) {
            await body(id)
            let (remaining, waiter): (Int, CheckedContinuation<Void, Never>?) = self.running.withLock { state in
                state.calls[id] = nil
                guard state.calls.isEmpty else { return (state.calls.count, nil) }
                defer { state.idleWaiter = nil }
                return (0, state.idleWaiter)
            }
            ended(remaining)
            waiter?.resume()
        }
        let cancelNow = running.withLock { state -> Bool in
            guard case .starting(let cancelled) = state.calls[id] else { return false }  // already over
            state.calls[id] = .running(task)
            return cancelled
        }
        if cancelNow { task.cancel() }
    }

    /// Cancels the task of call `id` (its handler), now or as soon as it is known.
    func cancel(_ id: UInt64) {
        let task: Task<Void, Never>? = running.withLock { state in
            switch state.calls[id] {
            case .running(let task): return task
            case .starting: state.calls[id] = .starting(cancelled: true)
            case nil: break
            }
            return nil
        }
        task?.cancel()
    }

    /// Cancels every call, and those that start later.
    func cancelAll() {
        let tasks: [Task<Void, Never>] = running.withLock { state in
            state.cancelled = true
            var tasks: [Task<Void, Never>] = []
            for (id, entry) in state.calls {
                switch entry {
                case .running(let task): tasks.append(task)
                case .starting: state.calls[id] = .starting(cancelled: true)
                }
            }
            return tasks
        }
        for task in tasks { task.cancel() }
    }

    /// Returns once no call's task is running. Only one task may wait.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = running.withLock { state in
                if state.calls.isEmpty { return true }
                state.idleWaiter = continuation
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

/// One call's place in its connection's ``ConnectionCalls/open`` count, given back exactly once:
/// when the call ends on the wire, or at the latest when its task returns.
final class CallSlot: Sendable {
    private let calls: ConnectionCalls
    private let held = Atomic<Bool>(true)

    init(calls: ConnectionCalls) {
        self.calls = calls
        calls.open.add(1, ordering: .relaxed)
    }

    /// Whether the call fits within `limit` open calls.
    func admitted(limit: Int) -> Bool {
        calls.open.load(ordering: .relaxed) <= limit
    }

    /// Gives the place back; later calls do nothing.
    func release() {
        if held.exchange(false, ordering: .relaxed) { calls.open.subtract(1, ordering: .relaxed) }
    }
}
