// smtpguard gateway: native TCP transport (N-API addon on Node's own libuv loop).
//
// Socket-level API driven by TypeScript (src/transport/native-binding.ts has the types):
//   init(dispatch, arena, events)        events are queued as records (6 int32 each) in
//                                        events, their bytes (reads, peer addresses) in arena;
//                                        dispatch(count) delivers a batch of records
//   listen(ip, port, backlog, v6only)    -> server id
//   address(id) -> [ip, port, family]    closeServer(id)
//   connect(ip, port) -> socket id       readStart(id), readStop(id)
//   write(id, bytes) -> queued bytes | negative uv error
//   shutdown(id) -> 0 | negative uv error
//   close(id), queued(id), stats()
//
// Rules this file keeps:
//  - JS -> C calls never call into JS synchronously. Events are queued by libuv callbacks and
//    delivered in batches, one napi_make_callback per batch (so nextTicks and microtasks run
//    after each batch): the per-call cost of crossing into JS (scopes, async hooks, the tick
//    queue) is paid once per loop iteration instead of once per event. A batch is flushed
//    by the check handle (after the poll phase), by the prepare handle (before the poll:
//    events of close callbacks and the pending phase), and from a callback that leaves the
//    record ring full or the arena with less than one read's room.
//  - JS may call anything from inside a dispatch, so after anything that may flush the state
//    is re-checked before the handle is touched again.
//  - Handle memory is freed only in the close callback; the id stays taken until JS has had
//    the CLOSE record, so an id in a batch always names one handle. Pending
//    write/connect/shutdown requests are cancelled by uv_close and their callbacks run before
//    the close callback.
//  - Events that end a socket (a failed CONNECT, ERROR) are recorded when the failure is
//    seen, the handle is closed at once, and the event is queued from the close callback
//    immediately before CLOSE. After a socket starts closing (JS close() included), CLOSE is
//    the only event it still gets: a close by JS voids the socket's records not yet read.
//  - All state is per napi_env (instance data). An *async* env cleanup hook closes every
//    handle (and the prepare and check handles) and completes from the last close callback:
//    Node keeps running the loop until then, and only afterwards may unload the addon (a
//    worker that alone loaded it unloads it; a close callback left pending past that would
//    jump into unmapped code).
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  EV_NONE = 0,  // a record voided by close() after it was queued: skipped by JS
  EV_CONNECTION = 1,
  EV_CONNECT = 2,
  EV_DATA = 3,
  EV_END = 4,
  EV_ERROR = 5,
  EV_DRAIN = 6,
  EV_CLOSE = 7,
  EV_SERVER_CLOSE = 8,
};

enum { SYS_READ = 1, SYS_WRITE = 2, SYS_SHUTDOWN = 3 };  // ERROR's b (NativeSyscall in TS)

#define READ_MAX 65536  // the most one read takes
#define ADDR_TEXT 128   // IPv6 text plus a scope id
// Free arena bytes whenever a libuv callback starts: one read, or one peer address.
#define ARENA_RESERVE (READ_MAX + ADDR_TEXT)
#define MIN_ARENA (256 * 1024)
#define REC_INTS 6  // [kind, id, a, b, c, d]
#define MIN_RECORDS 64
#define MAX_WRITE 0x7fffffffu  // uv_buf_t.len is unsigned int; keep one request below 2 GiB

typedef struct tenv tenv;

typedef struct th {  // one TCP handle: a listener or a stream
  uv_tcp_t tcp;      // tcp.data = this
  uv_connect_t creq;
  uv_shutdown_t sreq;
  tenv *te;
  uint32_t id;
  bool server;
  bool closing;       // uv_close called; only CLOSE / SERVER_CLOSE may follow
  bool silent;        // queue nothing at close (never shown to JS, or env teardown)
  bool connecting;    // uv_tcp_connect pending
  bool want_read;     // readStart asked (honoured once connected)
  bool reading;       // uv_read_start active
  bool eof;           // EOF read
  bool shut_req;      // shutdown asked
  bool shut_started;  // uv_shutdown issued
  bool shut_done;     // uv_shutdown completed
  uint8_t final_kind;   // EV_CONNECT or EV_ERROR queued from the close callback
  uint8_t final_sys;    // SYS_* for EV_ERROR
  int final_err;        // its negative uv error code
  uint64_t conn_batch;  // accepted: the batch holding its CONNECTION record (0: connect())
  size_t queued;        // bytes held in our pending write requests
} th;

typedef struct wreq {
  uv_write_t req;
  th *h;
  size_t len;
  char data[];
} wreq;

