// Batched UDP I/O: recvmmsg / sendmmsg with the cmsg plumbing for GRO and GSO (UDP_SEGMENT).
#include "CRpcNet.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <netinet/udp.h>
#include <netinet/in.h>
#include <linux/errqueue.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { RPCNET_BATCH_MAX = 64 };

int rpcnet_udp_recv_batch(int fd, uint8_t *buffer, size_t slot_size, size_t count,
                          rpcnet_recv_meta *meta) {
  if (count > RPCNET_BATCH_MAX) count = RPCNET_BATCH_MAX;
  struct mmsghdr msgs[RPCNET_BATCH_MAX];
  struct iovec iovs[RPCNET_BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control[RPCNET_BATCH_MAX];

  for (size_t i = 0; i < count; i++) {
    iovs[i].iov_base = buffer + i * slot_size;
    iovs[i].iov_len = slot_size;
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    msgs[i].msg_hdr.msg_name = &meta[i].source;
    msgs[i].msg_hdr.msg_namelen = sizeof(meta[i].source);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = control[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof(control[i].buf);
  }

  int n;
  do {
    n = recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;

  for (int i = 0; i < n; i++) {
    meta[i].source_len = msgs[i].msg_hdr.msg_namelen;
    meta[i].length = msgs[i].msg_len;
    meta[i].truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    meta[i].segment_size = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL;
         c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size;
        memcpy(&size, CMSG_DATA(c), sizeof(size));
        meta[i].segment_size = (size_t)size;
      }
    }
  }
  return n;
}

int rpcnet_udp_send_batch(int fd, const rpcnet_send_item *items, size_t count) {
  if (count > RPCNET_BATCH_MAX) count = RPCNET_BATCH_MAX;
  struct mmsghdr msgs[RPCNET_BATCH_MAX];
  struct iovec iovs[RPCNET_BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control[RPCNET_BATCH_MAX];

  for (size_t i = 0; i < count; i++) {
    iovs[i].iov_base = (void *)items[i].data;
    iovs[i].iov_len = items[i].length;
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    msgs[i].msg_hdr.msg_name = (void *)items[i].destination;
    msgs[i].msg_hdr.msg_namelen = items[i].destination_len;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (items[i].segment_size > 0 && items[i].length > items[i].segment_size) {
      memset(control[i].buf, 0, sizeof(control[i].buf));
      msgs[i].msg_hdr.msg_control = control[i].buf;
      msgs[i].msg_hdr.msg_controllen = sizeof(control[i].buf);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t segment = (uint16_t)items[i].segment_size;
      memcpy(CMSG_DATA(c), &segment, sizeof(segment));
    }
  }

  int n;
  do {
    n = sendmmsg(fd, msgs, (unsigned)count, 0);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

int rpcnet_udp_gso_supported(int fd) {
  int segment = 0;
  socklen_t len = sizeof(segment);
  return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, &len) == 0;
}

int rpcnet_udp_enable_gro(int fd) {
  int on = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0 ? 0 : -errno;
}

int rpcnet_udp_enable_error_queue(int fd, int family) {
  int on = 1;
  int result = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on))
                                  : setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
  return result == 0 ? 0 : -errno;
}

int rpcnet_udp_read_error(int fd, struct sockaddr_storage *destination, socklen_t *destination_len,
                          int *error) {
  uint8_t payload[1];
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
  union {
    char buf[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_storage))];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = destination;
  msg.msg_namelen = sizeof(*destination);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  *destination_len = msg.msg_namelen;
  *error = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      struct sock_extended_err extended;
      memcpy(&extended, CMSG_DATA(c), sizeof(extended));
      *error = (int)extended.ee_errno;
    }
  }
  return 1;
}
