import Synchronization

/// The unary and server-streaming calls that sent their header but not yet their whole request:
/// they hold memory and do nothing, so a peer could open thousands and keep them open with PINGs.
/// The room bounds them per connection (beyond that the connection's new calls are refused) and
/// over the server (beyond that the oldest waiting call of the connection with the most is ended
/// to make room), so a flood of header-only calls costs the flooder, not other clients.
final class WaitingRoom: Sendable {
    private struct Entry {
        let connection: ObjectIdentifier
        let evict: @Sendable () -> Void
    }

    private struct State {
        /// Keyed by arrival order, so the smallest key of a connection is its oldest call.
        var entries: [UInt64: Entry] = [:]
        var perConnection: [ObjectIdentifier: Int] = [:]
        var nextID: UInt64 = 0

        mutating func remove(_ id: UInt64) -> Entry? {
            guard let entry = entries.removeValue(forKey: id) else { return nil }
            let left = (perConnection[entry.connection] ?? 1) - 1
            perConnection[entry.connection] = left > 0 ? left : nil
            return entry
        }
    }

    private let perConnectionLimit: Int
    private let totalLimit: Int
    private let state = Mutex(State())

    init(perConnection: Int, total: Int) {
        perConnectionLimit = max(perConnection, 1)
        totalLimit = max(total, 1)
    }

    /// A ticket for a call that entered the room; `nil` when its connection's share is full.
    /// `evict` is called (once, outside any lock) if the call is later ended to make room.
    func enter(connection: ObjectIdentifier, evict: @escaping @Sendable () -> Void) -> UInt64? {
        let (ticket, evicted): (UInt64?, Entry?) = state.withLock { state in
            guard state.perConnection[connection, default: 0] < perConnectionLimit else { return (nil, nil) }
            var evicted: Entry?
            if state.entries.count >= totalLimit,
                let largest = state.perConnection.max(by: { $0.value < $1.value })?.key,
                let oldest = state.entries.filter({ $0.value.connection == largest }).keys.min()
            {
                evicted = state.remove(oldest)
            }
            state.nextID += 1
            state.entries[state.nextID] = Entry(connection: connection, evict: evict)
            state.perConnection[connection, default: 0] += 1
            return (state.nextID, evicted)
        }
        evicted?.evict()
        return ticket
    }

    /// The call's request arrived, or the call ended: it leaves the room (idempotent).
    func leave(_ ticket: UInt64) {
        state.withLock { _ = $0.remove(ticket) }
    }

    /// Calls waiting now.
    var count: Int { state.withLock { $0.entries.count } }
}