struct tenv {
  napi_env env;
  uv_loop_t *loop;
  napi_ref dispatch;  // JS dispatch function (NULL until init)
  napi_ref recv;      // receiver object for napi_make_callback
  napi_async_context actx;
  bool dead;          // env cleanup started: never call into JS again
  bool nojs;          // JS execution is being terminated (worker.terminate()): stop dispatching
  bool flushing;      // inside the dispatch of a batch
  napi_async_cleanup_hook_handle cleanup;  // removed once every handle is closed
  th **tab;           // id -> handle; slot 0 unused so ids start at 1
  uint32_t *freel;    // free ids, a FIFO ring
  uint32_t cap, next, nfree, fhead;
  uint32_t nsockets, nservers;  // live handles, until their close callback
  // The batch. Records go to an Int32Array owned by JS (events), their bytes (reads land
  // there directly, peer addresses) to a Uint8Array owned by JS (arena); JS copies out what
  // it keeps inside the dispatch. Both are reused from offset 0 after every batch.
  napi_ref arena_ref, events_ref;
  char *arena;
  size_t arena_len, arena_off;
  int32_t *rec;
  uint32_t rec_cap, nrec;
  uint64_t batch;       // number of the batch being filled (from 1)
  uint32_t *closed_ids; // ids of the batch's CLOSE / SERVER_CLOSE records: freed once delivered
  uint32_t nclosed, closed_cap;
  uv_prepare_t prepare;  // flush points (unref'ed; the prepare is ref'ed while records wait)
  uv_check_t check;
  int nloop;             // of those two, not yet closed
};

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *buf);
static void handle_close(th *h);

static void oom(void) { napi_fatal_error("smtpguard transport", NAPI_AUTO_LENGTH, "out of memory", NAPI_AUTO_LENGTH); }

/* ------------------------------------------------------------------ handle table */

static uint32_t slot_alloc(tenv *te, th *h) {
  uint32_t id;
  // Fresh ids until the table is full, then the oldest freed id: a stale id held by JS
  // names a new socket only after the whole table has cycled.
  if (te->nfree && te->next >= te->cap) {
    id = te->freel[te->fhead];
    te->fhead = (te->fhead + 1) % te->cap;
    te->nfree--;
  } else {
    if (te->next >= te->cap) {  // and the ring is empty: growing needs no re-linearising
      uint32_t ncap = te->cap ? te->cap * 2 : 256;
      if (ncap <= te->cap || ncap > INT32_MAX) return 0;  // ids travel as int32
      th **nt = realloc(te->tab, (size_t)ncap * sizeof(*nt));
      if (!nt) return 0;
      te->tab = nt;
      uint32_t *nf = realloc(te->freel, (size_t)ncap * sizeof(*nf));
      if (!nf) return 0;
      te->freel = nf;
      te->cap = ncap;
      te->fhead = 0;
    }
    id = te->next++;
  }
  te->tab[id] = h;
  return id;
}

static void slot_free(tenv *te, uint32_t id) {
  te->tab[id] = NULL;
  te->freel[(te->fhead + te->nfree++) % te->cap] = id;
}

static void tenv_free(tenv *te) {
  free(te->tab);
  free(te->freel);
  free(te->closed_ids);
  free(te);
}

