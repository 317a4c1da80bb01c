import RpcNet

/// RPC figures: unary latency, unary throughput with 64 calls in flight, server-streaming
/// message rate, and connection set-up plus first call. Server and client each run on their own
/// reactor thread, with their tasks preferring it as executor; every call has a 5 s deadline.
struct RPCBenchmarks {
    let certs: String
    let roundTrips: Int
    /// Which figures to measure: latency, throughput, stream, connect.
    let parts: Set<String>

    func run() async throws {
        if parts.contains("latency") {
            try await latency()
            try await latency(busyPoll: .microseconds(200))
        }
        if parts.contains("throughput") { try await throughput() }
        if parts.contains("stream") { try await stream() }
        if parts.contains("connect") { try await connect() }
    }

    /// One call in flight; with `busyPoll`, both reactors poll that long after each event
    /// instead of sleeping (trading a core for latency; see docs/ARCHITECTURE.md).
    private func latency(busyPoll: Duration = .zero) async throws {
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
            say(row(name, latency))
            say("  " + ProcessUsage.perOperation(since: usage, operations: roundTrips))
        }
    }

    private func throughput() async throws {
        try await withServerAndClient { client, _ in
            let perWorker = max(roundTrips / 16, 100)
            let clock = MonotonicClock()
            let started = clock.now
            let usage = ProcessUsage.now
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
            let seconds = started.duration(to: clock.now).seconds
            say(
                String(
                    format: "RPC unary calls/s, 64 in flight on one connection: %10.0f calls/s",
                    Double(64 * perWorker) / seconds))
            say("  " + ProcessUsage.perOperation(since: usage, operations: 64 * perWorker))
        }
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
        }
    }

    private func connect() async throws {
        try await withServerAndClient { _, connect in
            var setup = Samples()
            for _ in 0..<200 {
                let clock = MonotonicClock()
                let started = clock.now
                let client = connect()
                _ = try await client.unary("Bench.echo", [1])
                setup.add(started.duration(to: clock.now))
                client.close()
            }
            say(row("RPC new connection (TLS 1.3 handshake) + first call", setup))
        }
    }

    /// Runs `body` on the client reactor with a client for a fresh server; `connect` makes more clients.
    private func withServerAndClient(
        busyPoll: Duration = .zero,
        _ body: @escaping @Sendable (RPCClient, @escaping @Sendable () -> RPCClient) async throws -> Void
    ) async throws {
        let serverReactor = try Reactor.start(name: "rpc-server", busyPollWindow: busyPoll)
        let clientReactor = try Reactor.start(name: "rpc-client", busyPollWindow: busyPoll)
        let listener = try await QUICEndpoint.listen(
            reactor: serverReactor, address: .loopback(),
            configuration: .server(
                certificateChainFile: "\(certs)/server.pem", privateKeyFile: "\(certs)/server-key.pem"))
        let dialer = try await QUICEndpoint.client(
            reactor: clientReactor, configuration: .client(trustedCAFile: "\(certs)/ca.pem"))
        let server = RPCServer()
        server.register("Bench.echo", unary: { request, _ in request })
        server.register(
            "Bench.stream",
            serverStreaming: { request, responses, _ in
                let message = [UInt8](repeating: 7, count: 64)
                for _ in 0..<(Int(String(decoding: request, as: UTF8.self)) ?? 0) { try await responses.send(message) }
            })
        let serving = Task(executorPreference: serverReactor) { await server.serve(listener) }
        let address = listener.localAddress
        let connect: @Sendable () -> RPCClient = {
            // Every call carries a deadline, as production calls do: its cost is part of the figures.
            var configuration = RPCClient.Configuration()
            configuration.defaultTimeout = .seconds(5)
            return RPCClient(dialer: dialer, address: address, serverName: "localhost", configuration: configuration)
        }
        let client = connect()
        try await Task(executorPreference: clientReactor) { try await body(client, connect) }.value
        client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        await serving.value
        dialer.close()
        await serverReactor.shutdown()
        await clientReactor.shutdown()
    }

    private func row(_ name: String, _ samples: Samples) -> String {
        String(
            format: "%@ p50 %8.1f µs   p99 %8.1f µs", name.padding(toLength: 62, withPad: " ", startingAt: 0),
            samples.percentile(0.5), samples.percentile(0.99))
    }
}
