/*
 * The HTTP/2 transport: nghttp2 client sessions over h2o sockets (RFC 9113).
 *
 * Contract (the events and their order are in internal.h):
 * - Each upstream keeps, per worker, a list of connections (h2_conn_t, malloc'ed, owned by the
 *   upstream's h2 state) that each carry many streams, up to the peer's
 *   SETTINGS_MAX_CONCURRENT_STREAMS (H2_STREAMS_BEFORE_SETTINGS until its SETTINGS arrive, the
 *   same figure nghttp2 assumes). A new connection is opened only when every connection that
 *   accepts streams is full and fewer than max_connections are open (has_capacity says so).
 * - An attempt is one stream (h2_stream_t in the call's pool, held in call->transport_data). An
 *   attempt that starts while its connection is still connecting waits on it; its on_connected
 *   fires when the connection is ready and the request is submitted.
 * - TLS: our own SSL_CTX offers ALPN h2 and http/1.1. If the server does not choose h2, an
 *   `http2: auto` upstream switches to HTTP/1.1 for good (up->transport) and every attempt that
 *   waited on that connection restarts there; an `http2: on` upstream fails them with
 *   h2api_err_protocol. Cleartext with `http2: on` is h2c with prior knowledge.
 * - A stream refused by the peer before it was processed (REFUSED_STREAM, or above a GOAWAY's
 *   last stream id, RFC 9113 §8.7 and §6.8) goes again on another connection without counting
 *   as a retry, whatever its method (see fail_unprocessed for the bound). Any other stream error
 *   or connection loss fails the attempt with before_response = no response head seen yet.
 * - Back-pressure: nghttp2 sends no WINDOW_UPDATE by itself; received DATA is given back to the
 *   flow-control windows (nghttp2_session_consume) only once the consumer took it: at once in
 *   buffered mode, at `proceed` in streaming mode. DATA that arrives while the consumer holds a
 *   chunk waits in the stream's backlog (bounded by the stream window) and is delivered from the
 *   loop after `proceed`.
 * - Timeouts: the policy layer owns the per-call deadlines. Here: a connection that takes longer
 *   than connect_timeout_ms to become ready is dropped (its waiting attempts fail with
 *   h2api_err_connect_timeout); a connection with no stream for keepalive_expiry_ms is closed
 *   with GOAWAY; io_timeout_ms bounds both a connection that has streams waiting on the peer and
 *   receives nothing (or cannot write): all its streams fail and it closes; and each stream on
 *   its own, so that one stalled stream on a busy connection is reset alone. Both fail with
 *   h2api_err_io_timeout, before_response 0. A streaming consumer that holds a chunk stops its
 *   stream's clock: the peer is right not to send then.
 *
 * Reentrancy: nghttp2 forbids freeing a session from inside its callbacks, and the project
 * rule is one write in flight at a time, so nghttp2_session_mem_send and anything that destroys
 * a connection run only from socket callbacks, timers and `start`, never from an nghttp2
 * callback. Work that an nghttp2 callback causes (a stream reset, a restart that submits on the
 * same session) only queues frames; conn_settle() sends them afterwards.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include "log.h"
#include "client/internal.h"

/*
 * Until the peer's first SETTINGS arrive, nghttp2 sends at most this many streams and holds back
 * the rest (nghttp2_option_set_peer_max_concurrent_streams; nghttp2's own default).
 */
#define H2_STREAMS_BEFORE_SETTINGS 100
/*
 * Receive windows. A stream's window bounds what a paused streaming consumer makes us hold; the
 * connection's is large enough for many such streams at once, so that one slow downstream does
 * not stall the other streams of the connection.
 */
#define H2_STREAM_WINDOW_BYTES (256 * 1024)
#define H2_CONN_WINDOW_BYTES (16 * 1024 * 1024)
/* Response header block accepted per stream (names and values); more resets the stream. */
#define H2_MAX_HEADER_BYTES (64 * 1024)
/* nghttp2 output gathered into one socket write at most; the rest follows when it completes. */
#define H2_MAX_WRITE_BYTES (256 * 1024)

typedef struct st_h2_state_t h2_state_t;
typedef struct st_h2_conn_t h2_conn_t;
typedef struct st_h2_stream_t h2_stream_t;

/* up->h2 */
struct st_h2_state_t {
    h2api_upstream_t *up;
    SSL_CTX *ssl_ctx;             /* https only: offers ALPN h2 and http/1.1 */
    struct sockaddr_storage addr; /* a numeric host, resolved once at init */
    socklen_t addrlen;            /* 0: the host is a name, resolved for each new connection */
    char port[8];
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *option;
    h2o_linklist_t conns; /* every connection: resolving, connecting, ready or closing */
    size_t num_conns;
    h2o_timeout_t idle_timeout; /* keepalive_expiry_ms */
    h2o_timeout_entry_t pump_entry;
};

typedef enum en_h2_conn_state_t {
    H2_CONN_RESOLVING,
    H2_CONN_CONNECTING,
    H2_CONN_HANDSHAKING,
    H2_CONN_READY /* the session exists */
} h2_conn_state_t;

