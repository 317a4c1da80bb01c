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
    /// Limits and timeouts of a server.
    public struct Configuration: Sendable {
        /// Wire limits, checked before allocating.
        public var limits = WireLimits()
        /// Calls one connection may have running at once; more are refused with
        /// ``RPCStatus/Code-swift.struct/resourceExhausted``.
        public var maxConcurrentCallsPerConnection = 1024
        /// Calls the server runs at once over all connections; more are refused with
        /// ``RPCStatus/Code-swift.struct/resourceExhausted``. With
        /// ``maxConcurrentCallsPerConnection`` it bounds the memory calls can hold (a call waiting
        /// for its request costs about 13 KB).
        public var maxConcurrentCalls = 10_000
        /// How long a new stream may take to send its call header.
        public var callHeaderTimeout: Duration = .seconds(10)
        /// How long a unary or server-streaming call may take, after its header, to deliver its
        /// request message and end its stream (the handler runs only then); a call that does not
        /// is ended with ``RPCStatus/Code-swift.struct/deadlineExceeded``. Streaming requests are
        /// bounded by the call's deadline instead.
        public var requestTimeout: Duration = .seconds(10)
        /// Unary and server-streaming calls one connection may have waiting for their request
        /// at once; more are refused with ``RPCStatus/Code-swift.struct/resourceExhausted``.
        public var maxWaitingCallsPerConnection = 256
        /// Calls waiting for their request over all connections. When a new one would exceed it,
        /// the oldest waiting call of the connection with the most is ended with
        /// ``RPCStatus/Code-swift.struct/resourceExhausted`` to make room, so header-only floods
        /// cost their senders rather than other clients.
        public var maxWaitingCalls = 2_048
        /// Run around every call, the first outermost (``ServerInterceptor``).
        public var interceptors: [any ServerInterceptor] = []

        /// Creates the defaults.
        public init() {}
    }

    private struct State {
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
    private let logger: Logger
    /// Warnings about bad input from peers, at most one per kind every 10 s.
    private let protocolLog: LogRateLimiter
    /// Calls that sent their header but not yet their request.
    private let waitingRoom: WaitingRoom
    private let state = Mutex(State())
    /// Numbers the calls, for ``ServerContext/requestID``.
    private let callNumbers = Atomic<UInt64>(0)

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
    private static func singleRequest(_ requests: MessageStream) async throws -> [UInt8] {
        try await requests.single(
            missing: RPCStatus(code: .invalidArgument, message: "the call carried no request message"),
            extra: RPCStatus(code: .invalidArgument, message: "the call carried more than one request message"))
    }

    // MARK: Serving

    /// Accepts connections from `listener` and serves their calls until the listener closes or
    /// the server shuts down.
    public func serve(_ listener: any ConnectionListener) async {
        let accepted = state.withLock { state in
            guard state.accepting else { return false }
            state.listeners.append(listener)
            return true
        }
        guard accepted else { return }
        await withDiscardingTaskGroup { group in
            while let connection = await next("connection", from: listener.accept, peer: listener.localAddress) {
                group.addTask { await self.serve(connection: connection) }
            }
        }
    }

    private func serve(connection: any TransportConnection) async {
        let key = ObjectIdentifier(connection)
        let calls = ConnectionCalls()
        let admitted = state.withLock { state in
            guard state.accepting else { return false }
            state.connections[key] = (connection, calls)
            return true
        }
        guard admitted else {
            connection.close(code: 0, message: Self.drainMessage)
            return
        }
        let executor = Self.callExecutor(for: connection)
        await withTaskCancellationHandler {
            while let stream = await next("stream", from: connection.acceptStream, peer: connection.remoteAddress) {
                let slot = CallSlot(calls: calls)
                guard slot.admitted(limit: configuration.maxConcurrentCallsPerConnection) else {
                    refuse(stream, status: RPCStatus(code: .resourceExhausted, message: "too many concurrent calls"))
                    slot.release()
                    continue
                }
                calls.start(on: executor) { id in
                    await self.serve(stream: stream, connection: connection, slot: slot) { calls.cancel(id) }
                    slot.release()
                } ended: { remaining in
                    // Draining: a connection whose last call ended is closed, so its client
                    // goes elsewhere now rather than at the end of the grace period.
                    if remaining == 0, !self.isAccepting { connection.close(code: 0, message: Self.drainMessage) }
                }
            }
            await calls.waitUntilIdle()
        } onCancel: {
            calls.cancelAll()
        }
        state.withLock { _ = $0.connections.removeValue(forKey: key) }
    }

    /// Where a connection's call tasks run: on the connection's reactor when the task serving it
    /// runs there (a server started with that executor preference), so a call costs no thread
    /// hop; otherwise on the global executor, as any task without a preference.
    private static func callExecutor(for connection: any TransportConnection) -> (any TaskExecutor)? {
        guard let preferred = connection.preferredExecutor else { return nil }
        let current = withUnsafeCurrentTask { $0?.unownedTaskExecutor }
        return current == preferred.asUnownedTaskExecutor() ? preferred : nil
    }

    /// Why a draining server closes a connection, as its client sees it.
    static let drainMessage = "server shutting down"

    private var isAccepting: Bool { state.withLock { $0.accepting } }

    /// The next item from an accept loop, or nil when it ended; an error ending it is logged
    /// rather than dropped.
    private func next<Item>(_ what: String, from accept: () async throws -> Item?, peer: SocketAddress) async -> Item? {
        do {
            return try await accept()
        } catch {
            logger.debug("stopped accepting \(what)s", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return nil
        }
    }

    /// Ends a call the server will not run: the TRAILER with `status` and the end of the stream,
    /// queued at once whatever the peer reads, then STOP_SENDING with the status code when the
    /// request side is still open, so a caller still sending is not left blocked on flow control
    /// (docs/PROTOCOL.md §4.5).
    private func refuse(_ stream: TransportStream, status: RPCStatus) {
        conclude(stream, status: status)
    }

    /// Sends the trailer for `status` and stops the request side.
    private func conclude(_ stream: TransportStream, status: RPCStatus, metadata: Metadata = Metadata()) {
        do {
            try stream.writeFinal(Frame.trailer(Trailer(status: status, metadata: metadata)).encoded)
        } catch {
            logger.debug("could not send trailer", metadata: ["status": "\(status)", "error": "\(error)"])
        }
        stream.stopSending(code: status.code.rawValue)
    }

    /// Runs one call from its header to its trailer; `cancelHandler` cancels the task it runs in.
    private func serve(
        stream: TransportStream, connection: any TransportConnection, slot: CallSlot,
        cancelHandler: @escaping @Sendable () -> Void
    ) async {
        var reader = FrameReader(stream: stream, limits: configuration.limits)
        let header: CallHeader
        do {
            header = try await readHeader(with: &reader)
        } catch {
            let status = Self.headerFailureStatus(error)
            protocolLog.log(
                .warning, kind: "call header", "unreadable call header",
                metadata: ["peer": "\(connection.remoteAddress)", "error": "\(status.message)"], to: logger)
            refuse(stream, status: status)
            return
        }
        guard let handler = state.withLock({ $0.handlers[header.method] }) else {
            refuse(stream, status: RPCStatus(code: .unimplemented, message: "unknown method \(header.method)"))
            return
        }
        let deadline = header.timeout.map { clock.now.advanced(by: $0) }
        if let deadline, deadline <= clock.now {
            refuse(
                stream, status: RPCStatus(code: .deadlineExceeded, message: "deadline expired before the call started"))
            return
        }
        let holdsDrain: Bool
        switch callStarted(header.method) {
        case .started(let holds): holdsDrain = holds
        case .refused(let status):
            refuse(stream, status: status)
            return
        }
        defer { callEnded(holdingDrain: holdsDrain) }
        let context = ServerContext(
            method: header.method, metadata: header.metadata, deadline: deadline,
            remoteAddress: connection.remoteAddress, peerIdentity: connection.peerIdentity, clock: clock,
            logger: logger, callNumber: callNumbers.add(1, ordering: .relaxed).newValue)
        await run(
            handler, on: stream, reader: reader, context: context, connection: ObjectIdentifier(connection), slot: slot,
            cancelHandler: cancelHandler)
        if !isAccepting { await awaitDelivery(of: stream) }
    }

    /// Reads the call header, waiting at most ``Configuration/callHeaderTimeout`` for it.
    private func readHeader(with reader: inout FrameReader) async throws -> CallHeader {
        // The header nearly always arrives with the stream's first packet: only a caller that is
        // slow to send it costs a timer.
        let first: Frame?
        if let received = try reader.nextIfReceived() {
            first = received
        } else {
            let waited = try await withDeadline(configuration.callHeaderTimeout, on: clock) { [reader] in
                var reader = reader
                return (try await reader.next(), reader)
            }
            (first, reader) = waited
        }
        switch first {
        case .callHeader(let header): return header
        case nil:
            throw WireError.malformed(
                type: FrameType.callHeader.rawValue, reason: "the stream ended before a call header")
        case .some(let frame):
            throw WireError.malformed(type: frame.type.rawValue, reason: "the first frame is not a call header")
        }
    }

    /// The status a call whose header could not be read is refused with.
    private static func headerFailureStatus(_ error: any Error) -> RPCStatus {
        switch error {
        case let status as RPCStatus where status.code == .deadlineExceeded:
            RPCStatus(code: .deadlineExceeded, message: "no call header within the call header timeout")
        case let wire as WireError: wire.status
        default: status(for: error)
        }
    }

    /// While draining, a call's connection may be closed as soon as the call ends, and a close
    /// discards what the peer has not acknowledged: wait (polling, at most a second; draining
    /// only) until the peer acknowledged the call's last bytes.
    private func awaitDelivery(of stream: TransportStream) async {
        for _ in 0..<200 {
            guard stream.bufferedSendBytes > 0 else { return }
            try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(5)), tolerance: nil)
        }
    }

    /// How a call ended, whichever came first.
    private enum Outcome: Sendable {
        case finished(RPCStatus)
        /// The caller reset the stream or stopped reading it, with this code (a status code:
        /// `cancelled`, or `deadlineExceeded` when the caller's own deadline passed first).
        case callerAborted(code: UInt64?)
        case deadlineExceeded
        case requestTimedOut(after: Duration)
        /// Ended while waiting for its request, to make room for newer calls (``WaitingRoom``).
        case evicted

        /// Whether the handler ended the call (rather than something cutting it short).
        var isFinished: Bool {
            if case .finished = self { return true }
            return false
        }

        /// The call's status: what the trailer carries, or what interceptors are told when the
        /// stream was reset instead.
        var status: RPCStatus {
            switch self {
            case .finished(let status): status
            case .callerAborted(let code) where code == RPCStatus.Code.deadlineExceeded.rawValue:
                RPCStatus(code: .deadlineExceeded, message: "the caller's deadline passed")
            case .callerAborted: RPCStatus(code: .cancelled, message: "the caller cancelled the call")
            case .deadlineExceeded: RPCStatus(code: .deadlineExceeded, message: "deadline exceeded on the server")
            case .evicted:
                RPCStatus(
                    code: .resourceExhausted, message: "ended while waiting for its request: too many calls waiting")
            case .requestTimedOut(let limit):
                RPCStatus(
                    code: .deadlineExceeded,
                    message: "the request did not arrive within \(limit) of the call header")
            }
        }
    }

    /// Races the handler against the caller aborting, the deadline and (for single-request
    /// methods whose request is not all here) the request timeout, and ends the call on the wire
    /// as soon as the first of them happens: the handler may still be unwinding from its
    /// cancellation, but nothing it writes afterwards reaches the caller. The handler runs
    /// inline, in the call's own task, which `cancelHandler` cancels; the others are callbacks
    /// (the stream's abort, the clock's timers), so a call costs one task.
    private func run(
        _ handler: MethodHandler, on stream: TransportStream, reader: FrameReader, context: ServerContext,
        connection: ObjectIdentifier, slot: CallSlot, cancelHandler: @escaping @Sendable () -> Void
    ) async {
        let first = FirstOutcome<Outcome>()
        // Whoever ends the call first ends it on the wire there and then: a handler's trailer is
        // queued right behind its last response, so both leave in one packet. Ending it early
        // cancels the handler.
        let end: @Sendable (Outcome) -> Void = { outcome in
            let won = first.resolve(outcome) {
                self.conclude(stream, outcome: outcome, metadata: context.trailingMetadata)
                slot.release()
            }
            if won, !outcome.isFinished { cancelHandler() }
        }
        let deadlineTimer = context.deadline.map { deadline in
            clock.schedule(at: deadline) { end(.deadlineExceeded) }
        }
        let ticket: UInt64?
        let requestTimer: ScheduledTimer?
        // A request already complete (the usual case: header, message and FIN in one packet)
        // neither waits nor needs a timer.
        let awaitsRequest: Bool
        if case .singleRequest = handler { awaitsRequest = !stream.isReceiveComplete } else { awaitsRequest = false }
        if awaitsRequest {
            guard let entered = waitingRoom.enter(connection: connection, evict: { end(.evicted) }) else {
                if let deadlineTimer { clock.cancel(deadlineTimer) }
                conclude(
                    stream,
                    status: RPCStatus(code: .resourceExhausted, message: "too many calls waiting for their request"))
                return
            }
            ticket = entered
        } else {
            ticket = nil
        }
        if awaitsRequest {
            let limit = configuration.requestTimeout
            requestTimer = clock.schedule(at: clock.now.advanced(by: limit)) { end(.requestTimedOut(after: limit)) }
        } else {
            requestTimer = nil
        }
        defer {
            if let ticket { waitingRoom.leave(ticket) }
            if let deadlineTimer { clock.cancel(deadlineTimer) }
            if let requestTimer { clock.cancel(requestTimer) }
        }
        // The caller going away ends the call through the stream, not a task watching it. The
        // abort is learnt inside the transport's packet processing, so the stream itself is shut
        // from this task, once the handler returned, rather than re-entrantly from there.
        stream.whenAborted { abort in
            if first.resolve(.callerAborted(code: abort.abortCode), winning: slot.release) { cancelHandler() }
        }
        let call = ServerCall(
            context: context, requests: MessageStream(source: MessageSource(reader: reader, onTrailer: nil)),
            responses: MessageWriter(
                stream: stream, limits: configuration.limits, deadline: context.deadline, clock: clock))
        let handled: @Sendable (ServerCall) async throws(RPCStatus) -> Void = { call throws(RPCStatus) in
            do {
                switch handler {
                case .singleRequest(let body):
                    let request = try await Self.singleRequest(call.requests)
                    if let ticket { self.waitingRoom.leave(ticket) }
                    if let requestTimer { self.clock.cancel(requestTimer) }
                    try await body(request, call.responses, call.context)
                case .requestStream(let body):
                    try await body(call.requests, call.responses, call.context)
                }
            } catch {
                // A handler cancelled because the call already ended learns why.
                throw first.resolvedValue?.status ?? Self.status(for: error)
            }
        }
        do throws(RPCStatus) {
            let interceptors = configuration.interceptors
            if interceptors.isEmpty {
                try await handled(call)
            } else {
                try await interceptors.intercept(call, handler: handled)
            }
            end(.finished(.ok))
        } catch {
            end(.finished(error))
        }
        if let outcome = first.resolvedValue, case .callerAborted = outcome {
            conclude(stream, outcome: outcome, metadata: context.trailingMetadata)
        }
    }

    /// Ends the call on the wire for `outcome`, with the call's trailing `metadata`.
    private func conclude(_ stream: TransportStream, outcome: Outcome, metadata: Metadata) {
        switch outcome {
        case .callerAborted:
            stream.abort(code: StreamAbortCode.cancelled)
        case .deadlineExceeded where stream.unsentBytes > 0:
            // Responses queued before the deadline and not yet sent must not leave after it: with
            // any left, the stream is reset with the deadline's code instead of trailing them.
            stream.abort(code: RPCStatus.Code.deadlineExceeded.rawValue)
        case .finished, .deadlineExceeded, .evicted, .requestTimedOut:
            conclude(stream, status: outcome.status, metadata: metadata)
        }
    }

    /// The status a handler's error becomes on the wire.
    static func status(for error: any Error) -> RPCStatus {
        switch error {
        case let status as RPCStatus: status
        case let wire as WireError: wire.status
        case is CancellationError: RPCStatus(code: .cancelled, message: "cancelled")
        case TransportError.streamReset, TransportError.stopSendingRequested:
            RPCStatus(code: .cancelled, message: "\(error)")
        case let transport as TransportError: RPCStatus(code: .unavailable, message: "\(transport)")
        default: RPCStatus(code: .unknown, message: "\(error)")
        }
    }

    // MARK: Shutdown

    private enum Admission {
        /// Admitted; `holdsDrain` when a drain waits for it (its method is not served while draining).
        case started(holdsDrain: Bool)
        case refused(RPCStatus)
    }

    private func callStarted(_ method: String) -> Admission {
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

    private func callEnded(holdingDrain holdsDrain: Bool) {
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
        let (listeners, idle) = state.withLock { state in
            state.accepting = false
            let idle = state.connections.values.filter { $0.calls.isIdle }
            return (state.listeners, idle.map(\.connection))
        }
        for listener in listeners { listener.stopAccepting() }
        for connection in idle { connection.close(code: 0, message: Self.drainMessage) }
        _ = try? await withDeadline(gracePeriod, on: clock) { await self.waitUntilDrained() }
        let connections = state.withLock { $0.connections.values.map(\.connection) }
        for connection in connections { connection.close(code: 0, message: "server shut down") }
    }
}

extension TransportError {
    /// The application error code of a peer's RESET_STREAM or STOP_SENDING; `nil` for other errors.
    fileprivate var abortCode: UInt64? {
        switch self {
        case .streamReset(let code), .stopSendingRequested(let code): code
        default: nil
        }
    }
}
