import Metrics
import RpcNet
import Synchronization
import Tracing

/// RPC figures: unary latency, unary throughput with 64 calls in flight, server-streaming
/// message rate, and connection set-up plus first call. Server and client each run on their own
/// reactor thread, with their tasks preferring it as executor; every call has a 5 s deadline.
/// The four figures are also printed as "result KEY VALUE" lines for bench-compare, with the
/// same counts as Benchmarks/GRPCComparison and Benchmarks/GRPCGo use.
struct RPCBenchmarks {
    let certs: String
    let roundTrips: Int
    /// Connections opened for the connection set-up figure.
    let connections: Int
    /// Which figures to measure: latency, throughput, stream, connect, interceptors.
    let parts: Set<String>
    /// How long both reactors poll after each event before sleeping in the kernel, in every figure.
    let busyPoll: Duration
    /// Whether the latency figure is measured a second time with the reactors busy-polling 200 µs.
    let busyPollVariant: Bool

    func run() async throws {
        if parts.contains("latency") {
            try await latency(busyPoll: busyPoll)
            if busyPollVariant, busyPoll == .zero { try await latency(busyPoll: .microseconds(200), reported: false) }
        }
        if parts.contains("throughput") { try await throughput() }
        if parts.contains("stream") { try await stream() }
        if parts.contains("connect") { try await connect() }
        if parts.contains("interceptors") { try await interceptors() }
    }

    /// One call in flight; with `busyPoll`, both reactors poll that long after each event
    /// instead of sleeping (trading a core for latency; see docs/ARCHITECTURE.md).
    /// With `reported`, the figures are also printed as result lines.
    private func latency(busyPoll: Duration, reported: Bool = true) async throws {
        try await withServerAndClient(busyPoll: busyPoll) { client, _ in
            var latency = Samples()
            let message = [UInt8](repeating: 7, count: 64)
            var usage = ProcessUsage.now
            for index in 0..<(roundTrips + roundTrips / 10) {
                if index == roundTrips / 10 { usage = ProcessUsage.now }
                let clock = MonotonicClock()
                let sent = clock.now
                _ = try await client.unary("Bench.echo", message)
                if index >= roundTrips / 10 { latency.add(sent.duration(to: clock.now)) }
            }
            let name = "RPC unary round trip, 64 B, one call in flight" + (busyPoll > .zero ? ", busy-poll" : "")
            let cpu = ProcessUsage.cpuMicroseconds(since: usage, operations: roundTrips)
            say(row(name, latency))
            say("  " + ProcessUsage.perOperation(since: usage, operations: roundTrips))
            if reported {
                result("unary_p50_us", latency.percentile(0.5))
                result("unary_cpu_us", cpu)
            }
        }
    }

    private func throughput() async throws {
        try await withServerAndClient { client, _ in
            let perWorker = max(roundTrips / 16, 100)
            let usage = ProcessUsage.now
            let rate = try await Self.callsPerSecond(client, perWorker: perWorker)
            say(String(format: "RPC unary calls/s, 64 in flight on one connection: %10.0f calls/s", rate))
            say("  " + ProcessUsage.perOperation(since: usage, operations: 64 * perWorker))
            result("calls_per_s", rate)
        }
    }

