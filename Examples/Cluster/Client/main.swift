import ClusterExample
import Foundation
import Logging
import RpcNet
import Synchronization

// The client: asks the director for a worker, connects straight to it and streams tokens. When
// the worker fails (an error response, a killed process, a stall), it goes back to the director,
// gets another worker and continues after the last token it has: none lost, none repeated.

let options = ClientOptions.parseOrExit()
options.common.bootstrapLogging()
let directorAddress = await orExit {
    try ExampleEnvironment.checked(address: options.director, setting: "--director (DIRECTOR_ADDR)")
}
let filter = await orExit {
    do {
        _ = try TagFilter.parse(options.filter)
        return options.filter
    } catch {
        throw ExampleError("--filter (CLIENT_FILTER) \(options.filter): \(error)")
    }
}
let tokenLimit = UInt64(options.tokenLimit)
let stallLimit = Duration.milliseconds(options.stallMs)
let configuration = options.common.clientConfiguration
let reactor = await orExit { try Reactor.start(name: "client") }

say("📡 Starting Client - connecting to director at \(directorAddress)")
let director = await orExit {
    do {
        return try await RPCClient.connect(to: directorAddress, configuration: configuration, reactor: reactor)
    } catch {
        throw ExampleError("--director (DIRECTOR_ADDR) \(directorAddress): \(error)")
    }
}
say("✅ connected to director")

/// Asks the director for a worker; the returned task holds the assignment open until cancelled.
func assignment(avoiding avoid: [String]) async throws -> (Assignment, Task<Void, Never>) {
    let (assignments, continuation) = AsyncThrowingStream.makeStream(of: Assignment.self)
    let hold = Task {
        do {
            try await DirectorServiceClient(director).assign(AssignRequest(avoid: avoid, filter: filter)) {
                replies in
                for try await assignment in replies { continuation.yield(assignment) }
            }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }
    for try await assignment in assignments { return (assignment, hold) }
    throw RPCStatus(code: .unavailable, message: "the director sent no assignment")
}

/// The stream's state, shared with the stall watchdog.
final class Progress: Sendable {
    let last = Atomic<UInt64>(0)
    let received = Atomic<Int>(0)
    let problems = Atomic<Int>(0)
    let lastTokenAt = Atomic<UInt64>(0)
}
/// How one leg of the stream ended.
enum LegEnd: Sendable {
    case finished
    case failed(String)
}

/// Connects straight to the assigned worker and takes tokens after `after`, checking their order.
func streamTokens(from assigned: Assignment, after: UInt64) async throws {
    let worker = try await RPCClient.connect(to: assigned.address, configuration: configuration, reactor: reactor)
    defer { worker.close() }
    say("✅ direct connection established to worker")
    say("📤 creating request stream")
    try await WorkerServiceClient(worker).generate(GenerateRequest(prompt: "hello", after: after, through: tokenLimit))
    {
        tokens in
        say("🌊 stream opened successfully, starting to consume responses")
        for try await token in tokens {
            progress.lastTokenAt.store(clock.now.nanoseconds, ordering: .relaxed)
            let last = progress.last.load(ordering: .relaxed)
            guard token.sequence == last + 1 else {
                progress.problems.add(1, ordering: .relaxed)
                say("❌ token \(token.sequence) after \(last): \(token.sequence <= last ? "repeated" : "gap")")
                if token.sequence > last { progress.last.store(token.sequence, ordering: .relaxed) }
                continue
            }
            progress.last.store(token.sequence, ordering: .relaxed)
            let total = progress.received.add(1, ordering: .relaxed).newValue
            say(
                "📦 received token (sequence=\(token.sequence), text=\"\(token.text)\", total=\(total)) from \(token.worker)"
            )
        }
    }
}

let progress = Progress()
let clock = MonotonicClock()
var avoid: [String] = []

while tokenLimit == 0 || progress.last.load(ordering: .relaxed) < tokenLimit {
    let (assigned, hold): (Assignment, Task<Void, Never>)
    do {
        (assigned, hold) = try await assignment(avoiding: avoid)
    } catch {
        say("⏳ no worker available yet (\(error)); asking again")
        try await Task.sleep(for: .milliseconds(500))
        continue
    }
    defer { hold.cancel() }
    say("🔀 director assigned worker - establishing direct connection (\(assigned.label) at \(assigned.address))")
    let after = progress.last.load(ordering: .relaxed)
    // The leg ends at the first of: the stream finishing or failing, or the stall watchdog. The
    // watchdog covers the connection too: a worker killed a moment ago may still be assigned,
    // and its handshake would only time out much later, so that is not waited for.
    let (ends, ended) = AsyncStream.makeStream(of: LegEnd.self)
    progress.lastTokenAt.store(clock.now.nanoseconds, ordering: .relaxed)
    let stream = Task {
        do {
            try await streamTokens(from: assigned, after: after)
            ended.yield(.finished)
        } catch {
            ended.yield(.failed("\(error)"))
        }
    }
    let watchdog = Task {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(50))
            if clock.now.nanoseconds &- progress.lastTokenAt.load(ordering: .relaxed) > UInt64(stallLimit.nanoseconds) {
                ended.yield(.failed("no token for \(stallLimit)"))
                return
            }
        }
    }
    var legEnds = ends.makeAsyncIterator()
    let end = await legEnds.next()
    stream.cancel()
    watchdog.cancel()
    guard case .failed(let reason) = end else { break }
    say(
        "⚠️  worker \(assigned.label) failed (\(reason)) - returning to director, resuming after token \(progress.last.load(ordering: .relaxed))"
    )
    avoid = [assigned.worker]
}

let problems = progress.problems.load(ordering: .relaxed)
let last = progress.last.load(ordering: .relaxed)
if problems == 0 {
    say("✅ received \(last) tokens in order: none lost, none repeated")
} else {
    say("❌ \(problems) tokens out of order in \(last)")
}
director.close()
await reactor.shutdown()
exit(problems == 0 ? 0 : 1)