// Env teardown finished: free the state, then let Node go on (it may unload the addon).
static void tenv_finish(tenv *te) {
  napi_async_cleanup_hook_handle hh = te->cleanup;
  tenv_free(te);
  if (hh && napi_remove_async_cleanup_hook(hh) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_remove_async_cleanup_hook failed\n");
}

// After env cleanup: finish once the last handle (sockets, servers, prepare, check) closed.
static void maybe_finish(tenv *te) {
  if (te->dead && te->nsockets == 0 && te->nservers == 0 && te->nloop == 0) tenv_finish(te);
}

/* ------------------------------------------------------------------ calling JS */

// Status of a napi call made from a libuv callback. A pending JS exception (thrown by the
// dispatch function, or by napi itself) is re-raised as an uncaught exception, never dropped.
// napi_pending_exception with nothing pending, or a failing napi_fatal_exception, means the
// env can no longer run JS (its execution is being terminated): dispatching stops quietly.
static bool cb_ok(tenv *te, napi_status s) {
  if (s == napi_ok) return true;
  bool pending = false;
  if (napi_is_exception_pending(te->env, &pending) == napi_ok && pending) {
    napi_value e;
    if (napi_get_and_clear_last_exception(te->env, &e) != napi_ok || napi_fatal_exception(te->env, e) != napi_ok)
      te->nojs = true;
  } else if (s == napi_pending_exception) {
    te->nojs = true;
  } else if (!te->dead) {
    const napi_extended_error_info *ei = NULL;
    if (napi_get_last_error_info(te->env, &ei) != napi_ok) ei = NULL;
    fprintf(stderr, "smtpguard transport: napi call failed (%d %s)\n", (int)s,
            ei && ei->error_message ? ei->error_message : "");
  }
  return false;
}

static bool js_alive(tenv *te) { return !te->dead && !te->nojs && te->dispatch != NULL; }

// The batch is consumed, delivered or not: reuse the ring and the arena from the start, free
// the ids whose CLOSE went out. An undelivered batch's accepted sockets were never shown to
// JS: close them silently rather than leak them.
static void batch_done(tenv *te, uint64_t batch, bool delivered) {
  te->nrec = 0;
  te->arena_off = 0;
  for (uint32_t i = 0; i < te->nclosed; i++) slot_free(te, te->closed_ids[i]);
  te->nclosed = 0;
  if (!te->dead) uv_unref((uv_handle_t *)&te->prepare);
  if (delivered) return;
  for (uint32_t i = 1; i < te->next; i++) {
    th *h = te->tab[i];
    if (h && h->conn_batch == batch && !h->closing) {
      h->silent = true;
      handle_close(h);
    }
  }
}

// Delivers the queued records: one call dispatch(count). JS may do anything inside (close,
// write, readStop); it cannot queue records (only libuv callbacks do).
static void flush(tenv *te) {
  if (te->nrec == 0) return;
  uint64_t batch = te->batch++;
  bool called = false;
  if (js_alive(te)) {
    napi_handle_scope hs;
    if (cb_ok(te, napi_open_handle_scope(te->env, &hs))) {
      napi_value fn, recv, argv[1], res;
      if (cb_ok(te, napi_get_reference_value(te->env, te->dispatch, &fn)) &&
          cb_ok(te, napi_get_reference_value(te->env, te->recv, &recv)) &&
          cb_ok(te, napi_create_uint32(te->env, te->nrec, &argv[0]))) {
        called = true;
        te->flushing = true;
        napi_status st = napi_make_callback(te->env, te->actx, recv, fn, 1, argv, &res);
        te->flushing = false;  // before cb_ok: an uncaughtException handler runs outside the batch
        bool pending = false;
        // No result and nothing thrown: Node refused to run JS (the env is stopping, e.g.
        // worker.terminate() before the cleanup hook). Stop dispatching, quietly.
        if (st == napi_generic_failure && napi_is_exception_pending(te->env, &pending) == napi_ok && !pending)
          te->nojs = true;
        else cb_ok(te, st);
      }
      cb_ok(te, napi_close_handle_scope(te->env, hs));
    }
  }
  batch_done(te, batch, called);
}

// Queues one record whose bytes (arena_used of them, at arena_off) are already in the arena.
// False when JS can no longer have it (nothing queued). May flush, i.e. call JS: callers
// re-check their handle afterwards. The flush follows the record that fills the ring, never
// precedes one, so a DATA record (its bytes already read into the arena) always fits.
static bool ev_push(tenv *te, size_t arena_used, int kind, uint32_t id, int32_t a, int32_t b, int32_t c,
                    int32_t d) {
  if (!js_alive(te)) return false;
  if (kind == EV_CLOSE || kind == EV_SERVER_CLOSE) {
    if (te->nclosed == te->closed_cap) {
      uint32_t ncap = te->closed_cap ? te->closed_cap * 2 : 64;
      uint32_t *n = realloc(te->closed_ids, (size_t)ncap * sizeof(*n));
      if (!n) oom();
      te->closed_ids = n;
      te->closed_cap = ncap;
    }
    te->closed_ids[te->nclosed++] = id;
  }
  te->arena_off += arena_used;
  int32_t *r = te->rec + (size_t)te->nrec * REC_INTS;
  r[0] = kind;
  r[1] = (int32_t)id;
  r[2] = a;
  r[3] = b;
  r[4] = c;
  r[5] = d;
  // while records wait the loop must not end: the next prepare delivers them
  if (te->nrec++ == 0) uv_ref((uv_handle_t *)&te->prepare);
  if (te->nrec == te->rec_cap || te->arena_len - te->arena_off < ARENA_RESERVE) flush(te);
  return true;
}

static void ev_simple(tenv *te, int kind, uint32_t id) { ev_push(te, 0, kind, id, 0, 0, 0, 0); }

// JS closed a socket: its records not yet read become EV_NONE, so that CLOSE is the only
// event after close(), batched or not. (Within a batch an id names one handle: see on_close.)
static void void_records(tenv *te, uint32_t id) {
  for (uint32_t i = 0; i < te->nrec; i++) {
    int32_t *r = te->rec + (size_t)i * REC_INTS;
    if (r[1] == (int32_t)id && r[0] != EV_CONNECTION) r[0] = EV_NONE;
  }
}

static void on_prepare(uv_prepare_t *p) { flush(p->data); }
static void on_check(uv_check_t *c) { flush(c->data); }

/* ------------------------------------------------------------------ handles */

static th *handle_new(tenv *te, bool server) {
  th *h = calloc(1, sizeof(*h));
  if (!h) return NULL;
  h->te = te;
  h->server = server;
  h->id = slot_alloc(te, h);
  if (!h->id) {
    free(h);
    return NULL;
  }
  if (uv_tcp_init(te->loop, &h->tcp) != 0) {
    slot_free(te, h->id);
    free(h);
    return NULL;
  }
  h->tcp.data = h;
  if (server) te->nservers++;
  else te->nsockets++;
  return h;
}

static void on_close(uv_handle_t *hd) {
  th *h = hd->data;
  tenv *te = h->te;
  uint32_t id = h->id;
  bool server = h->server;
  if (server) te->nservers--;
  else te->nsockets--;
  bool shown = !h->silent && js_alive(te);
  if (shown && h->final_kind == EV_CONNECT) ev_push(te, 0, EV_CONNECT, id, h->final_err, 0, 0, 0);
  else if (shown && h->final_kind == EV_ERROR) ev_push(te, 0, EV_ERROR, id, h->final_err, h->final_sys, 0, 0);
  free(h);
  te->tab[id] = NULL;  // unknown to JS calls from now on
  // The id stays taken until JS has had the CLOSE record (batch_done frees it): a stale id
  // must not name a new socket while JS still thinks it is the old one.
  if (!shown || !ev_push(te, 0, server ? EV_SERVER_CLOSE : EV_CLOSE, id, 0, 0, 0, 0)) slot_free(te, id);
  maybe_finish(te);
}

static void handle_close(th *h) {
  if (h->closing) return;
  h->closing = true;
  h->reading = false;
  uv_close((uv_handle_t *)&h->tcp, on_close);
}

// A close asked by JS (close(), a failing write or shutdown): records it has not read yet
// are voided, so CLOSE is the only event that follows.
static void handle_close_js(th *h) {
  if (h->closing) return;
  void_records(h->te, h->id);
  handle_close(h);
}

// Close because of an asynchronous failure; the event goes out just before CLOSE.
static void handle_fail(th *h, uint8_t kind, int err, uint8_t sys) {
  if (h->closing) return;
  h->final_kind = kind;
  h->final_err = err;
  h->final_sys = sys;
  handle_close(h);
}

static int start_reading(th *h) {
  if (h->reading) return 0;
  int r = uv_read_start((uv_stream_t *)&h->tcp, on_alloc, on_read);
  if (r == 0) h->reading = true;
  return r;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  th *h = req->data;
  if (h->closing) return;  // UV_ECANCELED from uv_close
  if (status < 0) {
    handle_fail(h, EV_ERROR, status, SYS_SHUTDOWN);
    return;
  }
  h->shut_done = true;
  if (h->eof) handle_close(h);  // both directions finished (allowHalfOpen end state)
}

static int start_shutdown(th *h) {
  h->shut_started = true;
  h->sreq.data = h;
  return uv_shutdown(&h->sreq, (uv_stream_t *)&h->tcp, on_shutdown);
}

/* ------------------------------------------------------------------ libuv callbacks */

// Never flushes: libuv reads into the buffer right after. ev_push keeps ARENA_RESERVE free
// between callbacks, so this is always a full READ_MAX.
static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *buf) {
  (void)size;
  tenv *te = ((th *)hd->data)->te;
  size_t room = te->arena_len - te->arena_off;
  buf->base = te->arena + te->arena_off;  // set by init, which listen and connect require
  buf->len = room < READ_MAX ? room : READ_MAX;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;  // arena + arena_off (on_alloc)
  th *h = st->data;
  tenv *te = h->te;
  if (nread == 0 || h->closing) return;
  if (nread > 0) {
    ev_push(te, (size_t)nread, EV_DATA, h->id, (int32_t)te->arena_off, (int32_t)nread, 0, 0);
    return;  // whatever JS did in a flush (close, readStop) libuv sees in the handle's flags
  }
  h->reading = false;
  h->want_read = false;
  if (nread != UV_EOF) {
    handle_fail(h, EV_ERROR, (int)nread, SYS_READ);
    return;
  }
  h->eof = true;  // libuv already stopped reading
  ev_simple(te, EV_END, h->id);
  if (!h->closing && h->shut_done) handle_close(h);
}

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  th *h = w->h;
  h->queued -= w->len;
  free(w);
  if (h->closing) return;  // UV_ECANCELED, or completed just before close
  if (status < 0) {
    handle_fail(h, EV_ERROR, status, SYS_WRITE);
    return;
  }
  if (h->queued == 0) ev_simple(h->te, EV_DRAIN, h->id);
}