struct st_h2_conn_t {
    h2_state_t *h2;
    h2o_linklist_t link; /* in h2->conns */
    h2_conn_state_t state;
    int no_new_streams; /* GOAWAY received, stream ids used up, idle, or failing */
    int closing;        /* our GOAWAY is queued: the connection goes once it is written */
    h2o_hostinfo_getaddr_req_t *getaddr_req;
    h2o_socket_t *sock;
    nghttp2_session *session;
    h2o_linklist_t pending;           /* streams waiting for the connection to be ready */
    h2o_linklist_t streams;           /* streams submitted to nghttp2 and not closed yet */
    size_t num_streams;               /* pending + submitted */
    int settings_received;            /* the peer's first SETTINGS frame is in */
    size_t num_paused;                /* submitted streams whose consumer holds a chunk */
    uint64_t num_answered;            /* response heads received: the peer processes requests */
    int goaway_took_streams;          /* the peer's GOAWAY kept some of our streams (last_stream_id > 0) */
    h2o_buffer_t *wbuf;               /* the write in flight (nghttp2 output) */
    h2o_timeout_entry_t settle_entry; /* conn_settle from the loop */
    h2o_timeout_entry_t connect_entry;
    h2o_timeout_entry_t io_entry;
    h2o_timeout_entry_t idle_entry;
};

/* call->transport_data; lives in the call's pool */
struct st_h2_stream_t {
    h2api_call_t *call;
    h2_conn_t *conn;     /* NULL once the stream is off its connection (closed, failed or cancelled) */
    h2o_linklist_t link; /* in conn->pending or conn->streams */
    int32_t stream_id;   /* 0 until submitted */
    size_t body_sent;
    int status;
    H2O_VECTOR(h2o_header_t) headers;
    size_t header_bytes;
    int head_seen;
    int paused;                        /* streaming: the consumer holds a chunk until `proceed` */
    int final_pending;                 /* the stream ended cleanly while paused: the final chunk waits for `proceed` */
    size_t held_bytes;                 /* received, not yet given back to the flow-control windows */
    h2o_buffer_t *backlog;             /* DATA that arrived while paused */
    h2o_timeout_entry_t deliver_entry; /* delivers the backlog from the loop after `proceed` */
    h2o_timeout_entry_t io_entry;      /* io_timeout_ms without a frame for this stream while it waits on the peer */
};

static void conn_settle(h2_conn_t *conn);
static void conn_start_connect(h2_conn_t *conn, struct sockaddr *addr, socklen_t addrlen);
static void submit_stream(h2_conn_t *conn, h2_stream_t *s);

/* ---- small helpers ---- */

static void on_pump(h2o_timeout_entry_t *entry)
{
    h2_state_t *h2 = H2O_STRUCT_FROM_MEMBER(h2_state_t, pump_entry, entry);
    h2api__upstream_pump(h2->up);
}

/* Capacity appeared (a connection went, or SETTINGS changed): waiting calls start from the loop,
 * since a pump may start attempts synchronously and we may be inside a callback. */
static void schedule_pump(h2_state_t *h2)
{
    if (!h2o_timeout_is_linked(&h2->pump_entry))
        h2o_timeout_link(h2->up->loop, &h2->up->ctx->zero_timeout, &h2->pump_entry);
}

static void unlink_entry(h2o_timeout_entry_t *entry)
{
    if (h2o_timeout_is_linked(entry))
        h2o_timeout_unlink(entry);
}

static void on_settle(h2o_timeout_entry_t *entry)
{
    conn_settle(H2O_STRUCT_FROM_MEMBER(h2_conn_t, settle_entry, entry));
}

/* Sends what nghttp2 queued (and closes the connection if its time has come) from the loop. */
static void schedule_settle(h2_conn_t *conn)
{
    if (!h2o_timeout_is_linked(&conn->settle_entry))
        h2o_timeout_link(conn->h2->up->loop, &conn->h2->up->ctx->zero_timeout, &conn->settle_entry);
}

/*
 * The streams a connection takes. Until the peer's SETTINGS are in, all of them (RFC 9113
 * §6.5.2: the initial SETTINGS_MAX_CONCURRENT_STREAMS is unlimited): the calls wait on it, and
 * nghttp2 holds back those past the limit it learns. Counting 100 here made a burst of calls at
 * start open one connection per hundred (11 connections for 1024 calls to a peer that takes 4096
 * streams on one).
 */
