import ArgumentParser
import Foundation
import Glibc
import Logging
import RpcNet

#if !Executables
    #error("the examples and rpcnet-bench need the package trait Executables: swift build --traits Executables")
#endif

/// `rpcnet-bench`: transport figures measured in one run, side by side with the raw UDP floor.
@main
struct RpcNetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpcnet-bench",
        abstract: "Measure RpcNet's transport against the raw UDP ping-pong floor of the same machine and run.")

    @Option(help: "Round trips measured per latency figure (after a warm-up of a tenth as many).")
    var roundTrips = 20_000
    @Option(help: "Payload of each round trip, in bytes.")
    var payload = 64
    @Option(help: "Bytes sent in each bulk measurement, in MiB.")
    var bulkMiB = 512
    @Option(help: "Directory holding the test certificates.")
    var certs = "certs"
    @Option(help: "Connections opened for the connection set-up figure.")
    var connections = 200
    @Option(
        help:
            "Sections to run, comma-separated: transport, rpc (or some of rpc-latency, rpc-throughput, rpc-stream, rpc-connect), compare (not in the default: the QUIC echo, the UDP floor and the four RPC figures that make bench-compare measures for gRPC-Swift 2 and gRPC-Go too, each also printed as a 'result KEY VALUE' line), rpc-interceptors (not in the default: what an empty interceptor chain and the metrics and tracing interceptors cost), bulk, cluster (or cluster-processes, cluster-simulated, cluster-calls); hostile (not in the default: what non-reading streams, header-only calls and idle connections cost a server); registry (not in the default: what WorkerRegistry.select() costs with 10, 100 and 1,000 simulated members); cluster-scale (not in the default: one simulated cluster of --scale-members members, 10,000 by default, for --scale-minutes virtual minutes, 10 by default: wall time, traffic per member per period, and the periods one new member takes to be seen alive by all)."
    )
    var sections = "transport,rpc,bulk,cluster"
    @Option(
        help:
            "For compare: the reactors poll this many microseconds after each event before sleeping in the kernel (Reactor's busyPollWindow; 0, the default, never polls)."
    )
    var busyPollMicroseconds = 0
    @Flag(help: "Log transport events at debug level to standard error.")
    var verbose = false
    @Option(help: .hidden) var udpEchoPort: Int?
    @Flag(help: .hidden) var udpEchoSpin = false
    @Option(help: .hidden) var clusterMember: String?
    @Option(help: .hidden) var clusterSeedPort: Int?
    @Option(help: .hidden) var hostileServerPort: Int?
    @Option(help: .hidden) var scaleMembers = 10_000
    @Option(help: .hidden) var scaleMinutes = 10

    func run() async throws {
        if let udpEchoPort {
            try udpEchoProcess(port: UInt16(udpEchoPort), spin: udpEchoSpin)
            return
        }
        if let hostileServerPort {
            try await hostileServerProcess(port: UInt16(hostileServerPort), certs: certs)
            return
        }
        if let clusterMember {
            try await MemberProcess.runMember(name: clusterMember, seedPort: clusterSeedPort.map { UInt16($0) })
            return
        }
        if verbose {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .debug
                return handler
            }
        }
        say("rpcnet-bench on \(machineDescription())")
        say("round trips: \(roundTrips) × \(payload) B; bulk: \(bulkMiB) MiB per run\n")
        let chosen = Set(sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if chosen.contains("transport") { try await transportSection() }
        if chosen.contains("compare") { try await floorsSection() }
        let rpcParts = Set(
            ["latency", "throughput", "stream", "connect"].filter {
                chosen.contains("rpc") || chosen.contains("compare") || chosen.contains("rpc-\($0)")
            }
                + (chosen.contains("rpc-interceptors") ? ["interceptors"] : []))
        if !rpcParts.isEmpty {
            try await RPCBenchmarks(
                certs: certs, roundTrips: roundTrips, connections: connections, parts: rpcParts,
                busyPoll: .microseconds(busyPollMicroseconds), busyPollVariant: !chosen.contains("compare")
            ).run()
            say("")
        }
        if chosen.contains("bulk") { try await bulkSection() }
        if chosen.contains("cluster") || chosen.contains("cluster-calls") {
            try await WorkerPoolBenchmarks(certs: certs, calls: roundTrips * 4).run()
            say("")
        }
        if chosen.contains("registry") {
            try RegistryBenchmarks().run()
            say("")
        }
        if chosen.contains("cluster-scale") {
            ClusterScaleBenchmarks(members: scaleMembers, minutes: max(scaleMinutes, 1)).run()
        }
        if chosen.contains("hostile") {
            try await HostileBenchmarks(executable: CommandLine.arguments[0], certs: certs).run()
            say("")
        }
        let processes = chosen.contains("cluster") || chosen.contains("cluster-processes")
        let simulations = chosen.contains("cluster") || chosen.contains("cluster-simulated")
        if processes || simulations {
            say("")
            try await ClusterBenchmarks(
                executable: CommandLine.arguments[0], processes: processes, simulations: simulations
            ).run()
        }
    }

    /// Raw UDP floors and QUIC stream round trips, measured side by side.
    private func transportSection() async throws {
        let udpProcesses = try udpPingPongAcrossProcesses(roundTrips: roundTrips, payload: payload, spin: false)
        say(row("UDP ping-pong floor (2 processes, blocking)", udpProcesses))
        let udpSpinning = try udpPingPongAcrossProcesses(roundTrips: roundTrips, payload: payload, spin: true)
        say(row("UDP ping-pong floor (2 processes, busy-polling)", udpSpinning))
        let udp = try udpPingPong(roundTrips: roundTrips, payload: payload)
        say(row("UDP ping-pong floor (2 threads, blocking)", udp))
        say("  " + (udp.usage ?? ""))
        let quic = try await quicStreamRoundTrips(roundTrips: roundTrips, payload: payload)
        say(row("QUIC stream echo round trip (2 reactor threads)", quic))
        say("  " + (quic.usage ?? ""))
        let quicPolling = try await quicStreamRoundTrips(
            roundTrips: roundTrips, payload: payload, busyPoll: .microseconds(200))
        say(row("QUIC stream echo round trip (reactors busy-poll)", quicPolling))
        say(
            String(
                format: "  blocking:     QUIC p50 / UDP p50 = %.2f× (2-process floor), %.2f× (2-thread floor)",
                quic.percentile(0.5) / udpProcesses.percentile(0.5), quic.percentile(0.5) / udp.percentile(0.5)))
        say(
            String(
                format: "  busy-polling: QUIC p50 / UDP p50 = %.2f× (2-process busy-polling floor)\n",
                quicPolling.percentile(0.5) / udpSpinning.percentile(0.5)))
    }

    /// The floors bench-compare sets the unary figure against: RpcNet's own QUIC stream echo and
    /// the kernel's UDP ping-pong between two threads, both blocking (no busy-polling).
    private func floorsSection() async throws {
        let quic = try await quicStreamRoundTrips(
            roundTrips: roundTrips, payload: payload, busyPoll: .microseconds(busyPollMicroseconds))
        say(row("QUIC stream echo round trip (2 reactor threads)", quic))
        result("quic_echo_p50_us", quic.percentile(0.5))
        let udp = try udpPingPong(roundTrips: roundTrips, payload: payload)
        say(row("UDP ping-pong floor (2 threads, blocking)", udp))
        result("udp_floor_p50_us", udp.percentile(0.5))
    }

    /// One-stream bulk transfer at three packet sizes.
    private func bulkSection() async throws {
        for udpPayload in [1452, 8952, 65_000] {
            let (bytes, seconds) = try await quicBulk(bytes: bulkMiB << 20, maxUDPPayloadSize: udpPayload)
            let rate = Double(bytes) / seconds / 1_048_576
            say(
                String(
                    format:
                        "QUIC bulk, one connection, one stream, max UDP payload %5d B: %8.1f MiB/s (%d MiB in %.2f s)",
                    udpPayload, rate, bytes >> 20, seconds))
        }
    }

    private func row(_ name: String, _ samples: Samples) -> String {
        String(
            format: "%-52@ p50 %7.1f µs   p99 %7.1f µs   (%.0f round trips/s)", name as NSString,
            samples.percentile(0.5), samples.percentile(0.99), samples.throughput)
    }

    // MARK: Raw UDP floor

    /// Blocking UDP ping-pong between two threads over 127.0.0.1: the kernel's floor.
    private func udpPingPong(roundTrips: Int, payload: Int) throws -> Samples {
        let server = try blockingSocket()
        let client = try blockingSocket()
        let serverAddress = localAddress(server)
        let warmup = roundTrips / 10
        let echo = Thread {
            var buffer = [UInt8](repeating: 0, count: 2048)
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            for _ in 0..<(roundTrips + warmup) {
                length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(server, &buffer, buffer.count, 0, $0, &length)
                    }
                }
                guard n > 0 else { return }
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(server, buffer, n, 0, $0, length) }
                }
            }
        }
        echo.start()
        var message = [UInt8](repeating: 7, count: payload)
        var samples = Samples()
        let clock = MonotonicClock()
        let started = clock.now
        var usage = ProcessUsage.now
        for index in 0..<(roundTrips + warmup) {
            if index == warmup { usage = ProcessUsage.now }
            let sent = clock.now
            _ = serverAddress.withSockAddr { sendto(client, message, message.count, 0, $0, $1) }
            _ = recv(client, &message, message.count, 0)
            if index >= warmup { samples.add(sent.duration(to: clock.now)) }
        }
        samples.elapsed = started.duration(to: clock.now)
        samples.usage = ProcessUsage.perOperation(since: usage, operations: roundTrips)
        close(server)
        close(client)
        return samples
    }

    /// The same ping-pong against an echo in a child process (this executable with a hidden
    /// option), as the floor quoted in the design notes was measured.
    private func udpPingPongAcrossProcesses(roundTrips: Int, payload: Int, spin: Bool) throws -> Samples {
        let probe = try blockingSocket()
        let port = localAddress(probe).port
        close(probe)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--udp-echo-port", "\(port)"] + (spin ? ["--udp-echo-spin"] : [])
        try child.run()
        defer {
            child.terminate()
            child.waitUntilExit()
        }
        let client = try blockingSocket()
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let server = SocketAddress.loopback(port: port)
        var message = [UInt8](repeating: 7, count: payload)
        // Wait for the child to bind.
        for _ in 0..<50 {
            _ = server.withSockAddr { sendto(client, message, message.count, 0, $0, $1) }
            if recv(client, &message, message.count, 0) > 0 { break }
        }
        var samples = Samples()
        let clock = MonotonicClock()
        let warmup = roundTrips / 10
        let started = clock.now
        for index in 0..<(roundTrips + warmup) {
            let sent = clock.now
            _ = server.withSockAddr { sendto(client, message, message.count, 0, $0, $1) }
            if spin {
                while recv(client, &message, message.count, Int32(MSG_DONTWAIT)) < 0, errno == EAGAIN {}
            } else {
                guard recv(client, &message, message.count, 0) > 0 else { continue }
            }
            if index >= warmup { samples.add(sent.duration(to: clock.now)) }
        }
        samples.elapsed = started.duration(to: clock.now)
        close(client)
        return samples
    }

    /// The child side: echo datagrams on `port` until killed, blocking or spinning on `recv`.
    private func udpEchoProcess(port: UInt16, spin: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard SocketAddress.loopback(port: port).withSockAddr({ bind(fd, $0, $1) }) == 0 else {
            throw TransportError.system(operation: "bind", errno: errno)
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        var peer = sockaddr_storage()
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, &buffer, buffer.count, spin ? Int32(MSG_DONTWAIT) : 0, $0, &length)
                }
            }
            guard n > 0 else { continue }
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buffer, n, 0, $0, length) }
            }
        }
    }

    private func blockingSocket() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0, SocketAddress.loopback().withSockAddr({ bind(fd, $0, $1) }) == 0 else {
            throw TransportError.system(operation: "socket", errno: errno)
        }
        return fd
    }

    private func localAddress(_ fd: Int32) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafeBytes(of: &storage) { SocketAddress($0.baseAddress!, length: Int(length))! }
    }

    // MARK: QUIC

    private func endpoints(maxUDPPayloadSize: Int = 1452, busyPoll: Duration = .zero) async throws -> (
        Reactor, Reactor, QUICEndpoint, QUICEndpoint
    ) {
        let serverReactor = try Reactor.start(name: "bench-server", busyPollWindow: busyPoll)
        let clientReactor = try Reactor.start(name: "bench-client", busyPollWindow: busyPoll)
        var serverConfiguration = QUICConfiguration.server(
            certificateChainFile: "\(certs)/server.pem", privateKeyFile: "\(certs)/server-key.pem")
        serverConfiguration.maxUDPPayloadSize = maxUDPPayloadSize
        var clientConfiguration = QUICConfiguration.client(trustedCAFile: "\(certs)/ca.pem")
        clientConfiguration.maxUDPPayloadSize = maxUDPPayloadSize
        let server = try await QUICEndpoint.listen(
            reactor: serverReactor, address: .loopback(), configuration: serverConfiguration)
        let client = try await QUICEndpoint.client(reactor: clientReactor, configuration: clientConfiguration)
        return (serverReactor, clientReactor, server, client)
    }

    /// One persistent stream; the echo runs on the server's reactor and the measuring loop on
    /// the client's, so neither side hops threads.
    private func quicStreamRoundTrips(roundTrips: Int, payload: Int, busyPoll: Duration = .zero) async throws -> Samples
    {
        let (serverReactor, clientReactor, server, client) = try await endpoints(busyPoll: busyPoll)
        let echo = Task(executorPreference: serverReactor) {
            guard let connection = try await server.acceptConnection(), let stream = try await connection.acceptStream()
            else { return }
            while let chunk = try await stream.read() { try await stream.write(chunk) }
            try await stream.finish()
        }
        let address = server.localAddress
        let samples = try await Task(executorPreference: clientReactor) {
            let connection = try await client.dial(address, serverName: "localhost")
            let stream = try await connection.openStream()
            let message = [UInt8](repeating: 7, count: payload)
            let warmup = roundTrips / 10
            var samples = Samples()
            let clock = MonotonicClock()
            let started = clock.now
            var usage = ProcessUsage.now
            for index in 0..<(roundTrips + warmup) {
                if index == warmup { usage = ProcessUsage.now }
                let sent = clock.now
                try await stream.write(message)
                var received = 0
                while received < payload {
                    guard let chunk = try await stream.read() else { throw TransportError.streamClosedLocally }
                    received += chunk.count
                }
                if index >= warmup { samples.add(sent.duration(to: clock.now)) }
            }
            samples.elapsed = started.duration(to: clock.now)
            samples.usage = ProcessUsage.perOperation(since: usage, operations: roundTrips)
            try await stream.finish()
            _ = try await stream.readAll(limit: 0)  // the echo's FIN: the server is done
            connection.close(code: 0, message: "")
            return samples
        }.value
        try await echo.value
        await shutdown(serverReactor, clientReactor, server, client)
        return samples
    }

    /// One stream carrying `bytes` from client to server, timed until the server has read them all.
    private func quicBulk(bytes: Int, maxUDPPayloadSize: Int) async throws -> (Int, Double) {
        let (serverReactor, clientReactor, server, client) = try await endpoints(maxUDPPayloadSize: maxUDPPayloadSize)
        let clock = MonotonicClock()
        let sink = Task(executorPreference: serverReactor) { () -> (Int, MonotonicInstant) in
            guard let connection = try await server.acceptConnection(), let stream = try await connection.acceptStream()
            else { return (0, clock.now) }
            var total = 0
            while let chunk = try await stream.read() { total += chunk.count }
            return (total, clock.now)
        }
        let address = server.localAddress
        let started = try await Task(executorPreference: clientReactor) { () -> MonotonicInstant in
            let connection = try await client.dial(address, serverName: "localhost")
            let stream = try await connection.openStream()
            let chunk = [UInt8](repeating: 1, count: 256 * 1024)
            let started = clock.now
            for _ in 0..<(bytes / chunk.count) { try await stream.write(chunk) }
            try await stream.finish()
            return started
        }.value
        let (total, finished) = try await sink.value
        await shutdown(serverReactor, clientReactor, server, client)
        return (total, started.duration(to: finished).seconds)
    }

    private func shutdown(
        _ serverReactor: Reactor, _ clientReactor: Reactor, _ server: QUICEndpoint, _ client: QUICEndpoint
    ) async {
        server.close()
        client.close()
        await serverReactor.shutdown()
        await clientReactor.shutdown()
    }
}

/// Latency samples in microseconds.
struct Samples {
    private var values: [Double] = []
    var elapsed: Duration = .zero
    /// CPU and context switches per operation, when measured.
    var usage: String?

    mutating func add(_ duration: Duration) {
        values.append(Double(duration.nanoseconds) / 1000)
    }

    func percentile(_ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    var throughput: Double {
        Double(values.count) / max(elapsed.seconds, 1e-9)
    }
}

func machineDescription() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return
        "\(ProcessInfo.processInfo.activeProcessorCount) × \(cpu), Linux \(ProcessInfo.processInfo.operatingSystemVersionString)"
}

/// Prints a line unbuffered, so progress shows while later measurements run.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints "result KEY VALUE", the line Benchmarks/Compare/bench-compare.py reads.
func result(_ key: String, _ value: Double) {
    say(String(format: "result %@ %.1f", key, value))
}