static void on_connect(uv_connect_t *req, int status) {
  th *h = req->data;
  tenv *te = h->te;
  h->connecting = false;
  if (h->closing) return;
  if (status < 0) {
    handle_fail(h, EV_CONNECT, status, 0);
    return;
  }
  ev_push(te, 0, EV_CONNECT, h->id, 0, 0, 0, 0);
  if (h->closing) return;  // closed by JS in a flush
  // Requests made while connecting. JS sees CONNECT later; whatever it asks from then on
  // (connecting is now false) js_read_start / js_shutdown apply directly.
  if (h->shut_req && !h->shut_started) {
    int r = start_shutdown(h);
    if (r < 0) {
      handle_fail(h, EV_ERROR, r, SYS_SHUTDOWN);
      return;
    }
  }
  if (h->want_read && !h->eof) {
    int r = start_reading(h);
    if (r < 0) handle_fail(h, EV_ERROR, r, SYS_READ);
  }
}

static bool sockaddr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port, int *family) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    if (uv_ip4_name(a, ip, iplen) != 0) return false;
    *port = ntohs(a->sin_port);
    *family = 4;
    return true;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    if (uv_ip6_name(a, ip, iplen) != 0) return false;
    *port = ntohs(a->sin6_port);
    *family = 6;
    return true;
  }
  return false;
}

static void on_connection(uv_stream_t *server, int status) {
  th *srv = server->data;
  tenv *te = srv->te;
  if (status < 0 || srv->closing) return;  // accept errors: libuv retries on the next poll
  th *h = handle_new(te, false);
  if (!h) oom();
  if (uv_accept(server, (uv_stream_t *)&h->tcp) != 0) {
    h->silent = true;
    handle_close(h);
    return;
  }
  (void)uv_tcp_nodelay(&h->tcp, 1);
  struct sockaddr_storage ss;
  int len = sizeof(ss), port = 0, family = 0;
  char ip[ADDR_TEXT] = "";
  if (uv_tcp_getpeername(&h->tcp, (struct sockaddr *)&ss, &len) != 0 ||
      !sockaddr_text(&ss, ip, sizeof(ip), &port, &family)) {
    ip[0] = 0;  // peer already gone: "" and port 0; a read will report it
    port = 0;
  }
  // The text goes to the arena (ARENA_RESERVE keeps room for it); d = the peer port.
  size_t n = strlen(ip), off = te->arena_off;
  memcpy(te->arena + off, ip, n);
  h->conn_batch = te->batch;  // an undelivered batch closes it (batch_done)
  if (!ev_push(te, n, EV_CONNECTION, h->id, (int32_t)srv->id, (int32_t)off, (int32_t)n, port)) {
    h->silent = true;  // JS never saw this id: do not leak it
    handle_close(h);
  }
}

