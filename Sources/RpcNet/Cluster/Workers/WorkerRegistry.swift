public import Logging
public import Metrics
import Synchronization
public import Transports

/// The workers of a cluster, and which one a call should go to.
///
/// A worker is an alive member whose tags include ``selector`` (`role=worker` by default) and
/// that answered a probe of this member (any member, in a cluster with a key). The registry
/// keeps an index of the workers, in name order, and the calls and streams in flight to each
/// through it (counted by ``WorkerLease``), so a selection walks no member table: without a
/// filter it costs about the same with ten workers as with a thousand, with a filter a pass
/// over the workers that match it. The index follows the member table exactly: each selection first checks
/// the membership's revision (one atomic load), which moves in the same step as any change of a
/// member's status, address or tags or its first answer, and when it moved, applies the
/// members that changed. So a tag change is seen at once, a member that turns suspect, fails
/// or leaves stops being handed out at once, and a recovered one comes back at once.
///
/// Its swift-metrics instruments, named `rpcnet.registry.<what>` by the ``/Transports/MetricsNaming`` it is
/// given, each with the dimension `member` (the name of ``membership``):
///
/// - `selections` (counter, by `outcome`: `selected`, `noWorkerAvailable`): calls of
///   ``select(matching:excluding:)``;
/// - `in_flight` (gauge, by `worker`): each worker's calls and streams in flight through this
///   registry (``Worker/load``).
public final class WorkerRegistry: Sendable {
    /// The membership workers are found in.
    public let membership: ClusterMembership
    /// How a worker is chosen among those that match.
    public let strategy: LoadBalancingStrategy
    /// Tags every worker carries.
    public let selector: [String: String]
    private let logger: Logger

    private struct State {
        /// Calls in flight by worker; idle workers have no entry.
        var load: [String: Int] = [:]
        var cursor = 0
        var random: SeededGenerator
        var metrics: RegistryMetrics
        /// The workers as of a revision of the member table; nil until the first selection.
        var index: WorkerIndex?

        // Nothing here keeps a copy of `index` while it changes: a copy alive across a lease
        // would make the lease copy the whole index.

        /// The position of the worker `strategy` picks among all those of the index: a lookup
        /// or two.
        mutating func choose(_ strategy: LoadBalancingStrategy) -> Int? {
            let count = index!.count
            guard count > 0 else { return nil }
            switch strategy {
            case .roundRobin:
                defer { cursor &+= 1 }
                return cursor % count
            case .random:
                return Int(random.next() % UInt64(count))
            case .leastConnections:
                // The least loaded, in name order, taken in turn.
                defer { cursor &+= 1 }
                return index!.leastLoadedPosition(turn: cursor)
            }
        }

        /// The position of the worker `strategy` picks among `candidates` (positions in the
        /// index, in name order).
        mutating func choose(among candidates: [Int], _ strategy: LoadBalancingStrategy) -> Int? {
            guard !candidates.isEmpty else { return nil }
            switch strategy {
            case .roundRobin:
                defer { cursor &+= 1 }
                return candidates[cursor % candidates.count]
            case .random:
                return candidates[Int(random.next() % UInt64(candidates.count))]
            case .leastConnections:
                defer { cursor &+= 1 }
                return index!.leastLoadedPosition(among: candidates, turn: cursor)
            }
        }

        /// Counts one more call to the worker at `position` of the index.
        mutating func lease(at position: Int) -> Worker {
            let name = index!.name(at: position)
            let count = load[name, default: 0] + 1
            load[name] = count
            index!.setLoad(count, at: position)
            metrics.recordLoad(of: name, in: load)
            return index!.worker(at: position, load: count)
        }

        /// Counts one more call to `worker`, found outside the index.
        mutating func lease(_ worker: ClusterMember) -> Worker {
            let count = load[worker.name, default: 0] + 1
            load[worker.name] = count
            index?.loadChanged(worker.name, to: count)
            metrics.recordLoad(of: worker.name, in: load)
            return Worker(member: worker, load: count)
        }

        /// Brings the index up to `update`, unless it is there already.
        mutating func install(_ update: IndexUpdate, groupsByLoad: Bool) {
            switch update {
            case .all(let members, let revision):
                guard index.map({ $0.revision < revision }) ?? true else { return }
                index = WorkerIndex(revision: revision, members: members, load: load, groupsByLoad: groupsByLoad)
            case .changes(let changes, let base, let revision):
                // What changed since `base` brings an index at `base` or later up to `revision`.
                guard let current = index?.revision, base <= current, current < revision else { return }
                index!.apply(changes, revision: revision, load: load)
            }
        }
    }

    /// What was read of the member table to bring the index up to date.
    private enum IndexUpdate: Sendable {
        /// Every worker, at `revision`.
        case all([ClusterMember], revision: UInt64)
        /// The members whose entries changed after `base`, as of `revision`: each one's view if
        /// it is a worker, nil if not.
        case changes([(name: String, member: ClusterMember?)], base: UInt64, revision: UInt64)
    }

    private let state: Mutex<State>

    /// A registry of the members of `membership` tagged with `selector`, whose metrics are
    /// named by `metricsNaming` and made by `metricsFactory` (by default the one
    /// `MetricsSystem` was bootstrapped with).
    public init(
        membership: ClusterMembership, strategy: LoadBalancingStrategy = .leastConnections,
        selector: [String: String] = ["role": "worker"], randomSeed: UInt64 = .random(in: 0...UInt64.max),
        logger: Logger = Logger(label: "rpcnet.registry"), metricsNaming: MetricsNaming = MetricsNaming(),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.membership = membership
        self.strategy = strategy
        self.selector = selector
        self.logger = logger
        let metrics = RegistryMetrics(member: membership.name, naming: metricsNaming, factory: metricsFactory)
        state = Mutex(State(random: SeededGenerator(seed: randomSeed), metrics: metrics))
    }

