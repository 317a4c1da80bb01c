import ArgumentParser
import Foundation
import RpcNet

/// `rpcnet`: an operator's view of a running cluster, through a node's admin service
/// (``AdminService``): its members, its workers, its counters and its events as they happen.
@main
struct RpcNetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpcnet",
        abstract: "Inspect a running RpcNet cluster through a node's admin service.",
        subcommands: [Members.self, Workers.self, Stats.self, Events.self])
}

/// Where the node is and how to prove we may ask it.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's RPC address, HOST:PORT (env RPCNET_NODE).")
    var node = ProcessInfo.processInfo.environment["RPCNET_NODE"] ?? "127.0.0.1:62000"
    @Option(help: "CA certificate that signed the node's certificate (env RPCNET_CA).")
    var ca = ProcessInfo.processInfo.environment["RPCNET_CA"] ?? "certs/ca.pem"
    @Option(help: "Client certificate for mutual TLS, when the node allows it by name (env RPCNET_CERT).")
    var cert: String?
    @Option(help: "The client certificate's key (env RPCNET_KEY).")
    var key: String?
    @Option(help: "Base64 cluster key, proving membership to the admin service (env CLUSTER_KEY).")
    var clusterKey: String?
    @Option(help: "Name the node's certificate must carry (default: the host in --node).")
    var serverName: String?
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    var format: AdminReport.Format { json ? .json : .table }

    /// Calls `body` with a client for the node and options carrying the credentials; every error
    /// a person can cause ends the process with one line and status 1.
    func withNode(_ body: (RPCClient, CallOptions) async throws -> Void) async throws {
        var configuration = RPCConfiguration().withTrustedCA(ca)
        if let serverName { configuration = configuration.withServerName(serverName) }
        let environment = ProcessInfo.processInfo.environment
        switch (cert ?? environment["RPCNET_CERT"], key ?? environment["RPCNET_KEY"]) {
        case (let cert?, let key?): configuration = configuration.withCertificate(chain: cert, key: key)
        case (nil, nil): break
        default: throw ValidationError("--cert and --key go together")
        }
        var options = CallOptions(timeout: .seconds(10))
        if let clusterKey = clusterKey ?? environment["CLUSTER_KEY"], !clusterKey.isEmpty {
            do {
                let key = try ClusterKey(base64: clusterKey)
                options.metadata.add(AdminAuthorization.tokenKey, binary: AdminAuthorization.token(for: key))
            } catch {
                throw ValidationError("--cluster-key (CLUSTER_KEY): \(error)")
            }
        }
        let reactor = try Reactor.start(name: "rpcnet")
        do {
            let client = try await RPCClient.connect(to: node, configuration: configuration, reactor: reactor)
            defer { client.close() }
            try await body(client, options)
        } catch let status as RPCStatus {
            await reactor.shutdown()
            throw Failure("\(node): \(status)")
        } catch let error as RPCConfigurationError {
            await reactor.shutdown()
            throw Failure("\(error)")
        }
        await reactor.shutdown()
    }
}

extension NodeOptions {
    /// Asks the node's `method` and prints the answer as `render` formats it.
    func show<Answer: Sendable>(
        _ method: RPCMethod<Admin.Query, Answer, NoServiceError>,
        _ render: (Answer, AdminReport.Format) throws -> String
    ) async throws {
        try await withNode { client, options in
            print(try render(try await client.unary(method, .init(), options: options), format))
        }
    }
}

/// A failure printed as one line.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "rpcnet: \(description)" }
}

struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Members with status, φ, incarnation, tags and address.")
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.show(AdminService.members, AdminReport.render(_:as:))
    }
}

struct Workers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Workers the node's registry chooses from, with their load.")
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.show(AdminService.workers, AdminReport.render(_:as:))
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The node's membership and call counters.")
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.show(AdminService.statistics, AdminReport.render(_:as:))
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Membership events as they happen.")
    @OptionGroup var node: NodeOptions
    @Flag(help: "Keep printing until interrupted (otherwise stop after --wait seconds).")
    var follow = false
    @Option(help: "Seconds to listen without --follow.")
    var wait = 5

    func run() async throws {
        try await node.withNode { client, options in
            var options = options
            options.timeout = follow ? nil : .seconds(wait)
            do {
                try await client.serverStreaming(AdminService.events, .init(), options: options) { events in
                    for try await event in events {
                        FileHandle.standardOutput.write(
                            Data((try AdminReport.render(event, as: node.format) + "\n").utf8))
                    }
                }
            } catch let status as RPCStatus where status.code == .deadlineExceeded && !follow {
                // Listened for --wait seconds: done.
            }
        }
    }
}
