import CRpcNet
import DequeModule

/// A client's TLS 1.3 session tickets (RFC 8446 §4.6.1), the latest one per server, each used
/// once: resuming with one skips the server's certificate signature and the client's chain
/// verification, the costly part of a handshake (RFC 8446 §2.2). Tickets are keyed by server
/// name and address, so a ticket is only offered to the server that issued it. At most
/// ``capacity`` servers are remembered; the least recently stored is forgotten first. Owned by
/// its ``TLSContext`` (loop thread).
struct SessionTicketCache {
    /// Servers remembered at most.
    static let capacity = 256

    private var tickets: [String: [UInt8]] = [:]
    private var order: Deque<String> = []

    /// The key of the server `serverName` at `address`.
    static func key(serverName: String, address: SocketAddress) -> String {
        "\(serverName) \(address)"
    }

    /// Stores `ticket` (GnuTLS's resumption data) for the server `key`, replacing an older one.
    mutating func store(_ ticket: [UInt8], for key: String) {
        if tickets.updateValue(ticket, forKey: key) != nil, let index = order.firstIndex(of: key) {
            order.remove(at: index)
        }
        order.append(key)
        if order.count > Self.capacity, let oldest = order.popFirst() { tickets[oldest] = nil }
    }

    /// Takes the ticket stored for `key`: a ticket is used once (RFC 8446 §C.4).
    mutating func take(for key: String) -> [UInt8]? {
        guard let ticket = tickets.removeValue(forKey: key) else { return nil }
        if let index = order.firstIndex(of: key) { order.remove(at: index) }
        return ticket
    }
}

/// After a client received a NewSessionTicket: stores the session's resumption data with the
/// connection's ``TLSContext``. Runs on the loop thread, inside ngtcp2's crypto callback.
let tlsSessionTicketReceived: gnutls_handshake_hook_func = { session, _, _, incoming, _ in
    guard let session, incoming != 0, let reference = gnutls_session_get_ptr(session) else { return 0 }
    let connectionReference = reference.assumingMemoryBound(to: ngtcp2_crypto_conn_ref.self)
    guard let connection = connectionReference.pointee.user_data else { return 0 }
    Unmanaged<QUICConnection>.fromOpaque(connection).takeUnretainedValue().sessionTicketReceived(session)
    return 0
}
