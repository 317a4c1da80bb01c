public import Logging
import Synchronization
public import Transports

/// Calls `rpcnet/1` methods on one server.
///
/// Shareable by any number of tasks: each call is one stream on a shared connection. When the
/// connection is lost, the next call dials again (one dial at a time, however many calls wait).
/// Every failure reaches the caller as an ``RPCStatus``: the server's status, or
/// ``RPCStatus/Code-swift.struct/unavailable`` when the server cannot be reached,
/// ``RPCStatus/Code-swift.struct/deadlineExceeded`` when the call's time runs out, and
/// ``RPCStatus/Code-swift.struct/cancelled`` when the calling task is cancelled (the server's
/// handler is cancelled too).
public final class RPCClient: RPCCaller {
    /// Settings of a client.
    public struct Configuration: Sendable {
        /// Wire limits, checked before allocating.
        public var limits = WireLimits()
        /// Timeout of calls whose options set none; `nil` for no deadline.
        public var defaultTimeout: Duration?
        /// Run around every call, the first outermost (``ClientInterceptor``).
        public var interceptors: [any ClientInterceptor] = []

        /// Creates the defaults.
        public init() {}
    }

    private enum Target: Sendable {
        case fixed(any TransportConnection)
        case dial(any ConnectionDialer, SocketAddress, serverName: String?)
    }

    private struct State {
        var connection: (any TransportConnection)?
        var dialing: Task<any TransportConnection, any Error>?
        var closed = false
    }

    /// The client's settings.
    public let configuration: Configuration
    /// The clock deadlines are measured on (a ``/Transports/VirtualClock`` in simulations).
    public let clock: any NetworkClock
    private let target: Target
    private let logger: Logger
    private let state = Mutex(State())
    /// Releases what the client owns beyond its connection (an endpoint it bound itself).
    private let onClose: @Sendable () -> Void

    /// A client that dials `address` with `dialer` (verifying it as `serverName`) and redials
    /// after the connection is lost.
    public convenience init(
        dialer: any ConnectionDialer, address: SocketAddress, serverName: String? = nil,
        configuration: Configuration = Configuration(), clock: any NetworkClock = MonotonicClock(),
        logger: Logger = Logger(label: "rpcnet.client")
    ) {
        self.init(
            dialer: dialer, address: address, serverName: serverName, configuration: configuration, clock: clock,
            logger: logger, onClose: {})
    }

    init(
        dialer: any ConnectionDialer, address: SocketAddress, serverName: String?, configuration: Configuration,
        clock: any NetworkClock = MonotonicClock(), logger: Logger, onClose: @escaping @Sendable () -> Void
    ) {
        self.target = .dial(dialer, address, serverName: serverName)
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.onClose = onClose
    }

    /// A client for an established connection; calls fail with `unavailable` once it closes.
    public init(
        connection: any TransportConnection, configuration: Configuration = Configuration(),
        clock: any NetworkClock = MonotonicClock(), logger: Logger = Logger(label: "rpcnet.client")
    ) {
        self.target = .fixed(connection)
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.onClose = {}
    }

    /// Whether a connection is established and open now (no dial is needed for the next call).
    var isConnected: Bool {
        state.withLock { state in state.connection.map { $0.closeReason == nil } ?? false }
    }

    /// Connects now rather than at the first call, so that an unreachable server or a TLS
    /// failure shows up at once, including a server refusing this client's certificate (it waits
    /// for the server's verdict, which calls do not); fails with
    /// ``RPCStatus/Code-swift.struct/unavailable``.
    public func connect() async throws {
        let connection = try await connection()
        do {
            try await connection.waitUntilAccepted()
        } catch {
            throw Self.connectFailure(connection.remoteAddress, error)
        }
    }

    /// Closes the current connection, and one still being dialled once it completes; later
    /// calls fail with `unavailable`.
    public func close() {
        let connection = state.withLock { state in
            defer {
                state.connection = nil
                state.closed = true
            }
            return state.connection
        }
        connection?.close(code: 0, message: "client closed")
        if case .fixed(let fixed) = target { fixed.close(code: 0, message: "client closed") }
        onClose()
    }

    // MARK: Calls

    /// What a call does between opening its stream and its end: runs on the caller's executor.
    private typealias CallBody<Result> =
        @Sendable (MessageWriter, MessageStream) async throws
        -> Result

    /// Calls a unary method.
    public func unary(
        _ method: String, _ request: [UInt8], options: CallOptions = CallOptions()
    ) async throws -> [UInt8] {
        try await call(method, .unary, options: options, requests: [request]) { _, responses in
            try await Self.singleResponse(responses)
        }
    }

