// CRpcNet: the C glue RpcNet needs from libev, ngtcp2 0.12 and GnuTLS.
//
// Only what Swift cannot express lives here: libev's function-like macros, ngtcp2's versioned
// macros, the variadic log callback, and the cmsg plumbing of batched UDP I/O. No policy: every
// decision (when to read, write, close, what to log) is taken in Swift.
#ifndef CRPCNET_H
#define CRPCNET_H

#if !defined(__linux__)
#error "RpcNet builds on Linux only (recvmmsg/sendmmsg, UDP GSO/GRO, the socket error queue): README, Platforms"
#endif

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
// libev has no pkg-config file on Debian: including its system-library module's header makes every
// Swift module that imports CRpcNet link -lev (the module map's `link`; System/CLibev).
#include "../System/CLibev/CLibev.h"

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - libev

/// An opaque libev loop.
typedef struct rpcnet_loop rpcnet_loop;
/// A watcher callback: `context` is the pointer given at creation, `revents` libev's event mask.
typedef void (*rpcnet_watcher_cb)(void *context, int revents);

/// Creates a new (non-default) libev loop; NULL on failure.
rpcnet_loop *rpcnet_loop_new(void);
/// Destroys a loop created by `rpcnet_loop_new`; every watcher must have been stopped.
void rpcnet_loop_destroy(rpcnet_loop *loop);
/// Runs the loop: `flags` 0 (until ev_break / no active watchers), 1 (EVRUN_NOWAIT), 2 (EVRUN_ONCE).
int rpcnet_loop_run(rpcnet_loop *loop, int flags);
/// Makes the innermost `rpcnet_loop_run` return (EVBREAK_ALL).
void rpcnet_loop_break(rpcnet_loop *loop);

/// Event mask bits (EV_READ, EV_WRITE).
enum { RPCNET_EV_READ = 1, RPCNET_EV_WRITE = 2 };

/// An I/O watcher on a file descriptor.
typedef struct rpcnet_io rpcnet_io;
rpcnet_io *rpcnet_io_new(int fd, int events, rpcnet_watcher_cb cb, void *context);
void rpcnet_io_start(rpcnet_loop *loop, rpcnet_io *w);
void rpcnet_io_stop(rpcnet_loop *loop, rpcnet_io *w);
/// Changes the watched events; the watcher must be stopped.
void rpcnet_io_set_events(rpcnet_io *w, int events);
void rpcnet_io_free(rpcnet_io *w);
/// Sets the context passed to the callback.
void rpcnet_io_set_context(rpcnet_io *w, void *context);

/// A timer watcher (one-shot unless restarted).
typedef struct rpcnet_timer rpcnet_timer;
rpcnet_timer *rpcnet_timer_new(rpcnet_watcher_cb cb, void *context);
/// (Re)arms the timer to fire once after `seconds`, replacing any earlier arming.
void rpcnet_timer_arm(rpcnet_loop *loop, rpcnet_timer *w, double seconds);
void rpcnet_timer_stop(rpcnet_loop *loop, rpcnet_timer *w);
void rpcnet_timer_free(rpcnet_timer *w);
/// Sets the context passed to the callback.
void rpcnet_timer_set_context(rpcnet_timer *w, void *context);

/// An async watcher: the only libev call that is safe from other threads is `rpcnet_async_send`.
typedef struct rpcnet_async rpcnet_async;
rpcnet_async *rpcnet_async_new(rpcnet_watcher_cb cb, void *context);
void rpcnet_async_start(rpcnet_loop *loop, rpcnet_async *w);
void rpcnet_async_stop(rpcnet_loop *loop, rpcnet_async *w);
/// Wakes the loop from any thread; coalesces with pending sends.
void rpcnet_async_send(rpcnet_loop *loop, rpcnet_async *w);
void rpcnet_async_free(rpcnet_async *w);
/// Sets the context passed to the callback (for owners that exist only after the watcher).
void rpcnet_async_set_context(rpcnet_async *w, void *context);

/// A prepare watcher (runs just before the loop blocks) paired with an idle watcher that, while
/// started, keeps the loop from blocking. Used to drain work queued by the loop thread itself.
typedef struct rpcnet_prepare rpcnet_prepare;
rpcnet_prepare *rpcnet_prepare_new(rpcnet_watcher_cb cb, void *context);
void rpcnet_prepare_start(rpcnet_loop *loop, rpcnet_prepare *w);
void rpcnet_prepare_stop(rpcnet_loop *loop, rpcnet_prepare *w);
/// Starts (`busy` != 0) or stops the idle companion so the next poll does not block.
void rpcnet_prepare_set_busy(rpcnet_loop *loop, rpcnet_prepare *w, int busy);
void rpcnet_prepare_free(rpcnet_prepare *w);
/// Sets the context passed to the callback.
void rpcnet_prepare_set_context(rpcnet_prepare *w, void *context);

/// Names a thread for debuggers and `top -H` (at most 15 characters are kept).
void rpcnet_thread_set_name(pthread_t thread, const char *name);

// MARK: - Monotonic time

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t rpcnet_monotonic_ns(void);

