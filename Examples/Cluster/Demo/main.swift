import ClusterExample
import Foundation
import Synchronization

// `make demo`: the cluster example on one machine. A director, two workers and a client start;
// mid-stream the client's worker is killed with SIGKILL and later restarted. The demo times what
// happens and checks the client's tokens arrived in order with none lost or repeated.

/// The demo's own output: its lines and the children's, serialised.
enum Demo {
    private static let lock = NSLock()
    static let start = DispatchTime.now().uptimeNanoseconds

    static func print(_ line: String) {
        lock.withLock { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    /// Seconds since the demo started.
    static func seconds(_ at: UInt64) -> Double { Double(at &- start) / 1e9 }

    static func step(_ line: String) {
        print(String(format: "▶ %6.2f s  %@", seconds(DispatchTime.now().uptimeNanoseconds), line))
    }
}

/// Starts one of the example's binaries, its lines shown under its name.
func start(_ name: String, executable: String, environment: [String: String]) throws -> ChildProcess {
    try ChildProcess(name, executable: executable, environment: environment) { line in
        Demo.print("  \(name.padding(toLength: 9, withPad: " ", startingAt: 0))│ \(line)")
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let description: String
}

/// `count` distinct free UDP ports on 127.0.0.1: all bound at once, then released for the
/// children to take.
func freePorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { for socket in sockets { close(socket) } }
    return try (0..<count).map { _ in
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        sockets.append(socket)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw DemoFailure(description: "no free UDP port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Waits up to `limit` for `condition`, saying what it waits for every few seconds.
func wait<T>(for what: String, limit: Double, _ condition: () -> T?) throws -> T {
    let started = DispatchTime.now().uptimeNanoseconds
    var nextNote = 3.0
    while true {
        if let value = condition() { return value }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        guard waited < limit else {
            throw DemoFailure(description: "gave up after \(Int(limit)) s waiting for \(what)")
        }
        if waited >= nextNote {
            Demo.step("… still waiting for \(what) (\(Int(waited)) s)")
            nextNote += 3
        }
        usleep(10_000)
    }
}

_ = Demo.start
let tokens = 240
let ports = try freePorts(3)
let director = "127.0.0.1:\(ports[0])"
let quiet =
    ProcessInfo.processInfo.environment["RPCNET_LOG"] == nil && ProcessInfo.processInfo.environment["RUST_LOG"] == nil
// The children's logs stay quiet unless asked for; their progress lines are shown.
let common = ["DIRECTOR_ADDR": director, "TOKEN_INTERVAL_MS": "50"].merging(quiet ? ["RPCNET_LOG": "error"] : [:]) {
    $1
}
func workerEnvironment(_ label: String, _ port: Int) -> [String: String] {
    common.merging(["WORKER_LABEL": label, "WORKER_ADDR": "127.0.0.1:\(port)"]) { $1 }
}

/// Every process the demo started, stopped on the way out, Ctrl+C included.
final class Children: Sendable {
    private let list = Mutex<[ChildProcess]>([])

    func append(_ child: ChildProcess) { list.withLock { $0.append(child) } }

    func stopAll() {
        for child in list.withLock({ $0 }).reversed() { child.stop() }
    }
}
let children = Children()
func stopAll() { children.stopAll() }
signal(SIGINT, SIG_IGN)
let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
interrupt.setEventHandler {
    Demo.print("interrupted: stopping the example's processes")
    children.stopAll()
    exit(130)
}
interrupt.resume()

do {
    Demo.print(
        "RpcNet cluster demo: a director, two workers and a client on 127.0.0.1 (QUIC + gossip on one port each)")
    Demo.step("starting the director at \(director)")
    let directorProcess = try start("director", executable: "director", environment: common)
    children.append(directorProcess)
    _ = try wait(for: "the director to be ready", limit: 15) { directorProcess.first { $0.contains("Director ready") } }

    Demo.step("starting worker-a and worker-b")
    let workers = [("worker-a", ports[1]), ("worker-b", ports[2])]
    var workerProcesses: [String: ChildProcess] = [:]
    for (label, port) in workers {
        let process = try start(label, executable: "worker", environment: workerEnvironment(label, port))
        workerProcesses[label] = process
        children.append(process)
    }
    let pooled = try wait(for: "the director to see both workers", limit: 20) {
        directorProcess.first { $0.contains("Worker pool status: 2 workers available") }
    }

    Demo.step("starting the client: \(tokens) tokens, one every 50 ms")
    let client = try start(
        "client", executable: "client",
        environment: common.merging(["TOKEN_LIMIT": "\(tokens)", "TOKEN_STALL_MS": "500"]) { $1 })
    children.append(client)
    let killAfter = 60
    _ = try wait(for: "token \(killAfter)", limit: 20) { client.first { $0.contains("(sequence=\(killAfter),") } }
    let assignedLine = try wait(for: "the client's assignment", limit: 1) {
        client.all { $0.contains("director assigned worker") }.last
    }
    let victim = workers.map(\.0).first { assignedLine.text.contains("(\($0) at") }!
    let killedAt = DispatchTime.now().uptimeNanoseconds
    Demo.step("kill -9 \(victim), which is streaming to the client")
    workerProcesses[victim]!.signal(SIGKILL)
    workerProcesses[victim]!.waitUntilExit()

    let lastBefore = client.all { $0.contains("received token") && $0.contains("from \(victim)") }.last!
    let resumed = try wait(for: "the client to resume on another worker", limit: 15) {
        client.first(after: killedAt) { $0.contains("received token") && !$0.contains("from \(victim)") }
    }
    let switched = client.first(after: killedAt) { $0.contains("returning to director") }
    let declared = try wait(for: "the director to declare \(victim) failed", limit: 15) {
        directorProcess.first(after: killedAt) { $0.contains("\(victim) failed") }
    }

    Demo.step("restarting \(victim) at the same address")
    let restartedAt = DispatchTime.now().uptimeNanoseconds
    let port = workers.first { $0.0 == victim }!.1
    let restarted = try start(victim, executable: "worker", environment: workerEnvironment(victim, port))
    children.append(restarted)
    let rediscovered = try wait(for: "the director to hand out \(victim) again", limit: 20) {
        directorProcess.first(after: restartedAt) { $0.contains("Worker pool status: 2 workers available") }
    }

    let finished = try wait(for: "the client's last token", limit: 30) {
        client.first { $0.contains("tokens in order") || $0.contains("out of order") }
    }
    client.waitUntilExit()
    let received = client.all { $0.contains("received token") }.count

    func ms(_ from: UInt64, _ to: UInt64) -> String { String(format: "%.0f ms", Double(to &- from) / 1e6) }
    Demo.print("")
    Demo.print("Timeline (seconds since the demo started)")
    Demo.print(String(format: "  %6.2f  both workers in the director's pool", Demo.seconds(pooled.at)))
    Demo.print(String(format: "  %6.2f  last token from %@ before the kill", Demo.seconds(lastBefore.at), victim))
    Demo.print(String(format: "  %6.2f  kill -9 %@", Demo.seconds(killedAt), victim))
    if let switched {
        Demo.print(
            String(
                format: "  %6.2f  client gives up on %@ and goes back to the director", Demo.seconds(switched.at),
                victim))
    }
    Demo.print(String(format: "  %6.2f  first token from another worker", Demo.seconds(resumed.at)))
    Demo.print(String(format: "  %6.2f  director declares %@ failed", Demo.seconds(declared.at), victim))
    Demo.print(String(format: "  %6.2f  %@ restarted", Demo.seconds(restartedAt), victim))
    Demo.print(String(format: "  %6.2f  director hands out %@ again", Demo.seconds(rediscovered.at), victim))
    Demo.print(String(format: "  %6.2f  client done", Demo.seconds(finished.at)))
    Demo.print("")
    Demo.print(
        "  failover gap seen by the client:   \(ms(lastBefore.at, resumed.at)) (kill to next token: \(ms(killedAt, resumed.at)))"
    )
    Demo.print("  failure detection by the director: \(ms(killedAt, declared.at)) after the kill")
    Demo.print("  rediscovery after the restart:     \(ms(restartedAt, rediscovered.at))")
    Demo.print("  tokens: \(received) of \(tokens) — \(finished.text.trimmingCharacters(in: .whitespaces))")
    stopAll()
    guard client.exitStatus == 0, received == tokens else {
        throw DemoFailure(description: "the client did not receive every token exactly once, in order")
    }
    Demo.print(String(format: "✅ demo passed in %.1f s", Demo.seconds(DispatchTime.now().uptimeNanoseconds)))
} catch {
    Demo.print("❌ demo failed: \(error)")
    stopAll()
    exit(1)
}
