import CRpcNet
import Glibc

extension QUICConnection {
    /// Builds the ngtcp2 state of a client connection (loop thread).
    func startClient() throws(TransportError) {
        let dcid = ConnectionID.random()
        let scid = ConnectionID.random()
        var callbacks = makeCallbacks()
        var settings = makeSettings()
        var params = makeTransportParameters()
        var created: OpaquePointer?
        let result = rpcnet_ngtcp2_conn_client_new(
            &created, [dcid], [scid], &path, UInt32(NGTCP2_PROTO_VER_V1), &callbacks, &settings, &params,
            Unmanaged.passUnretained(self).toOpaque())
        guard result == 0, let created else {
            throw .invalidConfiguration("ngtcp2_conn_client_new: \(String(cString: ngtcp2_strerror(result)))")
        }
        try attachSession(to: created, serverName: serverName)
        routedIDs.insert(ConnectionID(scid))
    }

    /// Builds the ngtcp2 state of a connection a client opened with `header`'s Initial packet
    /// (loop thread); `originalDCID` is set when the client came back with a valid Retry token.
    func startServer(header: ngtcp2_pkt_hd, originalDCID: ngtcp2_cid? = nil) throws(TransportError) {
        let scid = ConnectionID.random()
        var callbacks = makeCallbacks()
        var settings = makeSettings()
        var params = makeTransportParameters()
        if let originalDCID {
            // After a Retry the client's DCID is the ID we chose for the Retry (RFC 9000 §7.3).
            params.original_dcid = originalDCID
            params.retry_scid = header.dcid
            params.retry_scid_present = 1
        } else {
            params.original_dcid = header.dcid
        }
        params.stateless_reset_token_present = 1
        withUnsafeMutableBytes(of: &params.stateless_reset_token) { token in
            host.statelessResetToken(for: scid, into: token.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        var clientSCID = header.scid
        var created: OpaquePointer?
        let result = rpcnet_ngtcp2_conn_server_new(
            &created, &clientSCID, [scid], &path, header.version, &callbacks, &settings, &params,
            Unmanaged.passUnretained(self).toOpaque())
        guard result == 0, let created else {
            throw .invalidConfiguration("ngtcp2_conn_server_new: \(String(cString: ngtcp2_strerror(result)))")
        }
        try attachSession(to: created, serverName: nil)
        routedIDs.insert(ConnectionID(scid))
        routedIDs.insert(ConnectionID(header.dcid))
    }

    /// Gives `conn` its TLS session and timer and enters the handshake; frees `conn` if the
    /// session cannot be made.
    private func attachSession(to conn: OpaquePointer, serverName: String?) throws(TransportError) {
        let verifiedName = serverName.flatMap { strdup($0) }
        if serverName != nil, verifiedName == nil {
            // Without the name the server's certificate would go unverified: refuse.
            ngtcp2_conn_del(conn)
            throw .invalidConfiguration("out of memory for the server name")
        }
        let session: gnutls_session_t
        do {
            session = try tls.makeSession(
                connectionReference: connectionReference, serverName: verifiedName, ticketKey: ticketKey)
        } catch {
            ngtcp2_conn_del(conn)
            free(verifiedName)
            throw error
        }
        ngtcp2_conn_set_tls_native_handle(conn, UnsafeMutableRawPointer(session))
        if let keepAlive = configuration.keepAliveInterval {
            ngtcp2_conn_set_keep_alive_timeout(conn, UInt64(keepAlive.nanoseconds))
        }
        let timer = ReactorTimer(reactor: reactor) { [unowned self] in handleTimer() }
        phase = .handshaking(
            NativeState(conn: conn, session: session, verifiedName: verifiedName, timer: timer))
    }

    private func makeSettings() -> ngtcp2_settings {
        var settings = ngtcp2_settings()
        rpcnet_ngtcp2_settings_default(&settings)
        settings.initial_ts = rpcnet_monotonic_ns()
        settings.max_tx_udp_payload_size = configuration.maxUDPPayloadSize
        settings.no_tx_udp_payload_size_shaping = configuration.maxUDPPayloadSize > 1452 ? 1 : 0
        settings.max_window = configuration.maxConnectionReceiveWindow
        settings.max_stream_window = configuration.maxStreamReceiveWindow
        settings.handshake_timeout = UInt64(configuration.handshakeTimeout.nanoseconds)
        settings.initial_rtt = UInt64(configuration.initialRTT.nanoseconds)
        if configuration.debugLogging {
            rpcnet_ngtcp2_enable_log(&settings, quicLogSink)
        }
        return settings
    }

    private func makeTransportParameters() -> ngtcp2_transport_params {
        var params = ngtcp2_transport_params()
        rpcnet_ngtcp2_transport_params_default(&params)
        params.initial_max_stream_data_bidi_local = configuration.streamReceiveWindow
        params.initial_max_stream_data_bidi_remote = configuration.streamReceiveWindow
        params.initial_max_data = configuration.connectionReceiveWindow
        params.initial_max_streams_bidi = configuration.maxConcurrentStreams
        params.initial_max_streams_uni = 0
        params.max_idle_timeout = UInt64(configuration.idleTimeout.nanoseconds)
        params.max_udp_payload_size = UInt64(configuration.maxUDPPayloadSize)
        params.active_connection_id_limit = 4
        return params
    }

    /// ngtcp2's crypto callbacks for this side, and this connection's event callbacks.
    private func makeCallbacks() -> ngtcp2_callbacks {
        var callbacks = ngtcp2_callbacks()
        rpcnet_ngtcp2_callbacks_init(&callbacks, isServer ? 1 : 0)
        callbacks.recv_stream_data = quicRecvStreamData
        callbacks.acked_stream_data_offset = quicAckedStreamDataOffset
        callbacks.stream_open = quicStreamOpen
        callbacks.stream_close = quicStreamClose
        callbacks.stream_reset = quicStreamReset
        callbacks.extend_max_local_streams_bidi = quicExtendMaxLocalStreamsBidi
        callbacks.extend_max_stream_data = quicExtendMaxStreamData
        callbacks.handshake_completed = quicHandshakeCompleted
        callbacks.handshake_confirmed = quicHandshakeConfirmed
        callbacks.rand = quicRand
        callbacks.get_new_connection_id = quicGetNewConnectionID
        callbacks.remove_connection_id = quicRemoveConnectionID
        callbacks.recv_stateless_reset = quicRecvStatelessReset
        return callbacks
    }
}
