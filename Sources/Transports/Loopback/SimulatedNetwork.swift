import DequeModule

/// An in-memory network between virtual hosts, driven by a ``VirtualClock`` and a seed.
///
/// It implements both transport protocols: datagram endpoints
/// (``datagramEndpoint(at:receiveQueueCapacity:maxDatagramSize:)``) and connections with
/// streams (``listen(at:configuration:)``, ``dialer(from:configuration:)``), with
/// configurable latency, jitter, loss, duplication and reordering per direction, symmetric and
/// one-way partitions, and hosts that freeze (stop processing) and resume. Nothing happens until
/// the clock advances; every random decision comes from the seed, so the same scenario driven
/// the same way produces the same ``trace`` every time.
///
/// Addresses are virtual: no packet leaves the process.
public final class SimulatedNetwork: Sendable {
    /// What happened to one datagram, for traces and assertions.
    public enum TraceEvent: Sendable, Equatable, CustomStringConvertible {
        /// Handed to the network.
        case sent(at: MonotonicInstant, from: SocketAddress, to: SocketAddress, bytes: Int)
        /// Handed to the destination endpoint.
        case delivered(at: MonotonicInstant, from: SocketAddress, to: SocketAddress, bytes: Int)
        /// Lost, and why.
        case dropped(at: MonotonicInstant, from: SocketAddress, to: SocketAddress, bytes: Int, reason: DropReason)

        public var description: String {
            switch self {
            case .sent(let at, let from, let to, let bytes): "\(at) sent \(from)->\(to) \(bytes)B"
            case .delivered(let at, let from, let to, let bytes): "\(at) delivered \(from)->\(to) \(bytes)B"
            case .dropped(let at, let from, let to, let bytes, let reason):
                "\(at) dropped \(from)->\(to) \(bytes)B (\(reason))"
            }
        }
    }

    /// Why the network dropped a datagram.
    public enum DropReason: Sendable, Equatable {
        /// Random loss of the link.
        case loss
        /// The hosts are partitioned.
        case partition
        /// No endpoint is bound at the destination.
        case unreachable
        /// The destination is frozen and its receive buffer is full.
        case frozenBufferFull
        /// The destination's receive queue is full.
        case queueFull
    }

    /// Datagram counters.
    public struct Statistics: Sendable, Equatable {
        public var sent = 0
        public var delivered = 0
        public var dropped = 0
        public var duplicated = 0
    }

    private struct Link: Hashable {
        let from: SocketAddress.Host
        let to: SocketAddress.Host
    }

    private struct PendingDatagram {
        let payload: [UInt8]
        let from: SocketAddress
        let to: SocketAddress
    }

    private struct State {
        var generator: SeededGenerator
        var defaultConditions: LinkConditions
        var conditions: [Link: LinkConditions] = [:]
        var blocked: Set<Link> = []
        var frozen: Set<SocketAddress.Host> = []
        var heldOutbound: [SocketAddress.Host: Deque<PendingDatagram>] = [:]
        var heldInbound: [SocketAddress.Host: Deque<PendingDatagram>] = [:]
        /// Weak: endpoints and listeners hold the network, and whoever holds them keeps them
        /// bound; one dropped without ``SimulatedDatagramEndpoint/close()`` unbinds itself.
        var endpoints: [SocketAddress: Weak<SimulatedDatagramEndpoint>] = [:]
        var listeners: [SocketAddress: Weak<SimulatedListener>] = [:]
        var nextEphemeralPort: UInt16 = 49152
        var trace: [TraceEvent] = []
        var statistics = Statistics()
    }

    /// The clock every delay is measured on.
    public let clock: VirtualClock
    /// Datagrams a frozen host buffers before further ones are dropped (a socket buffer's worth).
    public let frozenBufferLimit: Int
    /// Whether ``trace`` records events (off for large simulations).
    public let recordsTrace: Bool
    private let state: Locked<State>

    /// Creates a network whose random decisions follow `seed`.
    public init(
        clock: VirtualClock, seed: UInt64, defaultConditions: LinkConditions = .lan, frozenBufferLimit: Int = 1024,
        recordsTrace: Bool = true
    ) {
        self.clock = clock
        self.frozenBufferLimit = frozenBufferLimit
        self.recordsTrace = recordsTrace
        state = Locked(State(generator: SeededGenerator(seed: seed), defaultConditions: defaultConditions))
    }

    // MARK: Shaping the network

    /// Sets the conditions for traffic from `from` to `to` (one direction).
    public func setConditions(_ conditions: LinkConditions, from: SocketAddress.Host, to: SocketAddress.Host) {
        state.withLock { $0.conditions[Link(from: from, to: to)] = conditions }
    }

    /// Sets the conditions of every link without specific ones.
    public func setDefaultConditions(_ conditions: LinkConditions) {
        state.withLock { $0.defaultConditions = conditions }
    }

