import Synchronization

/// A standard health service that load balancers and orchestrators poll, modelled on gRPC's
/// health checking protocol (`grpc.health.v1`): `rpcnet.Health/check` answers with a service's
/// ``Status`` at once, `rpcnet.Health/watch` streams it and every change. The empty service name
/// stands for the whole server.
///
/// ```swift
/// let health = HealthService()
/// health.register(on: server)                     // the server's own status: serving
/// health.setStatus(.notServing, for: "Inference")  // while a model reloads
/// ```
///
/// Registered on a server, it answers while the server drains, and the drain turns every status
/// to ``Status/notServing`` first, so a watcher learns it before connections close. The messages
/// are ``BinaryCodec`` records, specified in docs/PROTOCOL.md §9.
public final class HealthService: Sendable {
    /// A service's health.
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// The service takes calls.
        case serving
        /// The service refuses calls or is about to (draining); send them elsewhere.
        case notServing
        /// No status was set for the service named in the request.
        case serviceUnknown
    }

    /// What a caller asks about.
    public struct Request: Codable, Sendable, Hashable {
        /// The service, or empty for the whole server.
        public var service: String

        /// A request about `service` (empty: the whole server).
        public init(service: String = "") {
            self.service = service
        }
    }

    /// The answer.
    public struct Response: Codable, Sendable, Hashable {
        /// The service's health.
        public var status: Status

        /// An answer saying `status`.
        public init(status: Status) {
            self.status = status
        }
    }

    /// `rpcnet.Health/check`: the status now; `notFound` for a service with none.
    public static let check = RPCMethod<Request, Response, NoServiceError>("rpcnet.Health/check", idempotent: true)
    /// `rpcnet.Health/watch`: the status now, then each change, until the caller stops.
    public static let watch = RPCMethod<Request, Response, NoServiceError>("rpcnet.Health/watch")

    private struct State {
        var statuses: [String: Status] = ["": .serving]
        var watchers: [UInt64: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcher: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A service that reports the whole server (`""`) serving and knows no other service yet.
    public init() {}

    /// Sets `service`'s status (empty: the whole server) and tells its watchers.
    public func setStatus(_ status: Status, for service: String = "") {
        let watchers = state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Turns every known service, the whole server included, to ``Status/notServing``: what a
    /// drain does first.
    public func markAllNotServing() {
        let services = state.withLock { Array($0.statuses.keys) }
        for service in services { setStatus(.notServing, for: service) }
    }

    /// The status of `service`, if one was set.
    public func status(of service: String = "") -> Status? {
        state.withLock { $0.statuses[service] }
    }

    /// Serves `check` and `watch` on `server`, also while it drains, and turns every status to
    /// not serving when its drain begins.
    public func register(on server: RPCServer) {
        server.register(Self.check) { request, _ in
            guard let status = self.status(of: request.service) else {
                throw RPCStatus(code: .notFound, message: "no health status for service \(request.service)")
            }
            return Response(status: status)
        }
        server.register(Self.watch) { request, responses, _ in
            for await status in self.updates(of: request.service) {
                try await responses.send(Response(status: status))
            }
        }
        server.serveWhileDraining([Self.check.name, Self.watch.name])
        server.whenDraining { self.markAllNotServing() }
    }

    /// The status of `service` now (``Status/serviceUnknown`` when none is set), then each change.
    private func updates(of service: String) -> AsyncStream<Status> {
        let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextWatcher += 1
            state.watchers[state.nextWatcher] = (service, continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return state.nextWatcher
        }
        continuation.onTermination = { _ in
            _ = self.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
