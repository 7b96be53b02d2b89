/*
 * The HTTP/1.1 transport (RFC 9112) on raw h2o sockets, with its own keep-alive pool.
 *
 * Why not h2o's http1client + socket pool: the packaged pool keeps idle connections as exported
 * file descriptors, so every reuse costs dup + close + a new uv handle + epoll churn and a
 * recv(MSG_PEEK) probe, plus mallocs. Here a connection stays a live h2o_socket_t from its
 * connect to its close, as in the HTTP/2 transport (h2.c).
 *
 * Contract (the events and their order are in internal.h):
 * - One request per connection at a time (no pipelining, RFC 9112 §9.3.2). An attempt takes the
 *   most recently used idle connection of its upstream, or opens one: a numeric host is
 *   resolved once at init, a name through h2o's resolver for each new connection; https
 *   handshakes with up->ssl_ctx and up->server_name (a name mismatch fails only with verify on).
 * - Capacity is attempts in flight against max_connections. Every open connection is either
 *   busy (one attempt) or idle, and an attempt opens a connection only when none is idle, so
 *   idle + busy never exceeds max_connections.
 * - A reused connection is ready at once: on_connected is raised from inside `start`. If it fails
 *   before any byte of the response (the upstream closed it as we wrote), an idempotent request
 *   goes again once, on a fresh connection, without counting as a retry (RFC 9110 §9.2.2,
 *   RFC 9112 §9.3.1).
 * - Responses: the head is parsed by picohttpparser; 1xx informational heads are skipped
 *   (RFC 9110 §15.2). The body's length follows RFC 9112 §6.3: none for HEAD, 204 and 304;
 *   chunked when it is the final transfer coding (§7.1); else Content-Length (differing or
 *   malformed values are an error); else until the connection closes (not reusable).
 * - Keep-alive (RFC 9112 §9.3): a connection goes back to the idle list only if the response was
 *   HTTP/1.1 without a `close` connection option (RFC 9110 §7.6.1), it was read exactly to its
 *   end (no extra bytes), the request was fully written, and max_keepalive_connections allows:
 *   a connection that would make more idle ones than that is closed, but only beyond the recent
 *   peak of attempts in flight (under a steady load the number in flight swings below its peak
 *   between answers; closing what is needed a moment later would open a connection per
 *   request). The peak is forgotten after keepalive_expiry_ms. max_keepalive_connections 0
 *   keeps none.
 * - Idle connections (most recently used first) keep reading: EOF or any byte means the upstream
 *   closed it or broke the protocol, and it is closed. Each expires after keepalive_expiry_ms.
 * - Timeouts: the policy layer owns the per-call ones. io_timeout_ms bounds connecting (reported
 *   as h2api_err_connect_timeout) and each wait for the peer (a write, the next bytes of the
 *   response: h2api_err_io_timeout, before_response = no byte of the response seen). While a streaming consumer holds a chunk,
 * reading stops and the clock is H1N_PAUSED_IO_TIMEOUT_MS instead, so that a slow downstream does not look like a stalled upstream
 * (the consumer's own timeouts bound it).
 * - Errors: connect, resolve and TLS failures are h2api_err_connect (before_response 1); a read
 *   or write failure or EOF is h2api_err_protocol with before_response = no byte of the response
 *   seen (only while waiting for the head); a malformed response (RFC 9112 §4, §5, §6.3, §7.1;
 *   obs-fold and a 101 are refused) is h2api_err_protocol, before_response 0; a buffered body
 *   over max_response_bytes closes the connection with h2api_err_body_too_large.
 * - Reentrancy: a connection is released (back to the idle list, or closed) before the event
 *   that ends its attempt, and the final chunk is taken out of the socket's buffer first, so the
 *   consumer may start a new call on it from that event. Around the other events (on_head, a
 *   non-final on_body) the consumer may cancel the call: the connection is then closed when the
 *   event returns.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "client/internal.h"

/*
 * picohttpparser, as bundled and exported by libh2o 2.2.5 (Debian ships no header). These
 * declarations follow h2o 2.2.5's deps/picohttpparser/picohttpparser.h.
 */
