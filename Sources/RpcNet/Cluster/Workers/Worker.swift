public import Transports

/// A worker as a ``WorkerRegistry`` sees it: an alive cluster member carrying the registry's
/// selector tags (`role=worker` by default).
public struct Worker: Sendable, Hashable, CustomStringConvertible {
    /// The worker's member name, unique in the cluster.
    public var name: String
    /// Where it serves RPC: its `rpc` tag (`host:port`) when it has one, else its cluster address
    /// (RPC and gossip share a port, see `QUICSideChannel`).
    public var address: SocketAddress
    /// Its tags, as of the selection.
    public var tags: [String: String]
    /// Calls and streams in flight to it through this registry.
    public var load: Int
    /// The calls in flight the worker itself last published (its ``loadTag`` tag, see
    /// ``WorkerLoadReporter``), if it publishes them.
    public var reportedLoad: Int?

    /// What least-connections ranks by: the larger of this registry's count and the worker's
    /// own. The registry's count is exact for calls it handed out and sees a burst of
    /// selections at once; the worker's covers other registries, a registry that restarted,
    /// and callers that died while a lease for them is still held.
    public var effectiveLoad: Int { max(load, reportedLoad ?? 0) }

    /// The tag that names a worker's RPC address when it differs from its cluster address.
    public static let rpcAddressTag = "rpc"
    /// The tag in which a worker publishes its calls in flight (a decimal count).
    public static let loadTag = "load"

    /// The worker view of `member`, with `load` calls in flight.
    public init(member: ClusterMember, load: Int) {
        name = member.name
        tags = member.tags
        address = member.tags[Self.rpcAddressTag].flatMap { try? SocketAddress(parsing: $0) } ?? member.address
        self.load = load
        reportedLoad = member.tags[Self.loadTag].flatMap { Int($0) }.map { max($0, 0) }
    }

    public var description: String {
        let label = tags["label"].map { " (\($0))" } ?? ""
        return "\(name)\(label) at \(address), \(effectiveLoad) in flight"
    }
}
