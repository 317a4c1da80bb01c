// ngtcp2 0.12 glue: the versioned macros as functions, the crypto callback table, and the
// variadic log callback turned into plain lines.
#include "CRpcNet.h"

#include <stdarg.h>
#include <stdio.h>

void rpcnet_ngtcp2_settings_default(ngtcp2_settings *settings) { ngtcp2_settings_default(settings); }

void rpcnet_ngtcp2_transport_params_default(ngtcp2_transport_params *params) {
  ngtcp2_transport_params_default(params);
}

int rpcnet_ngtcp2_conn_client_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid,
                                  const ngtcp2_cid *scid, const ngtcp2_path *path,
                                  uint32_t version, const ngtcp2_callbacks *callbacks,
                                  const ngtcp2_settings *settings,
                                  const ngtcp2_transport_params *params, void *user_data) {
  return ngtcp2_conn_client_new(pconn, dcid, scid, path, version, callbacks, settings, params,
                                NULL, user_data);
}

int rpcnet_ngtcp2_conn_server_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid,
                                  const ngtcp2_cid *scid, const ngtcp2_path *path,
                                  uint32_t version, const ngtcp2_callbacks *callbacks,
                                  const ngtcp2_settings *settings,
                                  const ngtcp2_transport_params *params, void *user_data) {
  return ngtcp2_conn_server_new(pconn, dcid, scid, path, version, callbacks, settings, params,
                                NULL, user_data);
}

int rpcnet_ngtcp2_conn_read_pkt(ngtcp2_conn *conn, const ngtcp2_path *path, const uint8_t *pkt,
                                size_t pktlen, ngtcp2_tstamp ts) {
  ngtcp2_pkt_info pi = {0};
  return ngtcp2_conn_read_pkt(conn, path, &pi, pkt, pktlen, ts);
}

ngtcp2_ssize rpcnet_ngtcp2_conn_writev_stream(ngtcp2_conn *conn, ngtcp2_path *path, uint8_t *dest,
                                              size_t destlen, ngtcp2_ssize *pdatalen,
                                              uint32_t flags, int64_t stream_id,
                                              const ngtcp2_vec *datav, size_t datavcnt,
                                              ngtcp2_tstamp ts) {
  ngtcp2_pkt_info pi;
  return ngtcp2_conn_writev_stream(conn, path, &pi, dest, destlen, pdatalen, flags, stream_id,
                                   datav, datavcnt, ts);
}

ngtcp2_ssize rpcnet_ngtcp2_conn_write_connection_close(ngtcp2_conn *conn, ngtcp2_path *path,
                                                       uint8_t *dest, size_t destlen,
                                                       const ngtcp2_connection_close_error *ccerr,
                                                       ngtcp2_tstamp ts) {
  ngtcp2_pkt_info pi;
  return ngtcp2_conn_write_connection_close(conn, path, &pi, dest, destlen, ccerr, ts);
}

void rpcnet_ngtcp2_callbacks_init(ngtcp2_callbacks *cb, int is_server) {
  *cb = (ngtcp2_callbacks){0};
  if (is_server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
}

static rpcnet_log_sink log_sink;

static void log_printf(void *user_data, const char *format, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  rpcnet_log_sink sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
  if (sink != NULL) sink(user_data, line);
}

void rpcnet_ngtcp2_enable_log(ngtcp2_settings *settings, rpcnet_log_sink sink) {
  __atomic_store_n(&log_sink, sink, __ATOMIC_RELEASE);
  settings->log_printf = log_printf;
}

void rpcnet_gnutls_free(void *data) { gnutls_free(data); }