struct phr_header {
    const char *name; /* NULL for an obs-fold continuation line */
    size_t name_len;
    const char *value;
    size_t value_len;
};
/* @return bytes of the head, -2 incomplete, -1 malformed */
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len);
struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char _hex_count;
    char _state;
};
/* Decodes in place; *bufsz becomes the decoded length. @return -2 incomplete, -1 malformed, or
 * the count of bytes after the end of the chunked body (moved right after the decoded data). */
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#define H1N_PAUSED_IO_TIMEOUT_MS (10 * 60 * 1000)
/* Response head limits: fields and bytes (more is a protocol error). */
#define H1N_MAX_HEADERS 100
#define H1N_MAX_HEAD_BYTES (64 * 1024)

typedef struct st_h1n_state_t h1n_state_t;
typedef struct st_h1n_conn_t h1n_conn_t;

/* up->h1n */
struct st_h1n_state_t {
    h2api_upstream_t *up;
    struct sockaddr_storage addr; /* a numeric host, resolved once at init */
    socklen_t addrlen;            /* 0: the host is a name, resolved for each new connection */
    char port[8];
    h2o_linklist_t idle; /* idle connections, most recently used first */
    h2o_linklist_t busy; /* connections with an attempt (connecting or exchanging) */
    size_t num_idle, num_busy;
    size_t recent_peak;       /* most attempts in flight lately (see keep_idle) */
    uint64_t recent_peak_at;  /* loop time of that peak */
    h2api_call_t *restarting; /* the call restarted after a stale connection: it opens a fresh one */
    int disposed;
    h2o_timeout_t idle_timeout; /* keepalive_expiry_ms */
};

typedef enum en_h1n_conn_state_t {
    H1N_CONNECTING, /* resolving, connecting or TLS handshaking */
    H1N_HEAD,       /* the request is written; waiting for the response head */
    H1N_BODY,
    H1N_IDLE
} h1n_conn_state_t;

typedef enum en_h1n_body_t { H1N_BODY_NONE, H1N_BODY_LENGTH, H1N_BODY_CHUNKED, H1N_BODY_UNTIL_CLOSE } h1n_body_t;

/* malloc'ed; call->transport_data while an attempt runs on it */
struct st_h1n_conn_t {
    h1n_state_t *st;
    h2o_linklist_t link; /* in st->idle or st->busy */
    h1n_conn_state_t state;
    h2o_hostinfo_getaddr_req_t *getaddr_req;
    h2o_socket_t *sock;
    h2api_call_t *call; /* the attempt; NULL when idle or cancelled */
    h2o_iovec_t reqbufs[2];
    int reused;        /* the attempt got it from the idle list */
    int response_seen; /* a byte of the response arrived */
    int keepalive;     /* the response allows reuse (RFC 9112 §9.3) */
    h1n_body_t body;
    uint64_t body_left; /* H1N_BODY_LENGTH */
    struct phr_chunked_decoder chunked;
    int paused;      /* streaming: the consumer holds a chunk until `proceed` */
    int in_callback; /* inside on_head or a non-final on_body: a cancel must not free the connection */
    int cancelled;   /* cancelled meanwhile: closed when the callback returns */
    h2o_timeout_entry_t io_entry;
    h2o_timeout_entry_t idle_entry;
};

static void on_read(h2o_socket_t *sock, const char *err);
static void conn_start_connect(h1n_conn_t *conn, struct sockaddr *addr, socklen_t addrlen);

/* ---- connections: bookkeeping ---- */

static void unlink_entry(h2o_timeout_entry_t *entry)
{
    if (h2o_timeout_is_linked(entry))
        h2o_timeout_unlink(entry);
}

/* Closes and frees `conn`; its attempt, if any, was detached (no event follows from here). */
static void conn_close(h1n_conn_t *conn)
{
    h1n_state_t *st = conn->st;
    unlink_entry(&conn->io_entry);
    unlink_entry(&conn->idle_entry);
    if (conn->getaddr_req != NULL)
        h2o_hostinfo_getaddr_cancel(conn->getaddr_req);
    if (conn->sock != NULL)
        h2o_socket_close(conn->sock); /* no socket callback runs after this; a write in flight is dropped */
    h2o_linklist_unlink(&conn->link);
    if (conn->state == H1N_IDLE)
        --st->num_idle;
    else
        --st->num_busy;
    free(conn);
}