/* ------------------------------------------------------------------ JS argument helpers */

#define CHECK_CALL(env, call)                                            \
  do {                                                                   \
    napi_status s_ = (call);                                             \
    if (s_ != napi_ok) return throw_status((env), s_);                   \
  } while (0)

static napi_value throw_status(napi_env env, napi_status s) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  const napi_extended_error_info *ei = NULL;
  if (napi_get_last_error_info(env, &ei) != napi_ok) ei = NULL;
  char msg[160];
  snprintf(msg, sizeof(msg), "smtpguard transport: napi call failed (%d %s)", (int)s,
           ei && ei->error_message ? ei->error_message : "");
  if (napi_throw_error(env, NULL, msg) != napi_ok) fprintf(stderr, "%s\n", msg);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *fn, const char *what) {
  char msg[160];
  snprintf(msg, sizeof(msg), "%s: %s", fn, what);
  if (napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg) != napi_ok) fprintf(stderr, "%s\n", msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *fn, const char *what) {
  char msg[160];
  snprintf(msg, sizeof(msg), "%s: %s", fn, what);
  if (napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg) != napi_ok) fprintf(stderr, "%s\n", msg);
  return NULL;
}

// Error with code (uv_err_name), errno, syscall and, when given, address and port.
static napi_value throw_uv(napi_env env, int err, const char *syscall, const char *ip, int port) {
  char msg[256];
  if (ip) snprintf(msg, sizeof(msg), "%s %s %s:%d", syscall, uv_err_name(err), ip, port);
  else snprintf(msg, sizeof(msg), "%s %s", syscall, uv_err_name(err));
  napi_value code, m, e, v;
  if (napi_create_string_utf8(env, uv_err_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_error(env, code, m, &e) != napi_ok) {
    if (napi_throw_error(env, uv_err_name(err), msg) != napi_ok) fprintf(stderr, "%s\n", msg);
    return NULL;
  }
  bool ok = napi_create_int32(env, err, &v) == napi_ok && napi_set_named_property(env, e, "errno", v) == napi_ok &&
            napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok &&
            napi_set_named_property(env, e, "syscall", v) == napi_ok;
  if (ok && ip)
    ok = napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, e, "address", v) == napi_ok && napi_create_int32(env, port, &v) == napi_ok &&
         napi_set_named_property(env, e, "port", v) == napi_ok;
  (void)ok;  // the error is thrown either way; extra properties are best effort
  if (napi_throw(env, e) != napi_ok) fprintf(stderr, "%s\n", msg);
  return NULL;
}

static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, tenv **te) {
  size_t argc = n;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return false;
  *te = data;
  return true;
}

static bool is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

// false: a TypeError was thrown. *out: the live handle, or NULL for an unknown id.
static bool arg_handle(napi_env env, tenv *te, napi_value v, const char *fn, th **out) {
  *out = NULL;
  if (!is_type(env, v, napi_number)) {
    throw_type(env, fn, "id must be a number");
    return false;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_type(env, fn, "id must be a number");
    return false;
  }
  if (d >= 1 && d < (double)te->next && d == (double)(uint32_t)d) *out = te->tab[(uint32_t)d];
  return true;
}

// The live (not closing) stream for an id, or NULL.
static th *live_socket(th *h) { return h && !h->server && !h->closing ? h : NULL; }

// The common prologue of the functions taking only an id: false when a TypeError was thrown;
// *h is the handle or NULL for an unknown id.
static bool id_only_args(napi_env env, napi_callback_info info, const char *fn, th **h) {
  napi_value argv[1];
  tenv *te;
  *h = NULL;
  if (!get_args(env, info, 1, argv, &te)) {
    throw_status(env, napi_generic_failure);
    return false;
  }
  return arg_handle(env, te, argv[0], fn, h);
}

static bool arg_string(napi_env env, napi_value v, const char *fn, const char *what, char *buf, size_t len,
                       bool *fits) {
  if (!is_type(env, v, napi_string)) {
    throw_type(env, fn, what);
    return false;
  }
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    throw_type(env, fn, what);
    return false;
  }
  *fits = n + 1 < len;
  return true;
}

static bool arg_port(napi_env env, napi_value v, const char *fn, int *port) {
  if (!is_type(env, v, napi_number)) {
    throw_type(env, fn, "port must be a number");
    return false;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 65535) || d != (double)(int)d) {
    throw_range(env, fn, "port must be an integer from 0 to 65535");
    return false;
  }
  *port = (int)d;
  return true;
}

// Numeric IPv4 or IPv6 text -> sockaddr. Returns 0 or UV_EINVAL.
static int parse_addr(const char *ip, bool fits, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (!fits) return UV_EINVAL;
  if (uv_ip4_addr(ip, port, (struct sockaddr_in *)ss) == 0) return 0;
  memset(ss, 0, sizeof(*ss));
  if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return UV_EINVAL;
}

