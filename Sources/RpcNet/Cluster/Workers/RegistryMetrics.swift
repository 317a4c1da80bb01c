import Metrics
import Transports

/// The swift-metrics instruments of a ``WorkerRegistry``, named `rpcnet.registry.<what>`
/// through its ``MetricsNaming``, each with the dimension `member`: the name of the member the
/// registry reads the cluster through.
///
/// Not thread-safe: the registry calls it under its lock, so that concurrent leases record
/// their gauges in the order they changed the load.
struct RegistryMetrics {
    /// `rpcnet.registry.selections` by `outcome`: calls of
    /// ``WorkerRegistry/select(matching:excluding:)``. `selected`: a worker was leased;
    /// `noWorkerAvailable`: no alive worker matched (the selection threw
    /// ``ClusterClientError/noWorkerAvailable(filter:)``, or a ``ClusterClient`` retry found no
    /// worker it had not tried yet).
    private let selections: [SelectionOutcome: Counter]
    /// `rpcnet.registry.in_flight` by `worker`: the calls and streams in flight through this
    /// registry to each worker (its ``Worker/load``), from selection until their leases are
    /// released. Recorded whenever it changes; a worker's gauge is made on its first lease.
    private var inFlight: [String: Gauge] = [:]
    private let inFlightLabel: String
    private let member: String
    private let factory: any MetricsFactory

    /// Gauges of idle workers kept beyond those of busy ones before the idle ones are let go.
    private static let idleGauges = 64

    /// The instruments of a registry on the member `member`, named by `naming`, made by
    /// `factory`.
    init(member: String, naming: MetricsNaming, factory: any MetricsFactory) {
        self.member = member
        self.factory = factory
        inFlightLabel = naming.label("rpcnet.registry.in_flight")
        selections = Dictionary(
            uniqueKeysWithValues: SelectionOutcome.allCases.map { outcome in
                (
                    outcome,
                    Counter(
                        label: naming.label("rpcnet.registry.selections"),
                        dimensions: [("member", member), ("outcome", outcome.rawValue)], factory: factory)
                )
            })
    }

    /// A selection ended with `outcome`.
    func selected(_ outcome: SelectionOutcome) {
        selections[outcome]!.increment()
    }

    /// Records the gauge of `worker`, whose load changed; `load` holds every worker's calls in
    /// flight (none: idle). An idle worker's gauge stays at 0 and is kept, until more than
    /// ``idleGauges`` idle ones are held: then they are let go (their series stay with the
    /// backend, at 0), so workers that come and go under new names do not accumulate here.
    mutating func recordLoad(of worker: String, in load: [String: Int]) {
        let gauge =
            inFlight[worker]
            ?? Gauge(label: inFlightLabel, dimensions: [("member", member), ("worker", worker)], factory: factory)
        gauge.record(load[worker, default: 0])
        inFlight[worker] = gauge
        if inFlight.count > load.count + Self.idleGauges {
            inFlight = inFlight.filter { load[$0.key] != nil }
        }
    }
}

/// How a worker selection ended, as the `outcome` dimension of `rpcnet.registry.selections`.
enum SelectionOutcome: String, CaseIterable, Sendable {
    /// A worker was chosen and leased.
    case selected
    /// No worker qualified.
    case noWorkerAvailable
}
