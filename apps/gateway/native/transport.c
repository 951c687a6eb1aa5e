// smtpguard gateway: native TCP transport (N-API addon on Node's own libuv loop).
//
// Socket-level API driven by TypeScript (src/transport/native-binding.ts has the types):
//   init(dispatch, inbox)                dispatch(kind, id, a, b, c) for every event; DATA's
//                                        bytes are in inbox (a Uint8Array JS keeps), a = length
//   listen(ip, port, backlog, v6only)    -> server id
//   address(id) -> [ip, port, family]    closeServer(id)
//   connect(ip, port) -> socket id       readStart(id), readStop(id)
//   write(id, bytes) -> queued bytes | negative uv error
//   shutdown(id) -> 0 | negative uv error
//   close(id), queued(id), stats()
//
// Rules this file keeps:
//  - JS -> C calls never call into JS synchronously. Events are dispatched only from libuv
//    callbacks, through napi_make_callback (so nextTicks and microtasks run after each one).
//  - JS may call anything from inside a dispatch, so after each dispatch the state is
//    re-checked before the handle is touched again.
//  - Handle memory is freed only in the close callback. Pending write/connect/shutdown
//    requests are cancelled by uv_close and their callbacks run before the close callback.
//  - Events that end a socket (a failed CONNECT, ERROR) are recorded when the failure is
//    seen, the handle is closed at once, and the event is dispatched from the close callback
//    immediately before CLOSE. After a socket starts closing (JS close() included), CLOSE is
//    the only event it still gets.
//  - All state is per napi_env (instance data). An *async* env cleanup hook closes every
//    handle and completes from the last close callback: Node keeps running the loop until
//    then, and only afterwards may unload the addon (a worker that alone loaded it unloads
//    it; a close callback left pending past that would jump into unmapped code).
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  EV_CONNECTION = 1,
  EV_CONNECT = 2,
  EV_DATA = 3,
  EV_END = 4,
  EV_ERROR = 5,
  EV_DRAIN = 6,
  EV_CLOSE = 7,
  EV_SERVER_CLOSE = 8,
};

#define READ_BUF_SIZE 65536  // the most one read takes (of a larger inbox)
#define MIN_INBOX 4096
#define MAX_WRITE 0x7fffffffu  // uv_buf_t.len is unsigned int; keep one request below 2 GiB
#define ADDR_TEXT 128          // IPv6 text plus a scope id

typedef struct tenv tenv;

typedef struct th {  // one TCP handle: a listener or a stream
  uv_tcp_t tcp;      // tcp.data = this
  uv_connect_t creq;
  uv_shutdown_t sreq;
  tenv *te;
  uint32_t id;
  bool server;
  bool closing;       // uv_close called; only CLOSE / SERVER_CLOSE may follow
  bool silent;        // dispatch nothing at close (never shown to JS, or env teardown)
  bool connecting;    // uv_tcp_connect pending
  bool want_read;     // readStart asked (honoured once connected)
  bool reading;       // uv_read_start active
  bool eof;           // EOF read
  bool shut_req;      // shutdown asked
  bool shut_started;  // uv_shutdown issued
  bool shut_done;     // uv_shutdown completed
  uint8_t final_kind;       // EV_CONNECT or EV_ERROR dispatched from the close callback
  int final_err;            // its negative uv error code
  const char *final_syscall;  // for EV_ERROR
  size_t queued;      // bytes held in our pending write requests
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
  napi_async_cleanup_hook_handle cleanup;  // removed once every handle is closed
  th **tab;           // id -> handle; slot 0 unused so ids start at 1
  uint32_t *freel;    // free ids, a FIFO ring
  uint32_t cap, next, nfree, fhead;
  uint32_t nsockets, nservers;  // live handles, until their close callback
  // Reads land in a Uint8Array owned by JS (the inbox); DATA passes only the length and JS
  // copies the bytes out inside the dispatch. A Buffer made here per read costs several
  // times more (an ArrayBuffer, a backing store, a prototype switch).
  napi_ref inbox_ref;
  char *inbox;
  size_t inbox_len;
};

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *buf);

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
      if (ncap <= te->cap) return 0;
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
  free(te);
}

