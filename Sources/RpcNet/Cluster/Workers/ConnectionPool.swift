import Logging
import Synchronization
import Transports

/// One RPC connection per worker, shared by every call to it: dialled on first use within a
/// connect timeout, closed after an idle period with nothing in flight, and never kept after a
/// failed dial, so a failure cannot leave a slot behind that makes a worker unreachable.
final class ConnectionPool: Sendable {
    private struct Entry {
        let client: RPCClient
        let address: SocketAddress
        var inUse = 0
        var lastUsed: MonotonicInstant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var sweep: ScheduledTimer?
        var closed = false
    }

    private let dialer: any ConnectionDialer
    private let configuration: ClusterClient.Configuration
    private let clock: any NetworkClock
    private let logger: Logger
    private let state = Mutex(State())

    init(
        dialer: any ConnectionDialer, configuration: ClusterClient.Configuration, clock: any NetworkClock,
        logger: Logger
    ) {
        self.dialer = dialer
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Connections held, in use or idle.
    var count: Int { state.withLock { $0.entries.count } }

    /// The connection to `worker`, connected, counted in use until ``checkIn(_:_:failed:)``.
    /// Fails with ``ClusterClientError/closed`` once the pool is closed, and with an
    /// `unavailable` status when the dial fails or takes longer than the connect timeout or
    /// `limit`, whichever is shorter (`cancelled` when the caller is); nothing is kept then.
    func checkOut(_ worker: Worker, within limit: Duration? = nil) async throws -> RPCClient {
        let client = try lease(worker)
        // The common case: an open connection, and no race to set up.
        if client.isConnected { return client }
        let timeout = min(configuration.connectTimeout, limit ?? configuration.connectTimeout)
        let failure: RPCStatus
        // The dial that loses is not waited for; the closed client closes its connection should
        // it complete later.
        switch await firstResult(of: { try await client.connect() }, within: timeout, on: clock) {
        case .some(.success): return client
        case .some(.failure(let error)):
            let status = RPCClient.status(for: error)
            failure =
                status.code == .cancelled
                ? status : RPCStatus(code: .unavailable, message: "cannot connect to \(worker.name): \(status.message)")
        case .none:
            failure = RPCStatus(code: .unavailable, message: "connecting to \(worker.name) timed out after \(timeout)")
        }
        checkIn(worker.name, client, failed: true)
        throw failure
    }

    /// Returns `client`, checked out for `name`; a `failed` one is closed and forgotten once
    /// nothing else uses it. A client the pool has since replaced (the worker moved) is not
    /// counted against its successor.
    func checkIn(_ name: String, _ client: RPCClient, failed: Bool = false) {
        let (closing, arm) = state.withLock { state -> (RPCClient?, Bool) in
            guard var entry = state.entries[name], entry.client === client else { return (nil, false) }
            entry.inUse -= 1
            entry.lastUsed = clock.now
            if failed, entry.inUse == 0 {
                state.entries.removeValue(forKey: name)
                return (entry.client, false)
            }
            state.entries[name] = entry
            return (nil, state.sweep == nil && !state.closed)
        }
        closing?.close()
        if arm { armSweep() }
    }

    /// Closes every connection.
    func close() {
        let (clients, sweep) = state.withLock { state in
            state.closed = true
            defer {
                state.entries.removeAll()
                state.sweep = nil
            }
            return (state.entries.values.map(\.client), state.sweep)
        }
        if let sweep { clock.cancel(sweep) }
        for client in clients { client.close() }
    }

    private func lease(_ worker: Worker) throws(ClusterClientError) -> RPCClient {
        let (client, replaced) = state.withLock { state -> (RPCClient?, RPCClient?) in
            guard !state.closed else { return (nil, nil) }
            var replaced: RPCClient?
            if var entry = state.entries[worker.name] {
                if entry.address == worker.address {
                    entry.inUse += 1
                    state.entries[worker.name] = entry
                    return (entry.client, nil)
                }
                // The worker came back at another address: its old connection is of no use.
                replaced = entry.client
            }
            let client = RPCClient(
                dialer: dialer, address: worker.address, serverName: configuration.serverName(worker),
                configuration: configuration.rpc, clock: clock, logger: logger)
            state.entries[worker.name] = Entry(client: client, address: worker.address, inUse: 1, lastUsed: clock.now)
            return (client, replaced)
        }
        replaced?.close()
        guard let client else { throw .closed }
        return client
    }

    /// Closes connections idle for the idle timeout, then runs again while any are held.
    private func armSweep() {
        let timer = clock.schedule(after: configuration.idleTimeout) { [weak self] in self?.sweep() }
        let cancel = state.withLock { state -> Bool in
            guard state.sweep == nil, !state.closed else { return true }
            state.sweep = timer
            return false
        }
        if cancel { clock.cancel(timer) }
    }

    private func sweep() {
        let now = clock.now
        let (idle, again) = state.withLock { state -> ([RPCClient], Bool) in
            state.sweep = nil
            let expired = state.entries.filter {
                $0.value.inUse == 0 && $0.value.lastUsed.advanced(by: configuration.idleTimeout) <= now
            }
            for name in expired.keys { state.entries.removeValue(forKey: name) }
            return (expired.values.map(\.client), !state.entries.isEmpty && !state.closed)
        }
        for client in idle { client.close() }
        if !idle.isEmpty { logger.debug("closed idle connections", metadata: ["count": "\(idle.count)"]) }
        if again { armSweep() }
    }
}
