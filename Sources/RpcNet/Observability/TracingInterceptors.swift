public import Tracing

/// Gives every call a server serves a span of kind `server`, continuing the trace whose context
/// the caller sent in its metadata (W3C `traceparent`/`tracestate` with a W3C tracer such as
/// swift-otel's), and runs the handler inside it, so `ServiceContext.current` and any span a
/// handler starts belong to the caller's trace.
///
/// Attributes follow OpenTelemetry's RPC span conventions: `rpc.system.name`, `rpc.method`,
/// `rpc.response.status_code`, `network.peer.address`; a failed call's span has status `error`.
public struct ServerTracingInterceptor: ServerInterceptor {
    private let tracer: any Tracer

    /// Records spans with `tracer`: the process's bootstrapped one by default.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws(RPCStatus) -> Void)
        async throws
    {
        var context = ServiceContext.current ?? .topLevel
        tracer.extract(call.context.metadata, into: &context, using: MetadataExtractor())
        let span = tracer.startSpan(call.context.method, context: context, ofKind: .server)
        defer { span.end() }
        span.attributes["rpc.system.name"] = "rpcnet"
        span.attributes["rpc.method"] = call.context.method
        span.attributes["network.peer.address"] = "\(call.context.remoteAddress)"
        do {
            try await ServiceContext.withValue(span.context) { try await next(call) }
            span.attributes["rpc.response.status_code"] = RPCStatus.Code.ok.conventionalName
        } catch {
            span.record(RPCServer.status(for: error))
            throw error
        }
    }
}

/// Gives every call a client makes a span of kind `client`, a child of the caller's current
/// span (`ServiceContext.current`), and sends the span's context to the server in the call's
/// metadata (W3C `traceparent`/`tracestate` with a W3C tracer such as swift-otel's). On a
/// ``ClusterClient`` each attempt on a worker is a span of the same trace, so a retry or a
/// resumed stream shows as a sibling of the attempt that failed.
public struct ClientTracingInterceptor: ClientInterceptor {
    private let tracer: any Tracer

    /// Records spans with `tracer`: the process's bootstrapped one by default.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func intercept<Response: Sendable>(
        _ call: ClientCall, next: @Sendable (ClientCall) async throws(RPCStatus) -> Response
    ) async throws -> Response {
        let span = tracer.startSpan(call.method, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.attributes["rpc.system.name"] = "rpcnet"
        span.attributes["rpc.method"] = call.method
        span.attributes["server.address"] = "\(call.remoteAddress)"
        var call = call
        tracer.inject(span.context, into: &call.options.metadata, using: MetadataInjector())
        do {
            let response = try await next(call)
            span.attributes["rpc.response.status_code"] = RPCStatus.Code.ok.conventionalName
            return response
        } catch {
            span.record(error)
            throw error
        }
    }
}

extension Span {
    /// Marks the span failed with `status`.
    fileprivate func record(_ status: RPCStatus) {
        attributes["rpc.response.status_code"] = status.code.conventionalName
        setStatus(SpanStatus(code: .error, message: status.description))
    }
}