// MARK: - ngtcp2 0.12 (versioned macros as functions)

void rpcnet_ngtcp2_settings_default(ngtcp2_settings *settings);
void rpcnet_ngtcp2_transport_params_default(ngtcp2_transport_params *params);
int rpcnet_ngtcp2_conn_client_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid,
                                  const ngtcp2_cid *scid, const ngtcp2_path *path,
                                  uint32_t version, const ngtcp2_callbacks *callbacks,
                                  const ngtcp2_settings *settings,
                                  const ngtcp2_transport_params *params, void *user_data);
int rpcnet_ngtcp2_conn_server_new(ngtcp2_conn **pconn, const ngtcp2_cid *dcid,
                                  const ngtcp2_cid *scid, const ngtcp2_path *path,
                                  uint32_t version, const ngtcp2_callbacks *callbacks,
                                  const ngtcp2_settings *settings,
                                  const ngtcp2_transport_params *params, void *user_data);
int rpcnet_ngtcp2_conn_read_pkt(ngtcp2_conn *conn, const ngtcp2_path *path,
                                const uint8_t *pkt, size_t pktlen, ngtcp2_tstamp ts);
ngtcp2_ssize rpcnet_ngtcp2_conn_writev_stream(ngtcp2_conn *conn, ngtcp2_path *path,
                                              uint8_t *dest, size_t destlen,
                                              ngtcp2_ssize *pdatalen, uint32_t flags,
                                              int64_t stream_id, const ngtcp2_vec *datav,
                                              size_t datavcnt, ngtcp2_tstamp ts);
ngtcp2_ssize rpcnet_ngtcp2_conn_write_connection_close(ngtcp2_conn *conn, ngtcp2_path *path,
                                                       uint8_t *dest, size_t destlen,
                                                       const ngtcp2_connection_close_error *ccerr,
                                                       ngtcp2_tstamp ts);

/// Fills the callbacks that ngtcp2's GnuTLS crypto helper provides (initial, crypto data, AEAD,
/// header protection, key update, retry, path challenge, version negotiation). The application
/// callbacks are left NULL for Swift to set.
void rpcnet_ngtcp2_callbacks_init(ngtcp2_callbacks *callbacks, int is_server);

/// A line of ngtcp2's debug log, already formatted.
typedef void (*rpcnet_log_sink)(void *user_data, const char *line);
/// Sets the process-wide sink for ngtcp2 debug logging and routes `settings->log_printf` to it.
void rpcnet_ngtcp2_enable_log(ngtcp2_settings *settings, rpcnet_log_sink sink);

/// Frees memory GnuTLS allocated for the caller (`gnutls_free` is a mutable global function
/// pointer behind a macro, which Swift cannot call safely).
void rpcnet_gnutls_free(void *data);

// MARK: - Batched UDP I/O

/// Metadata of one received datagram (or one GRO super-datagram).
typedef struct rpcnet_recv_meta {
  struct sockaddr_storage source;
  socklen_t source_len;
  /// Bytes received into the slot.
  size_t length;
  /// GRO segment size when the kernel coalesced datagrams, 0 otherwise.
  size_t segment_size;
  /// Non-zero when the datagram did not fit its slot and was truncated.
  int truncated;
} rpcnet_recv_meta;

/// Receives up to `count` datagrams with one `recvmmsg`. Slot i is `buffer + i * slot_size`.
/// Returns the number received, 0 when none is pending, or -errno.
int rpcnet_udp_recv_batch(int fd, uint8_t *buffer, size_t slot_size, size_t count,
                          rpcnet_recv_meta *meta);

/// One outgoing message: `length` bytes at `data` to `destination`. With `segment_size` > 0 and
/// GSO available, the kernel splits the payload into datagrams of that size (the last may be shorter).
typedef struct rpcnet_send_item {
  const uint8_t *data;
  size_t length;
  const struct sockaddr *destination;
  socklen_t destination_len;
  size_t segment_size;
} rpcnet_send_item;

/// Sends `count` messages with `sendmmsg`. Returns the number sent (possibly fewer when the socket
/// buffer is full) or -errno when none could be sent.
int rpcnet_udp_send_batch(int fd, const rpcnet_send_item *items, size_t count);

/// Reports whether UDP GSO (UDP_SEGMENT) is usable on this socket.
int rpcnet_udp_gso_supported(int fd);
/// Enables UDP GRO on the socket; returns 0 on success or -errno.
int rpcnet_udp_enable_gro(int fd);

/// Asks the kernel to queue ICMP errors about datagrams this socket sent (IP_RECVERR /
/// IPV6_RECVERR), so "port unreachable" and "host unreachable" reach the application.
/// Returns 0 on success or -errno.
int rpcnet_udp_enable_error_queue(int fd, int family);

/// Reads one queued error: the destination of the datagram that caused it into `destination`
/// and the error (e.g. ECONNREFUSED for ICMP port unreachable) into `error`. Returns 1 when one
/// was read, 0 when the queue is empty, or -errno.
int rpcnet_udp_read_error(int fd, struct sockaddr_storage *destination, socklen_t *destination_len,
                          int *error);

#ifdef __cplusplus
}
#endif

#endif
