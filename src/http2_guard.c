/*
 * HTTP/2 frame-flood guard, in front of libh2o 2.2.5's frame parser: SETTINGS and PING floods
 * (CVE-2019-9515, CVE-2019-9512) and CONTINUATION floods (the 2024 "CONTINUATION flood" class).
 *
 * libh2o acknowledges every SETTINGS frame (RFC 9113 §6.5.3) and every PING (§6.7) by appending
 * the ACK to the connection's write buffer, with no bound: a client that sends them without end
 * and reads nothing makes the server spend CPU and memory for nothing. It also accepts any number
 * of CONTINUATION frames (§6.10) in a header block as long as their payload stays under its
 * H2O_MAX_REQLEN (about 400 KiB), so empty ones never end a connection.
 *
 * h2api does not patch the library. libh2o calls these through its PLT, so this executable's
 * definitions are the ones it uses (ELF symbol interposition, as in http1_guard.c); each calls
 * the library's own (dlsym RTLD_NEXT, resolved before main):
 *
 *   - h2o_socket_read_start: for a socket that server.c accepted (its on_close.data is our
 *     h2api_conn_t), the read callback libh2o installs is kept in the connection and a wrapper is
 *     installed instead, which marks the connection as the one being parsed on this thread.
 *   - h2o_http2_accept: libh2o parses the bytes already read when a connection turns HTTP/2 by
 *     calling its reader directly; the connection is marked around that call too.
 *   - h2o_http2_decode_frame: every frame libh2o parses on a server connection is decoded here
 *     first. Counted on the marked connection: SETTINGS and PING without the ACK flag
 *     (limits.http2_max_control_frames per ten seconds) and the CONTINUATION frames after one
 *     HEADERS (limits.http2_max_continuation_frames, as nghttp2 1.61's
 *     nghttp2_option_set_max_continuations). A frame past a bound is refused with
 *     ENHANCE_YOUR_CALM: libh2o stops parsing and reading, queues GOAWAY (RFC 9113 §5.4.1) after
 *     the ACKs already queued (at most the bound's worth) and closes once they are written.
 *   - h2o_hpack_parse_headers: libh2o 2.2.5 records a :path pseudo-header field of any value,
 *     empty included (lib/http2/hpack.c, h2o_hpack_parse_headers), and handle_incoming_request
 *     (lib/http2/connection.c) checks only that :method, :scheme and :path were present, so an
 *     empty :path reached the app. RFC 9113 §8.3.1 makes it malformed ("This pseudo-header field
 *     MUST NOT be empty for "http" or "https" URIs") and §8.1.1 makes a malformed request a
 *     stream error of type PROTOCOL_ERROR. After the library's parse, an empty :path is reported
 *     to libh2o as absent: libh2o's own check then resets that stream with RST_STREAM
 *     (PROTOCOL_ERROR) and the connection goes on.
 *
 * The dispatcher (dispatch.c) counts the HTTP/2 requests themselves here too: streams opened per
 * second and streams reset before their answer (Rapid Reset, CVE-2023-44487), see
 * h2api__http2_guard_count_stream.
 *
 * The counts live in the h2api_conn_t, which lives exactly as long as the accepted connection: a
 * new connection never inherits an old one's count, even where libh2o reuses its memory.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <h2o.h>
#include <h2o/http2.h>
#include "http2_guard.h"
#include "worker.h"

/* libh2o 2.2.5's frame (include/h2o/http2_internal.h, which needs klib's khash.h: not shipped by
 * Debian) and the prototypes from that header this file interposes */
typedef struct st_h2o_http2_frame_t {
    uint32_t length;
    uint8_t type;
    uint8_t flags;
    uint32_t stream_id;
    const uint8_t *payload;
} h2o_http2_frame_t;

ssize_t h2o_http2_decode_frame(h2o_http2_frame_t *frame, const uint8_t *src, size_t len, const h2o_http2_settings_t *host_settings,
                               const char **err_desc);