    /// The workers now, in name order, with their load: the pool status.
    public var workers: [Worker] {
        withCurrentIndex { state in
            (0..<state.index!.count).map { position in
                state.index!.worker(at: position, load: state.load[state.index!.name(at: position), default: 0])
            }
        }
    }

    /// Calls and streams in flight through this registry, over all workers (departed ones
    /// included until their calls end).
    public var totalLoad: Int {
        state.withLock { $0.load.values.reduce(0, +) }
    }

    /// Chooses a worker whose tags also include `filter`, other than those in `excluding`, and
    /// counts the caller's call against it until the lease is released.
    ///
    /// Throws ``ClusterClientError/noWorkerAvailable(filter:)`` when none qualifies.
    public func select(
        matching filter: [String: String] = [:], excluding: Set<String> = []
    ) throws(ClusterClientError) -> WorkerLease {
        let strategy = strategy
        let worker: Worker?
        if overridesSelector(filter) {
            worker = selectOutsideIndex(matching: filter, excluding: excluding)
        } else {
            worker = withCurrentIndex { state -> Worker? in
                let position =
                    filter.isEmpty && excluding.isEmpty
                    ? state.choose(strategy)
                    : state.choose(among: state.index!.positions(matching: filter, excluding: excluding), strategy)
                guard let position else {
                    state.metrics.selected(.noWorkerAvailable)
                    return nil
                }
                state.metrics.selected(.selected)
                return state.lease(at: position)
            }
        }
        guard let worker else { throw .noWorkerAvailable(filter: filter) }
        logger.trace("selected worker", metadata: ["worker": "\(worker.name)", "load": "\(worker.load)"])
        return WorkerLease(worker: worker, registry: self)
    }

    /// Leases every worker whose tags include `filter` at once, each counted in its load, for a
    /// call to all of them.
    func leaseEach(matching filter: [String: String]) -> [WorkerLease] {
        let workers: [Worker]
        if overridesSelector(filter) {
            let members = membership.answeringMembers(tags: selector.merging(filter) { _, requested in requested })
            workers = state.withLock { state in members.map { state.lease($0) } }
        } else {
            workers = withCurrentIndex { state in
                state.index!.positions(matching: filter, excluding: []).map { state.lease(at: $0) }
            }
        }
        return workers.map { WorkerLease(worker: $0, registry: self) }
    }

    /// A lease on `name` ended.
    func released(_ name: String) {
        state.withLock { state in
            guard let current = state.load[name] else { return }
            state.load[name] = current > 1 ? current - 1 : nil
            state.index?.loadChanged(name, to: current - 1)
            state.metrics.recordLoad(of: name, in: state.load)
        }
    }

    // MARK: The index

    /// Runs `body` under the lock with an index that reflects the member table as of this call
    /// at least: when the membership's revision moved past the index's, it first reads what
    /// changed (outside the lock) and applies it.
    private func withCurrentIndex<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        let wanted = membership.workersRevision
        let groupsByLoad = strategy == .leastConnections
        var update: IndexUpdate?
        while true {
            let (result, base): (Result?, UInt64?) = state.withLock { state in
                if let update { state.install(update, groupsByLoad: groupsByLoad) }
                guard let revision = state.index?.revision, revision >= wanted else {
                    return (nil, state.index?.revision)
                }
                return (body(&state), nil)
            }
            if let result { return result }
            update = readUpdate(since: base)
        }
    }

    /// What brings an index at `base` (nil: none yet) up to the member table as it is now:
    /// the members that changed since, or all of them when the membership no longer keeps the
    /// changes that far back.
    private func readUpdate(since base: UInt64?) -> IndexUpdate {
        if let base, let (changes, revision) = membership.answeringMemberChanges(since: base, tags: selector) {
            return .changes(changes, base: base, revision: revision)
        }
        let (members, revision) = membership.answeringMembersAndRevision(tags: selector)
        return .all(members, revision: revision)
    }

    /// Whether `filter` asks for another value of a selector tag: such workers are not in the
    /// index, which holds members carrying the selector.
    private func overridesSelector(_ filter: [String: String]) -> Bool {
        filter.contains { key, value in selector[key].map { $0 != value } ?? false }
    }

    /// A selection for a filter that overrides the selector (``overridesSelector(_:)``), from
    /// the member table as it is.
    private func selectOutsideIndex(matching filter: [String: String], excluding: Set<String>) -> Worker? {
        let members = membership.answeringMembers(tags: selector.merging(filter) { _, requested in requested })
            .filter { !excluding.contains($0.name) }
        return state.withLock { state -> Worker? in
            guard !members.isEmpty else {
                state.metrics.selected(.noWorkerAvailable)
                return nil
            }
            let chosen: ClusterMember
            switch strategy {
            case .roundRobin:
                chosen = members[state.cursor % members.count]
                state.cursor &+= 1
            case .random:
                chosen = members[Int(state.random.next() % UInt64(members.count))]
            case .leastConnections:
                let loads = members.map { Worker(member: $0, load: state.load[$0.name, default: 0]).effectiveLoad }
                let least = loads.min()!
                let idle = members.indices.filter { loads[$0] == least }
                chosen = members[idle[state.cursor % idle.count]]
                state.cursor &+= 1
            }
            state.metrics.selected(.selected)
            return state.lease(chosen)
        }
    }
}
