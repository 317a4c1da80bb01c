public import Logging
import Synchronization
public import Transports

/// Calls workers chosen by a ``WorkerRegistry``, over pooled connections, failing over to
/// another worker when one is unavailable.
///
/// It is an ``RPCCaller``, so a client `@RPCService` generates runs over it as over one server:
/// `InferenceClient(cluster)` calls any worker, `InferenceClient(cluster.workers(matching:
/// ["gpu": "true"]))` those with the tag; ``callEachWorker(matching:options:_:)`` calls every
/// matching worker at once.
///
/// - A call's worker is leased from the registry for exactly as long as the call runs, so
///   `LeastConnections` sees the real load.
/// - A worker that cannot be reached (dial failed or timed out) is skipped and the call goes to
///   another, whatever the call: its request never left. A call that fails `unavailable` after
///   its request was sent is retried elsewhere only when idempotent (``CallOptions/isIdempotent``,
///   ``RPCMethod/isIdempotent``). Retries stay within
///   the call's deadline and ``Configuration/maxAttempts``.
/// - ``resumableStream(_:from:matching:options:request:onSwitch:handle:)-(_,_,_,_,(Position)->Request,_,_)``
///   restarts a stream that lost its worker on another one, from the last position the
///   application acknowledged.
public final class ClusterClient: Sendable {
    /// Settings of a cluster client.
    public struct Configuration: Sendable {
        /// Settings of each worker connection.
        public var rpc = RPCClient.Configuration()
        /// Longest wait for a new connection's handshake before trying another worker.
        public var connectTimeout: Duration = .seconds(2)
        /// A connection with nothing in flight for this long is closed.
        public var idleTimeout: Duration = .seconds(60)
        /// Workers tried per call, the first included.
        public var maxAttempts = 3
        /// The name a worker's certificate must carry; `nil` checks its IP address. By default
        /// the worker's `tls.name` tag, if it has one.
        public var serverName: @Sendable (Worker) -> String? = { $0.tags["tls.name"] }
        /// A resumable stream that receives nothing for this long is taken for lost and resumed
        /// on another worker: a worker killed outright sends nothing, not even a close. `nil`
        /// waits for the transport to notice.
        public var streamStallTimeout: Duration? = .seconds(2)
        /// How long a resumable stream waits for a worker to become available before failing.
        public var workerWaitLimit: Duration = .seconds(10)

        /// The defaults.
        public init() {}
    }

    /// The registry workers are chosen from.
    public let registry: WorkerRegistry
    /// The client's settings.
    public let configuration: Configuration
    let pool: ConnectionPool
    let clock: any NetworkClock
    let logger: Logger

    /// A client that dials workers with `dialer` (a QUIC endpoint, or a simulated network).
    public init(
        registry: WorkerRegistry, dialer: any ConnectionDialer, configuration: Configuration = Configuration(),
        clock: any NetworkClock = MonotonicClock(), logger: Logger = Logger(label: "rpcnet.cluster-client")
    ) {
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        pool = ConnectionPool(dialer: dialer, configuration: configuration, clock: clock, logger: logger)
    }

    /// Worker connections held now, in use or idle.
    public var pooledConnections: Int { pool.count }

    /// Closes every worker connection; calls in flight fail, later ones fail with
    /// ``ClusterClientError/closed``.
    public func close() {
        pool.close()
    }

    deinit {
        pool.close()
    }

    /// Runs `call` on a leased worker's pooled connection, moving to another worker as the
    /// type comment says. `call` gets the options with the time left.
    public func withWorker<Result: Sendable>(
        matching filter: [String: String] = [:], idempotent: Bool, options: CallOptions = CallOptions(),
        _ call: @Sendable (RPCClient, Worker, CallOptions) async throws -> Result
    ) async throws -> Result {
        let deadline = (options.timeout ?? configuration.rpc.defaultTimeout).map { clock.now.advanced(by: $0) }
        var attempts: [ClusterClientError.Attempt] = []
        var tried: Set<String> = []
        while attempts.count < configuration.maxAttempts {
            let lease: WorkerLease
            do {
                lease = try registry.select(matching: filter, excluding: tried)
            } catch {
                if attempts.isEmpty { throw error }
                break
            }
            defer { lease.release() }
            let worker = lease.worker
            tried.insert(worker.name)
            var attemptOptions = options
            if let deadline {
                let left = clock.now.duration(to: deadline)
                guard left > .zero else {
                    attempts.append(.init(worker: worker.name, status: RPCStatus(code: .deadlineExceeded)))
                    break
                }
                attemptOptions.timeout = left
            }
            let client: RPCClient
            do {
                client = try await pool.checkOut(worker, within: attemptOptions.timeout)
            } catch let status as RPCStatus where status.code == .unavailable {
                logger.info(
                    "worker unreachable, trying another", metadata: ["worker": "\(worker.name)", "error": "\(status)"])
                attempts.append(.init(worker: worker.name, status: status))
                continue
            }
            defer { pool.checkIn(worker.name, client) }
            do {
                return try await call(client, worker, attemptOptions)
            } catch let status as RPCStatus where idempotent && status.code == .unavailable {
                logger.info(
                    "worker failed an idempotent call, retrying",
                    metadata: ["worker": "\(worker.name)", "error": "\(status)"])
                attempts.append(.init(worker: worker.name, status: status))
            }
        }
        throw ClusterClientError.exhausted(attempts: attempts)
    }
}