    /// Calls a server-streaming method; `body` consumes the responses. Returning before the last
    /// one cancels the rest of the call.
    public func serverStreaming<Result: Sendable>(
        _ method: String, _ request: [UInt8], options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageStream) async throws -> Result
    ) async throws -> Result {
        try await call(method, .serverStreaming, options: options, requests: [request]) { _, responses in
            try await body(responses)
        }
    }

    /// Calls a client-streaming method: `body` sends the requests, then the one response is returned.
    public func clientStreaming(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter) async throws -> Void
    ) async throws -> [UInt8] {
        try await call(method, .clientStreaming, options: options, requests: nil) { requests, responses in
            try await body(requests)
            try await requests.stream.finish()
            return try await Self.singleResponse(responses)
        }
    }

    /// Calls a bidirectional-streaming method: `body` sends requests and reads responses
    /// concurrently as it likes; the request side is finished when `body` returns.
    public func bidirectional<Result: Sendable>(
        _ method: String, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (MessageWriter, MessageStream) async throws -> Result
    ) async throws -> Result {
        try await call(method, .bidirectional, options: options, requests: nil) { requests, responses in
            let result = try await body(requests, responses)
            try? await requests.stream.finish()
            return result
        }
    }

    /// Runs the call through the interceptors (directly when there are none).
    private func call<Result: Sendable>(
        _ method: String, _ kind: CallKind, options: CallOptions, requests: [[UInt8]]?,
        _ body: @escaping CallBody<Result>
    ) async throws(RPCStatus) -> Result {
        let interceptors = configuration.interceptors
        guard !interceptors.isEmpty else {
            return try await perform(method, kind, options: options, requests: requests, body)
        }
        let call = ClientCall(method: method, kind: kind, remoteAddress: remoteAddress, clock: clock, options: options)
        return try await interceptors.intercept(call) { (call: ClientCall) async throws(RPCStatus) -> Result in
            try await self.perform(call.method, kind, options: call.options, requests: requests, body)
        }
    }

    /// The server this client calls.
    private var remoteAddress: SocketAddress {
        switch target {
        case .fixed(let connection): connection.remoteAddress
        case .dial(_, let address, _): address
        }
    }

    /// Opens the call's stream, sends the header (and `requests` then FIN, when given), runs
    /// `body` against the deadline and the caller's cancellation, and tells the options'
    /// status observer how it ended.
    private func perform<Result: Sendable>(
        _ method: String, _ kind: CallKind, options: CallOptions, requests: [[UInt8]]?,
        _ body: @escaping CallBody<Result>
    ) async throws(RPCStatus) -> Result {
        let observers = options.observers
        var trailer: Trailer?
        do {
            let result = try await exchange(method, kind, options: options, requests: requests, body) {
                trailer = $0
            }
            observers.status?(.ok, trailer?.metadata ?? Metadata())
            return result
        } catch {
            let status = Self.status(for: error)
            observers.status?(status, trailer?.metadata ?? Metadata())
            throw status
        }
    }

    /// The call on the wire: `trailer` is given the trailer that ended it, when one arrived.
    private func exchange<Result: Sendable>(
        _ method: String, _ kind: CallKind, options: CallOptions, requests: [[UInt8]]?,
        _ body: @escaping CallBody<Result>,
        trailer: (Trailer) -> Void
    ) async throws -> Result {
        for request in requests ?? [] where request.count > configuration.limits.maxMessageSize {
            throw RPCStatus(
                code: .resourceExhausted,
                message: "request of \(request.count) bytes exceeds the limit of \(configuration.limits.maxMessageSize)"
            )
        }
        let timeout = options.timeout ?? configuration.defaultTimeout
        let header = Frame.callHeader(CallHeader(method: method, timeout: timeout, metadata: options.metadata))
        let observers = options.observers
        let stream = try await openStream()
        let source = MessageSource(reader: FrameReader(stream: stream, limits: configuration.limits)) { trailer in
            guard trailer.status.code == .ok else { throw trailer.status }
        }
        defer { if let received = source.trailer { trailer(received) } }
        // A unary body only reads the response, so every wait it makes is the stream's: its
        // deadline can abort the stream rather than race a task, and its waits end themselves
        // when the task is cancelled.
        let waitsOnlyOnStream = kind == .unary
        /// Sends the opening (header and any requests) and runs the body over the call's streams.
        func converse() async throws -> Result {
            var opening = header.encoded
            for request in requests ?? [] {
                Frame.message(request).encode(into: &opening)
                observers.request?(request)
            }
            do {
                try await stream.write(opening, finish: requests != nil)
            } catch TransportError.stopSendingRequested {
                // The server refused the call early: its trailer says why.
            }
            let responses = MessageStream(source: source, observer: observers.response)
            let writer = MessageWriter(
                stream: stream, limits: configuration.limits, observer: observers.request)
            let result: Result
            if let timeout, waitsOnlyOnStream {
                result = try await withDeadline(timeout, on: clock, aborting: stream) {
                    try await body(writer, responses)
                }
            } else if let timeout {
                result = try await withDeadline(timeout, on: clock) { try await body(writer, responses) }
            } else {
                result = try await body(writer, responses)
            }
            // A caller that stopped reading before the trailer has abandoned the rest of the call.
            if !source.isFinished { stream.abort(code: StreamAbortCode.cancelled) }
            return result
        }
        do {
            // No cancellation handler to install and remove when the stream's waits end at
            // cancellation themselves (the abort below then releases the stream): each costs a
            // status-record lock and two executor checks per call.
            if waitsOnlyOnStream { return try await converse() }
            return try await withTaskCancellationHandler(operation: converse) {
                stream.abort(code: StreamAbortCode.cancelled)
            }
        } catch {
            // Whatever failed, the stream is done with: release it on both sides.
            let status = Self.status(for: error)
            stream.abort(code: status.code == .ok ? StreamAbortCode.cancelled : status.code.rawValue)
            throw status
        }
    }

    private static func singleResponse(_ responses: MessageStream) async throws -> [UInt8] {
        try await responses.single(
            missing: RPCStatus(code: .internal, message: "the server sent no response message"),
            extra: RPCStatus(code: .internal, message: "the server sent more than one response message"))
    }

    /// The status a caller sees for `error`.
    static func status(for error: any Error) -> RPCStatus {
        switch error {
        case let status as RPCStatus: status
        case let wire as WireError: wire.status
        case is CancellationError: RPCStatus(code: .cancelled, message: "cancelled by the caller")
        case TransportError.streamReset(let code), TransportError.stopSendingRequested(let code):
            RPCStatus(code: .init(rawValue: code), message: "the server aborted the call")
        case TransportError.connectionClosed(let reason): RPCStatus(code: .unavailable, message: "\(reason)")
        case let transport as TransportError: RPCStatus(code: .unavailable, message: "\(transport)")
        default: RPCStatus(code: .unknown, message: "\(error)")
        }
    }

    // MARK: Connection

    /// The status of a call or ``connect()`` that could not connect to `address`.
    private static func connectFailure(_ address: SocketAddress, _ error: any Error) -> RPCStatus {
        RPCStatus(code: .unavailable, message: "cannot connect to \(address): \(error)")
    }

    private func openStream() async throws -> TransportStream {
        let connection = try await connection()
        do {
            return try await connection.openStream()
        } catch {
            throw Self.status(for: error)
        }
    }

    private func connection() async throws -> any TransportConnection {
        switch target {
        case .fixed(let connection):
            if let reason = connection.closeReason { throw RPCStatus(code: .unavailable, message: "\(reason)") }
            return connection
        case .dial(let dialer, let address, let serverName):
            // A live connection is the common case: it is returned without creating a task.
            let (ready, pending) = try state.withLock { state throws(RPCStatus) in
                guard !state.closed else { throw RPCStatus(code: .unavailable, message: "the client is closed") }
                if let connection = state.connection, connection.closeReason == nil {
                    return (Optional(connection), Task<any TransportConnection, any Error>?.none)
                }
                if state.dialing == nil {
                    // On the dialer's reactor, the handshake's start and end cost no thread hop.
                    state.dialing = Task(executorPreference: dialer.preferredExecutor) {
                        try await dialer.connect(to: address, serverName: serverName)
                    }
                }
                return (nil, state.dialing)
            }
            if let ready { return ready }
            guard let dialing = pending else { preconditionFailure("a dial is always pending here") }
            let connection: any TransportConnection
            do {
                connection = try await dialing.value
            } catch {
                // Only this dial's own waiters clear it: a newer dial may have started since.
                state.withLock { if $0.dialing == dialing { $0.dialing = nil } }
                logger.debug("connect failed", metadata: ["address": "\(address)", "error": "\(error)"])
                throw Self.connectFailure(address, error)
            }
            // The first waiter of this dial stores its connection, unless the client was closed
            // meanwhile; a late waiter of an older dial uses it without storing it.
            let closed = state.withLock { state -> Bool in
                if state.dialing == dialing {
                    state.dialing = nil
                    if !state.closed { state.connection = connection }
                }
                return state.closed
            }
            guard !closed else {
                connection.close(code: 0, message: "client closed")
                throw RPCStatus(code: .unavailable, message: "the client is closed")
            }
            return connection
        }
    }
}