/* Takes the attempt off `conn` before an event that ends it (internal.h: transport_data is NULL first). */
static h2api_call_t *conn_detach(h1n_conn_t *conn)
{
    h2api_call_t *call = conn->call;
    conn->call = NULL;
    call->transport_data = NULL;
    return call;
}

/* Restarts the I/O clock: io_timeout_ms while waiting on the peer, the long one while paused. */
static void conn_arm_io(h1n_conn_t *conn)
{
    h2api_upstream_t *up = conn->st->up;
    unlink_entry(&conn->io_entry);
    h2o_timeout_link(up->loop, conn->paused ? &up->h1.paused_io_timeout : &up->io_timeout, &conn->io_entry);
}

static void set_reader(h1n_conn_t *conn, h2o_socket_cb cb)
{
    if (h2o_socket_is_reading(conn->sock))
        conn->sock->_cb.read = cb; /* already reading: switching the callback needs no system call */
    else
        h2o_socket_read_start(conn->sock, cb);
}

/* ---- idle connections ---- */

static void on_idle_read(h2o_socket_t *sock, const char *err)
{
    (void)err;
    /* EOF, an error, or bytes nobody asked for: the upstream closed it or broke the protocol */
    conn_close(sock->data);
}

static void on_idle_timeout(h2o_timeout_entry_t *entry)
{
    conn_close(H2O_STRUCT_FROM_MEMBER(h1n_conn_t, idle_entry, entry));
}

/*
 * Whether a connection whose response just ended (its call still counted in in_flight) may stay
 * idle under max_keepalive_connections and the recent-peak rule (see the top of the file).
 */
static int keep_idle(h1n_state_t *st)
{
    h2api_upstream_t *up = st->up;
    size_t max_idle = up->conf->max_keepalive_connections;
    if (max_idle == 0)
        return 0;
    uint64_t now = h2o_now(up->loop);
    if (now - st->recent_peak_at > up->conf->keepalive_expiry_ms) {
        st->recent_peak = up->in_flight;
        st->recent_peak_at = now;
    }
    size_t open = st->num_idle + st->num_busy;
    return !(up->num_waiting == 0 && open > st->recent_peak && st->num_idle + 1 > max_idle);
}

/* The attempt on `conn` ended (detached already): back to the idle list, or closed. */
static void conn_release(h1n_conn_t *conn, int reusable)
{
    h1n_state_t *st = conn->st;
    if (!reusable || st->disposed || h2o_socket_is_writing(conn->sock) || !keep_idle(st)) {
        conn_close(conn);
        return;
    }
    unlink_entry(&conn->io_entry);
    h2o_linklist_unlink(&conn->link);
    --st->num_busy;
    conn->state = H1N_IDLE;
    h2o_linklist_insert(st->idle.next, &conn->link); /* at the head: most recently used first */
    ++st->num_idle;
    h2o_timeout_link(st->up->loop, &st->idle_timeout, &conn->idle_entry);
    set_reader(conn, on_idle_read);
}

/* ---- failures ---- */

/*
 * Fails the attempt: closes `conn` and raises on_error. Before any byte of the response, a
 * reused connection may have been closed by the upstream as we wrote: an idempotent request
 * goes again once on a fresh connection (not a retry).
 */
static void conn_fail(h1n_conn_t *conn, const char *errstr, int before_response)
{
    h1n_state_t *st = conn->st;
    int reused = conn->reused;
    h2api_call_t *call = conn_detach(conn);
    conn_close(conn);
    if (before_response && reused && call->idempotent && !call->stale_retry_done) {
        call->stale_retry_done = 1;
        h2api_call_t *saved = st->restarting;
        st->restarting = call;
        h2api__call_restart(call);
        st->restarting = saved;
        return;
    }
    h2api__call_on_error(call, errstr, before_response);
}