static size_t conn_max_streams(h2_conn_t *conn)
{
    if (conn->session == NULL || !conn->settings_received)
        return SIZE_MAX;
    return nghttp2_session_get_remote_settings(conn->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

/* The first connection that takes another stream, oldest first (so that old ones stay busy and
 * extra ones go idle and expire). */
static h2_conn_t *pick_conn(h2_state_t *h2)
{
    for (h2o_linklist_t *node = h2->conns.next; node != &h2->conns; node = node->next) {
        h2_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2_conn_t, link, node);
        if (!conn->no_new_streams && conn->num_streams < conn_max_streams(conn))
            return conn;
    }
    return NULL;
}

/* ---- streams ---- */

/* Frees what a stream holds outside its pool; the stream must be off its connection. */
static void stream_release(h2_stream_t *s)
{
    unlink_entry(&s->deliver_entry);
    unlink_entry(&s->io_entry);
    if (s->backlog != NULL)
        h2o_buffer_dispose(&s->backlog);
}

/* Takes `s` off its connection's lists and counters. */
static void stream_detach(h2_stream_t *s)
{
    h2_conn_t *conn = s->conn;
    if (h2o_linklist_is_linked(&s->link))
        h2o_linklist_unlink(&s->link);
    --conn->num_streams;
    if (s->paused)
        --conn->num_paused;
    s->conn = NULL;
    unlink_entry(&s->io_entry);
}

/*
 * Restarts the stream's I/O timeout: it runs while the stream waits on the peer (for the answer,
 * or for more of the body, or while its request body goes out), not while its consumer holds a
 * chunk. The connection has its own (update_io_timer); this one catches a stream that stalls
 * while others on the same connection keep it busy (httpx's read timeout is per request too).
 */
static void stream_touch(h2_stream_t *s)
{
    unlink_entry(&s->io_entry);
    if (s->conn != NULL && !s->paused)
        h2o_timeout_link(s->call->up->loop, &s->call->up->io_timeout, &s->io_entry);
}

/* Returns the bytes the consumer is done with (or that nobody will read) to the peer's send windows. */
static void stream_give_back(h2_stream_t *s, size_t bytes)
{
    if (bytes != 0 && s->conn != NULL && s->conn->session != NULL)
        nghttp2_session_consume(s->conn->session, s->stream_id, bytes);
}

/* Resets a submitted stream that we stop reading: no callback will find it again. */
static void stream_reset(h2_stream_t *s)
{
    h2_conn_t *conn = s->conn;
    if (s->stream_id != 0) {
        nghttp2_session_set_stream_user_data(conn->session, s->stream_id, NULL);
        nghttp2_submit_rst_stream(conn->session, NGHTTP2_FLAG_NONE, s->stream_id, NGHTTP2_CANCEL);
        stream_give_back(s, s->held_bytes); /* the backlog is part of it */
        s->held_bytes = 0;
    }
    stream_detach(s);
    schedule_settle(conn);
}

/* Forgets `s` before an event that ends its attempt (internal.h: transport_data is NULL first). */
static h2api_call_t *stream_end(h2_stream_t *s)
{
    h2api_call_t *call = s->call;
    call->transport_data = NULL;
    stream_release(s);
    return call;
}

static void on_stream_io_timeout(h2o_timeout_entry_t *entry)
{
    h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, io_entry, entry);
    stream_reset(s);
    h2api__call_on_error(stream_end(s), h2api_err_io_timeout, 0);
}

/*
 * The peer did not process the request (RFC 9113 §8.7 and §6.8): any method may go again, on
 * another connection, without counting as a retry.
 * - `conn` is going away (GOAWAY) and the peer took some of its streams (answered one, or kept
 *   some below the GOAWAY's last stream id): always. A server that closes connections after N
 *   requests (nginx keepalive_requests) refuses every stream beyond the N-th at each GOAWAY, so
 *   one call may meet several; each time the server took work first.
 * - Otherwise (a refusal on a live connection, or a connection that answered nothing): once per
 *   call, like a stale HTTP/1.1 keep-alive connection in h1.c, so that a peer that refuses
 *   everything cannot keep a call bouncing; then the retry policy decides.
 */
static void fail_unprocessed(h2_conn_t *conn, h2api_call_t *call)
{
    if (conn->no_new_streams && (conn->num_answered != 0 || conn->goaway_took_streams)) {
        h2api__call_restart(call);
    } else if (!call->stale_retry_done) {
        call->stale_retry_done = 1;
        h2api__call_restart(call);
    } else {
        h2api__call_on_error(call, h2api_err_protocol, 1);
    }
}

/* ---- connections: teardown ---- */

/* Frees `conn`. Its streams are gone already, except at dispose when no call is in flight. */
static void conn_destroy(h2_conn_t *conn)
{
    h2_state_t *h2 = conn->h2;
    unlink_entry(&conn->settle_entry);
    unlink_entry(&conn->connect_entry);
    unlink_entry(&conn->io_entry);
    unlink_entry(&conn->idle_entry);
    if (conn->getaddr_req != NULL)
        h2o_hostinfo_getaddr_cancel(conn->getaddr_req);
    if (conn->sock != NULL)
        h2o_socket_close(conn->sock); /* after this, no socket callback runs; a write in flight is dropped */
    if (conn->session != NULL)
        nghttp2_session_del(conn->session);
    h2o_buffer_dispose(&conn->wbuf);
    h2o_linklist_unlink(&conn->link);
    --h2->num_conns;
    free(conn);
    schedule_pump(h2);
}

/*
 * Fails every stream of `conn` and destroys it. Streams that never reached the peer fail with
 * before_response 1; submitted ones with before_response = `head_may_retry` && no head seen.
 */
static void conn_fail(h2_conn_t *conn, const char *errstr, int head_may_retry)
{
    if (conn->num_streams != 0)
        h2api_log(H2API_LOG_DEBUG, "upstream %s: connection lost (%s) with %zu streams", conn->h2->up->conf->name, errstr,
                  conn->num_streams);
    conn->no_new_streams = 1; /* a restart raised below must not pick this connection */
    while (!h2o_linklist_is_empty(&conn->pending)) {
        h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, link, conn->pending.next);
        stream_detach(s);
        h2api__call_on_error(stream_end(s), errstr, 1);
    }
    while (!h2o_linklist_is_empty(&conn->streams)) {
        h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, link, conn->streams.next);
        int before_response = head_may_retry && !s->head_seen;
        stream_detach(s);
        h2api__call_on_error(stream_end(s), errstr, before_response);
    }
    conn_destroy(conn);
}

/* ---- connections: I/O ---- */