// Env teardown finished: free the state, then let Node go on (it may unload the addon).
static void tenv_finish(tenv *te) {
  napi_async_cleanup_hook_handle hh = te->cleanup;
  tenv_free(te);
  if (hh && napi_remove_async_cleanup_hook(hh) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_remove_async_cleanup_hook failed\n");
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

typedef struct {
  napi_handle_scope hs;
  napi_value argv[5];
  size_t argc;
  bool ok;
} ev_t;

static bool ev_begin(tenv *te, ev_t *ev, int kind, uint32_t id) {
  if (te->dead || te->nojs || te->dispatch == NULL) return false;
  if (!cb_ok(te, napi_open_handle_scope(te->env, &ev->hs))) return false;
  ev->argc = 2;
  ev->ok = cb_ok(te, napi_create_int32(te->env, kind, &ev->argv[0])) &&
           cb_ok(te, napi_create_uint32(te->env, id, &ev->argv[1]));
  return true;
}

static void ev_int(tenv *te, ev_t *ev, int32_t v) {
  if (ev->ok) ev->ok = cb_ok(te, napi_create_int32(te->env, v, &ev->argv[ev->argc++]));
}

static void ev_str(tenv *te, ev_t *ev, const char *s) {
  if (ev->ok) ev->ok = cb_ok(te, napi_create_string_latin1(te->env, s, NAPI_AUTO_LENGTH, &ev->argv[ev->argc++]));
}

// Returns whether the dispatch function was called (it may have thrown).
static bool ev_fire(tenv *te, ev_t *ev) {
  bool called = false;
  if (ev->ok) {
    napi_value fn, recv, res;
    if (cb_ok(te, napi_get_reference_value(te->env, te->dispatch, &fn)) &&
        cb_ok(te, napi_get_reference_value(te->env, te->recv, &recv))) {
      called = true;
      cb_ok(te, napi_make_callback(te->env, te->actx, recv, fn, ev->argc, ev->argv, &res));
    }
  }
  cb_ok(te, napi_close_handle_scope(te->env, ev->hs));
  return called;
}

static void emit_simple(tenv *te, int kind, uint32_t id) {
  ev_t ev;
  if (!ev_begin(te, &ev, kind, id)) return;
  ev_fire(te, &ev);
}

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
  if (h->server) te->nservers--;
  else te->nsockets--;
  if (!h->silent && !te->dead) {
    ev_t ev;
    if (h->final_kind == EV_CONNECT && ev_begin(te, &ev, EV_CONNECT, h->id)) {
      ev_int(te, &ev, h->final_err);
      ev_fire(te, &ev);
    } else if (h->final_kind == EV_ERROR && ev_begin(te, &ev, EV_ERROR, h->id)) {
      ev_int(te, &ev, h->final_err);
      ev_str(te, &ev, h->final_syscall);
      ev_fire(te, &ev);
    }
    emit_simple(te, h->server ? EV_SERVER_CLOSE : EV_CLOSE, h->id);
  }
  slot_free(te, h->id);
  free(h);
  if (te->dead && te->nsockets == 0 && te->nservers == 0) tenv_finish(te);
}

static void handle_close(th *h) {
  if (h->closing) return;
  h->closing = true;
  h->reading = false;
  uv_close((uv_handle_t *)&h->tcp, on_close);
}

// Close because of an asynchronous failure; the event goes out just before CLOSE.
static void handle_fail(th *h, uint8_t kind, int err, const char *syscall) {
  if (h->closing) return;
  h->final_kind = kind;
  h->final_err = err;
  h->final_syscall = syscall;
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
    handle_fail(h, EV_ERROR, status, "shutdown");
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

static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *buf) {
  (void)size;
  th *h = hd->data;
  buf->base = h->te->inbox;  // set by init, which listen and connect require
  buf->len = h->te->inbox_len;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;  // always the inbox
  th *h = st->data;
  tenv *te = h->te;
  if (nread == 0 || h->closing) return;
  if (nread > 0) {
    ev_t ev;
    if (!ev_begin(te, &ev, EV_DATA, h->id)) return;
    ev_int(te, &ev, (int32_t)nread);  // the bytes are in the inbox (buf->base)
    ev_fire(te, &ev);
    return;  // whatever JS did (close, readStop) libuv sees in the handle's flags
  }
  h->reading = false;
  h->want_read = false;
  if (nread != UV_EOF) {
    handle_fail(h, EV_ERROR, (int)nread, "read");
    return;
  }
  h->eof = true;  // libuv already stopped reading
  emit_simple(te, EV_END, h->id);
  if (!h->closing && h->shut_done) handle_close(h);
}

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  th *h = w->h;
  h->queued -= w->len;
  free(w);
  if (h->closing) return;  // UV_ECANCELED, or completed just before close
  if (status < 0) {
    handle_fail(h, EV_ERROR, status, "write");
    return;
  }
  if (h->queued == 0) emit_simple(h->te, EV_DRAIN, h->id);
}

