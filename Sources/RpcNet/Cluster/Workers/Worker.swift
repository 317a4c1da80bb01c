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

    /// The tag that names a worker's RPC address when it differs from its cluster address.
    public static let rpcAddressTag = "rpc"

    /// The worker view of `member`, with `load` calls in flight.
    public init(member: ClusterMember, load: Int) {
        name = member.name
        tags = member.tags
        address = member.tags[Self.rpcAddressTag].flatMap { try? SocketAddress(parsing: $0) } ?? member.address
        self.load = load
    }

    public var description: String {
        let label = tags["label"].map { " (\($0))" } ?? ""
        return "\(name)\(label) at \(address), \(load) in flight"
    }
}
