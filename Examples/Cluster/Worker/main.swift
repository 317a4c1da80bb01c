import ClusterExample
import Foundation
import Logging
import RpcNet
import Synchronization

// A worker: joins the cluster through the director, tags itself role=worker and label=…, and
// streams tokens. With WORKER_FAILURE_ENABLED it fails on a cycle and recovers.

let options = WorkerOptions.parseOrExit()
options.common.bootstrapLogging()
let security = await orExit { try options.common.security() }
let label = options.label
let address = await orExit {
    try ExampleEnvironment.checked(address: options.address, setting: "--address (WORKER_ADDR)")
}
let advertise = await orExit {
    try options.advertise.isEmpty
        ? nil : ExampleEnvironment.checked(address: options.advertise, setting: "--advertise (WORKER_ADVERTISE)")
}
let director = await orExit {
    try ExampleEnvironment.checked(address: options.director, setting: "--director (DIRECTOR_ADDR)")
}
let extraTags = await orExit {
    do {
        return try TagFilter.parse(options.tags.joined(separator: ","))
    } catch {
        throw ExampleError("--tag (WORKER_TAGS) \(options.tags.joined(separator: ",")): \(error)")
    }
}
let failureEnabled = options.failureEnabled
let tokenInterval = Duration.milliseconds(options.tokenIntervalMs)
// The failure cycle's phases (the chapter's 10 s running, warning 3 s before, 5 s failed); the
// tests shorten them.
let runningTime = Duration.milliseconds(options.failureRunMs)
let failedTime = Duration.milliseconds(options.failureDownMs)
let warning = min(Duration.seconds(3), runningTime)
let logger = Logger(label: label)

say("👷 Starting Worker '\(label)' at \(address)")
say("🔌 Binding server to \(address)...")
let node = await orExit {
    try await ClusterNode.start(
        name: label, address: ("--address (WORKER_ADDR)", address),
        advertise: advertise.map { ("--advertise (WORKER_ADVERTISE)", $0) },
        seed: ("--director (DIRECTOR_ADDR)", director),
        tags: [:], security: security, logger: logger)
}
say("✅ Server bound successfully")

/// Whether the simulated failure is on: streams fail with `unavailable` meanwhile.
let failing = Atomic<Bool>(false)

/// The worker's service: tokens after the client's last, one every `tokenInterval`.
struct TokenGenerator: WorkerService {
    func generate(_ request: GenerateRequest, responses: TypedMessageWriter<Token>, context: ServerContext)
        async throws
    {
        say("📥 stream from \(context.remoteAddress), resuming after token \(request.after)")
        var sequence = request.after
        while request.through == 0 || sequence < request.through {
            try await Task.sleep(for: tokenInterval)
            if failing.load(ordering: .relaxed) {
                throw RPCStatus(code: .unavailable, message: "worker '\(label)' failed (simulated)")
            }
            sequence += 1
            try await responses.send(Token(sequence: sequence, text: "token-\(sequence)", worker: label))
        }
    }
}
TokenGenerator().register(on: node.server)
// Serving, and from now on SIGINT or SIGTERM, joining included, leaves, drains and exits 0.
let services = node.services(gracePeriod: .milliseconds(500), logger: logger)
let running = Task { try await services.run() }

say("🌐 Enabling cluster, connecting to director at \(director)...")
do {
    // Until the director answers (progress is logged every 5 s).
    try await node.membership.join(seeds: [SocketAddress]())
} catch .stopped {
    _ = try? await running.value
    say("👋 Worker '\(label)' stopped before joining")
    exit(0)
} catch {
    FileHandle.standardError.write(Data("error: --label (WORKER_LABEL) \(label): \(error)\n".utf8))
    await services.triggerGracefulShutdown()
    _ = try? await running.value
    exit(1)
}
say("✅ Cluster enabled, connected to director")
say("🏷️  Tagging worker with role=worker and label=\(label)...")
try node.membership.setTags(extraTags.merging(["role": "worker", "label": label]) { $1 })
say("✅ Worker '\(label)' joined cluster with role=worker")
// Its streams in flight, published for the director's LeastConnections.
let loadReporter = WorkerLoadReporter(membership: node.membership) { node.server.activeCalls }
loadReporter.start()

let events = Task {
    for await event in node.membership.events {
        switch event {
        case .nodeJoined(let member): say("👋 cluster event: \(member.name) joined")
        case .nodeLeft(let member): say("🚪 cluster event: \(member.name) left")
        case .nodeFailed(let member): say("💀 cluster event: \(member.name) failed")
        case .nodeRecovered(let member): say("🔁 cluster event: \(member.name) recovered")
        default: logger.debug("cluster event", metadata: ["event": "\(event)"])
        }
    }
}

let failureCycle = Task {
    guard failureEnabled else { return }
    say("🎲 Failure simulation enabled: \(runningTime) running, \(failedTime) failed, repeating")
    while !Task.isCancelled {
        try await Task.sleep(for: runningTime - warning)
        say("⚠️  Simulating worker failure in \(warning)...")
        try await Task.sleep(for: warning)
        failing.store(true, ordering: .relaxed)
        // Off the director's list while failed: it only hands out members tagged role=worker.
        try node.membership.setTag("role", to: "worker-failed")
        say("💥 Worker failed!")
        try await Task.sleep(for: failedTime)
        say("🔄 Worker recovering...")
        failing.store(false, ordering: .relaxed)
        try node.membership.setTag("role", to: "worker")
        say("✅ Worker recovered and ready to serve!")
    }
}

say("🚀 Worker '\(label)' is running and ready to handle requests")
await orExit { try await running.value }
failureCycle.cancel()
loadReporter.stop()
events.cancel()
say("👋 Worker '\(label)' left the cluster")
