import CRpcNet
import Glibc

/// GnuTLS credentials for one role (client or server) of an endpoint, and the factory of the
/// per-connection TLS sessions that ngtcp2 drives. Loop-thread only.
final class TLSContext {
    /// TLS 1.3 only, AEADs QUIC defines (RFC 9001 §5.3), no middlebox compatibility mode (RFC 9001 §8.4).
    private static let priority =
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
        + "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%DISABLE_TLS13_COMPAT_MODE"

    let isServer: Bool
    private let credentials: gnutls_certificate_credentials_t
    /// ``priority``, parsed once rather than for every session.
    private let priorities: gnutls_priority_t
    /// Server with resumption: the key session tickets are sealed with (GnuTLS rotates keys
    /// derived from it); a restarted server has a new one, so old tickets fall back to a full
    /// handshake.
    private var ticketKey = gnutls_datum_t()
    /// Client with resumption: the tickets servers issued.
    private var tickets: SessionTicketCache?
    private let applicationProtocols: [String]
    private let requireClientCertificate: Bool
    private let offersApplicationProtocols: Bool

    init(configuration: QUICConfiguration, isServer: Bool) throws(TransportError) {
        self.isServer = isServer
        self.applicationProtocols = configuration.applicationProtocols
        self.requireClientCertificate = isServer && configuration.requireClientCertificate
        self.offersApplicationProtocols = isServer || configuration.offersApplicationProtocols
        var credentials: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&credentials) == GNUTLS_E_SUCCESS, let credentials else {
            throw .invalidConfiguration("GnuTLS could not allocate credentials")
        }
        self.credentials = credentials
        var priorities: gnutls_priority_t?
        guard gnutls_priority_init(&priorities, Self.priority, nil) == GNUTLS_E_SUCCESS, let priorities else {
            gnutls_certificate_free_credentials(credentials)
            throw .invalidConfiguration("GnuTLS refused the priority string \(Self.priority)")
        }
        self.priorities = priorities
        if configuration.sessionResumption {
            if isServer {
                _ = gnutls_session_ticket_key_generate(&ticketKey)
            } else {
                tickets = SessionTicketCache()
            }
        }
        // Every stored property is set: from here a throw runs deinit, which frees the credentials.
        if let chain = configuration.certificateChainFile, let key = configuration.privateKeyFile {
            try Self.checkReadable(chain, what: "certificate chain")
            try Self.checkReadable(key, what: "private key")
            let result = gnutls_certificate_set_x509_key_file(credentials, chain, key, GNUTLS_X509_FMT_PEM)
            guard result >= 0 else {
                throw .invalidConfiguration(
                    "cannot load certificate \(chain) with key \(key): \(String(cString: gnutls_strerror(result)))")
            }
        }
        switch configuration.trustRoots {
        case .system:
            let result = gnutls_certificate_set_x509_system_trust(credentials)
            guard result >= 0 else {
                throw .invalidConfiguration(
                    "cannot load the system trust store: \(String(cString: gnutls_strerror(result)))")
            }
        case .file(let path):
            try Self.checkReadable(path, what: "trusted CA file")
            let result = gnutls_certificate_set_x509_trust_file(credentials, path, GNUTLS_X509_FMT_PEM)
            guard result > 0 else {
                throw .invalidConfiguration("no CA certificate could be loaded from \(path)")
            }
        }
    }

    deinit {
        gnutls_certificate_free_credentials(credentials)
        gnutls_priority_deinit(priorities)
        if let key = ticketKey.data {
            gnutls_memset(key, 0, Int(ticketKey.size))
            rpcnet_gnutls_free(key)
        }
    }

    private static func checkReadable(_ path: String, what: String) throws(TransportError) {
        guard access(path, R_OK) == 0 else {
            throw .invalidConfiguration("\(what) \(path) is not readable: \(String(cString: strerror(errno)))")
        }
    }

    /// Creates a session set up for ngtcp2, in the order GnuTLS and ngtcp2's helper need:
    /// priorities, the QUIC hooks, the connection reference, credentials, ALPN, then (client)
    /// server name and certificate verification, or (server) the client-certificate policy.
    /// `serverName` must stay valid for the session's lifetime: GnuTLS keeps the pointer. A
    /// client with resumption offers the ticket stored for `ticketKey`, if any.
    func makeSession(
        connectionReference: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>, serverName: UnsafePointer<CChar>?,
        ticketKey key: String? = nil
    ) throws(TransportError) -> gnutls_session_t {
        var session: gnutls_session_t?
        // A client offers one key share, for the first group of ``priority`` (X25519), not
        // GnuTLS's default of two (X25519 and P-256): generating the P-256 share is a scalar
        // multiplication per handshake the server, which supports X25519, never uses. A server
        // that does not answers with a HelloRetryRequest (RFC 8446 §4.1.4) and the handshake
        // still completes, one round trip later.
        let role = isServer ? GNUTLS_SERVER.rawValue : GNUTLS_CLIENT.rawValue | GNUTLS_KEY_SHARE_TOP.rawValue
        let flags = role | GNUTLS_NO_END_OF_EARLY_DATA.rawValue
        guard gnutls_init(&session, flags) == GNUTLS_E_SUCCESS, let session else {
            throw .invalidConfiguration("GnuTLS could not create a session")
        }
        do throws(TransportError) {
            try check(gnutls_priority_set(session, priorities), "gnutls_priority_set")
            let configured =
                isServer
                ? ngtcp2_crypto_gnutls_configure_server_session(session)
                : ngtcp2_crypto_gnutls_configure_client_session(session)
            guard configured == 0 else { throw .invalidConfiguration("ngtcp2 could not configure the TLS session") }
            gnutls_session_set_ptr(session, connectionReference)
            try check(
                gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials)),
                "gnutls_credentials_set")
            if offersApplicationProtocols { try setApplicationProtocols(session) }
            if isServer {
                // GNUTLS_ALPN_MANDATORY only refuses a ClientHello whose ALPN extension names no
                // protocol of ours; one without the extension is refused here, before the
                // ServerHello (RFC 9001 §8.1).
                gnutls_handshake_set_hook_function(
                    session, UInt32(GNUTLS_HANDSHAKE_SERVER_HELLO.rawValue), GNUTLS_HOOK_PRE, tlsRequireALPN)
                if requireClientCertificate {
                    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE)
                    gnutls_session_set_verify_cert(session, nil, 0)
                }
                if ticketKey.data != nil {
                    try check(
                        gnutls_session_ticket_enable_server(session, &ticketKey), "gnutls_session_ticket_enable_server")
                }
            } else if let serverName {
                // SNI carries DNS names only (RFC 6066 §3); an IP literal is still verified
                // against the certificate's IP address entries.
                if !Self.isIPLiteral(String(cString: serverName)) {
                    try check(
                        gnutls_server_name_set(session, GNUTLS_NAME_DNS, serverName, strlen(serverName)),
                        "gnutls_server_name_set")
                }
                gnutls_session_set_verify_cert(session, serverName, 0)
            }
            if !isServer, tickets != nil {
                gnutls_handshake_set_hook_function(
                    session, UInt32(GNUTLS_HANDSHAKE_NEW_SESSION_TICKET.rawValue), GNUTLS_HOOK_POST,
                    tlsSessionTicketReceived)
                // A ticket GnuTLS cannot use only costs the full handshake it would have had.
                if let key, var ticket = tickets?.take(for: key) {
                    _ = gnutls_session_set_data(session, &ticket, ticket.count)
                }
            }
        } catch {
            gnutls_deinit(session)
            throw error
        }
        return session
    }

    private func setApplicationProtocols(_ session: gnutls_session_t) throws(TransportError) {
        // GnuTLS copies the protocol names into the session.
        var storage = applicationProtocols.map { Array($0.utf8) }
        let result = storage.withUnsafeMutableBufferPointer { names in
            var datums = names.indices.map { index in
                names[index].withUnsafeMutableBufferPointer {
                    gnutls_datum_t(data: $0.baseAddress, size: UInt32($0.count))
                }
            }
            return gnutls_alpn_set_protocols(
                session, &datums, UInt32(datums.count), UInt32(GNUTLS_ALPN_MANDATORY.rawValue))
        }
        try check(result, "gnutls_alpn_set_protocols")
    }

    private func check(_ result: Int32, _ operation: String) throws(TransportError) {
        guard result >= 0 else {
            throw .invalidConfiguration("\(operation): \(String(cString: gnutls_strerror(result)))")
        }
    }

    static func isIPLiteral(_ name: String) -> Bool {
        (try? SocketAddress(ip: name, port: 0)) != nil && name != "localhost"
    }

    /// Explains a handshake that failed on this side, from the session's verification status
    /// and the TLS alert ngtcp2 recorded.
    func classifyLocalFailure(session: gnutls_session_t, alert: UInt8, hadPeerCertificate: Bool) -> TLSFailure {
        let status = gnutls_session_get_verify_cert_status(session)
        if status != 0 {
            if status & GNUTLS_CERT_UNEXPECTED_OWNER.rawValue != 0 { return .hostnameMismatch }
            if status & (GNUTLS_CERT_EXPIRED.rawValue | GNUTLS_CERT_NOT_ACTIVATED.rawValue) != 0 {
                return .certificateExpired
            }
            if status & (GNUTLS_CERT_SIGNER_NOT_FOUND.rawValue | GNUTLS_CERT_SIGNER_NOT_CA.rawValue) != 0 {
                return .untrustedCertificate
            }
            return .certificateRejected(status: status)
        }
        if isServer, requireClientCertificate, !hadPeerCertificate, alert == 116 || alert == 40 || alert == 42 {
            return .clientCertificateMissing
        }
        if alert == 120 { return .noApplicationProtocol }
        return .local(alert: alert, message: "")
    }

    /// A client's session received a ticket from the server `key`: keeps its resumption data.
    func storeTicket(of session: gnutls_session_t, for key: String) {
        var data = gnutls_datum_t()
        guard tickets != nil, gnutls_session_get_data2(session, &data) == GNUTLS_E_SUCCESS, let bytes = data.data
        else { return }
        tickets?.store(Array(UnsafeBufferPointer(start: bytes, count: Int(data.size))), for: key)
        gnutls_memset(bytes, 0, Int(data.size))
        rpcnet_gnutls_free(bytes)
    }

    /// Whether the peer presented a certificate.
    static func peerPresentedCertificate(_ session: gnutls_session_t) -> Bool {
        var count: UInt32 = 0
        return gnutls_certificate_get_peers(session, &count) != nil && count > 0
    }

    /// The application protocol negotiated on `session`, if any.
    static func negotiatedProtocol(_ session: gnutls_session_t) -> String? {
        var datum = gnutls_datum_t()
        guard gnutls_alpn_get_selected_protocol(session, &datum) == GNUTLS_E_SUCCESS, let data = datum.data else {
            return nil
        }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(datum.size)), as: UTF8.self)
    }
}

/// Before a server sends its ServerHello, the ClientHello was processed: fails the handshake
/// with `GNUTLS_E_NO_APPLICATION_PROTOCOL` (sent as TLS alert 120, QUIC CRYPTO_ERROR 0x178) when
/// no application protocol was negotiated, which is the case of a client without ALPN.
private let tlsRequireALPN: gnutls_handshake_hook_func = { session, _, _, incoming, _ in
    guard let session, incoming == 0 else { return 0 }
    var datum = gnutls_datum_t()
    guard gnutls_alpn_get_selected_protocol(session, &datum) == GNUTLS_E_SUCCESS, datum.size > 0 else {
        return GNUTLS_E_NO_APPLICATION_PROTOCOL
    }
    return 0
}