    /// Cuts every link between the two groups, both ways.
    public func partition(_ groupA: [SocketAddress.Host], _ groupB: [SocketAddress.Host]) {
        state.withLock { state in
            for a in groupA {
                for b in groupB {
                    state.blocked.insert(Link(from: a, to: b))
                    state.blocked.insert(Link(from: b, to: a))
                }
            }
        }
    }

    /// Cuts traffic from `from` to `to` only; the reverse direction keeps working.
    public func blockOneWay(from: SocketAddress.Host, to: SocketAddress.Host) {
        _ = state.withLock { $0.blocked.insert(Link(from: from, to: to)) }
    }

    /// Removes every partition and one-way block.
    public func heal() {
        state.withLock { $0.blocked.removeAll() }
    }

    /// Stops `host` processing: what it sends and what arrives for it is held (up to
    /// ``frozenBufferLimit`` inbound datagrams) until ``unfreeze(_:)``, like a stopped process.
    public func freeze(_ host: SocketAddress.Host) {
        _ = state.withLock { $0.frozen.insert(host) }
    }

    /// Resumes a frozen host: held datagrams are sent and delivered now, by the clock's driver
    /// (the caller, unless another thread is advancing the clock).
    public func unfreeze(_ host: SocketAddress.Host) {
        let (outbound, inbound) = state.withLock { state -> (Deque<PendingDatagram>, Deque<PendingDatagram>) in
            state.frozen.remove(host)
            return (
                state.heldOutbound.removeValue(forKey: host) ?? [], state.heldInbound.removeValue(forKey: host) ?? []
            )
        }
        clock.execute(
            { [self] in
                for datagram in inbound { deliver(datagram) }
                for datagram in outbound { send(datagram.payload, from: datagram.from, to: datagram.to) }
            }, ifShutDown: {})
    }

    /// Whether `host` is frozen.
    public func isFrozen(_ host: SocketAddress.Host) -> Bool {
        state.withLock { $0.frozen.contains(host) }
    }

    /// Whether traffic can currently flow from `from` to `to` (no block, neither frozen).
    public func canReach(from: SocketAddress.Host, to: SocketAddress.Host) -> Bool {
        state.withLock { state in
            !state.blocked.contains(Link(from: from, to: to)) && !state.frozen.contains(from)
                && !state.frozen.contains(to)
        }
    }

    /// Every datagram event so far, in order.
    public var trace: [TraceEvent] {
        state.withLock { $0.trace }
    }

    /// Datagram counters so far.
    public var statistics: Statistics {
        state.withLock { $0.statistics }
    }

    // MARK: Datagrams

    /// Binds a datagram endpoint at `address`; port 0 picks a free one.
    public func datagramEndpoint(
        at address: SocketAddress, receiveQueueCapacity: Int = 4096, maxDatagramSize: Int = 65_507
    ) throws(TransportError) -> SimulatedDatagramEndpoint {
        try state.withLock { state throws(TransportError) in
            var address = address
            if address.port == 0 { address.port = Self.allocatePort(&state, host: address.host) }
            guard state.endpoints[address]?.object == nil else {
                throw .system(operation: "bind \(address)", errno: 98)
            }
            let endpoint = SimulatedDatagramEndpoint(
                network: self, address: address, receiveQueueCapacity: receiveQueueCapacity,
                maxDatagramSize: maxDatagramSize)
            state.endpoints[address] = Weak(endpoint)
            return endpoint
        }
    }

    private static func allocatePort(_ state: inout State, host: SocketAddress.Host) -> UInt16 {
        while true {
            let port = state.nextEphemeralPort
            state.nextEphemeralPort = port == .max ? 49152 : port + 1
            let candidate = SocketAddress(host: host, port: port)
            if state.endpoints[candidate]?.object == nil, state.listeners[candidate]?.object == nil { return port }
        }
    }

    func unbind(_ endpoint: SimulatedDatagramEndpoint) {
        state.withLock { state in
            let bound = state.endpoints[endpoint.localAddress]?.object
            if bound == nil || bound === endpoint { state.endpoints[endpoint.localAddress] = nil }
        }
    }

    /// Routes one datagram through the simulated links.
    func send(_ payload: [UInt8], from: SocketAddress, to: SocketAddress) {
        let now = clock.now
        let deliveries: [Duration] = state.withLock { state in
            if state.frozen.contains(from.host) {
                state.heldOutbound[from.host, default: []].append(PendingDatagram(payload: payload, from: from, to: to))
                return []
            }
            state.statistics.sent += 1
            record(&state, .sent(at: now, from: from, to: to, bytes: payload.count))
            let link = Link(from: from.host, to: to.host)
            if state.blocked.contains(link) {
                drop(&state, from: from, to: to, bytes: payload.count, reason: .partition)
                return []
            }
            let conditions = state.conditions[link] ?? state.defaultConditions
            if state.generator.chance(conditions.lossRate) {
                drop(&state, from: from, to: to, bytes: payload.count, reason: .loss)
                return []
            }
            var delays = [Self.delay(conditions, &state.generator)]
            if state.generator.chance(conditions.duplicationRate) {
                state.statistics.duplicated += 1
                delays.append(Self.delay(conditions, &state.generator))
            }
            return delays
        }
        for delay in deliveries {
            let datagram = PendingDatagram(payload: payload, from: from, to: to)
            // Weak: the clock (which the network holds) must not hold the network.
            clock.schedule(after: delay) { [weak self] in self?.deliver(datagram) }
        }
    }

