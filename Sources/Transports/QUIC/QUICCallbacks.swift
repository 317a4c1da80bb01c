import CRpcNet

// ngtcp2 callbacks: nonisolated top-level thunks that recover the connection from `user_data`
// and call one method on it. They run on the loop thread, inside ngtcp2 calls made by the
// connection, so the connection is alive for their duration.

private func connection(_ userData: UnsafeMutableRawPointer?) -> QUICConnection {
    Unmanaged<QUICConnection>.fromOpaque(userData!).takeUnretainedValue()
}

let quicGetConnection: ngtcp2_crypto_get_conn = { reference in
    connection(reference!.pointee.user_data).connectionPointer()
}

let quicRecvStreamData: ngtcp2_recv_stream_data = { _, flags, streamID, _, data, length, userData, _ in
    connection(userData).onStreamData(
        id: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length),
        fin: flags & UInt32(NGTCP2_STREAM_DATA_FLAG_FIN) != 0)
    return 0
}

let quicAckedStreamDataOffset: ngtcp2_acked_stream_data_offset = { _, streamID, offset, length, userData, _ in
    connection(userData).onAcked(id: streamID, upTo: offset + UInt64(length))
    return 0
}

let quicStreamOpen: ngtcp2_stream_open = { _, streamID, userData in
    connection(userData).onStreamOpen(id: streamID)
    return 0
}

let quicStreamClose: ngtcp2_stream_close = { _, flags, streamID, code, userData, _ in
    let hasCode = flags & UInt32(NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0
    connection(userData).onStreamClose(id: streamID, code: hasCode ? code : nil)
    return 0
}

let quicStreamReset: ngtcp2_stream_reset = { _, streamID, _, code, userData, _ in
    connection(userData).onStreamReset(id: streamID, code: code)
    return 0
}

let quicExtendMaxLocalStreamsBidi: ngtcp2_extend_max_streams = { _, _, userData in
    connection(userData).onStreamCreditAvailable()
    return 0
}

let quicExtendMaxStreamData: ngtcp2_extend_max_stream_data = { _, streamID, _, userData, _ in
    connection(userData).onStreamUnblocked(id: streamID)
    return 0
}

let quicHandshakeCompleted: ngtcp2_handshake_completed = { _, userData in
    connection(userData).onHandshakeCompleted()
    return 0
}

let quicHandshakeConfirmed: ngtcp2_handshake_confirmed = { _, userData in
    connection(userData).onHandshakeConfirmed()
    return 0
}

let quicRand: ngtcp2_rand = { destination, length, _ in
    _ = gnutls_rnd(GNUTLS_RND_NONCE, destination, length)
}

let quicGetNewConnectionID: ngtcp2_get_new_connection_id = { _, cid, token, length, userData in
    guard let cid, let token, gnutls_rnd(GNUTLS_RND_NONCE, &cid.pointee.data, length) == 0 else {
        return NGTCP2_ERR_CALLBACK_FAILURE
    }
    cid.pointee.datalen = length
    connection(userData).onNewConnectionID(cid.pointee, token: token)
    return 0
}

let quicRemoveConnectionID: ngtcp2_remove_connection_id = { _, cid, userData in
    if let cid { connection(userData).onRetiredConnectionID(cid.pointee) }
    return 0
}

let quicLogSink: rpcnet_log_sink = { userData, line in
    guard let userData, let line else { return }
    connection(userData).logDebugLine(String(cString: line))
}

let quicRecvStatelessReset: ngtcp2_recv_stateless_reset = { _, _, userData in
    connection(userData).onStatelessReset()
    return 0
}
