import Foundation
public import Logging
public import RpcNet
public import ServiceLifecycle

/// One process of the example: a QUIC endpoint serving RPC, with the cluster's gossip on the
/// same port (`QUICEndpoint.sideChannel`), so one address names the node.
public struct ClusterNode: Sendable {
    public let reactor: Reactor
    public let endpoint: QUICEndpoint
    public let server: RPCServer
    public let membership: ClusterMembership
    /// How this node dials others (its own endpoint, trusting the test CA).
    public let rpcConfiguration: RPCConfiguration

    /// A setting's environment variable and value, for resolving and for error messages.
    public typealias Setting = (name: String, value: String)

    /// Binds `address`, loads the certificates, creates the RPC server (methods are registered
    /// by the caller before ``serve()``), and a membership named `name` with `tags` and `seed`,
    /// announcing `advertise` (or the bound address; for a wildcard bind, the address that
    /// routes to the seed). Every failure is an ``ExampleError`` naming the setting and value.
    public static func start(
        name: String, address: Setting, advertise: Setting?, seed: Setting? = nil, tags: [String: String],
        security: NodeSecurity, logger: Logger
    ) async throws -> ClusterNode {
        let certificates = security.certificates
        var configuration = RPCConfiguration(bindAddress: address.value)
            .withCertificate(chain: "\(certificates)/server.pem", key: "\(certificates)/server-key.pem")
            .withTrustedCA("\(certificates)/ca.pem")
            .withKeepAlive(ExampleEnvironment.keepAlive)
            .withIdleTimeout(ExampleEnvironment.idleTimeout)
        if security.mutualTLS { configuration = configuration.requiringClientCertificates() }
        do {
            _ = try configuration.validated(for: .server)
        } catch {
            throw ExampleError("--certs (CERTS_DIR) \(certificates): \(error)")
        }
        let reactor = try Reactor.start(name: name)
        let endpoint: QUICEndpoint
        do {
            endpoint = try await QUICEndpoint.listen(reactor: reactor, configuration: configuration, logger: logger)
        } catch {
            await reactor.shutdown()
            throw ExampleError("\(address.name)=\(address.value): \(error)")
        }
        let server = try RPCServer(configuration, logger: logger)
        var membershipConfiguration = ClusterMembership.Configuration(name: name, tags: tags)
        if let key = security.clusterKey {
            membershipConfiguration.keys = [key]
        } else {
            logger.warning(
                "no cluster key: anyone who can send UDP to this port can read the member list, add members and accuse members; set --cluster-key or CLUSTER_KEY (openssl rand -base64 32)"
            )
        }
        /// The address of `setting`, resolved; a failure closes what was opened.
        func resolve(_ setting: Setting) async throws -> SocketAddress {
            do {
                return try await SocketAddress.resolve(setting.value)
            } catch {
                endpoint.close()
                await reactor.shutdown()
                throw ExampleError("\(setting.name): \(error)")
            }
        }
        if let seed { membershipConfiguration.seeds = [try await resolve(seed)] }
        if let advertise { membershipConfiguration.advertiseAddress = try await resolve(advertise) }
        let membership: ClusterMembership
        do {
            membership = try ClusterMembership(
                configuration: membershipConfiguration, transport: endpoint.sideChannel(), logger: logger)
        } catch {
            endpoint.close()
            await reactor.shutdown()
            throw ExampleError("\(advertise?.name ?? address.name): \(error)")
        }
        return ClusterNode(
            reactor: reactor, endpoint: endpoint, server: server, membership: membership,
            rpcConfiguration: configuration)
    }

    /// The node as services, on SIGINT or SIGTERM shut down in reverse order: the membership
    /// leaves first (the director stops handing this node out), then the server drains for up
    /// to `gracePeriod`, then the reactor stops and closes the endpoint.
    public func services(gracePeriod: Duration, logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: ReactorService(reactor)),
                    .init(service: RPCServerService(server: server, listener: endpoint, gracePeriod: gracePeriod)),
                    .init(service: membership),
                ],
                gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
    }
}
