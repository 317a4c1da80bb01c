import DequeModule

/// Updates waiting to be piggybacked (SWIM §4.1, "infection-style dissemination").
///
/// Each update is sent a limited number of times (λ·log n, see
/// ``SWIMSettings/retransmitMultiplier``). A datagram takes the updates sent least often first
/// (fresh news spreads fastest), failures, suspicions and departures before alive news, and
/// the newest first within each; only the newest update about a member is kept. Selection
/// pops from per-(transmissions, priority) queues, so its cost is proportional to what it
/// picks, not to the queue's length.
struct Dissemination {
    private struct Entry {
        var update: MemberUpdate
        var size: Int
        var sequence: UInt64
        var transmissions = 0
    }

    /// The live update per member, by name.
    private var current: [String: Entry] = [:]
    /// Member names by [transmissions][priority], oldest first; an item is stale when the
    /// member's current update has another sequence number.
    private var queues: [[Deque<(name: String, sequence: UInt64)>]] = []
    private var nextSequence: UInt64 = 0
    /// The smallest update's size, so a nearly full datagram stops looking.
    private static let smallestUpdate = 4
    /// Updates too large for what is left of a datagram that one selection passes over before
    /// it stops: without a cap a nearly full datagram would walk every queued update (a
    /// thousand at once while a large cluster forms), making each selection linear.
    private static let maxPassedOver = 8

    /// Whether no update is waiting.
    var isEmpty: Bool { current.isEmpty }

    /// Whether an update about `name` is waiting.
    func contains(_ name: String) -> Bool {
        current[name] != nil
    }

    /// The update about `name` waiting, if any, without counting a transmission.
    func pending(about name: String) -> MemberUpdate? {
        current[name]?.update
    }

    /// Queues `update`, replacing any older one about the same member.
    mutating func enqueue(_ update: MemberUpdate) {
        nextSequence += 1
        current[update.name] = Entry(
            update: update, size: GossipCodec.encodedSize(of: update), sequence: nextSequence)
        push(name: update.name, sequence: nextSequence, transmissions: 0, priority: Self.priority(of: update))
    }

    /// Takes updates that fit in `budget` bytes, counting one transmission for each; an update
    /// sent `limit` times is dropped. Updates about `preferred` go first (the buddy system:
    /// a suspect hears of its suspicion on the next probe it receives, Lifeguard §4.5).
    mutating func take(budget: Int, limit: Int, preferred: String? = nil) -> [MemberUpdate] {
        guard !current.isEmpty else {
            // No news: whatever the queues still hold is stale. Most datagrams of a settled
            // cluster end here, without walking a queue.
            queues.removeAll(keepingCapacity: true)
            return []
        }
        var remaining = budget
        var picked: [MemberUpdate] = []
        // Transmissions are counted after the scan, so an update re-queued one level up is not
        // picked twice for the same datagram.
        var sent: [(name: String, entry: Entry)] = []
        var pickedFirst: String?
        if let preferred, let entry = current[preferred], entry.size <= remaining {
            picked.append(entry.update)
            remaining -= entry.size
            sent.append((preferred, entry))
            pickedFirst = preferred
        }
        var skipped: [(name: String, sequence: UInt64)] = []
        var passedOver = 0
        for transmissions in queues.indices where remaining >= Self.smallestUpdate {
            for priority in 0..<2 where remaining >= Self.smallestUpdate && !queues[transmissions][priority].isEmpty {
                skipped.removeAll(keepingCapacity: true)
                while remaining >= Self.smallestUpdate, passedOver < Self.maxPassedOver,
                    let item = queues[transmissions][priority].popLast()
                {
                    guard let entry = current[item.name], entry.sequence == item.sequence else { continue }
                    guard item.name != pickedFirst else {
                        skipped.append(item)
                        continue
                    }
                    guard entry.size <= remaining else {
                        skipped.append(item)
                        passedOver += 1
                        continue
                    }
                    picked.append(entry.update)
                    remaining -= entry.size
                    sent.append((item.name, entry))
                }
                if !skipped.isEmpty { queues[transmissions][priority].append(contentsOf: skipped.reversed()) }
            }
        }
        for (name, entry) in sent { transmitted(name: name, entry: entry, limit: limit) }
        return picked
    }

    /// Drops every queued update about `name` (it is no longer news, e.g. a reaped tombstone).
    mutating func forget(_ name: String) {
        current.removeValue(forKey: name)
    }

    /// Moves an update to the next transmission count, or drops it at `limit`. A new sequence
    /// number retires the item left in its old queue.
    private mutating func transmitted(name: String, entry: Entry, limit: Int) {
        let sent = entry.transmissions + 1
        guard sent < limit else {
            current.removeValue(forKey: name)
            return
        }
        nextSequence += 1
        current[name]?.sequence = nextSequence
        current[name]?.transmissions = sent
        push(name: name, sequence: nextSequence, transmissions: sent, priority: Self.priority(of: entry.update))
    }

    private mutating func push(name: String, sequence: UInt64, transmissions: Int, priority: Int) {
        while queues.count <= transmissions { queues.append([[], []]) }
        queues[transmissions][priority].append((name, sequence))
    }

    /// 0 for news that changes who is in the cluster, 1 for alive news.
    private static func priority(of update: MemberUpdate) -> Int {
        if case .alive = update { return 1 }
        return 0
    }
}