static napi_value ret_num(napi_env env, double d) {
  napi_value v;
  CHECK_CALL(env, napi_create_double(env, d, &v));
  return v;
}

static napi_value ret_undefined(napi_env env) {
  napi_value v;
  CHECK_CALL(env, napi_get_undefined(env, &v));
  return v;
}

/* ------------------------------------------------------------------ JS functions */

// The data pointer and length of a typed array of the given type; false if it is not one.
static bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool ta = false;
  napi_typedarray_type type;
  *data = NULL;
  *len = 0;
  return napi_is_typedarray(env, v, &ta) == napi_ok && ta &&
         napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) == napi_ok && type == want;
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  tenv *te;
  if (!get_args(env, info, 3, argv, &te)) return throw_status(env, napi_generic_failure);
  if (!is_type(env, argv[0], napi_function)) return throw_type(env, "init", "dispatch must be a function");
  void *arena, *events;
  size_t arena_len, nints;
  if (!typed_array(env, argv[1], napi_uint8_array, &arena, &arena_len))
    return throw_type(env, "init", "arena must be a Buffer or Uint8Array");
  if (arena_len < MIN_ARENA || arena == NULL) return throw_range(env, "init", "arena must hold at least 256 KiB");
  if (arena_len > INT32_MAX) arena_len = INT32_MAX;  // offsets travel as int32
  if (!typed_array(env, argv[2], napi_int32_array, &events, &nints))
    return throw_type(env, "init", "events must be an Int32Array");
  if (nints % REC_INTS != 0 || nints < (size_t)REC_INTS * MIN_RECORDS || events == NULL)
    return throw_range(env, "init", "events length must be a multiple of 6 and at least 384");
  uint32_t rec_cap = nints / REC_INTS > UINT32_MAX ? UINT32_MAX : (uint32_t)(nints / REC_INTS);
  if (te->flushing) {  // the batch being read lives in the current arrays
    if (napi_throw_error(env, "ERR_INVALID_STATE", "init: not from inside dispatch") != napi_ok)
      fprintf(stderr, "init: not from inside dispatch\n");
    return NULL;
  }
  // Records queued but not yet delivered move to the new arrays (their offsets stay valid).
  if (te->nrec && (rec_cap <= te->nrec || arena_len - te->arena_off < ARENA_RESERVE))
    return throw_range(env, "init", "the undelivered records do not fit the new arena and events");
  if (!te->recv) {
    napi_value recv, name;
    CHECK_CALL(env, napi_create_object(env, &recv));
    CHECK_CALL(env, napi_create_string_utf8(env, "smtpguard:transport", NAPI_AUTO_LENGTH, &name));
    CHECK_CALL(env, napi_async_init(env, recv, name, &te->actx));
    CHECK_CALL(env, napi_create_reference(env, recv, 1, &te->recv));
  }
  napi_ref ref, aref, eref;
  CHECK_CALL(env, napi_create_reference(env, argv[0], 1, &ref));
  CHECK_CALL(env, napi_create_reference(env, argv[1], 1, &aref));
  CHECK_CALL(env, napi_create_reference(env, argv[2], 1, &eref));
  if (te->nrec) {
    memmove(arena, te->arena, te->arena_off);
    memmove(events, te->rec, (size_t)te->nrec * REC_INTS * sizeof(int32_t));
  }
  if (te->dispatch) CHECK_CALL(env, napi_delete_reference(env, te->dispatch));
  if (te->arena_ref) CHECK_CALL(env, napi_delete_reference(env, te->arena_ref));
  if (te->events_ref) CHECK_CALL(env, napi_delete_reference(env, te->events_ref));
  te->dispatch = ref;
  te->arena_ref = aref;
  te->events_ref = eref;
  te->arena = arena;
  te->arena_len = arena_len;
  te->rec = events;
  te->rec_cap = rec_cap;
  return ret_undefined(env);
}

static napi_value need_init(napi_env env, const char *fn) {
  char msg[96];
  snprintf(msg, sizeof(msg), "%s: init(dispatch) must be called first", fn);
  if (napi_throw_error(env, "ERR_INVALID_STATE", msg) != napi_ok) fprintf(stderr, "%s\n", msg);
  return NULL;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  tenv *te;
  if (!get_args(env, info, 4, argv, &te)) return throw_status(env, napi_generic_failure);
  char ip[ADDR_TEXT];
  bool fits, v6only;
  int port;
  if (!arg_string(env, argv[0], "listen", "ip must be a string", ip, sizeof(ip), &fits)) return NULL;
  if (!arg_port(env, argv[1], "listen", &port)) return NULL;
  if (!is_type(env, argv[2], napi_number)) return throw_type(env, "listen", "backlog must be a number");
  double bl;
  CHECK_CALL(env, napi_get_value_double(env, argv[2], &bl));
  if (!is_type(env, argv[3], napi_boolean)) return throw_type(env, "listen", "ipv6Only must be a boolean");
  CHECK_CALL(env, napi_get_value_bool(env, argv[3], &v6only));
  if (!te->dispatch) return need_init(env, "listen");
  int backlog = !(bl >= 1) ? 511 : bl > 65535 ? 65535 : (int)bl;
  struct sockaddr_storage ss;
  int r = parse_addr(ip, fits, port, &ss);
  if (r) return throw_uv(env, r, "listen", ip, port);
  th *h = handle_new(te, true);
  if (!h) return throw_uv(env, UV_ENOMEM, "listen", ip, port);
  unsigned flags = ss.ss_family == AF_INET6 && v6only ? UV_TCP_IPV6ONLY : 0;
  r = uv_tcp_bind(&h->tcp, (const struct sockaddr *)&ss, flags);
  if (r == 0) r = uv_listen((uv_stream_t *)&h->tcp, backlog, on_connection);
  if (r) {
    h->silent = true;
    handle_close(h);
    return throw_uv(env, r, "listen", ip, port);
  }
  return ret_num(env, h->id);
}

