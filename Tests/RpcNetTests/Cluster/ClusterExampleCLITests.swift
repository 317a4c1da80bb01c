import ClusterExample
import Foundation
import RpcNet
import TestSupport
import Testing

/// The example's programs as a person drives them: flags, help, mistakes and signals.
@Suite("Cluster example on the command line", .serialized)
struct ClusterExampleCLITests {
    @Test("--help lists every setting with its environment variable and exits 0", .timeLimit(.minutes(1)))
    func help() async throws {
        for program in ["director", "worker", "client"] {
            let process = try ChildProcess(program, arguments: ["--help"])
            defer { process.stop() }
            #expect(await process.wait(seconds: 10) == 0)
            #expect(process.output.contains("USAGE: \(program)"), "\(process.output)")
            #expect(process.output.contains("DIRECTOR_ADDR"), "\(process.output)")
            #expect(process.output.contains("--cluster-key"), "\(process.output)")
        }
    }

    @Test(
        "a mistake is one line naming the setting and value, exit 1; a value not understood is a warning",
        .timeLimit(.minutes(1)))
    func mistakes() async throws {
        let cases: [(String, [String], [String: String], String)] = [
            (
                "worker", ["--address", "127.0.0.1:99999"], [:],
                "error: --address (WORKER_ADDR): invalid address '127.0.0.1:99999'"
            ),
            (
                "director", [], ["DIRECTOR_ADDR": "director:x"],
                "error: --address (DIRECTOR_ADDR): invalid address 'director:x'"
            ),
            ("worker", ["--tag", "gpu"], [:], "error: --tag (WORKER_TAGS) gpu: invalid tag filter"),
            (
                "director", ["--certs", "/nonexistent"], [:],
                "error: --certs (CERTS_DIR) /nonexistent: certificateChainFile"
            ),
            ("director", ["--cluster-key", "not-a-key"], [:], "error: --cluster-key (CLUSTER_KEY):"),
            ("client", ["--filter", "gpu"], [:], "error: --filter (CLIENT_FILTER) gpu:"),
        ]
        for (program, arguments, environment, expected) in cases {
            let process = try ChildProcess(program, arguments: arguments, environment: environment)
            defer { process.stop() }
            #expect(await process.wait(seconds: 10) == 1, "\(program) \(arguments): \(process.output)")
            let errors = process.output.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && errors[0].hasPrefix(expected), "\(process.output)")
            #expect(!process.output.contains("Fatal error"), "\(process.output)")
        }
        let warned = try ChildProcess(
            "worker", arguments: ["--address", "127.0.0.1:99999"],
            environment: ["WORKER_FAILURE_ENABLED": "enabled", "RUST_LOG": "garbage"])
        defer { warned.stop() }
        _ = await warned.wait(seconds: 10)
        let warnings = warned.output.split(separator: "\n").filter { $0.hasPrefix("warning:") }
        #expect(warnings.count == 2, "\(warned.output)")
        #expect(warned.output.contains("WORKER_FAILURE_ENABLED=enabled is not understood"))
        #expect(warned.output.contains("log level 'garbage' is not understood"))
    }

    @Test("a worker waiting for a director that is not up leaves and exits 0 on SIGINT", .timeLimit(.minutes(1)))
    func interruptWhileJoining() async throws {
        let ports = try ClusterExampleTests.freePorts(2)
        let worker = try ChildProcess(
            "worker",
            arguments: ["--address", "127.0.0.1:\(ports[0])", "--director", "127.0.0.1:\(ports[1])"],
            environment: ["RPCNET_LOG": "error"])
        defer { worker.stop() }
        #expect(await worker.waitFor("connecting to director", seconds: 15), "\(worker.output)")
        try await Task.sleep(for: .milliseconds(300))
        worker.signal(SIGINT)
        #expect(await worker.wait(seconds: 5) == 0, "\(worker.output)")
        #expect(worker.output.contains("stopped before joining"), "\(worker.output)")
    }

    @Test(
        "rpcnet against a running director: members as a table, workers as JSON, refused without the cluster key",
        .timeLimit(.minutes(1)))
    func operatorTool() async throws {
        let ports = try ClusterExampleTests.freePorts(2)
        let director = "127.0.0.1:\(ports[0])"
        let key = ClusterKey.random().base64
        let environment = ["RPCNET_LOG": "error", "CLUSTER_KEY": key]
        let directorProcess = try ChildProcess(
            "director", arguments: ["--address", director],
            environment: environment.merging(["DIRECTOR_ADMIN": "ops.example"]) { $1 })
        defer { directorProcess.stop() }
        let worker = try ChildProcess(
            "worker", arguments: ["--label", "w", "--address", "127.0.0.1:\(ports[1])", "--director", director],
            environment: environment)
        defer { worker.stop() }
        #expect(await directorProcess.waitFor("1 workers available", seconds: 15), "\(directorProcess.output)")
        let certificates = ["--ca", "\(TestCertificates.directory)/ca.pem", "--node", director]

        let members = try ChildProcess("rpcnet", arguments: ["members"] + certificates, environment: environment)
        #expect(await members.wait(seconds: 15) == 0, "\(members.output)")
        let rows = members.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first == ["NAME", "STATUS", "ADDRESS", "INCARNATION", "PHI", "TAGS"], "\(members.output)")
        #expect(rows.contains { $0.first == "w" && $0.contains("alive") && $0.last == "label=w,load=0,role=worker" })
        #expect(rows.contains { $0.first == "director" && $0.contains(director) })

        let workers = try ChildProcess(
            "rpcnet", arguments: ["workers", "--json"] + certificates, environment: environment)
        #expect(await workers.wait(seconds: 15) == 0, "\(workers.output)")
        let pool = try JSONDecoder().decode(Admin.Workers.self, from: Data(workers.output.utf8))
        #expect(pool.workers.map(\.name) == ["w"])
        #expect(pool.workers.first?.address == "127.0.0.1:\(ports[1])")

        let refused = try ChildProcess(
            "rpcnet", arguments: ["stats"] + certificates, environment: ["CLUSTER_KEY": ""])
        #expect(await refused.wait(seconds: 15) == 1, "\(refused.output)")
        #expect(refused.output.contains("unauthenticated"), "\(refused.output)")
    }

    @Test(
        "SIGTERM to a running worker and director: each leaves, drains and exits 0 within its grace period",
        .timeLimit(.minutes(1)))
    func terminateRunning() async throws {
        let ports = try ClusterExampleTests.freePorts(2)
        let director = "127.0.0.1:\(ports[0])"
        let environment = ["RPCNET_LOG": "error"]
        let directorProcess = try ChildProcess(
            "director", arguments: ["--address", director], environment: environment)
        defer { directorProcess.stop() }
        #expect(await directorProcess.waitFor("Director ready", seconds: 15), "\(directorProcess.output)")
        let worker = try ChildProcess(
            "worker", arguments: ["--label", "w", "--address", "127.0.0.1:\(ports[1])", "--director", director],
            environment: environment)
        defer { worker.stop() }
        #expect(await directorProcess.waitFor("1 workers available", seconds: 15), "\(directorProcess.output)")
        // Bounds far above the second or so this takes on an idle machine: a saturated one (the
        // parallel suites, a build beside them) was seen to need more than 3 s.
        worker.signal(SIGTERM)
        #expect(await worker.wait(seconds: 15) == 0, "\(worker.output)")
        #expect(worker.output.contains("left the cluster"), "\(worker.output)")
        #expect(await directorProcess.waitFor("🚪 w left", seconds: 15), "\(directorProcess.output)")
        directorProcess.signal(SIGINT)
        #expect(await directorProcess.wait(seconds: 15) == 0, "\(directorProcess.output)")
        #expect(directorProcess.output.contains("Director left the cluster"), "\(directorProcess.output)")
    }

    @Test(
        "custom tags and a client filter: the client is only handed the worker tagged gpu=true, under mTLS",
        .timeLimit(.minutes(1)))
    func tagFilterAndMutualTLS() async throws {
        let ports = try ClusterExampleTests.freePorts(3)
        let director = "127.0.0.1:\(ports[0])"
        let common = ["RPCNET_LOG": "error", "TOKEN_INTERVAL_MS": "20", "RPCNET_MTLS": "true"]
        let directorProcess = try ChildProcess(
            "director", arguments: ["--address", director, "--strategy", "roundRobin"], environment: common)
        defer { directorProcess.stop() }
        #expect(await directorProcess.waitFor("Director ready", seconds: 15), "\(directorProcess.output)")
        #expect(directorProcess.output.contains("strategy: RoundRobin"))
        let plain = try ChildProcess(
            "worker", arguments: ["--label", "cpu-1", "--address", "127.0.0.1:\(ports[1])", "--director", director],
            environment: common)
        defer { plain.stop() }
        let gpu = try ChildProcess(
            "worker",
            arguments: [
                "--label", "gpu-1", "--address", "127.0.0.1:\(ports[2])", "--director", director, "--tag", "gpu=true",
                "--tag", "zone=a",
            ],
            environment: common)
        defer { gpu.stop() }
        #expect(await directorProcess.waitFor("2 workers available", seconds: 15), "\(directorProcess.output)")
        let client = try ChildProcess(
            "client", arguments: ["--director", director, "--filter", "gpu=true", "--token-limit", "30"],
            environment: common)
        defer { client.stop() }
        #expect(await client.wait(seconds: 30) == 0, "\(client.output)")
        #expect(client.output.contains("received 30 tokens in order"), "\(client.output)")
        #expect(client.output.contains("from gpu-1"), "\(client.output)")
        #expect(!client.output.contains("from cpu-1"), "\(client.output)")
        // Without a client certificate the mTLS director refuses the client.
        let refused = try ChildProcess(
            "client", arguments: ["--director", director, "--no-mtls", "--token-limit", "1"],
            environment: ["RPCNET_LOG": "error"])
        defer { refused.stop() }
        #expect(await refused.wait(seconds: 20) == 1, "\(refused.output)")
        #expect(refused.output.contains("error: --director (DIRECTOR_ADDR)"), "\(refused.output)")
    }
}