static void on_connect(uv_connect_t *req, int status) {
  th *h = req->data;
  tenv *te = h->te;
  h->connecting = false;
  if (h->closing) return;
  if (status < 0) {
    handle_fail(h, EV_CONNECT, status, NULL);
    return;
  }
  ev_t ev;
  if (ev_begin(te, &ev, EV_CONNECT, h->id)) {
    ev_int(te, &ev, 0);
    ev_fire(te, &ev);
  }
  if (h->closing) return;
  // requests made while connecting (inside the dispatch they ran directly)
  if (h->shut_req && !h->shut_started) {
    int r = start_shutdown(h);
    if (r < 0) {
      handle_fail(h, EV_ERROR, r, "shutdown");
      return;
    }
  }
  if (h->want_read && !h->eof) {
    int r = start_reading(h);
    if (r < 0) handle_fail(h, EV_ERROR, r, "read");
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
  ev_t ev;
  bool called = false;
  if (ev_begin(te, &ev, EV_CONNECTION, h->id)) {
    ev_int(te, &ev, (int32_t)srv->id);
    ev_str(te, &ev, ip);
    ev_int(te, &ev, port);
    called = ev_fire(te, &ev);
  }
  if (!called) {  // JS never saw this id: do not leak it
    h->silent = true;
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

static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tenv *te;
  if (!get_args(env, info, 2, argv, &te)) return throw_status(env, napi_generic_failure);
  if (!is_type(env, argv[0], napi_function)) return throw_type(env, "init", "dispatch must be a function");
  bool ta = false;
  napi_typedarray_type type;
  size_t inbox_len = 0;
  void *inbox = NULL;
  if (napi_is_typedarray(env, argv[1], &ta) != napi_ok || !ta ||
      napi_get_typedarray_info(env, argv[1], &type, &inbox_len, &inbox, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return throw_type(env, "init", "inbox must be a Buffer or Uint8Array");
  if (inbox_len < MIN_INBOX || inbox == NULL) return throw_range(env, "init", "inbox must hold at least 4096 bytes");
  if (inbox_len > READ_BUF_SIZE) inbox_len = READ_BUF_SIZE;
  if (!te->recv) {
    napi_value recv, name;
    CHECK_CALL(env, napi_create_object(env, &recv));
    CHECK_CALL(env, napi_create_string_utf8(env, "smtpguard:transport", NAPI_AUTO_LENGTH, &name));
    CHECK_CALL(env, napi_async_init(env, recv, name, &te->actx));
    CHECK_CALL(env, napi_create_reference(env, recv, 1, &te->recv));
  }
  napi_ref ref;
  CHECK_CALL(env, napi_create_reference(env, argv[0], 1, &ref));
  napi_ref iref;
  CHECK_CALL(env, napi_create_reference(env, argv[1], 1, &iref));
  if (te->dispatch) CHECK_CALL(env, napi_delete_reference(env, te->dispatch));
  if (te->inbox_ref) CHECK_CALL(env, napi_delete_reference(env, te->inbox_ref));
  te->dispatch = ref;
  te->inbox_ref = iref;
  te->inbox = inbox;
  te->inbox_len = inbox_len;
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
    handle_fail(h, EV_CONNECT, r, NULL);  // CONNECT(r) then CLOSE, from the close callback
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
      if (r < 0) handle_fail(h, EV_ERROR, r, "read");
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
      handle_close(h);
      return ret_num(env, r);
    }
  }
  size_t rest = len - off;
  wreq *w = malloc(sizeof(*w) + rest);
  if (!w) {
    handle_close(h);
    return ret_num(env, UV_ENOMEM);
  }
  memcpy(w->data, (const char *)data + off, rest);
  w->h = h;
  w->len = rest;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
  int r = uv_write(&w->req, (uv_stream_t *)&h->tcp, &b, 1, on_write);
  if (r < 0) {
    free(w);
    handle_close(h);
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
  if (r < 0) handle_close(h);
  return ret_num(env, r < 0 ? r : 0);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  th *h;
  if (!id_only_args(env, info, "close", &h)) return NULL;
  if (h && !h->server) handle_close(h);
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
  if (te->dispatch && napi_delete_reference(te->env, te->dispatch) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->inbox_ref && napi_delete_reference(te->env, te->inbox_ref) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->recv && napi_delete_reference(te->env, te->recv) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_delete_reference failed at env cleanup\n");
  if (te->actx && napi_async_destroy(te->env, te->actx) != napi_ok)
    fprintf(stderr, "smtpguard transport: napi_async_destroy failed at env cleanup\n");
  te->dispatch = te->recv = te->inbox_ref = NULL;
  te->inbox = NULL;
  te->actx = NULL;
  // otherwise the last close callback finishes
  if (te->nsockets == 0 && te->nservers == 0) tenv_finish(te);
}

NAPI_MODULE_INIT() {
  tenv *te = NULL;
  if (napi_get_instance_data(env, (void **)&te) != napi_ok) te = NULL;
  if (!te) {
    te = calloc(1, sizeof(*te));
    if (!te) return throw_status(env, napi_generic_failure);
    te->env = env;
    te->next = 1;
    if (napi_get_uv_event_loop(env, &te->loop) != napi_ok || napi_set_instance_data(env, te, NULL, NULL) != napi_ok) {
      free(te);
      return throw_status(env, napi_generic_failure);
    }
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
