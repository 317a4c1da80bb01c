// libev glue: watchers live in C structs with stable addresses; their callbacks forward to a
// plain (context, revents) function so Swift never touches libev's macros.
#include "CRpcNet.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>
#include <ev.h>

struct rpcnet_loop {
  struct ev_loop *ev;
};

rpcnet_loop *rpcnet_loop_new(void) {
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
  if (ev == NULL) return NULL;
  rpcnet_loop *loop = malloc(sizeof(*loop));
  if (loop == NULL) {
    ev_loop_destroy(ev);
    return NULL;
  }
  loop->ev = ev;
  return loop;
}

void rpcnet_loop_destroy(rpcnet_loop *loop) {
  ev_loop_destroy(loop->ev);
  free(loop);
}

int rpcnet_loop_run(rpcnet_loop *loop, int flags) {
  int evflags = flags == 1 ? EVRUN_NOWAIT : flags == 2 ? EVRUN_ONCE : 0;
  return ev_run(loop->ev, evflags);
}

void rpcnet_loop_break(rpcnet_loop *loop) { ev_break(loop->ev, EVBREAK_ALL); }

void rpcnet_thread_set_name(pthread_t thread, const char *name) {
  char truncated[16];
  snprintf(truncated, sizeof(truncated), "%s", name);
  pthread_setname_np(thread, truncated);
}

uint64_t rpcnet_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// MARK: io

struct rpcnet_io {
  ev_io watcher;
  rpcnet_watcher_cb cb;
  void *context;
};

static void io_thunk(struct ev_loop *ev, ev_io *w, int revents) {
  (void)ev;
  rpcnet_io *io = (rpcnet_io *)w;
  io->cb(io->context, revents);
}

rpcnet_io *rpcnet_io_new(int fd, int events, rpcnet_watcher_cb cb, void *context) {
  rpcnet_io *io = calloc(1, sizeof(*io));
  if (io == NULL) return NULL;
  ev_io_init(&io->watcher, io_thunk, fd, events);
  io->cb = cb;
  io->context = context;
  return io;
}

void rpcnet_io_start(rpcnet_loop *loop, rpcnet_io *w) { ev_io_start(loop->ev, &w->watcher); }
void rpcnet_io_stop(rpcnet_loop *loop, rpcnet_io *w) { ev_io_stop(loop->ev, &w->watcher); }
void rpcnet_io_set_events(rpcnet_io *w, int events) {
  ev_io_set(&w->watcher, w->watcher.fd, events);
}
void rpcnet_io_free(rpcnet_io *w) { free(w); }
void rpcnet_io_set_context(rpcnet_io *w, void *context) { w->context = context; }

// MARK: timer

struct rpcnet_timer {
  ev_timer watcher;
  rpcnet_watcher_cb cb;
  void *context;
};

static void timer_thunk(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  rpcnet_timer *t = (rpcnet_timer *)w;
  t->cb(t->context, revents);
}

rpcnet_timer *rpcnet_timer_new(rpcnet_watcher_cb cb, void *context) {
  rpcnet_timer *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  ev_timer_init(&t->watcher, timer_thunk, 0., 0.);
  t->cb = cb;
  t->context = context;
  return t;
}

void rpcnet_timer_arm(rpcnet_loop *loop, rpcnet_timer *w, double seconds) {
  // One-shot: restart with no repeat interval.
  ev_timer_stop(loop->ev, &w->watcher);
  ev_timer_set(&w->watcher, seconds > 0 ? seconds : 0., 0.);
  ev_timer_start(loop->ev, &w->watcher);
}

void rpcnet_timer_stop(rpcnet_loop *loop, rpcnet_timer *w) { ev_timer_stop(loop->ev, &w->watcher); }
void rpcnet_timer_free(rpcnet_timer *w) { free(w); }
void rpcnet_timer_set_context(rpcnet_timer *w, void *context) { w->context = context; }

// MARK: async

struct rpcnet_async {
  ev_async watcher;
  rpcnet_watcher_cb cb;
  void *context;
};

static void async_thunk(struct ev_loop *ev, ev_async *w, int revents) {
  (void)ev;
  rpcnet_async *a = (rpcnet_async *)w;
  a->cb(a->context, revents);
}

rpcnet_async *rpcnet_async_new(rpcnet_watcher_cb cb, void *context) {
  rpcnet_async *a = calloc(1, sizeof(*a));
  if (a == NULL) return NULL;
  ev_async_init(&a->watcher, async_thunk);
  a->cb = cb;
  a->context = context;
  return a;
}

void rpcnet_async_start(rpcnet_loop *loop, rpcnet_async *w) { ev_async_start(loop->ev, &w->watcher); }
void rpcnet_async_stop(rpcnet_loop *loop, rpcnet_async *w) { ev_async_stop(loop->ev, &w->watcher); }
void rpcnet_async_send(rpcnet_loop *loop, rpcnet_async *w) { ev_async_send(loop->ev, &w->watcher); }
void rpcnet_async_free(rpcnet_async *w) { free(w); }
void rpcnet_async_set_context(rpcnet_async *w, void *context) { w->context = context; }

// MARK: prepare + idle

struct rpcnet_prepare {
  ev_prepare watcher;
  ev_idle idle;
  rpcnet_watcher_cb cb;
  void *context;
};

static void prepare_thunk(struct ev_loop *ev, ev_prepare *w, int revents) {
  (void)ev;
  rpcnet_prepare *p = (rpcnet_prepare *)w;
  p->cb(p->context, revents);
}

static void idle_thunk(struct ev_loop *ev, ev_idle *w, int revents) {
  // Nothing to do: an active idle watcher only makes the poll non-blocking, and the prepare
  // watcher runs again before the next poll.
  (void)ev;
  (void)w;
  (void)revents;
}

rpcnet_prepare *rpcnet_prepare_new(rpcnet_watcher_cb cb, void *context) {
  rpcnet_prepare *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  ev_prepare_init(&p->watcher, prepare_thunk);
  ev_idle_init(&p->idle, idle_thunk);
  p->cb = cb;
  p->context = context;
  return p;
}

void rpcnet_prepare_start(rpcnet_loop *loop, rpcnet_prepare *w) { ev_prepare_start(loop->ev, &w->watcher); }
void rpcnet_prepare_stop(rpcnet_loop *loop, rpcnet_prepare *w) {
  ev_prepare_stop(loop->ev, &w->watcher);
  ev_idle_stop(loop->ev, &w->idle);
}
void rpcnet_prepare_set_busy(rpcnet_loop *loop, rpcnet_prepare *w, int busy) {
  if (busy) {
    if (!ev_is_active(&w->idle)) ev_idle_start(loop->ev, &w->idle);
  } else if (ev_is_active(&w->idle)) {
    ev_idle_stop(loop->ev, &w->idle);
  }
}
void rpcnet_prepare_free(rpcnet_prepare *w) { free(w); }
void rpcnet_prepare_set_context(rpcnet_prepare *w, void *context) { w->context = context; }
