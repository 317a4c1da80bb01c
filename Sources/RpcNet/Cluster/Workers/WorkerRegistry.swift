public import Logging
public import Metrics
import Synchronization
public import Transports

/// The workers of a cluster, and which one a call should go to.
///
/// A worker is an alive member whose tags include ``selector`` (`role=worker` by default) and
/// that answered a probe of this member (any member, in a cluster with a key). The
/// registry keeps no copy of the membership: every selection reads the member table as it is,
/// so a tag change is seen at once, a member that turns suspect, fails or leaves stops being
/// handed out at once, and a recovered one comes back at once. What the registry keeps is the
/// load: the calls and streams in flight to each worker through it, counted by ``WorkerLease``.
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

        /// Counts one more call to `worker`.
        mutating func lease(_ worker: ClusterMember) -> Worker {
            load[worker.name, default: 0] += 1
            metrics.recordLoad(of: worker.name, in: load)
            return Worker(member: worker, load: load[worker.name]!)
        }
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
        let members = candidates(matching: [:], excluding: [])
        return state.withLock { state in members.map { Worker(member: $0, load: state.load[$0.name, default: 0]) } }
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
        let members = candidates(matching: filter, excluding: excluding)
        guard !members.isEmpty else {
            state.withLock { $0.metrics.selected(.noWorkerAvailable) }
            throw .noWorkerAvailable(filter: filter)
        }
        let worker = state.withLock { state -> Worker in
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
        logger.trace("selected worker", metadata: ["worker": "\(worker.name)", "load": "\(worker.load)"])
        return WorkerLease(worker: worker, registry: self)
    }

    /// Leases every worker whose tags include `filter` at once, each counted in its load, for a
    /// call to all of them.
    func leaseEach(matching filter: [String: String]) -> [WorkerLease] {
        let members = candidates(matching: filter, excluding: [])
        let workers = state.withLock { state in members.map { state.lease($0) } }
        return workers.map { WorkerLease(worker: $0, registry: self) }
    }

    /// A lease on `name` ended.
    func released(_ name: String) {
        state.withLock { state in
            guard let current = state.load[name] else { return }
            state.load[name] = current > 1 ? current - 1 : nil
            state.metrics.recordLoad(of: name, in: state.load)
        }
    }

    private func candidates(matching filter: [String: String], excluding: Set<String>) -> [ClusterMember] {
        let wanted = selector.merging(filter) { _, requested in requested }
        // The member list comes in name order after this member, so no sort is needed here.
        // Only members that answered a probe of this member: without a cluster key anyone can
        // announce a `role=worker` member that does not exist.
        return membership.answeringMembers(tags: wanted).filter { !excluding.contains($0.name) }
    }
}
