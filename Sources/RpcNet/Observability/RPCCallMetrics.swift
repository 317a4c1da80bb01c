import CoreMetrics
import Metrics
import Synchronization
import Transports

/// The instruments OpenTelemetry's RPC semantic conventions define for one side of a call
/// (<https://opentelemetry.io/docs/specs/semconv/rpc/rpc-metrics/>), created once per method and
/// status and reused, so a call costs dictionary lookups rather than new instruments:
///
/// | instrument | swift-metrics type | recorded |
/// | --- | --- | --- |
/// | `rpc.<side>.call.duration` | `Timer` | once per call, when it ends |
/// | `rpc.<side>.request.size`, `rpc.<side>.response.size` | `Recorder` (aggregated, bytes) | per message |
/// | `rpc.<side>.requests_per_rpc`, `rpc.<side>.responses_per_rpc` | `Recorder` (aggregated) | once per call |
///
/// Dimensions: `rpc.system.name` (`rpcnet`), `rpc.method` (the method's wire name) and, on what is
/// recorded when the call ends, `rpc.response.status_code` (`OK`, `DEADLINE_EXCEEDED`, …, as
/// gRPC spells its codes).
final class RPCCallMetrics: Sendable {
    /// Which side of the call the instruments describe: `server` or `client`.
    enum Side: String, Sendable {
        case server
        case client
    }

    /// The instruments recorded per message, which do not depend on the status.
    struct MessageInstruments: Sendable {
        let requestSize: Recorder
        let responseSize: Recorder
    }

    /// The instruments recorded when a call ends.
    struct OutcomeInstruments: Sendable {
        let duration: Timer
        let requestsPerCall: Recorder
        let responsesPerCall: Recorder
    }

    private struct OutcomeKey: Hashable {
        let method: String
        let code: UInt64
    }

    private let side: Side
    private let naming: MetricsNaming
    private let factory: any MetricsFactory
    private let messageInstruments = Mutex<[String: MessageInstruments]>([:])
    private let outcomeInstruments = Mutex<[OutcomeKey: OutcomeInstruments]>([:])

    init(side: Side, naming: MetricsNaming, factory: any MetricsFactory) {
        self.side = side
        self.naming = naming
        self.factory = factory
    }

    /// The per-message instruments of `method`.
    func messages(of method: String) -> MessageInstruments {
        if let cached = messageInstruments.withLock({ $0[method] }) { return cached }
        let dimensions = Self.dimensions(method: method)
        let created = MessageInstruments(
            requestSize: Recorder(label: label("request.size"), dimensions: dimensions, factory: factory),
            responseSize: Recorder(label: label("response.size"), dimensions: dimensions, factory: factory))
        return messageInstruments.withLock { $0[method, default: created] }
    }

    /// The instruments of `method`'s calls that ended with `code`.
    func outcome(of method: String, code: RPCStatus.Code) -> OutcomeInstruments {
        let key = OutcomeKey(method: method, code: code.rawValue)
        if let cached = outcomeInstruments.withLock({ $0[key] }) { return cached }
        let dimensions = Self.dimensions(method: method) + [("rpc.response.status_code", code.conventionalName)]
        let created = OutcomeInstruments(
            duration: Timer(label: label("call.duration"), dimensions: dimensions, factory: factory),
            requestsPerCall: Recorder(label: label("requests_per_rpc"), dimensions: dimensions, factory: factory),
            responsesPerCall: Recorder(label: label("responses_per_rpc"), dimensions: dimensions, factory: factory))
        return outcomeInstruments.withLock { $0[key, default: created] }
    }

    /// Records the end of one call of `method`: its duration and how many messages went each way.
    func record(
        _ method: String, _ code: RPCStatus.Code, duration: Duration, messages: MessageTally
    ) {
        let instruments = outcome(of: method, code: code)
        instruments.duration.record(duration: duration)
        instruments.requestsPerCall.record(messages.requests)
        instruments.responsesPerCall.record(messages.responses)
    }

    private func label(_ name: String) -> String {
        naming.label("rpc.\(side.rawValue).\(name)")
    }

    private static func dimensions(method: String) -> [(String, String)] {
        [("rpc.system.name", "rpcnet"), ("rpc.method", method)]
    }
}

/// Counts one call's messages each way while it runs, for the per-call instruments: one
/// allocation per call for both directions.
final class MessageTally: Sendable {
    private let requestCount = Atomic<Int>(0)
    private let responseCount = Atomic<Int>(0)

    func countRequest() { requestCount.add(1, ordering: .relaxed) }
    func countResponse() { responseCount.add(1, ordering: .relaxed) }
    var requests: Int { requestCount.load(ordering: .relaxed) }
    var responses: Int { responseCount.load(ordering: .relaxed) }
}

extension RPCStatus.Code {
    /// The code's name as gRPC spells it (`OK`, `DEADLINE_EXCEEDED`): the value of
    /// `rpc.response.status_code` in metrics and spans.
    public var conventionalName: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        default: "\(rawValue)"
        }
    }
}