/*
 * The I/O timeout runs while the connection waits on the peer: a write in flight, or a stream
 * whose consumer is ready for more. Streams paused by their consumer do not count: the peer is
 * right not to send on them.
 */
static void update_io_timer(h2_conn_t *conn)
{
    int wanted = conn->sock != NULL && (h2o_socket_is_writing(conn->sock) || conn->num_streams > conn->num_paused);
    if (wanted && !h2o_timeout_is_linked(&conn->io_entry)) {
        h2o_timeout_link(conn->h2->up->loop, &conn->h2->up->io_timeout, &conn->io_entry);
    } else if (!wanted) {
        unlink_entry(&conn->io_entry);
    }
}

static void on_write_complete(h2o_socket_t *sock, const char *err)
{
    h2_conn_t *conn = sock->data;
    if (err != NULL) {
        conn_fail(conn, h2api_err_protocol, 1);
        return;
    }
    h2o_buffer_consume(&conn->wbuf, conn->wbuf->size);
    unlink_entry(&conn->io_entry); /* progress: the I/O timeout starts again */
    conn_settle(conn);
}

/*
 * Writes what nghttp2 has to send, unless a write is in flight (its completion comes back here).
 * @return 0, or -1 if the session failed and `conn` was destroyed.
 */
static int conn_flush(h2_conn_t *conn)
{
    if (h2o_socket_is_writing(conn->sock))
        return 0;
    while (conn->wbuf->size < H2_MAX_WRITE_BYTES) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(conn->session, &data);
        if (n < 0) {
            conn_fail(conn, h2api_err_protocol, 1);
            return -1;
        }
        if (n == 0)
            break;
        h2o_iovec_t dst = h2o_buffer_reserve(&conn->wbuf, n);
        memcpy(dst.base, data, n);
        conn->wbuf->size += n;
    }
    if (conn->wbuf->size != 0) {
        h2o_iovec_t buf = h2o_iovec_init(conn->wbuf->bytes, conn->wbuf->size);
        h2o_socket_write(conn->sock, &buf, 1, on_write_complete);
    }
    return 0;
}

/* Closes an idle connection politely: GOAWAY, then the socket once that is written. */
static void conn_begin_close(h2_conn_t *conn)
{
    conn->no_new_streams = 1;
    conn->closing = 1;
    unlink_entry(&conn->idle_entry);
    nghttp2_session_terminate_session(conn->session, NGHTTP2_NO_ERROR);
}

static size_t count_idle(h2_state_t *h2)
{
    size_t n = 0;
    for (h2o_linklist_t *node = h2->conns.next; node != &h2->conns; node = node->next) {
        h2_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2_conn_t, link, node);
        n += conn->state == H2_CONN_READY && !conn->no_new_streams && conn->num_streams == 0;
    }
    return n;
}

/*
 * After anything happened on a ready connection (outside nghttp2 callbacks): sends what is
 * queued, closes the connection when the session is over or it has no reason to stay, and arms
 * the idle and I/O timers. May destroy `conn`.
 */
static void conn_settle(h2_conn_t *conn)
{
    unlink_entry(&conn->settle_entry);
    if (conn->state != H2_CONN_READY)
        return;
    if (conn_flush(conn) != 0)
        return;

    if (conn->num_streams == 0 && !conn->closing &&
        (conn->no_new_streams || count_idle(conn->h2) > conn->h2->up->conf->max_keepalive_connections)) {
        conn_begin_close(conn);
        if (conn_flush(conn) != 0)
            return;
    }
    if (!nghttp2_session_want_read(conn->session) && !nghttp2_session_want_write(conn->session)) {
        /* the session is over (our GOAWAY, or a connection error nghttp2 answered with GOAWAY) */
        if (h2o_socket_is_writing(conn->sock)) {
            update_io_timer(conn); /* the last frames are on their way; their completion settles again */
            return;
        }
        if (conn->num_streams == 0) {
            conn_destroy(conn);
        } else {
            conn_fail(conn, h2api_err_protocol, 1);
        }
        return;
    }

    if (conn->num_streams == 0 && !conn->closing) {
        if (!h2o_timeout_is_linked(&conn->idle_entry))
            h2o_timeout_link(conn->h2->up->loop, &conn->h2->idle_timeout, &conn->idle_entry);
    } else {
        unlink_entry(&conn->idle_entry);
    }
    update_io_timer(conn);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    h2_conn_t *conn = sock->data;
    if (err != NULL) {
        /* EOF or a read error: streams without a response head may be retried by the policy */
        conn_fail(conn, h2api_err_protocol, 1);
        return;
    }
    unlink_entry(&conn->io_entry); /* progress: the I/O timeout starts again */
    while (sock->input->size != 0) {
        ssize_t n = nghttp2_session_mem_recv(conn->session, (const uint8_t *)sock->input->bytes, sock->input->size);
        if (n < 0) {
            conn_fail(conn, h2api_err_protocol, 1);
            return;
        }
        h2o_buffer_consume(&sock->input, n);
    }
    conn_settle(conn);
}

/* ---- connections: setup ---- */

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    conn_fail(H2O_STRUCT_FROM_MEMBER(h2_conn_t, connect_entry, entry), h2api_err_connect_timeout, 1);
}

static void on_io_timeout(h2o_timeout_entry_t *entry)
{
    /* the requests were sent: the policy must not take this for a failure before the response */
    conn_fail(H2O_STRUCT_FROM_MEMBER(h2_conn_t, io_entry, entry), h2api_err_io_timeout, 0);
}

