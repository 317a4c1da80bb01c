public import Logging
import Synchronization
import Transports

/// Serves `rpcnet/1` calls on any ``/Transports/ConnectionListener``: QUIC in production, the simulated
/// network in tests.
///
/// Register handlers by method name, then ``serve(_:)``. Every connection and every call runs in
/// its own task; a call's handler is cancelled when the caller cancels (stream reset), when its
/// deadline passes, or when the server shuts down past its grace period. Bad input from a peer
/// fails only that call, with a typed status.
public final class RPCServer: Sendable {
    /// What the server keeps under ``state``: handlers, connections, call counts and drain waiters.
    struct State {
        var handlers: [String: MethodHandler] = [:]
        var accepting = true
        var listeners: [any ConnectionListener] = []
        var connections: [ObjectIdentifier: (connection: any TransportConnection, calls: ConnectionCalls)] = [:]
        /// Calls running, of every method: what ``Configuration/maxConcurrentCalls`` bounds.
        var runningCalls = 0
        /// Calls running of methods not served while draining: what a drain waits for.
        var activeCalls = 0
        /// Methods that keep being served while the server drains (health checks).
        var servedWhileDraining: Set<String> = []
        /// Run when a drain begins, before calls are refused.
        var drainActions: [@Sendable () -> Void] = []
        var drained: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID: UInt64 = 0
    }

    /// The server's settings.
    public let configuration: Configuration
    /// The clock deadlines are measured on (a ``/Transports/VirtualClock`` in simulations).
    public let clock: any NetworkClock
    /// Where the server logs (accept loops ending, trailers that could not be sent, rate-limited
    /// bad input); each call's ``ServerContext/logger`` derives from it.
    let logger: Logger
    /// Warnings about bad input from peers, at most one per kind every 10 s.
    let protocolLog: LogRateLimiter
    /// Calls that sent their header but not yet their request.
    let waitingRoom: WaitingRoom
    /// Handlers, listeners, connections and the drain's counts, behind one lock shared by the
    /// accept loops, the calls and ``shutdown(gracePeriod:)``.
    let state = Mutex(State())
    /// Numbers the calls, for ``ServerContext/requestID``.
    let callNumbers = Atomic<UInt64>(0)

    /// Creates a server with no methods.
    public init(
        configuration: Configuration = Configuration(), clock: any NetworkClock = MonotonicClock(),
        logger: Logger = Logger(label: "rpcnet.server")
    ) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        protocolLog = LogRateLimiter(clock: clock)
        waitingRoom = WaitingRoom(
            perConnection: configuration.maxWaitingCallsPerConnection, total: configuration.maxWaitingCalls)
    }

    // MARK: Registration

    /// Registers a unary method: one request in, one response out.
    public func register(
        _ method: String, unary handler: @escaping @Sendable ([UInt8], ServerContext) async throws -> [UInt8]
    ) {
        registerHandler(
            method,
            .singleRequest { request, responses, context in
                try await responses.send(try await handler(request, context))
            })
    }

    /// Registers a server-streaming method: one request in, any number of responses out.
    public func register(
        _ method: String,
        serverStreaming handler: @escaping @Sendable ([UInt8], MessageWriter, ServerContext) async throws -> Void
    ) {
        registerHandler(method, .singleRequest(handler))
    }

    /// Registers a client-streaming method: any number of requests in, one response out.
    public func register(
        _ method: String,
        clientStreaming handler: @escaping @Sendable (MessageStream, ServerContext) async throws -> [UInt8]
    ) {
        registerHandler(
            method,
            .requestStream { requests, responses, context in
                try await responses.send(try await handler(requests, context))
            })
    }

    /// Registers a bidirectional-streaming method.
    public func register(
        _ method: String,
        bidirectional handler: @escaping @Sendable (MessageStream, MessageWriter, ServerContext) async throws -> Void
    ) {
        registerHandler(method, .requestStream(handler))
    }

    private func registerHandler(_ method: String, _ handler: MethodHandler) {
        precondition(
            !method.isEmpty && method.utf8.count <= configuration.limits.maxMethodNameLength, "invalid method name")
        state.withLock { $0.handlers[method] = handler }
    }

    /// Calls running now, over every connection, but for those of methods served while draining
    /// (health watches): what a worker publishes as its load (``WorkerLoadReporter``).
    public var activeCalls: Int {
        state.withLock { $0.activeCalls }
    }

    /// Keeps serving `methods` while the server drains, without holding the drain up: a health
    /// service answers "not serving" to the end, and its watches end when the drain closes the
    /// connections.
    func serveWhileDraining(_ methods: [String]) {
        state.withLock { $0.servedWhileDraining.formUnion(methods) }
    }

    /// Runs `action` when a drain begins (``shutdown(gracePeriod:)``), before calls are refused.
    func whenDraining(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.drainActions.append(action) }
    }

    /// Reads exactly one request message and the end of the stream.
    static func singleRequest(_ requests: MessageStream) async throws -> [UInt8] {
        try await requests.single(
            missing: RPCStatus(code: .invalidArgument, message: "the call carried no request message"),
            extra: RPCStatus(code: .invalidArgument, message: "the call carried more than one request message"))
    }
}