    private static func delay(_ conditions: LinkConditions, _ generator: inout SeededGenerator) -> Duration {
        var delay = conditions.latency
        let jitter = conditions.jitter.nanoseconds
        if jitter > 0 { delay += .nanoseconds(Int64(generator.next() % UInt64(jitter + 1))) }
        if generator.chance(conditions.reorderRate) { delay += conditions.reorderDelay }
        return delay
    }

    private func deliver(_ datagram: PendingDatagram) {
        let now = clock.now
        let endpoint: SimulatedDatagramEndpoint? = state.withLock { state in
            if state.blocked.contains(Link(from: datagram.from.host, to: datagram.to.host)) {
                drop(&state, from: datagram.from, to: datagram.to, bytes: datagram.payload.count, reason: .partition)
                return nil
            }
            if state.frozen.contains(datagram.to.host) {
                if state.heldInbound[datagram.to.host, default: []].count >= frozenBufferLimit {
                    drop(
                        &state, from: datagram.from, to: datagram.to, bytes: datagram.payload.count,
                        reason: .frozenBufferFull)
                } else {
                    state.heldInbound[datagram.to.host, default: []].append(datagram)
                }
                return nil
            }
            guard let endpoint = state.endpoints[datagram.to]?.object else {
                drop(&state, from: datagram.from, to: datagram.to, bytes: datagram.payload.count, reason: .unreachable)
                return nil
            }
            state.statistics.delivered += 1
            record(&state, .delivered(at: now, from: datagram.from, to: datagram.to, bytes: datagram.payload.count))
            return endpoint
        }
        if let endpoint, !endpoint.accept(Datagram(payload: datagram.payload, source: datagram.from)) {
            state.withLock { state in
                state.statistics.delivered -= 1
                drop(&state, from: datagram.from, to: datagram.to, bytes: datagram.payload.count, reason: .queueFull)
            }
        }
    }

    private func drop(_ state: inout State, from: SocketAddress, to: SocketAddress, bytes: Int, reason: DropReason) {
        state.statistics.dropped += 1
        record(&state, .dropped(at: clock.now, from: from, to: to, bytes: bytes, reason: reason))
    }

    private func record(_ state: inout State, _ event: TraceEvent) {
        if recordsTrace { state.trace.append(event) }
    }

    // MARK: Connections

    /// Listens for simulated connections at `address`.
    public func listen(at address: SocketAddress, configuration: SimulatedConnectionConfiguration = .init())
        throws(TransportError) -> SimulatedListener
    {
        try state.withLock { state throws(TransportError) in
            var address = address
            if address.port == 0 { address.port = Self.allocatePort(&state, host: address.host) }
            guard state.listeners[address]?.object == nil else {
                throw .system(operation: "listen \(address)", errno: 98)
            }
            let listener = SimulatedListener(network: self, address: address, configuration: configuration)
            state.listeners[address] = Weak(listener)
            return listener
        }
    }

    func unlisten(_ listener: SimulatedListener) {
        state.withLock { state in
            let bound = state.listeners[listener.localAddress]?.object
            if bound == nil || bound === listener { state.listeners[listener.localAddress] = nil }
        }
    }

    /// A dialer whose connections originate from `host`.
    public func dialer(from host: SocketAddress.Host, configuration: SimulatedConnectionConfiguration = .init())
        -> SimulatedDialer
    {
        SimulatedDialer(network: self, host: host, configuration: configuration)
    }

    func listener(at address: SocketAddress) -> SimulatedListener? {
        state.withLock { $0.listeners[address]?.object }
    }

    func ephemeralAddress(on host: SocketAddress.Host) -> SocketAddress {
        state.withLock { SocketAddress(host: host, port: Self.allocatePort(&$0, host: host)) }
    }

    /// The latency of one message from `from` to `to` on a reliable connection: a lost packet
    /// costs a retransmission timeout of three one-way delays.
    func connectionDelay(from: SocketAddress.Host, to: SocketAddress.Host) -> Duration {
        state.withLock { state in
            let conditions = state.conditions[Link(from: from, to: to)] ?? state.defaultConditions
            var delay = conditions.latency
            if state.generator.chance(conditions.lossRate) { delay += conditions.latency * 3 + .milliseconds(1) }
            return delay
        }
    }
}

/// A weak reference, for tables that must not keep their entries alive.
struct Weak<Object: AnyObject> {
    weak var object: Object?

    init(_ object: Object) {
        self.object = object
    }
}