static void on_idle_timeout(h2o_timeout_entry_t *entry)
{
    h2_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2_conn_t, idle_entry, entry);
    conn_begin_close(conn);
    conn_settle(conn);
}

/* The connection is open (and TLS chose h2): start the session and submit the waiting streams. */
static void conn_ready(h2_conn_t *conn)
{
    h2_state_t *h2 = conn->h2;
    unlink_entry(&conn->connect_entry);
    conn->state = H2_CONN_READY;
    nghttp2_session_client_new2(&conn->session, h2->callbacks, conn, h2->option);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW_BYTES},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_BYTES},
    };
    nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, sizeof(settings) / sizeof(settings[0]));
    nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW_BYTES);

    h2o_socket_read_start(conn->sock, on_read);
    while (!h2o_linklist_is_empty(&conn->pending)) {
        h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, link, conn->pending.next);
        h2o_linklist_unlink(&s->link);
        submit_stream(conn, s);
    }
    if (conn->sock->input->size != 0) {
        /* bytes that came with the end of the TLS handshake */
        on_read(conn->sock, NULL);
        return;
    }
    conn_settle(conn);
}

/* ALPN chose HTTP/1.1 on an `http2: auto` upstream: the upstream goes HTTP/1.1 for good. */
static void conn_fall_back_to_h1(h2_conn_t *conn)
{
    h2api_upstream_t *up = conn->h2->up;
    if (up->transport != &h2api__transport_h1) {
        h2api_log(H2API_LOG_INFO, "upstream %s: the server did not choose h2 (ALPN); using HTTP/1.1", up->conf->name);
        up->transport = &h2api__transport_h1;
    }
    conn->no_new_streams = 1;
    while (!h2o_linklist_is_empty(&conn->pending)) {
        h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, link, conn->pending.next);
        stream_detach(s);
        h2api__call_restart(stream_end(s));
    }
    conn_destroy(conn);
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    h2_conn_t *conn = sock->data;
    const h2api_conf_upstream_t *conf = conn->h2->up->conf;
    /* h2o checks the name even when the chain is not verified; that check only counts with verify on */
    if (err != NULL && !(err == h2o_socket_error_ssl_cert_name_mismatch && !conf->tls.verify)) {
        conn_fail(conn, h2api_err_connect, 1);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    if (h2o_memis(proto.base, proto.len, H2O_STRLIT("h2"))) {
        conn_ready(conn);
    } else if (conf->http2 == H2API_HTTP2_AUTO) {
        conn_fall_back_to_h1(conn);
    } else {
        conn_fail(conn, h2api_err_protocol, 1);
    }
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
    h2_conn_t *conn = sock->data;
    if (err != NULL) {
        conn_fail(conn, h2api_err_connect, 1);
        return;
    }
    if (conn->h2->ssl_ctx != NULL) {
        conn->state = H2_CONN_HANDSHAKING;
        h2o_socket_ssl_handshake(sock, conn->h2->ssl_ctx, conn->h2->up->server_name, on_handshake);
    } else {
        conn_ready(conn); /* h2c with prior knowledge (RFC 9113 §3.3) */
    }
}

static void on_getaddr(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *_conn)
{
    (void)req;
    h2_conn_t *conn = _conn;
    conn->getaddr_req = NULL;
    if (errstr != NULL) {
        conn_fail(conn, h2api_err_connect, 1);
        return;
    }
    struct addrinfo *selected = h2o_hostinfo_select_one(res);
    conn_start_connect(conn, selected->ai_addr, selected->ai_addrlen);
}

static void conn_start_connect(h2_conn_t *conn, struct sockaddr *addr, socklen_t addrlen)
{
    conn->state = H2_CONN_CONNECTING;
    if ((conn->sock = h2o_socket_connect(conn->h2->up->loop, addr, addrlen, on_connect)) == NULL) {
        conn_fail(conn, h2api_err_connect, 1);
        return;
    }
    conn->sock->data = conn;
}

/* A new connection, not connecting yet (the caller attaches its first stream, then calls conn_open). */
static h2_conn_t *conn_create(h2_state_t *h2)
{
    h2_conn_t *conn = h2o_mem_alloc(sizeof(*conn));
    *conn = (h2_conn_t){.h2 = h2, .state = H2_CONN_RESOLVING};
    h2o_linklist_init_anchor(&conn->pending);
    h2o_linklist_init_anchor(&conn->streams);
    h2o_buffer_init(&conn->wbuf, &h2o_socket_buffer_prototype);
    conn->settle_entry.cb = on_settle;
    conn->connect_entry.cb = on_connect_timeout;
    conn->io_entry.cb = on_io_timeout;
    conn->idle_entry.cb = on_idle_timeout;
    h2o_linklist_insert(&h2->conns, &conn->link);
    ++h2->num_conns;
    return conn;
}

/* Resolves (a host name) and connects. May fail `conn` at once. */
static void conn_open(h2_conn_t *conn)
{
    h2_state_t *h2 = conn->h2;
    const h2api_conf_upstream_t *conf = h2->up->conf;
    h2o_timeout_link(h2->up->loop, &h2->up->connect_timeout, &conn->connect_entry);
    if (h2->addrlen != 0) {
        conn_start_connect(conn, (struct sockaddr *)&h2->addr, h2->addrlen);
    } else {
        conn->getaddr_req =
            h2o_hostinfo_getaddr(&h2->up->ctx->receivers.hostinfo_getaddr, h2o_iovec_init(conf->host, strlen(conf->host)),
                                 h2o_iovec_init(h2->port, strlen(h2->port)), AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP,
                                 AI_ADDRCONFIG | AI_NUMERICSERV, on_getaddr, conn);
    }
}

