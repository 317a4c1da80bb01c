extension RPCServer {
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
}
