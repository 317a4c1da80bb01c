/// A node's view of its cluster for operators, served on the node's own RPC port: its members
/// (status, φ, incarnation, tags, address), its registry's workers with their load, its
/// counters, and a live stream of membership events. The `rpcnet` command-line tool talks to it.
///
/// Off unless registered; every call must be authorised (``AdminAuthorization``): a client
/// certificate it names under mutual TLS, or a token proving the cluster key.
///
/// ```swift
/// AdminService(membership: membership, registry: registry, server: server,
///              authorization: AdminAuthorization(keys: [clusterKey]))
///     .register(on: server)
/// ```
public struct AdminService: Sendable {
    /// `rpcnet.Admin/members`.
    public static let members = RPCMethod<Admin.Query, Admin.Members, NoServiceError>(
        "rpcnet.Admin/members", idempotent: true)
    /// `rpcnet.Admin/workers`.
    public static let workers = RPCMethod<Admin.Query, Admin.Workers, NoServiceError>(
        "rpcnet.Admin/workers", idempotent: true)
    /// `rpcnet.Admin/stats`.
    public static let statistics = RPCMethod<Admin.Query, Admin.Statistics, NoServiceError>(
        "rpcnet.Admin/stats", idempotent: true)
    /// `rpcnet.Admin/events`: membership events as they happen, until the caller stops.
    public static let events = RPCMethod<Admin.Query, Admin.Event, NoServiceError>("rpcnet.Admin/events")

    private let membership: ClusterMembership
    private let registry: WorkerRegistry?
    private let server: RPCServer?
    private let authorization: AdminAuthorization

    /// An admin service over `membership`, with `registry`'s workers and `server`'s calls when
    /// given, letting in whom `authorization` allows.
    public init(
        membership: ClusterMembership, registry: WorkerRegistry? = nil, server: RPCServer? = nil,
        authorization: AdminAuthorization
    ) {
        self.membership = membership
        self.registry = registry
        self.server = server
        self.authorization = authorization
    }

    /// Serves the four methods on `server`.
    public func register(on server: RPCServer) {
        server.register(
            Self.members,
            unary: { _, context in
                try authorization.check(context)
                let members = membership.members(status: nil).sorted { $0.name < $1.name }
                return Admin.Members(members: members.map(Admin.Member.init))
            })
        server.register(
            Self.workers,
            unary: { _, context in
                try authorization.check(context)
                let workers = (registry?.workers ?? []).sorted { $0.name < $1.name }.map { worker in
                    Admin.Worker(
                        name: worker.name, address: "\(worker.address)", load: worker.load,
                        reportedLoad: worker.reportedLoad, tags: worker.tags)
                }
                return Admin.Workers(workers: workers)
            })
        server.register(
            Self.statistics,
            unary: { _, context in
                try authorization.check(context)
                return statistics()
            })
        server.register(
            Self.events,
            serverStreaming: { _, responses, context in
                try authorization.check(context)
                for await event in membership.events { try await responses.send(Admin.Event(event)) }
            })
    }

    private func statistics() -> Admin.Statistics {
        let counters = membership.statistics
        var byStatus: [String: Int] = [:]
        for member in membership.members(status: nil) { byStatus["\(member.status)", default: 0] += 1 }
        return Admin.Statistics(
            members: byStatus, gossipSent: counters.sent, gossipReceived: counters.received,
            gossipDropped: counters.dropped, probes: counters.probes, failedProbes: counters.failedProbes,
            refutations: counters.refutations, localHealth: counters.localHealth, activeCalls: server?.activeCalls)
    }
}