static napi_value js_address(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "address", &h)) return NULL;
  if (!h || h->closing) return throw_uv(env, UV_EBADF, "address", NULL, 0);
  struct sockaddr_storage ss;
  int len = sizeof(ss), port, family;
  char ip[ADDR_TEXT];
  int r = uv_tcp_getsockname(&h->tcp, (struct sockaddr *)&ss, &len);
  if (r) return throw_uv(env, r, "address", NULL, 0);
  if (!sockaddr_text(&ss, ip, sizeof(ip), &port, &family)) return throw_uv(env, UV_EAFNOSUPPORT, "address", NULL, 0);
  napi_value arr, v;
  CHECK_CALL(env, napi_create_array_with_length(env, 3, &arr));
  CHECK_CALL(env, napi_create_string_latin1(env, ip, NAPI_AUTO_LENGTH, &v));
  CHECK_CALL(env, napi_set_element(env, arr, 0, v));
  CHECK_CALL(env, napi_create_int32(env, port, &v));
  CHECK_CALL(env, napi_set_element(env, arr, 1, v));
  CHECK_CALL(env, napi_create_int32(env, family, &v));
  CHECK_CALL(env, napi_set_element(env, arr, 2, v));
  return arr;
}

static napi_value js_close_server(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "closeServer", &h)) return NULL;
  if (h && h->server) handle_close(h);
  return ret_undefined(env);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tenv *te;
  if (!get_args(env, info, 2, argv, &te)) return throw_status(env, napi_generic_failure);
  char ip[ADDR_TEXT];
  bool fits;
  int port;
  if (!arg_string(env, argv[0], "connect", "ip must be a string", ip, sizeof(ip), &fits)) return NULL;
  if (!arg_port(env, argv[1], "connect", &port)) return NULL;
  if (!te->dispatch) return need_init(env, "connect");
  struct sockaddr_storage ss;
  int r = parse_addr(ip, fits, port, &ss);
  if (r) return throw_uv(env, r, "connect", ip, port);
  th *h = handle_new(te, false);
  if (!h) return throw_uv(env, UV_ENOMEM, "connect", ip, port);
  (void)uv_tcp_nodelay(&h->tcp, 1);  // no fd yet: libuv applies it when the socket is made
  h->creq.data = h;
  h->connecting = true;
  r = uv_tcp_connect(&h->creq, &h->tcp, (const struct sockaddr *)&ss, on_connect);
  if (r) {
    h->connecting = false;
    handle_fail(h, EV_CONNECT, r, 0);  // CONNECT(r) then CLOSE, from the close callback
  }
  return ret_num(env, h->id);
}

static napi_value js_read_start(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "readStart", &h)) return NULL;
  h = live_socket(h);
  if (h && !h->eof) {
    h->want_read = true;
    if (!h->connecting) {
      int r = start_reading(h);
      if (r < 0) handle_fail(h, EV_ERROR, r, SYS_READ);
    }
  }
  return ret_undefined(env);
}

static napi_value js_read_stop(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "readStop", &h)) return NULL;
  h = live_socket(h);
  if (h) {
    h->want_read = false;
    if (h->reading) {
      h->reading = false;
      (void)uv_read_stop((uv_stream_t *)&h->tcp);  // always 0
    }
  }
  return ret_undefined(env);
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tenv *te;
  th *h;
  if (!get_args(env, info, 2, argv, &te)) return throw_status(env, napi_generic_failure);
  if (!arg_handle(env, te, argv[0], "write", &h)) return NULL;
  bool ta = false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[1], &ta) != napi_ok || !ta ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return throw_type(env, "write", "data must be a Buffer or Uint8Array");
  if (len > MAX_WRITE) return throw_range(env, "write", "data must be smaller than 2 GiB");
  h = live_socket(h);
  if (!h) return ret_num(env, UV_EBADF);
  if (h->shut_req) return ret_num(env, UV_EPIPE);
  if (len == 0 || data == NULL) return ret_num(env, (double)h->queued);
  size_t off = 0;
  if (h->queued == 0 && !h->connecting) {  // never jump ahead of queued bytes
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&h->tcp, &b, 1);
    if (r >= 0) {
      off = (size_t)r;
      if (off == len) return ret_num(env, 0);
    } else if (r != UV_EAGAIN) {
      handle_close_js(h);
      return ret_num(env, r);
    }
  }
  size_t rest = len - off;
  wreq *w = malloc(sizeof(*w) + rest);
  if (!w) {
    handle_close_js(h);
    return ret_num(env, UV_ENOMEM);
  }
  memcpy(w->data, (const char *)data + off, rest);
  w->h = h;
  w->len = rest;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
  int r = uv_write(&w->req, (uv_stream_t *)&h->tcp, &b, 1, on_write);
  if (r < 0) {
    free(w);
    handle_close_js(h);
    return ret_num(env, r);
  }
  h->queued += rest;
  return ret_num(env, (double)h->queued);
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "shutdown", &h)) return NULL;
  h = live_socket(h);
  if (!h) return ret_num(env, UV_EBADF);
  if (h->shut_req) return ret_num(env, 0);
  h->shut_req = true;
  if (h->connecting) return ret_num(env, 0);  // issued once connected
  int r = start_shutdown(h);
  if (r < 0) handle_close_js(h);
  return ret_num(env, r < 0 ? r : 0);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "close", &h)) return NULL;
  if (h && !h->server) handle_close_js(h);
  return ret_undefined(env);
}

