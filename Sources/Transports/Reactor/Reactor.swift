import CRpcNet
import DequeModule
import Glibc
public import Logging
import Synchronization

/// One libev loop on one thread that owns every socket, QUIC connection, TLS session and timer
/// created on it.
///
/// Other threads never touch loop state: they hand work to ``execute(_:)`` (or run tasks on the
/// reactor as their executor), which queues it and wakes the loop with `ev_async_send`. Work
/// submitted from the loop thread itself is queued without a wake-up and runs before the loop
/// next blocks.
///
/// The reactor is also a Swift `TaskExecutor`: a task started with
/// `Task(executorPreference: reactor)` runs on the loop thread, so non-blocking code that talks
/// to transports does so without a thread hop. Such code must never block.
///
/// Run it either on a thread of its own (``start(name:busyPollWindow:logger:)``) or from a host's thread
/// (``run()`` to give it that thread, ``runOnce(blocking:)`` to step it from the host's own loop).
public final class Reactor: TaskExecutor, @unchecked Sendable {
    /// A unit of work for the loop thread.
    private enum Work: Sendable {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private struct Inbox {
        var work: Deque<Work> = []
        var wakePending = false
        var closed = false
    }

    /// Logger for reactor-level events; transports derive theirs from it.
    public let logger: Logger

    let loop: OpaquePointer
    private let wakeup: OpaquePointer
    private let prepare: OpaquePointer
    private let inbox = Mutex(Inbox())
    private let ownerThread = Atomic<UInt>(0)
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    // Loop-thread state.
    private var local: Deque<Work> = []
    private var resources: [ObjectIdentifier: any ReactorResource] = [:]
    private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    private var shuttingDown = false
    private var loopReleased = false
    /// The timers behind ``schedule(at:_:)``, made on first use.
    private var scheduledTimers: ReactorTimers?

    /// How many queued items the loop runs before it polls for I/O again; bounds the latency that
    /// a storm of loop-local work can add to packet processing.
    private static let workBatchLimit = 4096

    /// How long ``run()`` keeps polling without blocking after the last event (0: never). Busy
    /// polling trades CPU for latency: a blocked thread's wake-up costs tens of microseconds on
    /// virtual machines, more than a whole QUIC round trip's processing.
    public let busyPollWindow: Duration
    private var activity: UInt64 = 0

    /// Creates a reactor that is not yet running; drive it with ``run()`` or ``runOnce(blocking:)``.
    /// With a non-zero `busyPollWindow`, ``run()`` polls without blocking for that long after
    /// each event before it sleeps in the kernel.
    public init(busyPollWindow: Duration = .zero, logger: Logger = Logger(label: "rpcnet.reactor")) throws(ReactorError)
    {
        guard let loop = rpcnet_loop_new() else { throw .loopCreationFailed }
        self.busyPollWindow = busyPollWindow
        self.logger = logger
        self.loop = loop
        guard let wakeup = rpcnet_async_new(reactorWakeupThunk, nil),
            let prepare = rpcnet_prepare_new(reactorPrepareThunk, nil)
        else {
            rpcnet_loop_destroy(loop)
            throw .loopCreationFailed
        }
        self.wakeup = wakeup
        self.prepare = prepare
        let context = Unmanaged.passUnretained(self).toOpaque()
        rpcnet_async_set_context(wakeup, context)
        rpcnet_prepare_set_context(prepare, context)
        rpcnet_async_start(loop, wakeup)
        rpcnet_prepare_start(loop, prepare)
    }

    deinit {
        releaseLoop()
    }

    /// Whether the libev loop has been freed, which happens on the loop thread once shutdown has
    /// stopped it, before ``shutdown()`` returns: I/O watchers and timers check it and leave the
    /// loop alone from then on.
    var isLoopReleased: Bool { loopReleased }

    /// Frees the libev loop and its watchers (closing its epoll and event descriptors), and drops
    /// the timers ``schedule(at:_:)`` left pending; runs once, on the loop thread when shutdown
    /// completes, or in deinit for a reactor that never ran.
    private func releaseLoop() {
        guard !loopReleased else { return }
        scheduledTimers?.close()
        loopReleased = true
        rpcnet_async_stop(loop, wakeup)
        rpcnet_prepare_stop(loop, prepare)
        rpcnet_async_free(wakeup)
        rpcnet_prepare_free(prepare)
        rpcnet_loop_destroy(loop)
    }

