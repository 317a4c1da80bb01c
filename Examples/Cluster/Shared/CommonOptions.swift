public import ArgumentParser
import Foundation
import Logging
public import RpcNet

#if !Executables
    #error("the examples and rpcnet-bench need the package trait Executables: swift build --traits Executables")
#endif

/// The settings every program of the example takes: certificates, cluster key, mutual TLS and
/// the log level. Each flag defaults to its environment variable.
public struct CommonOptions: ParsableArguments {
    /// The directory with the PEM files.
    @Option(
        name: .customLong("certs"),
        help: "Directory with ca.pem, server.pem, server-key.pem, client.pem, client-key.pem (env CERTS_DIR).")
    public var certificates = ExampleEnvironment.string("CERTS_DIR", default: "certs")

    /// The cluster key, Base64; empty for none.
    @Option(
        name: .customLong("cluster-key"),
        help: "Base64 of 32 bytes: gossip sealed with AES-256-GCM; empty for none (env CLUSTER_KEY).")
    public var clusterKey = ExampleEnvironment.string("CLUSTER_KEY", default: "")

    /// Mutual TLS: servers require client certificates, clients present client.pem.
    @Flag(
        name: .customLong("mtls"), inversion: .prefixedNo,
        help: "Servers require a client certificate signed by ca.pem; clients present client.pem (env RPCNET_MTLS).")
    public var mutualTLS = ExampleEnvironment.flag("RPCNET_MTLS")

    /// The log level's name.
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (env RPCNET_LOG, else RUST_LOG).")
    public var logLevel = ExampleEnvironment.string(
        "RPCNET_LOG", default: ExampleEnvironment.string("RUST_LOG", default: "info"))

    public init() {}

    /// Sets up logging at ``logLevel``.
    public func bootstrapLogging() {
        ExampleEnvironment.bootstrapLogging(ExampleEnvironment.logLevel(logLevel))
    }

    /// The certificates, key and mTLS choice a node starts with; a cluster key that is not one
    /// is an error, not an unkeyed cluster.
    public func security() throws(ExampleError) -> NodeSecurity {
        var key: ClusterKey?
        if !clusterKey.isEmpty {
            do {
                key = try ClusterKey(base64: clusterKey)
            } catch {
                throw ExampleError("--cluster-key (CLUSTER_KEY): \(error)")
            }
        }
        return NodeSecurity(certificates: certificates, clusterKey: key, mutualTLS: mutualTLS)
    }

    /// How a client of the example dials: trusting ca.pem, presenting client.pem under mTLS.
    public var clientConfiguration: RPCConfiguration {
        let configuration = RPCConfiguration().withTrustedCA("\(certificates)/ca.pem")
            .withKeepAlive(ExampleEnvironment.keepAlive)
        return mutualTLS
            ? configuration.withCertificate(chain: "\(certificates)/client.pem", key: "\(certificates)/client-key.pem")
            : configuration
    }
}

/// What secures a node of the example: its certificates, the cluster key, mutual TLS.
public struct NodeSecurity: Sendable {
    /// The directory with the PEM files.
    public var certificates: String
    /// The key gossip is sealed with, if any.
    public var clusterKey: ClusterKey?
    /// Whether the node's server requires client certificates.
    public var mutualTLS: Bool
}

extension LoadBalancingStrategy: ExpressibleByArgument {}