/* A failure while connecting (never a reused connection). */
static void conn_fail_connect(h1n_conn_t *conn, const char *errstr)
{
    h2api_call_t *call = conn_detach(conn);
    conn_close(conn);
    h2api__call_on_error(call, errstr, 1);
}

static void on_io_timeout(h2o_timeout_entry_t *entry)
{
    h1n_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h1n_conn_t, io_entry, entry);
    switch (conn->state) {
    case H1N_CONNECTING:
        conn_fail_connect(conn, h2api_err_connect_timeout);
        break;
    case H1N_HEAD:
        conn_fail(conn, h2api_err_io_timeout, !conn->response_seen);
        break;
    default:
        conn_fail(conn, h2api_err_io_timeout, 0);
        break;
    }
}

/* ---- the request ---- */

static h2o_iovec_t build_head(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    const h2api_conf_upstream_t *conf = up->conf;
    const h2api_call_req_t *creq = call->req;
    size_t cap = call->method.len + call->path.len + up->authority.len + 64;
    for (size_t i = 0; i != conf->num_headers; ++i)
        cap += strlen(conf->headers[i].name) + strlen(conf->headers[i].value) + 4;
    for (size_t i = 0; i != creq->num_headers; ++i)
        cap += creq->headers[i].name->len + creq->headers[i].value.len + 4;

    char *buf = h2o_mem_alloc_pool(call->pool, cap), *p = buf;
#define APPEND(s, n) (memcpy(p, (s), (n)), p += (n))
#define APPEND_LIT(s) APPEND(s, sizeof(s) - 1)
    APPEND(call->method.base, call->method.len);
    APPEND_LIT(" ");
    APPEND(call->path.base, call->path.len);
    APPEND_LIT(" HTTP/1.1\r\nhost: ");
    APPEND(up->authority.base, up->authority.len);
    APPEND_LIT("\r\n");
    for (size_t i = 0; i != conf->num_headers; ++i) {
        APPEND(conf->headers[i].name, strlen(conf->headers[i].name));
        APPEND_LIT(": ");
        APPEND(conf->headers[i].value, strlen(conf->headers[i].value));
        APPEND_LIT("\r\n");
    }
    for (size_t i = 0; i != creq->num_headers; ++i) {
        APPEND(creq->headers[i].name->base, creq->headers[i].name->len);
        APPEND_LIT(": ");
        APPEND(creq->headers[i].value.base, creq->headers[i].value.len);
        APPEND_LIT("\r\n");
    }
    if (creq->body.base != NULL)
        p += sprintf(p, "content-length: %zu\r\n", creq->body.len);
    APPEND_LIT("\r\n");
#undef APPEND_LIT
#undef APPEND
    return h2o_iovec_init(buf, p - buf);
}

static void on_write_complete(h2o_socket_t *sock, const char *err)
{
    h1n_conn_t *conn = sock->data;
    if (err != NULL) {
        /* e.g. EPIPE on a keep-alive connection the upstream closed */
        conn_fail(conn, h2api_err_protocol, conn->state == H1N_HEAD && !conn->response_seen);
        return;
    }
    if (!conn->paused)
        conn_arm_io(conn); /* progress */
}

/* The connection is ready for the attempt: write the request, read the response. */
static void conn_send(h1n_conn_t *conn)
{
    h2api_call_t *call = conn->call;
    size_t cnt = 0;
    conn->state = H1N_HEAD;
    conn->response_seen = 0;
    conn->paused = 0;
    if (call->head.base == NULL)
        call->head = build_head(call);
    conn->reqbufs[cnt++] = call->head;
    if (call->req->body.base != NULL && call->req->body.len != 0)
        conn->reqbufs[cnt++] = call->req->body;
    h2o_socket_write(conn->sock, conn->reqbufs, cnt, on_write_complete);
    set_reader(conn, on_read);
    conn_arm_io(conn);
    h2api__call_on_connected(call);
}

