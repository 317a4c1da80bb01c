import Foundation
public import Logging
public import RpcNet

/// One process of the example: a QUIC endpoint serving RPC, with the cluster's gossip on the
/// same port (`QUICEndpoint.sideChannel`), so one address names the node.
public struct ClusterNode: Sendable {
    public let reactor: Reactor
    public let endpoint: QUICEndpoint
    public let server: RPCServer
    public let membership: ClusterMembership
    /// How this node dials others (its own endpoint, trusting the test CA).
    public let rpcConfiguration: RPCConfiguration

    /// Binds `address`, loads the certificates, creates the RPC server (methods are registered
    /// by the caller before ``serve()``), and a membership named `name` with `tags`.
    public static func start(
        name: String, address: String, tags: [String: String], logger: Logger
    ) async throws -> ClusterNode {
        let certificates = ExampleEnvironment.certificates
        let configuration = RPCConfiguration(bindAddress: address)
            .withCertificate(chain: "\(certificates)/server.pem", key: "\(certificates)/server-key.pem")
            .withTrustedCA("\(certificates)/ca.pem")
            .withKeepAlive(.seconds(1))
        let reactor = try Reactor.start(name: name)
        let endpoint = try await QUICEndpoint.listen(reactor: reactor, configuration: configuration, logger: logger)
        let server = try RPCServer(configuration, logger: logger)
        var membershipConfiguration = ClusterMembership.Configuration(name: name, tags: tags)
        if let key = ProcessInfo.clusterKey { membershipConfiguration.keys = [key] }
        let membership = try ClusterMembership(
            configuration: membershipConfiguration, transport: endpoint.sideChannel(), logger: logger)
        return ClusterNode(
            reactor: reactor, endpoint: endpoint, server: server, membership: membership,
            rpcConfiguration: configuration)
    }

    /// Serves RPC until the endpoint closes.
    public func serve() async {
        await server.serve(endpoint)
    }

    /// Leaves the cluster (others see it at once), lets calls in flight finish for
    /// `gracePeriod`, and closes the endpoint, which ends ``serve()``.
    public func leaveAndStop(gracePeriod: Duration) async {
        await membership.leave()
        membership.shutdown()
        await server.shutdown(gracePeriod: gracePeriod)
        endpoint.close()
    }
}

extension ProcessInfo {
    /// The cluster key from `CLUSTER_KEY` (Base64 of 32 bytes), if set.
    static var clusterKey: ClusterKey? {
        ExampleEnvironment.string("CLUSTER_KEY", default: "").isEmpty
            ? nil : try? ClusterKey(base64: ExampleEnvironment.string("CLUSTER_KEY", default: ""))
    }
}