    /// Creates a reactor and runs it on a new thread of its own until ``shutdown()``.
    public static func start(
        name: String = "rpcnet-reactor", busyPollWindow: Duration = .zero,
        logger: Logger = Logger(label: "rpcnet.reactor")
    ) throws(ReactorError) -> Reactor {
        let reactor = try Reactor(busyPollWindow: busyPollWindow, logger: logger)
        let box = Unmanaged.passRetained(reactor).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, reactorThreadMain, box)
        guard result == 0 else {
            Unmanaged<Reactor>.fromOpaque(box).release()
            throw .threadCreationFailed(errno: result)
        }
        rpcnet_thread_set_name(thread, String(name.prefix(15)))
        reactor.thread.withLock { $0 = thread }
        return reactor
    }

    /// True when called on the thread that is running the loop.
    public var isOnLoopThread: Bool {
        ownerThread.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    /// Traps unless called on the loop thread: guards code that touches loop-owned state.
    public func assertOnLoopThread(file: StaticString = #fileID, line: UInt = #line) {
        precondition(isOnLoopThread, "must be called on the reactor's loop thread", file: file, line: line)
    }

    // MARK: Running

    /// Runs the loop on the calling thread until ``shutdown()`` completes: the way for a host to
    /// give the reactor a thread of its own making.
    public func run() {
        claimThread()
        let window = UInt64(max(busyPollWindow.nanoseconds, 0))
        if window == 0 {
            _ = rpcnet_loop_run(loop, 0)
        } else {
            var lastActivity = rpcnet_monotonic_ns()
            var seen = activity
            while !stopped.load(ordering: .relaxed) {
                let now = rpcnet_monotonic_ns()
                _ = rpcnet_loop_run(loop, now - lastActivity < window ? 1 : 2)
                if activity != seen {
                    seen = activity
                    lastActivity = rpcnet_monotonic_ns()
                }
            }
        }
        finishShutdownIfNeeded()
    }

    /// Records that the loop handled an event (I/O, timer, queued work): busy polling continues.
    func noteActivity() {
        activity &+= 1
    }

    /// Runs one iteration of the loop on the calling thread: polls I/O (waiting for it when
    /// `blocking`), fires due timers and runs queued work. For hosts that own their event loop
    /// and step the reactor from it; always step from the same thread.
    /// Returns false once the reactor has shut down.
    @discardableResult
    public func runOnce(blocking: Bool = false) -> Bool {
        if stopped.load(ordering: .acquiring) { return false }
        claimThread()
        _ = rpcnet_loop_run(loop, blocking ? 2 : 1)
        finishShutdownIfNeeded()
        return !stopped.load(ordering: .acquiring)
    }

    private func claimThread() {
        let me = UInt(bitPattern: Int(bitPattern: pthread_self()))
        let previous = ownerThread.exchange(me, ordering: .acquiringAndReleasing)
        precondition(previous == 0 || previous == me, "a reactor must always run on the same thread")
    }

    // MARK: Submitting work

    /// Runs `work` on the loop thread: soon and without a wake-up when called on it, otherwise
    /// after waking the loop. Work submitted after shutdown is dropped.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        enqueue(.closure(work))
    }

    /// Like ``execute(_:)``, but calls `rejected` (on the calling thread) instead of dropping the
    /// work once the reactor has shut down, so a waiter can be failed rather than left hanging.
    public func execute(_ work: @escaping @Sendable () -> Void, ifShutDown rejected: () -> Void) {
        enqueue(.closure(work), orElse: rejected)
    }

    /// Runs `work` on the loop thread and returns its result to the caller.
    public func submit<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws -> T {
        if isOnLoopThread { return try work() }
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(
                .closure({
                    do throws(E) {
                        continuation.resume(returning: try work())
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }),
                orElse: { continuation.resume(throwing: ReactorError.shutDown) }
            )
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.job(UnownedJob(job)))
    }

    private func enqueue(_ work: Work, orElse rejected: () -> Void = {}) {
        if isOnLoopThread, !stopped.load(ordering: .relaxed) {
            local.append(work)
            return
        }
        // The wake-up is sent under the lock: once shutdown marks the inbox closed, no thread can
        // be about to touch the loop it is going to free.
        let accepted: Bool = inbox.withLock { inbox in
            if inbox.closed { return false }
            inbox.work.append(work)
            if !inbox.wakePending {
                inbox.wakePending = true
                rpcnet_async_send(loop, wakeup)
            }
            return true
        }
        if !accepted {
            if case .job(let job) = work {
                // A task preferring this reactor must not hang once it is gone: it continues on
                // the global executor and observes the shutdown from there.
                globalConcurrentExecutor.enqueue(ExecutorJob(job))
            }
            rejected()
        }
    }