/* ---- connecting ---- */

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    h1n_conn_t *conn = sock->data;
    /* h2o checks the name even when the chain is not verified; that check only counts with verify on */
    if (err != NULL && !(err == h2o_socket_error_ssl_cert_name_mismatch && !conn->st->up->conf->tls.verify)) {
        conn_fail_connect(conn, h2api_err_connect);
        return;
    }
    conn_send(conn);
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
    h1n_conn_t *conn = sock->data;
    h2api_upstream_t *up = conn->st->up;
    if (err != NULL) {
        conn_fail_connect(conn, h2api_err_connect);
        return;
    }
    if (up->ssl_ctx != NULL) {
        h2o_socket_ssl_handshake(sock, up->ssl_ctx, up->server_name, on_handshake);
    } else {
        conn_send(conn);
    }
}

static void on_getaddr(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *_conn)
{
    (void)req;
    h1n_conn_t *conn = _conn;
    conn->getaddr_req = NULL;
    if (errstr != NULL) {
        conn_fail_connect(conn, h2api_err_connect);
        return;
    }
    struct addrinfo *selected = h2o_hostinfo_select_one(res);
    conn_start_connect(conn, selected->ai_addr, selected->ai_addrlen);
}

static void conn_start_connect(h1n_conn_t *conn, struct sockaddr *addr, socklen_t addrlen)
{
    if ((conn->sock = h2o_socket_connect(conn->st->up->loop, addr, addrlen, on_connect)) == NULL) {
        conn_fail_connect(conn, h2api_err_connect);
        return;
    }
    conn->sock->data = conn;
}

/* A new busy connection for `call`; resolves (a host name) and connects. May fail at once. */
static void conn_open(h1n_state_t *st, h2api_call_t *call)
{
    h2api_upstream_t *up = st->up;
    h1n_conn_t *conn = h2o_mem_alloc(sizeof(*conn));
    *conn = (h1n_conn_t){.st = st, .state = H1N_CONNECTING, .call = call};
    conn->io_entry.cb = on_io_timeout;
    conn->idle_entry.cb = on_idle_timeout;
    h2o_linklist_insert(&st->busy, &conn->link);
    ++st->num_busy;
    call->transport_data = conn;
    conn_arm_io(conn); /* bounds the connect, as libh2o's http1client did */
    if (st->addrlen != 0) {
        conn_start_connect(conn, (struct sockaddr *)&st->addr, st->addrlen);
    } else {
        const char *host = up->conf->host;
        conn->getaddr_req = h2o_hostinfo_getaddr(&up->ctx->receivers.hostinfo_getaddr, h2o_iovec_init(host, strlen(host)),
                                                 h2o_iovec_init(st->port, strlen(st->port)), AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP,
                                                 AI_ADDRCONFIG | AI_NUMERICSERV, on_getaddr, conn);
    }
}

/* ---- the response ---- */

/* Whether the comma-separated list `v` holds `token` (case-insensitive, RFC 9110 §5.6.1). */
static int list_has_token(h2o_iovec_t v, const char *token, size_t token_len)
{
    const char *p = v.base, *end = v.base + v.len;
    while (p < end) {
        const char *comma = memchr(p, ',', end - p), *e = comma != NULL ? comma : end;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            ++s;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            --t;
        if (h2o_lcstris(s, t - s, token, token_len))
            return 1;
        p = e + 1;
    }
    return 0;
}

/* Whether the last coding of the list `v` is chunked (RFC 9112 §6.3 item 4). */
static int last_coding_is_chunked(h2o_iovec_t v)
{
    const char *s = v.base, *e = v.base + v.len;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == ','))
        --e;
    const char *b = e;
    while (b > s && b[-1] != ',' && b[-1] != ' ' && b[-1] != '\t')
        --b;
    return h2o_lcstris(b, e - b, H2O_STRLIT("chunked"));
}

/*
 * The response ended with `extra` bytes after it in the socket buffer: the connection goes back
 * (or closes) first, then the final chunk (the first `len` bytes of the buffer) is delivered
 * from a buffer of its own, so that the consumer may reuse the connection from that event.
 */
