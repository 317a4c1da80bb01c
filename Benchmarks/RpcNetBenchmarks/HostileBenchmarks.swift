import Foundation
import RpcNet

/// What hostile peers cost a server (issue 12): the server runs in a child process (this
/// executable with `--hostile-server-port`), so its resident memory is its own; the attackers and
/// a legitimate client run here, on separate QUIC endpoints. For each attack the server's RSS and
/// the legitimate client's unary latency are measured while the attack is held.
struct HostileBenchmarks {
    let executable: String
    let certs: String

    func run() async throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: executable)
        server.arguments = ["--hostile-server-port", "0", "--certs", certs]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        // The server prints "ready <port>" once it listens.
        let ready = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard
            let port = ready.split(separator: " ").last.flatMap({
                UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines))
            })
        else { throw HostileBenchmarkError.serverDidNotStart(ready) }
        let reactor = try Reactor.start(name: "hostile-clients")
        var attackConfiguration = QUICConfiguration.client(trustedCAFile: "\(certs)/ca.pem")
        attackConfiguration.keepAliveInterval = .seconds(5)
        attackConfiguration.maxConnections = 4_000
        let attackers = try await QUICEndpoint.client(reactor: reactor, configuration: attackConfiguration)
        let legitimate = try await QUICEndpoint.client(
            reactor: reactor, configuration: .client(trustedCAFile: "\(certs)/ca.pem"))
        var options = RPCClient.Configuration()
        options.defaultTimeout = .seconds(5)
        let address = SocketAddress.loopback(port: port)
        let client = RPCClient(dialer: legitimate, address: address, serverName: "localhost", configuration: options)
        let probe = Probe(server: server.processIdentifier, client: client)

        say("hostile peers against a server in its own process (RSS = its resident memory)")
        try await probe.report("idle server")

        // 2 connections × 100 server streams whose reader never reads.
        var connections: [any TransportConnection] = []
        for _ in 0..<2 {
            let connection = try await attackers.connect(to: address, serverName: "localhost")
            for _ in 0..<100 {
                let stream = try await connection.openStream()
                try await stream.write(Self.callHeader("Flood.stream") + [0x02, 0x00], finish: true)
            }
            connections.append(connection)
        }
        try await Task.sleep(for: .seconds(3))
        try await probe.report("2 × 100 non-reading server streams, held 3 s")
        try await Task.sleep(for: .seconds(5))
        try await probe.report("2 × 100 non-reading server streams, held 8 s")
        close(&connections)
        try await Task.sleep(for: .seconds(2))
        try await probe.report("2 s after the non-reading peers left")

        // 20 connections × 1,000 calls that send a header and nothing more.
        for _ in 0..<20 {
            let connection = try await attackers.connect(to: address, serverName: "localhost")
            for _ in 0..<1_000 {
                let stream = try await connection.openStream()
                try await stream.write(Self.callHeader("Bench.echo"))
            }
            connections.append(connection)
        }
        try await Task.sleep(for: .seconds(2))
        try await probe.report("20 × 1,000 header-only calls, held 2 s")
        try await Task.sleep(for: .seconds(10))
        try await probe.report("20 × 1,000 header-only calls, 12 s (request timeout 10 s)")
        close(&connections)

        // 2,000 idle connections, kept open by PINGs.
        for _ in 0..<2_000 {
            connections.append(try await attackers.connect(to: address, serverName: "localhost"))
        }
        try await Task.sleep(for: .seconds(2))
        try await probe.report("2,000 idle connections")
        close(&connections)
        try await Task.sleep(for: .seconds(2))
        try await probe.report("2 s after the idle connections closed")

        client.close()
        attackers.close()
        legitimate.close()
        await reactor.shutdown()
    }

    private func close(_ connections: inout [any TransportConnection]) {
        for connection in connections { connection.close(code: 0, message: "done") }
        connections.removeAll()
    }

    /// A CALL_HEADER frame for `method`, no timeout, no metadata (docs/PROTOCOL.md §3).
    static func callHeader(_ method: String) -> [UInt8] {
        let name = Array(method.utf8)
        precondition(name.count < 60, "one-byte varints only")
        return [0x01, UInt8(name.count + 3), UInt8(name.count)] + name + [0x00, 0x00]
    }

    /// Reads the server's RSS and times the legitimate client's calls.
    private struct Probe {
        let server: Int32
        let client: RPCClient

        func report(_ label: String) async throws {
            var latency = Samples()
            var failures = 0
            let clock = MonotonicClock()
            for _ in 0..<500 {
                let started = clock.now
                do {
                    _ = try await client.unary("Bench.echo", [UInt8](repeating: 7, count: 64))
                    latency.add(started.duration(to: clock.now))
                } catch {
                    failures += 1
                }
            }
            say(
                String(
                    format: "%@ server RSS %6.1f MB   legitimate unary p50 %8.1f µs  p99 %8.1f µs  failed %d/500",
                    label.padding(toLength: 58, withPad: " ", startingAt: 0), residentMegabytes(),
                    latency.percentile(0.5),
                    latency.percentile(0.99), failures))
        }

        private func residentMegabytes() -> Double {
            let status = (try? String(contentsOfFile: "/proc/\(server)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
            return kilobytes / 1024
        }
    }
}

/// The server side: echo and an endless stream of 64-byte messages, served until killed.
func hostileServerProcess(port: UInt16, certs: String) async throws {
    let reactor = try Reactor.start(name: "hostile-server")
    let listener = try await QUICEndpoint.listen(
        reactor: reactor, address: .loopback(port: port),
        configuration: .server(certificateChainFile: "\(certs)/server.pem", privateKeyFile: "\(certs)/server-key.pem"))
    let server = RPCServer()
    server.register("Bench.echo", unary: { request, _ in request })
    server.register(
        "Flood.stream",
        serverStreaming: { _, responses, _ in
            let message = [UInt8](repeating: 7, count: 64)
            while true { try await responses.send(message) }
        })
    say("ready \(listener.localAddress.port)")
    await server.serve(listener)
}

enum HostileBenchmarkError: Error {
    case serverDidNotStart(String)
}