    fileprivate func drainInbox() {
        noteActivity()
        let work = inbox.withLock { inbox in
            inbox.wakePending = false
            let work = inbox.work
            inbox.work.removeAll(keepingCapacity: true)
            return work
        }
        local.append(contentsOf: work)
        runLocalWork()
    }

    /// Runs queued loop-local work; called before the loop blocks. Leaves the loop non-blocking
    /// while work remains, so I/O is polled between batches.
    fileprivate func runLocalWork() {
        if !local.isEmpty { noteActivity() }
        var budget = Self.workBatchLimit
        while budget > 0, let work = local.popFirst() {
            budget -= 1
            switch work {
            case .closure(let body): body()
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        rpcnet_prepare_set_busy(loop, prepare, local.isEmpty ? 0 : 1)
    }

    /// The timers behind ``schedule(at:_:)`` (loop thread).
    var ownerTimers: ReactorTimers {
        if let timers = scheduledTimers { return timers }
        let timers = ReactorTimers(reactor: self)
        scheduledTimers = timers
        return timers
    }

    // MARK: Resources

    /// Registers a resource (endpoint, socket) that the reactor closes when it shuts down.
    func register(_ resource: any ReactorResource) {
        assertOnLoopThread()
        resources[ObjectIdentifier(resource)] = resource
    }

    /// Forgets a resource that closed itself.
    func unregister(_ resource: any ReactorResource) {
        assertOnLoopThread()
        resources[ObjectIdentifier(resource)] = nil
    }

    /// Number of live resources (endpoints, sockets) owned by the reactor, for leak checks.
    public func liveResourceCount() async throws -> Int {
        try await submit { self.resources.count }
    }

    // MARK: Shutdown

    /// Closes every resource (QUIC connections get a CONNECTION_CLOSE), stops the loop and, when
    /// the reactor owns its thread, joins it. Safe to call more than once and from any thread but
    /// the loop thread.
    public func shutdown() async {
        precondition(!isOnLoopThread, "shutdown() would deadlock on the loop thread")
        let alreadyStopped = stopped.load(ordering: .acquiring)
        if !alreadyStopped {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                enqueue(
                    .closure({ [self] in
                        shutdownWaiters.append(continuation)
                        beginShutdown()
                    }),
                    orElse: { continuation.resume() }
                )
            }
        }
        // Exactly one caller joins the thread, however many call shutdown() at once.
        if let thread = thread.withLock({ thread in
            defer { thread = nil }; return thread
        }) {
            pthread_join(thread, nil)
        }
    }

    private func beginShutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        logger.debug("reactor shutting down", metadata: ["resources": "\(resources.count)"])
        for resource in resources.values {
            resource.close(reason: .reactorShutdown)
        }
        resources.removeAll()
        inbox.withLock { $0.closed = true }
        drainInbox()
        // Run what is still queued, including work it queues, so no waiter is stranded.
        for _ in 0..<64 where !local.isEmpty { runLocalWork() }
        stopped.store(true, ordering: .releasing)
        rpcnet_loop_break(loop)
    }

    private func finishShutdownIfNeeded() {
        guard stopped.load(ordering: .acquiring) else { return }
        releaseLoop()
        let waiters = shutdownWaiters
        shutdownWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}

/// Something the reactor owns and must close on shutdown (an endpoint, a socket).
protocol ReactorResource: AnyObject {
    /// Releases every kernel and library resource; called on the loop thread.
    func close(reason: CloseReason)
}

/// Errors from creating or using a reactor.
public enum ReactorError: Error, Equatable, Sendable {
    /// libev could not create a loop or watcher.
    case loopCreationFailed
    /// The loop thread could not be started.
    case threadCreationFailed(errno: Int32)
    /// The reactor has shut down; no more work is accepted.
    case shutDown
}

private let reactorWakeupThunk: rpcnet_watcher_cb = { context, _ in
    Unmanaged<Reactor>.fromOpaque(context!).takeUnretainedValue().drainInbox()
}

private let reactorPrepareThunk: rpcnet_watcher_cb = { context, _ in
    Unmanaged<Reactor>.fromOpaque(context!).takeUnretainedValue().runLocalWork()
}

private func reactorThreadMain(_ box: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let reactor = Unmanaged<Reactor>.fromOpaque(box!).takeRetainedValue()
    reactor.run()
    return nil
}
