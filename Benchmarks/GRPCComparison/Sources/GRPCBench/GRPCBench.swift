import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOPosix

/// gRPC-Swift 2 side by side with `rpcnet-bench`'s RPC figures: the same four measurements, with
/// the same counts, payloads and 5 s deadline, over HTTP/2 + TLS on 127.0.0.1.
@main
struct GRPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-bench",
        abstract: "gRPC-Swift 2 unary latency, unary throughput, server streaming and connection set-up over TLS.")

    @Option(help: "Directory holding ca.pem, server.pem and server-key.pem.")
    var certs = "certs"
    @Option(
        help: """
            Unary calls measured for the latency figure (after a warm-up of a tenth as many); \
            the throughput figure makes 64 × (this / 16) calls, the stream sends 25 × this messages.
            """)
    var roundTrips = 20_000
    @Option(help: "Connections opened for the connection set-up figure.")
    var connections = 200
    @Option(help: "Comma-separated figures to measure: latency, throughput, stream, connect.")
    var parts = "latency,throughput,stream,connect"

    func run() async throws {
        for file in ["ca.pem", "server.pem", "server-key.pem"]
        where !FileManager.default.fileExists(atPath: "\(certs)/\(file)") {
            throw ValidationError("\(certs)/\(file) is missing: run certs/generate.sh first")
        }
        let parts = Set(parts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        say("gRPC-Swift 2 on \(machineDescription())")
        say(
            "HTTP/2 + TLS on 127.0.0.1 (HTTP2ServerTransport.Posix / HTTP2ClientTransport.Posix, "
                + "one event-loop thread each), raw-bytes messages, 5 s deadline per call")
        say("round trips: \(roundTrips) × 64 B; connections: \(connections)\n")
        // One event-loop thread for the servers and one for the clients, for the whole process:
        // shutting a group down after each part raced the transports' last scheduled tasks
        // ("Cannot schedule tasks on an EventLoop that has already shut down").
        let bench = Benchmarks(
            certs: certs, roundTrips: roundTrips, connections: connections,
            serverGroup: MultiThreadedEventLoopGroup(numberOfThreads: 1),
            clientGroup: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        if parts.contains("latency") { try await bench.latency() }
        if parts.contains("throughput") { try await bench.throughput() }
        if parts.contains("stream") { try await bench.stream() }
        if parts.contains("connect") { try await bench.connect() }
    }
}

typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

struct Benchmarks {
    let certs: String
    let roundTrips: Int
    let connections: Int
    let serverGroup: MultiThreadedEventLoopGroup
    let clientGroup: MultiThreadedEventLoopGroup

    /// Every call carries a 5 s deadline, as RpcNet's benchmark calls do.
    static let options: CallOptions = {
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        return options
    }()

    /// The stream's deadline bounds a whole transfer, not one message: 5 s was too short for
    /// 500,000 messages at gRPC-Swift's rate.
    static let streamOptions: CallOptions = {
        var options = CallOptions.defaults
        options.timeout = .seconds(600)
        return options
    }()

    func latency() async throws {
        try await withServerAndClient { client, _ in
            let warmUp = roundTrips / 10
            let message = [UInt8](repeating: 7, count: 64)
            let clock = ContinuousClock()
            var latency = Samples()
            var usage = ProcessUsage.now
            for index in 0..<(roundTrips + warmUp) {
                if index == warmUp { usage = ProcessUsage.now }
                let sent = clock.now
                let reply = try await Self.echo(client, message)
                if index >= warmUp { latency.add(sent.duration(to: clock.now)) }
                if index == 0 && reply != message {
                    throw BenchError("Echo returned \(reply.count) bytes, not the request")
                }
            }
            let used = ProcessUsage.now - usage
            say(row("gRPC unary round trip, 64 B, one call in flight", latency))
            say("  " + used.perOperation(roundTrips))
            result("unary_p50_us", latency.percentile(0.5))
            result("unary_cpu_us", used.cpuMicroseconds / Double(roundTrips))
        }
    }

    func throughput() async throws {
        try await withServerAndClient { client, _ in
            let perWorker = max(roundTrips / 16, 100)
            let clock = ContinuousClock()
            let started = clock.now
            let usage = ProcessUsage.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        for _ in 0..<perWorker {
                            _ = try await Self.echo(client, [UInt8](repeating: 7, count: 64))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seconds = started.duration(to: clock.now).seconds
            say(
                String(
                    format: "gRPC unary calls/s, 64 in flight on one connection: %10.0f calls/s (%d in %.2f s)",
                    Double(64 * perWorker) / seconds, 64 * perWorker, seconds))
            say("  " + ProcessUsage.perOperation(since: usage, operations: 64 * perWorker))
            result("calls_per_s", Double(64 * perWorker) / seconds)
        }
    }

    func stream() async throws {
        try await withServerAndClient { client, _ in
            let count = roundTrips * 25
            let clock = ContinuousClock()
            let started = clock.now
            let usage = ProcessUsage.now
            let received = try await client.serverStreaming(
                request: ClientRequest(message: [UInt8]("\(count)".utf8)),
                descriptor: BenchService.stream,
                serializer: RawBytesSerializer(),
                deserializer: RawBytesDeserializer(),
                options: Self.streamOptions
            ) { response in
                var received = 0
                for try await _ in response.messages { received += 1 }
                return received
            }
            let seconds = started.duration(to: clock.now).seconds
            say(
                String(
                    format: "gRPC server stream of 64 B messages: %10.0f messages/s (%d in %.2f s)",
                    Double(received) / seconds, received, seconds))
            say("  " + ProcessUsage.perOperation(since: usage, operations: received))
            result("stream_msgs_per_s", Double(received) / seconds)
            if received != count { throw BenchError("stream delivered \(received) of \(count) messages") }
        }
    }

    /// Each sample: a new `GRPCClient` on a new transport, its TCP connection, TLS handshake and
    /// HTTP/2 set-up, and one unary call. The transport's TLS context (certificate files read,
    /// `NIOSSLContext` built) is made before the clock starts, as RpcNet's dialer is made once;
    /// the client's shutdown happens after it stops. CPU is summed over the timed parts only.
    func connect() async throws {
        try await withServerAndClient { _, makeTransport in
            let clock = ContinuousClock()
            var setup = Samples()
            var usage = ProcessUsage.zero
            for _ in 0..<connections {
                let transport = try makeTransport()
                let before = ProcessUsage.now
                let started = clock.now
                let client = Client(transport: transport)
                let running = Task { try await client.runConnections() }
                _ = try await Self.echo(client, [1])
                setup.add(started.duration(to: clock.now))
                usage = usage + (ProcessUsage.now - before)
                client.beginGracefulShutdown()
                try await running.value
            }
            say(row("gRPC new connection (TLS handshake) + first call", setup))
            result("connect_p50_us", setup.percentile(0.5))
            say("  " + usage.perOperation(connections))
        }
    }

    static func echo(_ client: Client, _ message: [UInt8]) async throws -> [UInt8] {
        try await client.unary(
            request: ClientRequest(message: message),
            descriptor: BenchService.echo,
            serializer: RawBytesSerializer(),
            deserializer: RawBytesDeserializer(),
            options: options
        ) { response in try response.message }
    }

    /// Runs `body` with a client of a fresh server; server and client each run on their own
    /// event-loop thread (as RpcNet's benchmark gives each its own reactor thread). `body`'s
    /// second argument makes further client transports to the same server.
    private func withServerAndClient(
        _ body: @Sendable (Client, @Sendable () throws -> HTTP2ClientTransport.Posix) async throws -> Void
    ) async throws {
        let (serverGroup, clientGroup) = (self.serverGroup, self.clientGroup)
        let serverTransport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .tls(
                certificateChain: [.file(path: "\(certs)/server.pem", format: .pem)],
                privateKey: .file(path: "\(certs)/server-key.pem", format: .pem)),
            eventLoopGroup: serverGroup)
        let server = GRPCServer(transport: serverTransport, services: [BenchService()])
        let serving = Task { try await server.serve() }
        guard let port = try await serverTransport.listeningAddress.ipv4?.port else {
            throw BenchError("the server has no IPv4 listening address")
        }
        let certs = self.certs
        let makeTransport: @Sendable () throws -> HTTP2ClientTransport.Posix = {
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.http2.authority = "localhost"  // SNI and certificate name; the address stays 127.0.0.1
            return try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: .tls { tls in
                    tls.trustRoots = .certificates([.file(path: "\(certs)/ca.pem", format: .pem)])
                },
                config: config,
                eventLoopGroup: clientGroup)
        }
        let client = Client(transport: try makeTransport())
        let running = Task { try await client.runConnections() }
        var failure: (any Error)?
        do {
            _ = try await Self.echo(client, [1])  // every measurement starts on an established connection
            try await body(client, makeTransport)
        } catch { failure = error }
        client.beginGracefulShutdown()
        server.beginGracefulShutdown()
        _ = await running.result
        _ = await serving.result
        if let failure { throw failure }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