static void conn_complete(h1n_conn_t *conn, size_t len, size_t extra)
{
    h2api_call_t *call = conn_detach(conn);
    h2o_buffer_t *chunk = NULL;
    if (len != 0) {
        chunk = conn->sock->input;
        h2o_buffer_init(&conn->sock->input, &h2o_socket_buffer_prototype);
    } else {
        h2o_buffer_consume(&conn->sock->input, conn->sock->input->size);
    }
    conn_release(conn, conn->keepalive && extra == 0);
    h2api__call_on_body(call, chunk != NULL ? chunk->bytes : NULL, len, 1);
    if (chunk != NULL)
        h2o_buffer_dispose(&chunk);
}

/* Delivers what the socket buffer holds of the body. */
static void conn_read_body(h1n_conn_t *conn)
{
    h2o_buffer_t *input = conn->sock->input;
    size_t len = input->size, extra = 0;
    int done = 0;
    switch (conn->body) {
    case H1N_BODY_LENGTH:
        if (len > conn->body_left) {
            extra = len - conn->body_left;
            len = conn->body_left;
        }
        conn->body_left -= len;
        done = conn->body_left == 0;
        break;
    case H1N_BODY_CHUNKED: {
        size_t decoded = input->size;
        ssize_t ret = phr_decode_chunked(&conn->chunked, input->bytes, &decoded);
        if (ret == -1) {
            conn_fail(conn, h2api_err_protocol, 0);
            return;
        }
        len = decoded;
        if (ret >= 0) {
            done = 1;
            extra = ret;
        }
        input->size = len + extra;
        break;
    }
    default: /* until the connection closes: on_read ends it */
        break;
    }
    if (done) {
        conn_complete(conn, len, extra);
        return;
    }
    if (len == 0)
        return;

    conn->in_callback = 1;
    int ret = h2api__call_on_body(conn->call, input->bytes, len, 0);
    conn->in_callback = 0;
    if (conn->cancelled) {
        conn_close(conn); /* the consumer cancelled the call from its callback */
        return;
    }
    h2o_buffer_consume(&conn->sock->input, len);
    if (ret < 0) {
        conn_fail(conn, h2api_err_body_too_large, 0);
        return;
    }
    if (ret > 0) {
        /* back-pressure: stop reading until the consumer calls proceed */
        conn->paused = 1;
        h2o_socket_read_stop(conn->sock);
        conn_arm_io(conn);
    }
}

/*
 * Parses the response head from the socket buffer and raises on_head; skips 1xx heads.
 * @return 1 if the body follows (state H1N_BODY), 0 if more bytes are needed or the attempt
 *         ended (`conn` may be gone).
 */