void h2o_http2_accept(h2o_accept_ctx_t *ctx, h2o_socket_t *sock, struct timeval connected_at);
struct st_h2o_hpack_header_table_t;
struct st_h2o_cache_digests_t;
int h2o_hpack_parse_headers(h2o_req_t *req, struct st_h2o_hpack_header_table_t *header_table, const uint8_t *src, size_t len,
                            int *pseudo_header_exists_map, size_t *content_length, struct st_h2o_cache_digests_t **digests,
                            const char **err_desc);

typedef ssize_t (*decode_frame_fn)(h2o_http2_frame_t *, const uint8_t *, size_t, const h2o_http2_settings_t *, const char **);
typedef void (*read_start_fn)(h2o_socket_t *, h2o_socket_cb);
typedef void (*http2_accept_fn)(h2o_accept_ctx_t *, h2o_socket_t *, struct timeval);
typedef int (*parse_headers_fn)(h2o_req_t *, struct st_h2o_hpack_header_table_t *, const uint8_t *, size_t, int *, size_t *,
                                struct st_h2o_cache_digests_t **, const char **);

/* RFC 9113 §6 */
#define FRAME_HEADERS 0x1
#define FRAME_SETTINGS 0x4
#define FRAME_PING 0x6
#define FRAME_CONTINUATION 0x9
#define FLAG_ACK 0x1

/* libh2o 2.2.5's H2O_HPACK_PARSE_HEADERS_PATH_EXISTS (include/h2o/http2_internal.h) */
#define PSEUDO_PATH_EXISTS 4

#define CONTROL_WINDOW_MS 10000

static decode_frame_fn next_decode_frame;
static read_start_fn next_read_start;
static http2_accept_fn next_http2_accept;
static parse_headers_fn next_parse_headers;

static __thread h2api_conn_t *parsing; /* the server connection whose input libh2o is parsing on this thread */
static unsigned long num_refused;      /* connections closed by this guard, process-wide */

static void *next_symbol(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        fprintf(stderr, "h2api: http2 guard: %s not found after this executable (is libh2o linked statically?)\n", name);
        abort();
    }
    return fn;
}

/* resolved before main, while there is one thread */
__attribute__((constructor)) static void resolve_next(void)
{
    next_decode_frame = (decode_frame_fn)next_symbol("h2o_http2_decode_frame");
    next_read_start = (read_start_fn)next_symbol("h2o_socket_read_start");
    next_http2_accept = (http2_accept_fn)next_symbol("h2o_http2_accept");
    next_parse_headers = (parse_headers_fn)next_symbol("h2o_hpack_parse_headers");
}

static h2api_conn_t *conn_of_sock(h2o_socket_t *sock)
{
    return sock->on_close.data; /* set by server.c on accepted sockets only; NULL on client sockets */
}

static void guarded_read(h2o_socket_t *sock, const char *err)
{
    h2api_conn_t *conn = conn_of_sock(sock), *saved = parsing;
    parsing = conn;
    conn->read_cb(sock, err); /* may close the socket: the h2api_conn_t is freed later, by libuv's close callback */
    parsing = saved;
}

void h2o_socket_read_start(h2o_socket_t *sock, h2o_socket_cb cb)
{
    h2api_conn_t *conn = conn_of_sock(sock);
    if (conn != NULL && cb != guarded_read) {
        conn->read_cb = cb;
        cb = guarded_read;
    }
    next_read_start(sock, cb);
}

void h2o_http2_accept(h2o_accept_ctx_t *ctx, h2o_socket_t *sock, struct timeval connected_at)
{
    h2api_conn_t *saved = parsing;
    parsing = conn_of_sock(sock);
    next_http2_accept(ctx, sock, connected_at);
    parsing = saved;
}

/* Refuses the frame being parsed on `conn`: the connection goes (see the top of this file). */
static ssize_t refuse(h2api_conn_t *conn, const char *why, const char *goaway_text, const char **err_desc)
{
    __atomic_add_fetch(&num_refused, 1, __ATOMIC_RELAXED);
    h2api__conn_cut(conn, why, H2API_CUT_LEAVE_SOCKET);
    *err_desc = goaway_text;
    return H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM;
}