/* ---- requests ---- */

static nghttp2_nv make_nv(const void *name, size_t namelen, const void *value, size_t valuelen)
{
    return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, namelen, valuelen, NGHTTP2_NV_FLAG_NONE};
}

/* Connection-specific fields have no place in HTTP/2 (RFC 9113 §8.2.2); Host becomes :authority
 * and the body's length is ours to state. */
static int is_excluded_request_header(const char *name, size_t namelen, h2o_iovec_t value)
{
    static const char *const excluded[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                           "upgrade",    "host",       "content-length"};
    for (size_t i = 0; i != sizeof(excluded) / sizeof(excluded[0]); ++i)
        if (h2o_lcstris(name, namelen, excluded[i], strlen(excluded[i])))
            return 1;
    if (h2o_lcstris(name, namelen, H2O_STRLIT("te")))
        return !h2o_lcstris(value.base, value.len, H2O_STRLIT("trailers"));
    return 0;
}

static ssize_t on_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *data_flags,
                            nghttp2_data_source *source, void *user_data)
{
    (void)source, (void)user_data;
    h2_stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* cancelled: nghttp2 resets the stream */
    stream_touch(s);
    h2o_iovec_t body = s->call->req->body;
    size_t n = body.len - s->body_sent < length ? body.len - s->body_sent : length;
    memcpy(buf, body.base + s->body_sent, n);
    s->body_sent += n;
    if (s->body_sent == body.len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return n;
}

/*
 * Submits the request of `s` on a ready connection and raises on_connected. If nghttp2 cannot
 * take it (stream ids used up), the connection takes no more streams and the attempt restarts
 * elsewhere.
 */
static void submit_stream(h2_conn_t *conn, h2_stream_t *s)
{
    h2api_call_t *call = s->call;
    h2api_upstream_t *up = conn->h2->up;
    const h2api_conf_upstream_t *conf = up->conf;
    const h2api_call_req_t *creq = call->req;

    nghttp2_nv *nva = h2o_mem_alloc_pool(call->pool, sizeof(*nva) * (5 + conf->num_headers + creq->num_headers));
    size_t n = 0;
    nva[n++] = make_nv(H2O_STRLIT(":method"), call->method.base, call->method.len);
    nva[n++] =
        conf->is_tls ? make_nv(H2O_STRLIT(":scheme"), H2O_STRLIT("https")) : make_nv(H2O_STRLIT(":scheme"), H2O_STRLIT("http"));
    nva[n++] = make_nv(H2O_STRLIT(":authority"), up->authority.base, up->authority.len);
    nva[n++] = make_nv(H2O_STRLIT(":path"), call->path.base, call->path.len);
    for (size_t i = 0; i != conf->num_headers; ++i) {
        const char *name = conf->headers[i].name, *value = conf->headers[i].value;
        if (!is_excluded_request_header(name, strlen(name), h2o_iovec_init(value, strlen(value))))
            nva[n++] = make_nv(name, strlen(name), value, strlen(value));
    }
    for (size_t i = 0; i != creq->num_headers; ++i) {
        const h2o_header_t *h = creq->headers + i;
        if (is_excluded_request_header(h->name->base, h->name->len, h->value))
            continue;
        /* HTTP/2 field names are lower case (RFC 9113 §8.2.1); tokens already are */
        h2o_iovec_t name = *h->name;
        if (!h2o_iovec_is_token(h->name)) {
            name = h2o_strdup(call->pool, name.base, name.len);
            h2o_strtolower(name.base, name.len);
        }
        nva[n++] = make_nv(name.base, name.len, h->value.base, h->value.len);
    }
    nghttp2_data_provider body = {.read_callback = on_read_body};
    int has_body = creq->body.base != NULL;
    if (has_body) {
        char *len = h2o_mem_alloc_pool(call->pool, sizeof(H2O_UINT64_LONGEST_STR));
        nva[n++] = make_nv(H2O_STRLIT("content-length"), len, sprintf(len, "%zu", creq->body.len));
    }

    s->body_sent = 0;
    int32_t stream_id = nghttp2_submit_request(conn->session, NULL, nva, n, has_body && creq->body.len != 0 ? &body : NULL, s);
    if (stream_id < 0) {
        conn->no_new_streams = 1;
        stream_detach(s);
        fail_unprocessed(conn, stream_end(s));
        return;
    }
    s->stream_id = stream_id;
    h2o_linklist_insert(&conn->streams, &s->link);
    stream_touch(s);
    h2api__call_on_connected(call);
}

/* ---- responses (nghttp2 callbacks: no flushing or destroying here) ---- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags, (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2_stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || s->head_seen)
        return 0; /* cancelled, or trailers (not passed on) */
    h2o_mem_pool_t *pool = s->call->pool;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        /* each header block opens with :status; a new one follows an informational (1xx) answer */
        s->status = (int)h2o_strtosize((const char *)value, valuelen);
        s->headers.size = 0;
        s->header_bytes = 0;
        return 0;
    }
    if (namelen != 0 && name[0] == ':')
        return 0;
    if ((s->header_bytes += namelen + valuelen) > H2_MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* nghttp2 resets the stream; its close reports the error */
    h2o_vector_reserve(pool, &s->headers, s->headers.size + 1);
    h2o_header_t *h = s->headers.entries + s->headers.size++;
    const h2o_token_t *token = h2o_lookup_token((const char *)name, namelen);
    if (token != NULL) {
        h->name = (h2o_iovec_t *)&token->buf;
    } else {
        h->name = h2o_mem_alloc_pool(pool, sizeof(*h->name));
        *h->name = h2o_strdup(pool, (const char *)name, namelen);
    }
    h->orig_name = NULL;
    h->value = h2o_strdup(pool, (const char *)value, valuelen);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    h2_conn_t *conn = user_data;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
        h2_stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (s == NULL || s->head_seen)
            break;
        stream_touch(s);
        if (s->status / 100 == 1) {
            s->headers.size = 0; /* informational: the final answer follows */
            break;
        }
        s->head_seen = 1;
        ++conn->num_answered;
        h2api__call_on_head(s->call, s->status, s->headers.entries, s->headers.size);
        break;
    }
    case NGHTTP2_GOAWAY:
        /* streams above last_stream_id close as refused right after this (and restart) */
        conn->no_new_streams = 1;
        conn->goaway_took_streams = frame->goaway.last_stream_id > 0;
        schedule_pump(conn->h2);
        break;
    case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
            conn->settings_received = 1;
            schedule_pump(conn->h2); /* the stream limit may have grown */
        }
        break;
    default:
        break;
    }
    return 0;
}