static int conn_read_head(h1n_conn_t *conn)
{
    h2api_call_t *call = conn->call;
    struct phr_header src[H1N_MAX_HEADERS];
    h2o_header_t headers[H1N_MAX_HEADERS];
    h2o_iovec_t names[H1N_MAX_HEADERS];
    int minor_version, status, ret;
    const char *msg;
    size_t msg_len, num_headers;

    for (;;) {
        h2o_buffer_t *input = conn->sock->input;
        if (input->size == 0)
            return 0;
        conn->response_seen = 1;
        num_headers = H1N_MAX_HEADERS;
        ret = phr_parse_response(input->bytes, input->size, &minor_version, &status, &msg, &msg_len, src, &num_headers, 0);
        if (ret == -2) {
            if (input->size <= H1N_MAX_HEAD_BYTES)
                return 0;
            ret = -1;
        }
        if (ret < 0 || status == 101) {
            conn_fail(conn, h2api_err_protocol, 0);
            return 0;
        }
        if (status / 100 != 1)
            break;
        h2o_buffer_consume(&conn->sock->input, ret); /* informational (RFC 9110 §15.2): the final answer follows */
    }

    /* fields: lower-cased names (tokens where h2o has one), and the framing (RFC 9112 §6.3) */
    int has_te = 0, chunked = 0, has_cl = 0, conn_close_option = 0;
    size_t content_length = 0;
    for (size_t i = 0; i != num_headers; ++i) {
        if (src[i].name == NULL) {
            /* obs-fold (RFC 9112 §5.2): not accepted */
            conn_fail(conn, h2api_err_protocol, 0);
            return 0;
        }
        h2o_strtolower((char *)src[i].name, src[i].name_len);
        const h2o_token_t *token = h2o_lookup_token(src[i].name, src[i].name_len);
        h2o_iovec_t value = h2o_iovec_init(src[i].value, src[i].value_len);
        if (token != NULL) {
            headers[i].name = (h2o_iovec_t *)&token->buf;
        } else {
            names[i] = h2o_iovec_init(src[i].name, src[i].name_len);
            headers[i].name = names + i;
        }
        headers[i].orig_name = NULL;
        headers[i].value = value;
        if (token == H2O_TOKEN_TRANSFER_ENCODING) {
            has_te = 1;
            chunked = last_coding_is_chunked(value);
        } else if (token == H2O_TOKEN_CONTENT_LENGTH) {
            size_t n = h2o_strtosize(value.base, value.len);
            if (n == SIZE_MAX || (has_cl && n != content_length)) {
                conn_fail(conn, h2api_err_protocol, 0);
                return 0;
            }
            has_cl = 1;
            content_length = n;
        } else if (token == H2O_TOKEN_CONNECTION) {
            conn_close_option |= list_has_token(value, H2O_STRLIT("close"));
        }
    }
    conn->keepalive = minor_version >= 1 && !conn_close_option;
    if (call->is_head || status == 204 || status == 304) {
        conn->body = H1N_BODY_NONE;
    } else if (has_te) {
        conn->body = chunked ? H1N_BODY_CHUNKED : H1N_BODY_UNTIL_CLOSE;
        if (has_cl)
            conn->keepalive = 0; /* both: a sign of smuggling (RFC 9112 §6.3 item 3) */
    } else if (has_cl) {
        conn->body = H1N_BODY_LENGTH;
        conn->body_left = content_length;
    } else {
        conn->body = H1N_BODY_UNTIL_CLOSE;
    }
    if (conn->body == H1N_BODY_UNTIL_CLOSE)
        conn->keepalive = 0;
    if (conn->body == H1N_BODY_CHUNKED) {
        memset(&conn->chunked, 0, sizeof(conn->chunked));
        conn->chunked.consume_trailer = 1;
    }

    conn->in_callback = 1;
    h2api__call_on_head(call, status, headers, num_headers);
    conn->in_callback = 0;
    if (conn->cancelled) {
        conn_close(conn); /* cancelled by the consumer's on_head */
        return 0;
    }
    h2o_buffer_consume(&conn->sock->input, ret);
    if (conn->body == H1N_BODY_NONE || (conn->body == H1N_BODY_LENGTH && conn->body_left == 0)) {
        conn_complete(conn, 0, conn->sock->input->size);
        return 0;
    }
    conn->state = H1N_BODY;
    return 1;
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    h1n_conn_t *conn = sock->data;
    if (err != NULL) {
        if (conn->state == H1N_BODY && conn->body == H1N_BODY_UNTIL_CLOSE) {
            conn_complete(conn, 0, 1); /* the close ends the body (RFC 9112 §6.3 item 8) */
        } else {
            /* before any byte of the answer, a reused connection was closed by the upstream */
            conn_fail(conn, h2api_err_protocol, conn->state == H1N_HEAD && !conn->response_seen);
        }
        return;
    }
    if (sock->input->size == 0)
        return;
    conn_arm_io(conn); /* progress */
    if (conn->state == H1N_HEAD && !conn_read_head(conn))
        return;
    conn_read_body(conn);
}

/* ---- the transport ---- */

static int h1n_has_capacity(h2api_upstream_t *up)
{
    return up->in_flight < up->conf->max_connections;
}

