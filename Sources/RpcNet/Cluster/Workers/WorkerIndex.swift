/// The workers a ``WorkerRegistry`` hands out, as of one ``ClusterMembership/workersRevision``:
/// the members ``ClusterMembership/answeringMembers(tags:)`` lists for the registry's selector,
/// in name order, each with its ``Worker`` view (its address parsed once) and its effective
/// load (``Worker/effectiveLoad``), and, for least-connections, the workers grouped by effective
/// load. The registry brings it up to date when the revision moves, from the membership's list
/// of changed members, and as its leases come and go, so a selection walks no member table:
/// without a filter it costs a lookup or two, with one a pass over the workers that match it
/// (over all of them the first time a filter is asked for after the workers changed).
///
/// Not thread-safe: the registry keeps it under its lock.
struct WorkerIndex {
    private struct Entry {
        var member: ClusterMember
        /// The worker view with no load: the registry sets the load when it hands it out.
        var view: Worker
        var effectiveLoad: Int
    }

    /// The revision of the member table this index reflects.
    private(set) var revision: UInt64
    /// The workers, in name order.
    private var entries: [Entry] = []
    /// Whether ``byLoad`` is kept (least-connections registries only, see
    /// ``leastLoadedPosition(turn:)``).
    private let groupsByLoad: Bool
    /// Names of workers by effective load, each group in name order; no empty groups.
    private var byLoad: [Int: [String]] = [:]
    /// The smallest key of ``byLoad``.
    private var least = 0
    /// The positions of the workers that match each filter asked for since the workers last
    /// changed: a filtered selection then passes over the matching workers only.
    private var matching: [[String: String]: [Int]] = [:]
    /// Filters kept in ``matching`` before it is emptied.
    private static let keptFilters = 16

    /// The index of `members` (in name order) at `revision`, with the registry's `load` (calls in
    /// flight by name).
    init(revision: UInt64, members: [ClusterMember], load: [String: Int], groupsByLoad: Bool) {
        self.revision = revision
        self.groupsByLoad = groupsByLoad
        entries = members.map { Self.entry(for: $0, load: load) }
        guard groupsByLoad else { return }
        for entry in entries { byLoad[entry.effectiveLoad, default: []].append(entry.member.name) }
        least = byLoad.keys.min() ?? 0
    }

    private static func entry(for member: ClusterMember, load: [String: Int]) -> Entry {
        let view = Worker(member: member, load: 0)
        return Entry(
            member: member, view: view, effectiveLoad: max(load[member.name, default: 0], view.reportedLoad ?? 0))
    }

    /// The number of workers.
    var count: Int { entries.count }

    /// The name of the worker at `position` (in name order).
    func name(at position: Int) -> String { entries[position].member.name }

    /// The worker at `position` with `load` calls in flight.
    func worker(at position: Int, load: Int) -> Worker {
        var worker = entries[position].view
        worker.load = load
        return worker
    }

    /// The positions, in name order, of the workers that carry every tag of `filter` and are
    /// not among `excluded`: a pass over the workers the first time a filter is asked for while
    /// the workers stay as they are, a pass over the matching ones after that.
    mutating func positions(matching filter: [String: String], excluding excluded: Set<String>) -> [Int] {
        let positions: [Int]
        if let known = matching[filter] {
            positions = known
        } else {
            positions = entries.indices.filter { entries[$0].member.matches(filter) }
            if matching.count >= Self.keptFilters { matching.removeAll() }
            matching[filter] = positions
        }
        return excluded.isEmpty ? positions : positions.filter { !excluded.contains(entries[$0].member.name) }
    }

    /// Where the worker `name` is, if it is one.
    func position(of name: String) -> Int? {
        let index = insertionIndex(of: name)
        return index < entries.count && entries[index].member.name == name ? index : nil
    }

    /// The position of the least loaded worker whose turn it is: with k workers at the least
    /// effective load, the (`turn` mod k)-th of them in name order; nil when there are no
    /// workers. Least-connections indexes only.
    func leastLoadedPosition(turn: Int) -> Int? {
        precondition(groupsByLoad, "the index does not group workers by load")
        guard let idle = byLoad[least] else { return nil }
        return position(of: idle[turn % idle.count])
    }

    /// The position of the least loaded of `candidates` (positions, in name order) whose turn it
    /// is: with k of them at their least effective load, the (`turn` mod k)-th of those; nil
    /// when there are no candidates.
    func leastLoadedPosition(among candidates: [Int], turn: Int) -> Int? {
        var least = Int.max
        var tied = 0
        for position in candidates {
            let load = entries[position].effectiveLoad
            if load < least {
                least = load
                tied = 1
            } else if load == least {
                tied += 1
            }
        }
        guard tied > 0 else { return nil }
        var skip = turn % tied
        for position in candidates where entries[position].effectiveLoad == least {
            if skip == 0 { return position }
            skip -= 1
        }
        return nil
    }

    /// Applies `changes` read at `revision` (see ``ClusterMembership/answeringMemberChanges(since:tags:)``):
    /// each member's new view, nil for one that is no longer a worker.
    mutating func apply(_ changes: [(name: String, member: ClusterMember?)], revision: UInt64, load: [String: Int]) {
        self.revision = revision
        if !changes.isEmpty { matching.removeAll() }
        for (name, member) in changes {
            let index = insertionIndex(of: name)
            let present = index < entries.count && entries[index].member.name == name
            if present {
                ungroup(name, load: entries[index].effectiveLoad)
                if let member {
                    entries[index] = Self.entry(for: member, load: load)
                } else {
                    entries.remove(at: index)
                }
            } else if let member {
                entries.insert(Self.entry(for: member, load: load), at: index)
            }
            if member != nil, groupsByLoad { group(name, load: entries[index].effectiveLoad) }
        }
    }

    /// The registry's count of calls to `name` is now `load` (nothing when it is no worker).
    mutating func loadChanged(_ name: String, to load: Int) {
        guard let position = position(of: name) else { return }
        setLoad(load, at: position)
    }

    /// The registry's count of calls to the worker at `position` is now `load`.
    mutating func setLoad(_ load: Int, at position: Int) {
        let effective = max(load, entries[position].view.reportedLoad ?? 0)
        let previous = entries[position].effectiveLoad
        guard effective != previous else { return }
        entries[position].effectiveLoad = effective
        guard groupsByLoad else { return }
        let name = entries[position].member.name
        ungroup(name, load: previous)
        group(name, load: effective)
    }

    private func insertionIndex(of name: String) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].member.name < name { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func group(_ name: String, load: Int) {
        let wasEmpty = byLoad.isEmpty
        byLoad[load, default: []].insertSorted(name)
        if wasEmpty || load < least { least = load }
    }

    private mutating func ungroup(_ name: String, load: Int) {
        guard groupsByLoad else { return }
        byLoad[load]?.removeSorted(name)
        guard byLoad[load]?.isEmpty == true else { return }
        byLoad.removeValue(forKey: load)
        // Loads move by one at a time, so the next group up is usually the new least.
        if load == least { least = byLoad[load + 1] != nil ? load + 1 : byLoad.keys.min() ?? 0 }
    }
}

extension [String] {
    /// Inserts `name` into this sorted array, keeping it sorted.
    fileprivate mutating func insertSorted(_ name: String) {
        insert(name, at: sortedIndex(of: name))
    }

    /// Removes `name` from this sorted array, if it is there.
    fileprivate mutating func removeSorted(_ name: String) {
        let index = sortedIndex(of: name)
        if index < count, self[index] == name { remove(at: index) }
    }

    private func sortedIndex(of name: String) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