/*
 * Hands `len` bytes (counted in s->held_bytes already) to the consumer. Returns with the
 * stream paused, or with the bytes given back, or with the attempt ended.
 */
static void stream_deliver(h2_stream_t *s, const uint8_t *data, size_t len)
{
    h2api_call_t *call = s->call;
    int ret = h2api__call_on_body(call, data, len, 0);
    if (call->transport_data != s)
        return; /* cancelled from the consumer's callback; the cancel gave the window back */
    if (ret > 0) {
        s->paused = 1;
        if (s->conn != NULL)
            ++s->conn->num_paused;
        stream_touch(s); /* stops it */
        return;
    }
    if (ret < 0) {
        /* over max_response_bytes (buffered mode): stop this stream only; the connection serves others */
        if (s->conn != NULL)
            stream_reset(s);
        h2api__call_on_error(stream_end(s), h2api_err_body_too_large, 0);
        return;
    }
    stream_give_back(s, s->held_bytes);
    s->held_bytes = 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                              void *user_data)
{
    (void)flags, (void)user_data;
    h2_stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL) {
        nghttp2_session_consume(session, stream_id, len); /* nobody reads it: keep the connection window open */
        return 0;
    }
    s->held_bytes += len;
    stream_touch(s);
    if (s->paused || (s->backlog != NULL && s->backlog->size != 0)) {
        /* the consumer holds a chunk: keep this for after `proceed` (the stream window bounds it) */
        if (s->backlog == NULL)
            h2o_buffer_init(&s->backlog, &h2o_socket_buffer_prototype);
        h2o_iovec_t dst = h2o_buffer_reserve(&s->backlog, len);
        memcpy(dst.base, data, len);
        s->backlog->size += len;
        return 0;
    }
    stream_deliver(s, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    h2_conn_t *conn = user_data;
    h2_stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL)
        return 0; /* cancelled earlier */
    /* nothing more comes on this stream: what it still holds no longer needs the connection window */
    stream_give_back(s, s->held_bytes);
    s->held_bytes = 0;
    stream_detach(s);
    schedule_pump(conn->h2);

    if (error_code == NGHTTP2_NO_ERROR && s->head_seen) {
        if (s->paused || s->backlog != NULL) {
            s->final_pending = 1; /* after the consumer took what it was given */
            return 0;
        }
        h2api__call_on_body(stream_end(s), NULL, 0, 1);
        return 0;
    }
    int head_seen = s->head_seen;
    h2api_log(H2API_LOG_DEBUG, "upstream %s: stream %d closed (%s) %s the response head", conn->h2->up->conf->name, stream_id,
              nghttp2_http2_strerror(error_code), head_seen ? "after" : "before");
    h2api_call_t *call = stream_end(s);
    if (!head_seen && error_code == NGHTTP2_REFUSED_STREAM) {
        fail_unprocessed(conn, call);
    } else {
        h2api__call_on_error(call, h2api_err_protocol, !head_seen);
    }
    return 0;
}

/* Delivers the backlog (and the end of the stream) after `proceed`, from the loop. */
static void on_deliver(h2o_timeout_entry_t *entry)
{
    h2_stream_t *s = H2O_STRUCT_FROM_MEMBER(h2_stream_t, deliver_entry, entry);
    if (s->backlog != NULL && s->backlog->size != 0) {
        /* taken off the stream so that a cancel from the consumer's callback cannot free it under the consumer */
        h2o_buffer_t *chunk = s->backlog;
        s->backlog = NULL;
        stream_deliver(s, (const uint8_t *)chunk->bytes, chunk->size);
        h2o_buffer_dispose(&chunk);
        if (s->call->transport_data != s || s->paused)
            return;
        if (s->conn != NULL)
            schedule_settle(s->conn); /* send the WINDOW_UPDATE */
    }
    if (s->final_pending && s->backlog == NULL)
        h2api__call_on_body(stream_end(s), NULL, 0, 1);
}

