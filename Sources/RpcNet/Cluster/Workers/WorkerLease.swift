import Synchronization

/// One call's or stream's hold on a worker: counted in the worker's load from selection until
/// ``release()``, which completion, failure and cancellation all reach.
///
/// Releasing twice counts once; a lease dropped without release is released then, so no path
/// leaves a worker's load counted forever (the defect `LeastConnections` has in rpcnet).
public final class WorkerLease: Sendable {
    /// The worker selected.
    public let worker: Worker
    private let registry: WorkerRegistry
    private let released = Atomic<Bool>(false)

    init(worker: Worker, registry: WorkerRegistry) {
        self.worker = worker
        self.registry = registry
    }

    /// Ends the hold on the worker.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        registry.released(worker.name)
    }

    deinit {
        release()
    }
}
