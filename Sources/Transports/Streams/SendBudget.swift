/// How many unacknowledged send bytes a group of streams may hold together: the streams of one
/// connection, and through a parent budget the connections of one endpoint.
///
/// Each ``TransportStream`` already stops its writer at its own ``TransportStream/sendBufferLimit``;
/// a budget bounds what one peer (a connection) and all peers (an endpoint) can pin in memory by
/// not reading, whatever number of streams they open. A writer whose connection's budget is spent
/// waits, as it waits for its stream's limit: that peer slows itself down. A writer that would
/// overdraw the endpoint's budget does not make everyone wait for the slowest peer: the budget
/// resets the streams of the connection holding the most (code ``resetCode``), freeing their
/// unsent bytes, and the writer proceeds as soon as the memory is back.
public final class SendBudget: Sendable {
    /// The application error code of a stream reset to free an endpoint's budget: 8, the
    /// `resourceExhausted` status code of `rpcnet/1` (docs/PROTOCOL.md §4.5).
    public static let resetCode: UInt64 = 8

    /// Bytes the group may hold unacknowledged. A write larger than the whole budget is let
    /// through when the group holds nothing, so a frame is never refused for its size alone.
    public let limit: Int
    private let parent: SendBudget?
    private let state = Locked(State())

    private struct State {
        var used = 0
        /// Streams (connection budgets) or child budgets (endpoint budgets) with bytes charged.
        var holders: [ObjectIdentifier: Holder] = [:]
        /// Streams whose writers wait for room in this budget.
        var waiting: [ObjectIdentifier: WeakReference<TransportStream>] = [:]

        mutating func charge(_ bytes: Int, to key: ObjectIdentifier, _ reference: @autoclosure () -> Holder.Reference) {
            used += bytes
            holders[key, default: Holder(reference: reference(), bytes: 0)].bytes += bytes
        }
    }

    private struct Holder {
        enum Reference {
            case stream(WeakReference<TransportStream>)
            case budget(WeakReference<SendBudget>)
        }
        let reference: Reference
        var bytes: Int
    }

    /// A budget of `limit` bytes; charges to it also count against `parent` (an endpoint's).
    public init(limit: Int, parent: SendBudget? = nil) {
        self.limit = max(limit, 1)
        self.parent = parent
    }

    /// Bytes charged now.
    public var used: Int { state.withLock { $0.used } }

    /// What ``reserve(_:for:)`` decided.
    enum Reservation {
        /// The bytes are charged to this budget and its parent.
        case granted
        /// No room: the stream is woken by ``TransportStream/budgetReleased()`` when bytes come
        /// back. `shed` names a connection budget whose streams should be reset to make room.
        case denied(shed: SendBudget?)
    }

    /// Charges `bytes` for `stream` whatever the budget holds: a stream's final frame, bounded in
    /// size, which must not wait behind a peer that does not read.
    func charge(_ bytes: Int, for stream: TransportStream) {
        state.withLock { $0.charge(bytes, to: ObjectIdentifier(stream), .stream(WeakReference(stream))) }
        parent?.state.withLock { $0.charge(bytes, to: ObjectIdentifier(self), .budget(WeakReference(self))) }
    }

    /// Charges `bytes` for `stream`, or registers the stream to be woken when room appears.
    func reserve(_ bytes: Int, for stream: TransportStream) -> Reservation {
        let key = ObjectIdentifier(stream)
        return state.withLock { state in
            guard state.used == 0 || state.used + bytes <= limit else {
                state.waiting[key] = WeakReference(stream)
                return .denied(shed: nil)
            }
            if let parent {
                if case .denied(let shed) = parent.reserve(bytes, child: self, waiting: stream) {
                    return .denied(shed: shed)
                }
            }
            state.charge(bytes, to: key, .stream(WeakReference(stream)))
            return .granted
        }
    }

    /// An endpoint budget charging `bytes` for `child`.
    private func reserve(_ bytes: Int, child: SendBudget, waiting stream: TransportStream) -> Reservation {
        state.withLock { state in
            guard state.used == 0 || state.used + bytes <= limit else {
                state.waiting[ObjectIdentifier(stream)] = WeakReference(stream)
                let largest = state.holders.values.max { $0.bytes < $1.bytes }
                guard case .budget(let budget)? = largest?.reference else { return .denied(shed: nil) }
                return .denied(shed: budget.value)
            }
            state.charge(bytes, to: ObjectIdentifier(child), .budget(WeakReference(child)))
            return .granted
        }
    }

    /// Gives back `bytes` charged for `stream` (acknowledged or discarded) and wakes the writers
    /// waiting for room here or in the parent.
    func release(_ bytes: Int, for stream: TransportStream) {
        guard bytes > 0 else { return }
        var woken = release(bytes, holder: ObjectIdentifier(stream))
        if let parent { woken += parent.release(bytes, holder: ObjectIdentifier(self)) }
        for stream in woken { stream.budgetReleased() }
    }

    private func release(_ bytes: Int, holder: ObjectIdentifier) -> [TransportStream] {
        state.withLock { state in
            state.used -= bytes
            if let held = state.holders[holder]?.bytes {
                if held <= bytes { state.holders[holder] = nil } else { state.holders[holder]?.bytes = held - bytes }
            }
            defer { state.waiting.removeAll() }
            return state.waiting.values.compactMap(\.value)
        }
    }

    /// Resets this connection's streams holding the most bytes until it holds at most half its
    /// limit: the endpoint needs the memory, and this peer holds the largest share of it.
    func shed() {
        let victims: [TransportStream] = state.withLock { state in
            var remaining = state.used
            var victims: [TransportStream] = []
            for holder in state.holders.values.sorted(by: { $0.bytes > $1.bytes }) where remaining > limit / 2 {
                guard case .stream(let reference) = holder.reference, let stream = reference.value else { continue }
                victims.append(stream)
                remaining -= holder.bytes
            }
            return victims
        }
        for stream in victims { stream.reset(code: Self.resetCode) }
    }
}

/// A reference that does not keep its object alive.
struct WeakReference<Object: AnyObject & Sendable>: Sendable {
    weak var value: Object?

    init(_ value: Object) {
        self.value = value
    }
}
