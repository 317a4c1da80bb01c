/// How RpcNet names the swift-metrics instruments it creates: one setting shared by the RPC
/// metrics interceptors, the QUIC endpoints, cluster membership and the worker registry.
///
/// The RPC call metrics carry the names of OpenTelemetry's RPC semantic conventions
/// (`rpc.server.duration`, `rpc.client.request.size`, …); RpcNet's own instruments are named
/// `rpcnet.<component>.<what>` (`rpcnet.quic.handshakes`, `rpcnet.membership.members`). A
/// ``prefix`` is put in front of every name, for a process that exports several libraries'
/// metrics into one namespace.
public struct MetricsNaming: Sendable, Hashable {
    /// Put in front of every metric name; empty by default, so the names are the conventional ones.
    public var prefix: String

    /// Creates a naming with `prefix` (empty: the conventional names).
    public init(prefix: String = "") {
        self.prefix = prefix
    }

    /// The label of the instrument named `name`.
    public func label(_ name: String) -> String {
        prefix.isEmpty ? name : prefix + name
    }
}
