import ClusterExample
import Foundation
import Logging
import RpcNet
import Synchronization

// The director: a cluster member that finds workers by gossip (WorkerRegistry), hands one to each
// client with LeastConnections, and holds the assignment while the client's call stays open.

let options = DirectorOptions.parseOrExit()
options.common.bootstrapLogging()
let logger = Logger(label: "director")
let security = await orExit { try options.common.security() }
let address = await orExit {
    try ExampleEnvironment.checked(address: options.address, setting: "--address (DIRECTOR_ADDR)")
}
let advertise = await orExit {
    try options.advertise.isEmpty
        ? nil : ExampleEnvironment.checked(address: options.advertise, setting: "--advertise (DIRECTOR_ADVERTISE)")
}
say("🎯 Starting Director at \(address)")
say("📁 Loading certificates from \"\(options.common.certificates)/server.pem\"")
let node = await orExit {
    try await ClusterNode.start(
        name: "director", address: ("--address (DIRECTOR_ADDR)", address),
        advertise: advertise.map { ("--advertise (DIRECTOR_ADVERTISE)", $0) }, tags: ["role": "director"],
        security: security, logger: logger)
}
node.membership.start()
say("✅ Director registered itself in cluster")
say("✅ Cluster enabled - Director is now discoverable")
let registry = WorkerRegistry(membership: node.membership, strategy: options.strategy, logger: logger)
say("🔄 Load balancing strategy: \(registry.strategy)")

/// The director's service: each assignment is a lease on a worker, held while the call lasts.
struct Director: DirectorService {
    let registry: WorkerRegistry

    func assign(_ request: AssignRequest, responses: TypedMessageWriter<Assignment>, context: ServerContext)
        async throws
    {
        let filter = try TagFilter.parse(request.filter)
        let lease: WorkerLease
        do {
            lease = try registry.select(matching: filter, excluding: Set(request.avoid))
        } catch {
            // Every worker is one to avoid: better one of them than none.
            guard let fallback = try? registry.select(matching: filter) else {
                throw RPCStatus(code: .unavailable, message: "\(error)")
            }
            lease = fallback
        }
        defer { lease.release() }
        let worker = lease.worker
        say(
            "🔀 assigned \(worker.tags["label"] ?? worker.name) to client \(context.remoteAddress) (\(worker.effectiveLoad) connections)"
        )
        try await responses.send(
            Assignment(worker: worker.name, label: worker.tags["label"] ?? worker.name, address: "\(worker.address)"))
        // Held until the client ends the call (cancellation ends the sleep).
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
Director(registry: registry).register(on: node.server)
HealthService().register(on: node.server)
if !options.admin.isEmpty {
    // The cluster key, when there is one, also lets an operator in (`rpcnet --cluster-key`).
    let keys = security.clusterKey.map { [$0] } ?? []
    AdminService(
        membership: node.membership, registry: registry, server: node.server,
        authorization: AdminAuthorization(identities: [options.admin], keys: keys)
    ).register(on: node.server)
    say("🛠  Admin service on for certificate \(options.admin)\(keys.isEmpty ? "" : " and the cluster key")")
}

/// The workers last printed, so a change the registry sees without a membership event (a worker
/// answering the director's first probe, which it must before it is handed out) is printed too.
let printedPool = Mutex<[String]>([])

/// Prints the pool as the registry sees it.
func reportPool() {
    let workers = registry.workers
    printedPool.withLock { $0 = workers.map(\.name).sorted() }
    say("📊 Worker pool status: \(workers.count) workers available")
    for worker in workers {
        say("   - \(worker.tags["label"] ?? worker.name) at \(worker.address) (\(worker.effectiveLoad) connections)")
    }
}

let poolWatch = Task {
    while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(200))
        if registry.workers.map(\.name).sorted() != printedPool.withLock({ $0 }) { reportPool() }
    }
}

let events = Task {
    for await event in node.membership.events {
        switch event {
        case .nodeJoined(let member): say("👋 \(member.name) joined (\(member.tags["role"] ?? "no role"))")
        case .nodeLeft(let member): say("🚪 \(member.name) left")
        case .nodeFailed(let member): say("💀 \(member.name) failed: removed from the pool")
        case .nodeRecovered(let member): say("🔁 \(member.name) recovered")
        case .nodeTagsUpdated(let member, let previous):
            // Workers publish their load as a tag several times a second; only other changes
            // are news here.
            var tags = member.tags
            var before = previous
            tags[Worker.loadTag] = nil
            before[Worker.loadTag] = nil
            guard tags != before else { continue }
            say(
                "🏷️  \(member.name) tags: \(member.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
            )
        case .partitionDetected(let status): say("⚠️  partition detected: \(status)")
        case .partitionHealed: say("✅ partition healed")
        case .lagged(let dropped): logger.warning("event subscriber lagged", metadata: ["dropped": "\(dropped)"])
        }
        reportPool()
    }
}

reportPool()
say("🚀 Director ready - listening on \(node.endpoint.localAddress), announced as \(node.membership.address)")
// Until SIGINT or SIGTERM: then the director leaves, drains its calls and stops.
await orExit { try await node.services(gracePeriod: .seconds(1), logger: logger).run() }
events.cancel()
poolWatch.cancel()
say("👋 Director left the cluster")