static void h1n_start(h2api_call_t *call)
{
    h1n_state_t *st = call->up->h1n;
    h2api_upstream_t *up = st->up;
    if (up->in_flight >= st->recent_peak) {
        st->recent_peak = up->in_flight;
        st->recent_peak_at = h2o_now(up->loop);
    }
    if (st->num_idle != 0 && st->restarting != call) {
        h1n_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h1n_conn_t, link, st->idle.next);
        unlink_entry(&conn->idle_entry);
        h2o_linklist_unlink(&conn->link);
        --st->num_idle;
        h2o_linklist_insert(&st->busy, &conn->link);
        ++st->num_busy;
        conn->call = call;
        conn->reused = 1;
        conn->cancelled = 0;
        call->transport_data = conn;
        conn_send(conn);
        return;
    }
    /* the restart after a stale connection skips the idle ones: make room for its fresh one by
     * closing the oldest, so that idle + busy stays within max_connections */
    while (st->num_idle != 0 && st->num_idle + st->num_busy >= up->conf->max_connections)
        conn_close(H2O_STRUCT_FROM_MEMBER(h1n_conn_t, link, st->idle.prev));
    conn_open(st, call);
}

static void h1n_cancel(h2api_call_t *call)
{
    h1n_conn_t *conn = call->transport_data;
    call->transport_data = NULL;
    if (conn == NULL)
        return;
    conn->call = NULL;
    if (conn->in_callback) {
        conn->cancelled = 1; /* freeing it now would pull it from under the running event */
        return;
    }
    conn_close(conn);
}

static void h1n_proceed(h2api_call_t *call)
{
    h1n_conn_t *conn = call->transport_data;
    if (conn == NULL || !conn->paused)
        return;
    conn->paused = 0;
    h2o_socket_read_start(conn->sock, on_read);
    conn_arm_io(conn);
}

static size_t h1n_num_connections(h2api_upstream_t *up)
{
    h1n_state_t *st = up->h1n;
    return st->num_idle + st->num_busy;
}

const h2api__transport_t h2api__transport_h1 = {
    .name = "http/1.1",
    .has_capacity = h1n_has_capacity,
    .start = h1n_start,
    .cancel = h1n_cancel,
    .proceed = h1n_proceed,
    .num_connections = h1n_num_connections,
};

/* ---- setup ---- */

void h2api__h1_init(h2api_upstream_t *up)
{
    const h2api_conf_upstream_t *conf = up->conf;
    h1n_state_t *st = h2o_mem_alloc(sizeof(*st));
    *st = (h1n_state_t){.up = up};
    h2o_linklist_init_anchor(&st->idle);
    h2o_linklist_init_anchor(&st->busy);
    snprintf(st->port, sizeof(st->port), "%u", conf->port);
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(conf->host, st->port, &hints, &ai) == 0) {
        /* a numeric host is connected to as is (no resolver thread) */
        memcpy(&st->addr, ai->ai_addr, ai->ai_addrlen);
        st->addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
    }
    h2o_timeout_init(up->loop, &st->idle_timeout, conf->keepalive_expiry_ms);
    h2o_timeout_init(up->loop, &up->h1.paused_io_timeout, H1N_PAUSED_IO_TIMEOUT_MS);
    up->h1n = st;
}

void h2api__h1_dispose(h2api_upstream_t *up)
{
    h1n_state_t *st = up->h1n;
    st->disposed = 1;
    while (!h2o_linklist_is_empty(&st->idle))
        conn_close(H2O_STRUCT_FROM_MEMBER(h1n_conn_t, link, st->idle.next));
    /* busy ones were cancelled by the policy; any left go without an event */
    h2o_linklist_t *node = st->busy.next;
    while (node != &st->busy) {
        h1n_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h1n_conn_t, link, node);
        node = node->next;
        if (conn->call != NULL)
            conn->call->transport_data = NULL, conn->call = NULL;
        if (conn->in_callback) {
            conn->cancelled = 1; /* closes itself when its event returns */
            unlink_entry(&conn->io_entry);
        } else {
            conn_close(conn);
        }
    }
    /* the client frees `st` once libuv let go of these (h2api__client_close_timeout) */
    h2api__client_close_timeout(up->client, &st->idle_timeout);
    h2api__client_close_timeout(up->client, &up->h1.paused_io_timeout);
}