    /// Unary calls per second with 64 in flight, each of the 64 making `perWorker` calls.
    private static func callsPerSecond(_ client: RPCClient, perWorker: Int) async throws -> Double {
        let clock = MonotonicClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    for _ in 0..<perWorker {
                        _ = try await client.unary("Bench.echo", [UInt8](repeating: 7, count: 64))
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(64 * perWorker) / started.duration(to: clock.now).seconds
    }

    /// What interceptors cost: unary calls/s with 64 in flight and none installed, with one
    /// interceptor on each side that only calls `next`, and with the metrics and tracing
    /// interceptors on both sides (recording into swift-metrics' and swift-distributed-tracing's
    /// no-op backends, so the figure is RpcNet's share, not a backend's). The three alternate
    /// over five rounds on fresh servers; medians and ratios to none.
    private func interceptors() async throws {
        let variants: [(name: String, server: [any ServerInterceptor], client: [any ClientInterceptor])] = [
            ("none", [], []),
            ("empty chain (1 pass-through each side)", [PassThroughServer()], [PassThroughClient()]),
            (
                "metrics + tracing (no-op backends)",
                [
                    ServerMetricsInterceptor(factory: NOOPMetricsHandler.instance),
                    ServerTracingInterceptor(tracer: NoOpTracer()),
                ],
                [
                    ClientMetricsInterceptor(factory: NOOPMetricsHandler.instance),
                    ClientTracingInterceptor(tracer: NoOpTracer()),
                ]
            ),
        ]
        var rates = Array(repeating: [Double](), count: variants.count)
        let perWorker = max(roundTrips / 16, 100)
        for _ in 0..<5 {
            for (index, variant) in variants.enumerated() {
                let measured = Mutex<Double>(0)
                try await withServerAndClient(serverInterceptors: variant.server, clientInterceptors: variant.client) {
                    client, _ in
                    _ = try await Self.callsPerSecond(client, perWorker: perWorker / 10)
                    let rate = try await Self.callsPerSecond(client, perWorker: perWorker)
                    measured.withLock { $0 = rate }
                }
                rates[index].append(measured.withLock { $0 })
            }
        }
        let baseline = median(rates[0])
        for (index, variant) in variants.enumerated() {
            let values = rates[index]
            say(
                String(
                    format: "RPC unary calls/s, 64 in flight, interceptors: %@ median %8.0f (%6.0f–%6.0f), %.3f× none",
                    variant.name.padding(toLength: 40, withPad: " ", startingAt: 0), median(values),
                    values.min() ?? 0, values.max() ?? 0, median(values) / baseline))
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    private func stream() async throws {
        try await withServerAndClient { client, _ in
            let count = roundTrips * 25
            let clock = MonotonicClock()
            let started = clock.now
            let usage = ProcessUsage.now
            let received = try await client.serverStreaming("Bench.stream", [UInt8]("\(count)".utf8)) { responses in
                var received = 0
                for try await _ in responses { received += 1 }
                return received
            }
            let seconds = started.duration(to: clock.now).seconds
            say(
                String(
                    format: "RPC server stream of 64 B messages: %10.0f messages/s (%d in %.2f s)",
                    Double(received) / seconds, received, seconds))
            say("  " + ProcessUsage.perOperation(since: usage, operations: received))
            result("stream_msgs_per_s", Double(received) / seconds)
        }
    }

    /// New connections and their first call: with full handshakes (a client endpoint without
    /// session resumption), then resuming the TLS session of the connection before (the default).
    private func connect() async throws {
        try await withServerAndClient { _, connect in
            for resuming in [false, true] {
                var setup = Samples()
                for _ in 0..<connections {
                    let clock = MonotonicClock()
                    let started = clock.now
                    let client = connect(resuming)
                    _ = try await client.unary("Bench.echo", [1])
                    setup.add(started.duration(to: clock.now))
                    client.close()
                }
                let kind = resuming ? "TLS 1.3 resumed" : "full TLS 1.3 handshake"
                say(row("RPC new connection (\(kind)) + first call", setup))
                result(resuming ? "connect_resumed_p50_us" : "connect_p50_us", setup.percentile(0.5))
            }
        }
    }

    /// Runs `body` on the client reactor with a client for a fresh server; `connect` makes more clients.
    /// Both reactors busy-poll for `pollWindow`, or for ``busyPoll`` when it is nil.
    private func withServerAndClient(
        busyPoll pollWindow: Duration? = nil, serverInterceptors: [any ServerInterceptor] = [],
        clientInterceptors: [any ClientInterceptor] = [],
        _ body:
            @escaping @Sendable (RPCClient, _ connect: @escaping @Sendable (_ resuming: Bool) -> RPCClient) async throws
            -> Void
    ) async throws {
        let serverReactor = try Reactor.start(name: "rpc-server", busyPollWindow: pollWindow ?? busyPoll)
        let clientReactor = try Reactor.start(name: "rpc-client", busyPollWindow: pollWindow ?? busyPoll)
        let listener = try await QUICEndpoint.listen(
            reactor: serverReactor, address: .loopback(),
            configuration: .server(
                certificateChainFile: "\(certs)/server.pem", privateKeyFile: "\(certs)/server-key.pem"))
        let dialer = try await QUICEndpoint.client(
            reactor: clientReactor, configuration: .client(trustedCAFile: "\(certs)/ca.pem"))
        var fullHandshakes = QUICConfiguration.client(trustedCAFile: "\(certs)/ca.pem")
        fullHandshakes.sessionResumption = false
        let fullHandshakeDialer = try await QUICEndpoint.client(reactor: clientReactor, configuration: fullHandshakes)
        var serverConfiguration = RPCServer.Configuration()
        serverConfiguration.interceptors = serverInterceptors
        let server = RPCServer(configuration: serverConfiguration)
        server.register("Bench.echo", unary: { request, _ in request })
        server.register(
            "Bench.stream",
            serverStreaming: { request, responses, _ in
                let message = [UInt8](repeating: 7, count: 64)
                for _ in 0..<(Int(String(decoding: request, as: UTF8.self)) ?? 0) { try await responses.send(message) }
            })
        let serving = Task(executorPreference: serverReactor) { await server.serve(listener) }
        let address = listener.localAddress
        let connect: @Sendable (Bool) -> RPCClient = { resuming in
            // Every call carries a deadline, as production calls do: its cost is part of the figures.
            var configuration = RPCClient.Configuration()
            configuration.defaultTimeout = .seconds(5)
            configuration.interceptors = clientInterceptors
            return RPCClient(
                dialer: resuming ? dialer : fullHandshakeDialer, address: address, serverName: "localhost",
                configuration: configuration)
        }
        let client = connect(true)
        // Every measurement starts on an established connection.
        try await Task(executorPreference: clientReactor) {
            try await client.connect()
            try await body(client, connect)
        }.value
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        await serving.value
        dialer.close()
        fullHandshakeDialer.close()
        await serverReactor.shutdown()
        await clientReactor.shutdown()
    }

    private func row(_ name: String, _ samples: Samples) -> String {
        String(
            format: "%@ p50 %8.1f µs   p99 %8.1f µs", name.padding(toLength: 62, withPad: " ", startingAt: 0),
            samples.percentile(0.5), samples.percentile(0.99))
    }
}

/// A server interceptor that only calls `next`: the cost of having a chain at all.
private struct PassThroughServer: ServerInterceptor {
    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void) async throws {
        try await next(call)
    }
}

/// A client interceptor that only calls `next`.
private struct PassThroughClient: ClientInterceptor {
    func intercept<Response: Sendable>(
        _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws -> Response {
        try await next(call)
    }
}
