/// How a ``WorkerRegistry`` picks one worker among those that match a request.
public enum LoadBalancingStrategy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Each worker in turn, in name order: an even spread when calls cost about the same.
    case roundRobin
    /// A worker drawn at random: no shared state between selectors, even on average.
    case random
    /// The worker with the fewest calls and streams in flight (ties go round-robin): the larger
    /// of those through this registry and those the worker publishes itself
    /// (``Worker/effectiveLoad``, ``WorkerLoadReporter``). The choice when calls differ in
    /// length, such as streams. Recommended.
    case leastConnections

    public var description: String {
        switch self {
        case .roundRobin: "RoundRobin"
        case .random: "Random"
        case .leastConnections: "LeastConnections"
        }
    }
}