/* ---- the transport ---- */

static int h2_has_capacity(h2api_upstream_t *up)
{
    h2_state_t *h2 = up->h2;
    return pick_conn(h2) != NULL || h2->num_conns < up->conf->max_connections;
}

static void h2_start(h2api_call_t *call)
{
    h2_state_t *h2 = call->up->h2;
    h2_stream_t *s = h2o_mem_alloc_pool(call->pool, sizeof(*s));
    *s = (h2_stream_t){.call = call};
    s->deliver_entry.cb = on_deliver;
    s->io_entry.cb = on_stream_io_timeout;
    call->transport_data = s;

    /* a restart may come here when every connection is full: it opens one beyond max_connections
     * rather than fail a request that the peer never saw */
    h2_conn_t *conn = pick_conn(h2);
    int is_new = conn == NULL;
    if (is_new)
        conn = conn_create(h2);
    s->conn = conn;
    ++conn->num_streams;
    unlink_entry(&conn->idle_entry);
    if (conn->state == H2_CONN_READY) {
        submit_stream(conn, s);
        schedule_settle(conn);
    } else {
        h2o_linklist_insert(&conn->pending, &s->link);
        if (is_new)
            conn_open(conn);
    }
}

static void h2_cancel(h2api_call_t *call)
{
    h2_stream_t *s = call->transport_data;
    call->transport_data = NULL;
    if (s == NULL)
        return;
    if (s->conn != NULL)
        stream_reset(s);
    stream_release(s);
}

static void h2_proceed(h2api_call_t *call)
{
    h2_stream_t *s = call->transport_data;
    if (s == NULL || !s->paused)
        return;
    s->paused = 0;
    if (s->conn != NULL) {
        --s->conn->num_paused;
        stream_give_back(s, s->held_bytes - (s->backlog != NULL ? s->backlog->size : 0));
        s->held_bytes = s->backlog != NULL ? s->backlog->size : 0;
        stream_touch(s);
        schedule_settle(s->conn);
    }
    if ((s->backlog != NULL || s->final_pending) && !h2o_timeout_is_linked(&s->deliver_entry))
        h2o_timeout_link(call->up->loop, &call->up->ctx->zero_timeout, &s->deliver_entry);
}

static size_t h2_num_connections(h2api_upstream_t *up)
{
    return ((h2_state_t *)up->h2)->num_conns;
}

const h2api__transport_t h2api__transport_h2 = {
    .name = "h2",
    .has_capacity = h2_has_capacity,
    .start = h2_start,
    .cancel = h2_cancel,
    .proceed = h2_proceed,
    .num_connections = h2_num_connections,
};

/* ---- setup ---- */

/* ALPN (RFC 7301): h2 first, http/1.1 for a server that does not speak h2 (`http2: auto` falls back) */
static const char h2_alpn[] = "\x02h2\x08http/1.1";

int h2api__h2_init(h2api_upstream_t *up, char *errbuf, size_t errlen)
{
    const h2api_conf_upstream_t *conf = up->conf;
    h2_state_t *h2 = h2o_mem_alloc(sizeof(*h2));
    *h2 = (h2_state_t){.up = up};
    h2o_linklist_init_anchor(&h2->conns);
    h2->pump_entry.cb = on_pump;
    if (conf->is_tls && (h2->ssl_ctx = h2api__client_ssl_ctx_create(conf, h2_alpn, sizeof(h2_alpn) - 1, errbuf, errlen)) == NULL) {
        free(h2);
        return -EINVAL;
    }

    /* a numeric host is connected to as is; a name goes through h2o's resolver for each connection */
    snprintf(h2->port, sizeof(h2->port), "%u", conf->port);
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(conf->host, h2->port, &hints, &ai) == 0) {
        memcpy(&h2->addr, ai->ai_addr, ai->ai_addrlen);
        h2->addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
    }

    nghttp2_session_callbacks_new(&h2->callbacks);
    nghttp2_session_callbacks_set_on_header_callback(h2->callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2->callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2->callbacks, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2->callbacks, on_stream_close);
    nghttp2_option_new(&h2->option);
    nghttp2_option_set_no_auto_window_update(h2->option, 1);
    nghttp2_option_set_peer_max_concurrent_streams(h2->option, H2_STREAMS_BEFORE_SETTINGS);

    h2o_timeout_init(up->loop, &h2->idle_timeout, conf->keepalive_expiry_ms);
    up->h2 = h2;
    return 0;
}

void h2api__h2_dispose(h2api_upstream_t *up)
{
    h2_state_t *h2 = up->h2;
    while (!h2o_linklist_is_empty(&h2->conns))
        conn_destroy(H2O_STRUCT_FROM_MEMBER(h2_conn_t, link, h2->conns.next));
    unlink_entry(&h2->pump_entry);
    h2api__client_close_timeout(up->client, &h2->idle_timeout);
    nghttp2_option_del(h2->option);
    nghttp2_session_callbacks_del(h2->callbacks);
    if (h2->ssl_ctx != NULL)
        SSL_CTX_free(h2->ssl_ctx);
    h2->ssl_ctx = NULL;
    /* h2 holds the idle timeout's uv handle: the client frees it once libuv let go of it */
}