static napi_value js_queued(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "queued", &h)) return NULL;
  h = live_socket(h);
  return ret_num(env, h ? (double)h->queued : 0);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tenv *te;
  if (!get_args(env, info, 0, argv, &te)) return throw_status(env, napi_generic_failure);
  napi_value o, v;
  CHECK_CALL(env, napi_create_object(env, &o));
  CHECK_CALL(env, napi_create_uint32(env, te->nsockets, &v));
  CHECK_CALL(env, napi_set_named_property(env, o, "sockets", v));
  CHECK_CALL(env, napi_create_uint32(env, te->nservers, &v));
  CHECK_CALL(env, napi_set_named_property(env, o, "servers", v));
  return o;
}

/* ------------------------------------------------------------------ env lifecycle */

static void on_loop_handle_close(uv_handle_t *hd) {
  tenv *te = hd->data;
  te->nloop--;
  maybe_finish(te);
}

static void env_cleanup(napi_async_cleanup_hook_handle hh, void *arg) {
  tenv *te = arg;
  te->dead = true;
  te->cleanup = hh;
  for (uint32_t i = 1; i < te->next; i++) {
    th *h = te->tab[i];
    if (!h) continue;
    h->silent = true;
    handle_close(h);
  }
  te->nrec = 0;  // undelivered records go with JS
  te->arena_off = 0;
  te->nclosed = 0;
  if (te->dispatch && napi_delete_reference(te->env, te->dispatch) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->arena_ref && napi_delete_reference(te->env, te->arena_ref) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->events_ref && napi_delete_reference(te->env, te->events_ref) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->recv && napi_delete_reference(te->env, te->recv) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->actx && napi_async_destroy(te->env, te->actx) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_async_destroy failed at env cleanup\n");
  te->dispatch = te->recv = te->arena_ref = te->events_ref = NULL;
  te->arena = NULL;
  te->rec = NULL;
  te->actx = NULL;
  if (te->nloop) {
    uv_close((uv_handle_t *)&te->prepare, on_loop_handle_close);
    uv_close((uv_handle_t *)&te->check, on_loop_handle_close);
  }
  maybe_finish(te);  // otherwise the last close callback finishes
}

// The flush points: a prepare (before the poll) and a check (right after it), unref'ed so
// they never keep the loop alive on their own.
static bool loop_handles_start(tenv *te) {
  if (uv_prepare_init(te->loop, &te->prepare) != 0) return false;
  te->prepare.data = te;
  if (uv_check_init(te->loop, &te->check) != 0) {
    uv_close((uv_handle_t *)&te->prepare, NULL);  // nothing to free: part of te
    return false;
  }
  te->check.data = te;
  te->nloop = 2;
  // uv_*_start fail only for a NULL callback
  (void)uv_prepare_start(&te->prepare, on_prepare);
  (void)uv_check_start(&te->check, on_check);
  uv_unref((uv_handle_t *)&te->prepare);
  uv_unref((uv_handle_t *)&te->check);
  return true;
}

NAPI_MODULE_INIT() {
  tenv *te = NULL;
  if (napi_get_instance_data(env, (void **)&te) != napi_ok) te = NULL;
  if (!te) {
    te = calloc(1, sizeof(*te));
    if (!te) return throw_status(env, napi_generic_failure);
    te->env = env;
    te->next = 1;
    te->batch = 1;
    if (napi_get_uv_event_loop(env, &te->loop) != napi_ok || napi_set_instance_data(env, te, NULL, NULL) != napi_ok) {
      free(te);
      return throw_status(env, napi_generic_failure);
    }
    if (!loop_handles_start(te)) return throw_status(env, napi_generic_failure);
    if (napi_add_async_cleanup_hook(env, env_cleanup, te, NULL) != napi_ok)
      return throw_status(env, napi_generic_failure);
  }
  napi_property_descriptor props[] = {
    {"init", NULL, js_init, NULL, NULL, NULL, napi_enumerable, te},
    {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, te},
    {"address", NULL, js_address, NULL, NULL, NULL, napi_enumerable, te},
    {"closeServer", NULL, js_close_server, NULL, NULL, NULL, napi_enumerable, te},
    {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, te},
    {"readStart", NULL, js_read_start, NULL, NULL, NULL, napi_enumerable, te},
    {"readStop", NULL, js_read_stop, NULL, NULL, NULL, napi_enumerable, te},
    {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, te},
    {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, te},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, te},
    {"queued", NULL, js_queued, NULL, NULL, NULL, napi_enumerable, te},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, te},
  };
  CHECK_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