ssize_t h2o_http2_decode_frame(h2o_http2_frame_t *frame, const uint8_t *src, size_t len, const h2o_http2_settings_t *host_settings,
                               const char **err_desc)
{
    ssize_t ret = next_decode_frame(frame, src, len, host_settings, err_desc);
    h2api_conn_t *conn = parsing;
    if (ret <= 0 || conn == NULL)
        return ret;
    switch (frame->type) {
    case FRAME_HEADERS:
        conn->continuations = 0;
        break;
    case FRAME_CONTINUATION:
        if (++conn->continuations > h2api_app_conf(conn->worker->app)->limits.http2_max_continuation_frames)
            return refuse(conn, "more CONTINUATION frames in a header block than limits.http2_max_continuation_frames",
                          "too many CONTINUATION frames", err_desc);
        break;
    case FRAME_SETTINGS:
    case FRAME_PING:
        if ((frame->flags & FLAG_ACK) != 0)
            break; /* an ACK asks for nothing back */
        uint64_t now_ms = h2o_now(conn->worker->ctx.loop);
        if (now_ms - conn->control_window_start_ms >= CONTROL_WINDOW_MS) {
            conn->control_window_start_ms = now_ms;
            conn->control_in_window = 0;
        }
        if (++conn->control_in_window > h2api_app_conf(conn->worker->app)->limits.http2_max_control_frames)
            return refuse(conn, "more SETTINGS and PING frames per 10 s than limits.http2_max_control_frames",
                          "too many SETTINGS and PING frames", err_desc);
        break;
    }
    return ret;
}

int h2o_hpack_parse_headers(h2o_req_t *req, struct st_h2o_hpack_header_table_t *header_table, const uint8_t *src, size_t len,
                            int *pseudo_header_exists_map, size_t *content_length, struct st_h2o_cache_digests_t **digests,
                            const char **err_desc)
{
    int ret = next_parse_headers(req, header_table, src, len, pseudo_header_exists_map, content_length, digests, err_desc);
    /* a request's header block (trailers pass no map): an empty :path is malformed, see the top of this file */
    if (pseudo_header_exists_map != NULL && (*pseudo_header_exists_map & PSEUDO_PATH_EXISTS) != 0 && req->input.path.len == 0)
        *pseudo_header_exists_map &= ~PSEUDO_PATH_EXISTS;
    return ret;
}

unsigned long h2api__http2_guard_refused(void)
{
    return __atomic_load_n(&num_refused, __ATOMIC_RELAXED);
}

/* ---- HTTP/2 abuse: stream floods and Rapid Reset (CVE-2023-44487) ----
 *
 * libh2o 2.2.5 lets a client open and reset streams without bound. Every HTTP/2 request that
 * reaches the dispatcher is counted on its connection: streams opened per second, and streams
 * the client cancelled before they were answered, per ten seconds. Past either bound
 * (limits.http2_max_streams_per_second / http2_max_cancelled_streams) the connection is shut
 * down at the socket (shutdown(2)): libh2o reads the end of stream and closes it through its own
 * path, and the requests still dispatched on it start no upstream work.
 */
#define STREAM_WINDOW_MS 1000
#define CANCEL_WINDOW_MS 10000

int h2api__http2_guard_count_stream(h2api_conn_t *conn, uint64_t now_ms)
{
    if (now_ms - conn->window_start_ms >= STREAM_WINDOW_MS) {
        conn->window_start_ms = now_ms;
        conn->streams_in_window = 0;
    }
    if (++conn->streams_in_window > h2api_app_conf(conn->worker->app)->limits.http2_max_streams_per_second)
        h2api__conn_cut(conn, "more streams per second than limits.http2_max_streams_per_second", H2API_CUT_SHUTDOWN);
    return conn->closing;
}

void h2api__http2_guard_count_cancel(h2api_conn_t *conn, uint64_t now_ms)
{
    if (now_ms - conn->cancel_window_start_ms >= CANCEL_WINDOW_MS) {
        conn->cancel_window_start_ms = now_ms;
        conn->cancelled_in_window = 0;
    }
    if (++conn->cancelled_in_window > h2api_app_conf(conn->worker->app)->limits.http2_max_cancelled_streams)
        h2api__conn_cut(conn, "more streams reset before their answer than limits.http2_max_cancelled_streams (Rapid Reset)",
                        H2API_CUT_SHUTDOWN);
}
