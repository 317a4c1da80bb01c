import CRpcNet

/// What a ``QUICConnection`` needs from the endpoint that owns its socket, and nothing more: the
/// stateless-reset secret, and a way to tell the endpoint what it tracks (routes, handshakes,
/// lifetimes, a full socket). Called on the loop thread only.
protocol QUICConnectionHost: AnyObject, Sendable {
    /// Derives the stateless-reset token of `cid` from the endpoint's secret (RFC 9000 §10.3.2).
    func statelessResetToken(for cid: ngtcp2_cid, into token: UnsafeMutablePointer<UInt8>)
    /// Something the endpoint keeps track of happened to `connection`.
    func connection(_ connection: QUICConnection, did event: QUICConnectionEvent)
}

/// What a connection tells its ``QUICConnectionHost``.
enum QUICConnectionEvent {
    /// The handshake completed: a server connection can be handed to the application.
    case establishedHandshake
    /// The connection ended before its handshake completed, for `reason`.
    case failedHandshake(CloseReason)
    /// ngtcp2 issued a connection ID for the peer to use: datagrams carrying it go to this
    /// connection.
    case issuedID(ConnectionID)
    /// The peer retired a connection ID: it no longer routes here.
    case retiredID(ConnectionID)
    /// The socket's send buffer is full: flush the connection again once it is writable.
    case blockedOnSocket
    /// The connection released its state and must be forgotten.
    case terminated
}

/// What every connection of an endpoint writes its packets with: the endpoint's socket, its
/// packet batch and scratch vectors (shared, since only one connection flushes at a time on the
/// loop thread), and its metrics.
struct QUICPacketOutput {
    /// The endpoint's UDP socket.
    let socket: UDPSocket
    /// Packets being built for one `sendmsg` (loop thread only).
    let batch: PacketBatch
    /// Scratch `ngtcp2_vec`s for one `writev_stream` call (loop thread only).
    let vectors: UnsafeMutablePointer<ngtcp2_vec>
    /// How many `vectors` there are.
    let vectorCount: Int
    /// The endpoint's swift-metrics instruments (`rpcnet.quic.*`).
    let metrics: QUICMetrics
}
