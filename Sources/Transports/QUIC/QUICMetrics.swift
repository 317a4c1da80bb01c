import CoreMetrics
import Synchronization

/// The swift-metrics instruments of one QUIC endpoint, dimensioned by its local address
/// (`endpoint`) and named `rpcnet.quic.<what>` through the configuration's ``MetricsNaming``:
///
/// | instrument | type | dimensions | counts |
/// | --- | --- | --- | --- |
/// | `rpcnet.quic.connections` | Gauge | | connections held: handshaking, open, closing or draining |
/// | `rpcnet.quic.handshakes` | Counter | `outcome`: completed, failed; `reason` when failed | handshakes as they end |
/// | `rpcnet.quic.connections.refused` | Counter | | Initials refused: connection limit or accept backlog full |
/// | `rpcnet.quic.retries` | Counter | | Retry packets sent to make a client prove its address (RFC 9000 §8.1) |
/// | `rpcnet.quic.streams` | Counter | `initiator`: local, peer | streams opened |
/// | `rpcnet.quic.datagrams.sent`, `.received` | Counter | | UDP datagrams (QUIC packets coalesced by GSO count once each) |
/// | `rpcnet.quic.bytes.sent`, `.received` | Counter | | UDP payload bytes |
/// | `rpcnet.quic.packets.lost` | Counter | | packets carrying stream data that ngtcp2 declared lost (RFC 9002 §6), summed per stream when it closes |
final class QUICMetrics: Sendable {
    let connections: Gauge
    let handshakesCompleted: Counter
    let refused: Counter
    let retries: Counter
    let localStreams: Counter
    let peerStreams: Counter
    let datagramsSent: Counter
    let datagramsReceived: Counter
    let bytesSent: Counter
    let bytesReceived: Counter
    let packetsLost: Counter
    private let handshakeFailures = Mutex<[String: Counter]>([:])
    private let naming: MetricsNaming
    private let factory: any MetricsFactory
    private let endpoint: [(String, String)]

    init(endpoint address: SocketAddress, naming: MetricsNaming, factory: any MetricsFactory) {
        self.naming = naming
        self.factory = factory
        let endpoint = [("endpoint", "\(address)")]
        self.endpoint = endpoint
        func counter(_ name: String, _ extra: [(String, String)] = []) -> Counter {
            Counter(label: naming.label("rpcnet.quic.\(name)"), dimensions: endpoint + extra, factory: factory)
        }
        connections = Gauge(label: naming.label("rpcnet.quic.connections"), dimensions: endpoint, factory: factory)
        handshakesCompleted = counter("handshakes", [("outcome", "completed")])
        refused = counter("connections.refused")
        retries = counter("retries")
        localStreams = counter("streams", [("initiator", "local")])
        peerStreams = counter("streams", [("initiator", "peer")])
        datagramsSent = counter("datagrams.sent")
        datagramsReceived = counter("datagrams.received")
        bytesSent = counter("bytes.sent")
        bytesReceived = counter("bytes.received")
        packetsLost = counter("packets.lost")
    }

    /// Counts a handshake that ended with `reason` before completing.
    func handshakeFailed(_ reason: CloseReason) {
        let label = reason.metricLabel
        let counter = handshakeFailures.withLock { counters in
            if let existing = counters[label] { return existing }
            let created = Counter(
                label: naming.label("rpcnet.quic.handshakes"),
                dimensions: endpoint + [("outcome", "failed"), ("reason", label)], factory: factory)
            counters[label] = created
            return created
        }
        counter.increment()
    }
}

extension CloseReason {
    /// A short, bounded name for why a handshake failed: the `reason` dimension.
    var metricLabel: String {
        switch self {
        case .handshakeFailed(let failure):
            switch failure {
            case .untrustedCertificate: "tls.untrusted_certificate"
            case .hostnameMismatch: "tls.hostname_mismatch"
            case .certificateExpired: "tls.certificate_expired"
            case .clientCertificateMissing: "tls.client_certificate_missing"
            case .certificateRejected: "tls.certificate_rejected"
            case .noApplicationProtocol: "tls.no_application_protocol"
            case .peerAlert: "tls.peer_alert"
            case .local: "tls.local"
            }
        case .handshakeTimeout: "timeout"
        case .idleTimeout: "idle_timeout"
        case .local: "closed_locally"
        case .peer: "closed_by_peer"
        case .transportError: "transport_error"
        case .statelessReset: "stateless_reset"
        case .reactorShutdown: "reactor_shutdown"
        case .endpointClosed: "endpoint_closed"
        case .unreachable: "unreachable"
        }
    }
}
