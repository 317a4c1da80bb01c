public import CoreMetrics
import Transports

/// Records every call a server serves through swift-metrics, as OpenTelemetry's RPC semantic
/// conventions name them: `rpc.server.call.duration`, `rpc.server.request.size`,
/// `rpc.server.response.size`, `rpc.server.requests_per_rpc` and `rpc.server.responses_per_rpc`,
/// by method and status (see ``/Transports/MetricsNaming`` for the prefix). Durations are measured on the
/// server's clock. Install it first to measure what the other interceptors cost too.
public struct ServerMetricsInterceptor: ServerInterceptor {
    private let metrics: RPCCallMetrics

    /// Records into `factory` (the process's bootstrapped one by default), naming instruments
    /// with `naming`.
    public init(naming: MetricsNaming = MetricsNaming(), factory: any MetricsFactory = MetricsSystem.factory) {
        metrics = RPCCallMetrics(side: .server, naming: naming, factory: factory)
    }

    public func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void)
        async throws
    {
        let clock = call.context.clock
        let started = clock.now
        let method = call.context.method
        let sizes = metrics.messages(of: method)
        let tally = MessageTally()
        var call = call
        call.requests = call.requests.observed { message in
            tally.countRequest()
            sizes.requestSize.record(message.count)
        }
        call.responses = call.responses.observed { message in
            tally.countResponse()
            sizes.responseSize.record(message.count)
        }
        do {
            try await next(call)
            metrics.record(
                method, .ok, duration: started.duration(to: clock.now), messages: tally)
        } catch {
            metrics.record(
                method, error.code, duration: started.duration(to: clock.now), messages: tally)
            throw error
        }
    }
}

/// Records every call a client makes through swift-metrics, as OpenTelemetry's RPC semantic
/// conventions name them: `rpc.client.call.duration`, `rpc.client.request.size`,
/// `rpc.client.response.size`, `rpc.client.requests_per_rpc` and `rpc.client.responses_per_rpc`,
/// by method and status. On a ``ClusterClient`` (through its ``ClusterClient/Configuration/rpc``)
/// each attempt on a worker is one call.
public struct ClientMetricsInterceptor: ClientInterceptor {
    private let metrics: RPCCallMetrics

    /// Records into `factory` (the process's bootstrapped one by default), naming instruments
    /// with `naming`. Calls are timed on their client's clock.
    public init(naming: MetricsNaming = MetricsNaming(), factory: any MetricsFactory = MetricsSystem.factory) {
        metrics = RPCCallMetrics(side: .client, naming: naming, factory: factory)
    }

    public func intercept<Response: Sendable>(
        _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws -> Response {
        let clock = call.clock
        let started = clock.now
        let method = call.method
        let sizes = metrics.messages(of: method)
        let tally = MessageTally()
        var call = call
        call.options.observeRequests { message in
            tally.countRequest()
            sizes.requestSize.record(message.count)
        }
        call.options.observeResponses { message in
            tally.countResponse()
            sizes.responseSize.record(message.count)
        }
        do {
            let response = try await next(call)
            metrics.record(
                method, .ok, duration: started.duration(to: clock.now), messages: tally)
            return response
        } catch {
            metrics.record(
                method, error.code, duration: started.duration(to: clock.now), messages: tally)
            throw error
        }
    }

}
