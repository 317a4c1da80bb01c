import ClusterExample
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Transports

/// The cluster example (Examples/Cluster) run as processes on 127.0.0.1: real QUIC, gossip on the
/// same ports, real signals. The binaries are built with the tests (`swift build --build-tests`).
@Suite("Cluster example as processes", .serialized)
struct ClusterExampleTests {
    @Test("make demo's scenario: kill -9 of the client's worker mid-stream, then restart", .timeLimit(.minutes(2)))
    func demoScenario() async throws {
        let demo = try ChildProcess("cluster-demo")
        defer { demo.stop() }
        let status = await demo.wait(seconds: 90)
        let output = demo.output
        #expect(status == 0, "\(output)")
        #expect(output.contains("✅ received 240 tokens in order: none lost, none repeated"), "\(output)")
        #expect(output.contains("✅ demo passed"))
    }

    @Test(
        "the failure simulation: error responses send the client to another worker, losing nothing",
        .timeLimit(.minutes(2)))
    func failureSimulation() async throws {
        let ports = try Self.freePorts(3)
        let director = "127.0.0.1:\(ports[0])"
        let common = ["DIRECTOR_ADDR": director, "TOKEN_INTERVAL_MS": "20", "RPCNET_LOG": "error"]
        let directorProcess = try ChildProcess("director", environment: common)
        defer { directorProcess.stop() }
        #expect(await directorProcess.waitFor("Director ready", seconds: 15))
        // Only the failing worker at first, so the client starts on it.
        let failing = try ChildProcess(
            "worker",
            environment: common.merging([
                "WORKER_LABEL": "worker-a", "WORKER_ADDR": "127.0.0.1:\(ports[1])", "WORKER_FAILURE_ENABLED": "true",
                "WORKER_FAILURE_RUN_MS": "2000", "WORKER_FAILURE_DOWN_MS": "1500",
            ]) { $1 })
        defer { failing.stop() }
        #expect(await directorProcess.waitFor("1 workers available", seconds: 15))
        let client = try ChildProcess(
            "client", environment: common.merging(["TOKEN_LIMIT": "250", "TOKEN_STALL_MS": "500"]) { $1 })
        defer { client.stop() }
        let healthy = try ChildProcess(
            "worker",
            environment: common.merging(["WORKER_LABEL": "worker-b", "WORKER_ADDR": "127.0.0.1:\(ports[2])"]) { $1 })
        defer { healthy.stop() }
        #expect(await client.wait(seconds: 60) == 0, "\(client.output)")
        let output = client.output
        #expect(output.contains("✅ received 250 tokens in order: none lost, none repeated"), "\(output)")
        #expect(output.contains("worker worker-a failed (unavailable"), "\(output)")
        #expect(output.contains("from worker-b"))
        #expect(failing.output.contains("💥 Worker failed!"))
    }
}

extension ClusterExampleTests {
    /// `count` distinct UDP ports free on 127.0.0.1 now: all bound at once, then released for
    /// child processes to take.
    static func freePorts(_ count: Int) throws -> [UInt16] {
        let sockets = try (0..<count).map { _ in try UDPSocket(binding: .loopback()) }
        defer { for socket in sockets { socket.close() } }
        return sockets.map(\.localAddress.port)
    }
}

/// The example's binaries as the tests run them: from the project root (for `certs/`).
extension ChildProcess {
    private static let projectRoot = URL(fileURLWithPath: Repository.root)

    convenience init(_ executable: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(
            executable, executable: executable, arguments: arguments, environment: environment,
            directory: Self.projectRoot)
    }

    // The waits poll with Task.sleep: a blocked thread of the cooperative pool (2 on CI) would
    // starve the asynchronous tests running beside these.

    /// Whether `text` appeared in the output within `seconds`.
    func waitFor(_ text: String, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// The exit status, or nil if the process still runs after `seconds`.
    func wait(seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        try? await Task.sleep(for: .milliseconds(50))  // let the reader take the last bytes
        return exitStatus
    }
}
