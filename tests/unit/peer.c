/*
 * Test peers on the test's own loop; see peer.h. The h2o server follows libh2o's
 * examples/libh2o/simple.c (the libuv way): a uv_tcp listener whose connections become
 * h2o_socket_t by h2o_uv_socket_create and go to h2o_accept.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "peer.h"

/* ---- the h2o peer ---- */

typedef struct st_peer_conn_t {
    uv_tcp_t tcp; /* first: the close callback gets the handle */
    peer_t *peer;
} peer_conn_t;

typedef struct st_peer_slow_t {
    peer_t *peer;
    h2o_req_t *req;
    uv_timer_t *timer; /* malloc'ed: closes after the request's pool is gone */
    h2o_linklist_t link;
    int answered;
} peer_slow_t;

/* The value of query parameter `name` in `req` as a size, or `def`. */
static size_t query_size(h2o_req_t *req, const char *name, size_t def)
{
    if (req->query_at == SIZE_MAX)
        return def;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t name_len = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', end - p);
        if (amp == NULL)
            amp = end;
        if ((size_t)(amp - p) > name_len && memcmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t v = h2o_strtosize(p + name_len + 1, amp - (p + name_len + 1));
            return v == SIZE_MAX ? def : v;
        }
        p = amp + 1;
    }
    return def;
}

static void request_done(peer_t *peer)
{
    --peer->num_active;
}

static void send_text(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "Status";
    req->res.content_length = body.len; /* h2o_send_inline leaves it unknown: chunked for 200, close-delimited otherwise */
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type", content_type, strlen(content_type));
    h2o_send_inline(req, body.base, body.len);
}

static void slow_answer(peer_slow_t *slow)
{
    slow->answered = 1;
    h2o_linklist_unlink(&slow->link);
    if (slow->timer != NULL) {
        uv_timer_stop(slow->timer);
        uv_close((uv_handle_t *)slow->timer, (uv_close_cb)free);
        slow->timer = NULL;
    }
    request_done(slow->peer);
    send_text(slow->req, 200, "text/plain", h2o_strdup(&slow->req->pool, slow->req->path.base, slow->req->path.len));
}

static void on_slow_timer(uv_timer_t *timer)
{
    slow_answer(timer->data);
}

static void on_slow_dispose(void *_slow)
{
    peer_slow_t *slow = _slow;
    if (slow->answered)
        return;
    /* the request went away before its answer */
    h2o_linklist_unlink(&slow->link);
    uv_timer_stop(slow->timer);
    uv_close((uv_handle_t *)slow->timer, (uv_close_cb)free);
    slow->timer = NULL;
    ++slow->peer->num_aborted;
    request_done(slow->peer);
}

static int path_is(h2o_req_t *req, const char *path)
{
    return h2o_memis(req->path_normalized.base, req->path_normalized.len, path, strlen(path));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    peer_t *peer = *(peer_t **)(self + 1);
    char buf[256];
    int n;

    if (!path_is(req, "/count")) {
        ++peer->num_requests;
        if (peer->log_len < PEER_LOG_MAX) {
            snprintf(peer->log[peer->log_len], sizeof(peer->log[0]), "%.*s", (int)req->path.len, req->path.base);
            ++peer->log_len;
        }
    }
    if (++peer->num_active > peer->max_active)
        peer->max_active = peer->num_active;

    if (path_is(req, "/ok")) {
        request_done(peer);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-peer-id"), 0, "X-Peer-Id", H2O_STRLIT("1"));
        send_text(req, 200, "application/json", h2o_iovec_init(H2O_STRLIT("{\"ok\":true}")));
        return 0;
    }
    if (req->path_normalized.len == sizeof("/status/NNN") - 1 && memcmp(req->path_normalized.base, "/status/", 8) == 0) {
        size_t status = h2o_strtosize(req->path_normalized.base + 8, 3), retry_after = query_size(req, "retry_after", SIZE_MAX);
        request_done(peer);
        if (status < 100 || status > 599)
            status = 500;
        if (retry_after != SIZE_MAX) {
            n = snprintf(buf, sizeof(buf), "%zu", retry_after);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, h2o_strdup(&req->pool, buf, n).base, n);
        }
        n = snprintf(buf, sizeof(buf), "status %zu", status);
        send_text(req, (int)status, "text/plain", h2o_strdup(&req->pool, buf, n));
        return 0;
    }
    if (path_is(req, "/slow")) {
        peer_slow_t *slow = h2o_mem_alloc_shared(&req->pool, sizeof(*slow), on_slow_dispose);
        *slow = (peer_slow_t){.peer = peer, .req = req};
        slow->timer = h2o_mem_alloc(sizeof(*slow->timer));
        uv_timer_init(peer->_loop, slow->timer);
        slow->timer->data = slow;
        uv_timer_start(slow->timer, on_slow_timer, query_size(req, "ms", 100), 0);
        h2o_linklist_insert(&peer->_slow, &slow->link); /* the pool holds the only reference to `slow` */
        return 0;
    }
    if (path_is(req, "/big")) {
        static h2o_generator_t generator = {NULL, NULL};
        size_t len = query_size(req, "bytes", 0);
        h2o_iovec_t body = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, len + 1), len);
        for (size_t i = 0; i != len; ++i)
            body.base[i] = 'a' + i % 26;
        request_done(peer);
        req->res.status = 200;
        req->res.reason = "OK";
        if (query_size(req, "chunked", 0) == 0)
            req->res.content_length = len;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/octet-stream"));
        h2o_start_response(req, &generator);
        if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
            h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL); /* the content-length of a GET, no body */
        else
            h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
        return 0;
    }
    if (path_is(req, "/count")) {
        request_done(peer);
        n = snprintf(buf, sizeof(buf), "{\"requests\":%zu,\"connections\":%zu}", peer->num_requests, peer->num_accepted);
        send_text(req, 200, "application/json", h2o_strdup(&req->pool, buf, n));
        return 0;
    }
    if (req->path_normalized.len >= 5 && memcmp(req->path_normalized.base + req->path_normalized.len - 5, "/echo", 5) == 0) {
        static const char *const headers[] = {"host", "user-agent", "x-test", "content-length"};
        h2o_iovec_t parts[16];
        size_t num_parts = 0;
        parts[num_parts++] =
            h2o_concat(&req->pool, req->method, h2o_iovec_init(H2O_STRLIT(" ")), req->path, h2o_iovec_init(H2O_STRLIT("\n")));
        for (size_t i = 0; i != sizeof(headers) / sizeof(headers[0]); ++i) {
            ssize_t at = h2o_find_header_by_str(&req->headers, headers[i], strlen(headers[i]), -1);
            h2o_iovec_t value = at >= 0 ? req->headers.entries[at].value : h2o_iovec_init(NULL, 0);
            if (i == 0 && at < 0)
                value = req->authority; /* h2o keeps the host header as the authority */
            if (i == 3 && at < 0 && req->entity.base != NULL) {
                n = snprintf(buf, sizeof(buf), "%zu", req->entity.len);
                value = h2o_strdup(&req->pool, buf, n);
            }
            if (value.base == NULL)
                continue;
            parts[num_parts++] = h2o_concat(&req->pool, h2o_iovec_init(headers[i], strlen(headers[i])),
                                            h2o_iovec_init(H2O_STRLIT(": ")), value, h2o_iovec_init(H2O_STRLIT("\n")));
        }
        parts[num_parts++] = h2o_iovec_init(H2O_STRLIT("\n"));
        if (req->entity.base != NULL)
            parts[num_parts++] = req->entity;
        h2o_iovec_t body = h2o_concat_list(&req->pool, parts, num_parts);
        request_done(peer);
        send_text(req, 200, "text/plain", body);
        return 0;
    }
    request_done(peer);
    send_text(req, 404, "text/plain", h2o_iovec_init(H2O_STRLIT("not found")));
    return 0;
}

static void on_peer_conn_close(uv_handle_t *handle)
{
    peer_conn_t *conn = (peer_conn_t *)handle;
    --conn->peer->num_open;
    ++conn->peer->num_closed;
    free(conn);
}

static void on_peer_accept(uv_stream_t *listener, int status)
{
    peer_t *peer = listener->data;
    if (status != 0 || peer->_stopping)
        return;
    peer_conn_t *conn = h2o_mem_alloc(sizeof(*conn));
    conn->peer = peer;
    uv_tcp_init(listener->loop, &conn->tcp);
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, (uv_close_cb)free);
        return;
    }
    ++peer->num_accepted;
    if (++peer->num_open > peer->max_open)
        peer->max_open = peer->num_open;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_peer_conn_close);
    h2o_accept(&peer->_accept_ctx, sock);
}

static int listen_on(uv_loop_t *loop, uv_tcp_t *listener, uint16_t port, uv_connection_cb cb, uint16_t *bound)
{
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int r, namelen = sizeof(name);

    uv_ip4_addr("127.0.0.1", port, &addr);
    if ((r = uv_tcp_bind(listener, (struct sockaddr *)&addr, 0)) != 0 || (r = uv_listen((uv_stream_t *)listener, 128, cb)) != 0 ||
        (r = uv_tcp_getsockname(listener, (struct sockaddr *)&name, &namelen)) != 0) {
        fprintf(stderr, "peer: cannot listen on 127.0.0.1:%u: %s\n", port, uv_strerror(r));
        return r;
    }
    *bound = ntohs(((struct sockaddr_in *)&name)->sin_port);
    return 0;
}

static void on_peer_listener_close(uv_handle_t *handle)
{
    peer_t *peer = handle->data;
    peer->_listener_closed = 1;
}

peer_t *peer_start(uv_loop_t *loop, uint16_t port)
{
    peer_t *peer = h2o_mem_alloc(sizeof(*peer));
    memset(peer, 0, sizeof(*peer));
    peer->_loop = loop;
    h2o_linklist_init_anchor(&peer->_slow);

    h2o_config_init(&peer->_globalconf);
    h2o_hostconf_t *hostconf = h2o_config_register_host(&peer->_globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler) + sizeof(peer_t *));
    handler->on_req = on_req;
    *(peer_t **)(handler + 1) = peer;
    h2o_context_init(&peer->_ctx, loop, &peer->_globalconf);
    peer->_accept_ctx.ctx = &peer->_ctx;
    peer->_accept_ctx.hosts = peer->_globalconf.hosts;

    uv_tcp_init(loop, &peer->_listener);
    peer->_listener.data = peer;
    if (listen_on(loop, &peer->_listener, port, on_peer_accept, &peer->port) != 0) {
        peer->_stopping = 1;
        uv_close((uv_handle_t *)&peer->_listener, on_peer_listener_close);
        while (!peer->_listener_closed)
            uv_run(loop, UV_RUN_ONCE);
        peer_free(peer);
        return NULL;
    }
    return peer;
}

void peer_stop(peer_t *peer)
{
    if (peer->_stopping)
        return;
    peer->_stopping = 1;
    uv_close((uv_handle_t *)&peer->_listener, on_peer_listener_close);
    while (!h2o_linklist_is_empty(&peer->_slow))
        slow_answer(H2O_STRUCT_FROM_MEMBER(peer_slow_t, link, peer->_slow.next));
}

int peer_stopped(peer_t *peer)
{
    return peer->_listener_closed && peer->num_open == 0;
}

void peer_free(peer_t *peer)
{
    h2o_context_dispose(&peer->_ctx);
    h2o_config_dispose(&peer->_globalconf);
    free(peer);
}

/* ---- the silent listener ---- */

typedef struct st_silent_conn_t {
    uv_tcp_t tcp;
    silent_t *silent;
    h2o_linklist_t link;
    char buf[16384];
} silent_conn_t;

static void on_silent_handle_close(uv_handle_t *handle)
{
    silent_t *silent = handle->data;
    --silent->_handles;
    if (handle != (uv_handle_t *)&silent->_listener)
        free(handle);
}

static void close_silent_conn(silent_conn_t *conn)
{
    h2o_linklist_unlink(&conn->link);
    --conn->silent->num_open;
    uv_close((uv_handle_t *)&conn->tcp, on_silent_handle_close);
}

static void on_silent_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    silent_conn_t *conn = (silent_conn_t *)handle;
    *buf = uv_buf_init(conn->buf, sizeof(conn->buf));
}

static void on_silent_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    silent_conn_t *conn = (silent_conn_t *)stream;
    if (nread > 0) {
        conn->silent->bytes_received += nread;
    } else if (nread < 0) {
        ++conn->silent->num_client_closed;
        close_silent_conn(conn);
    }
}

static void on_silent_accept(uv_stream_t *listener, int status)
{
    silent_t *silent = listener->data;
    if (status != 0)
        return;
    silent_conn_t *conn = h2o_mem_alloc(sizeof(*conn));
    memset(conn, 0, offsetof(silent_conn_t, buf));
    conn->silent = silent;
    uv_tcp_init(listener->loop, &conn->tcp);
    conn->tcp.data = silent;
    ++silent->_handles;
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, on_silent_handle_close);
        return;
    }
    ++silent->num_accepted;
    ++silent->num_open;
    h2o_linklist_insert(&silent->_conns, &conn->link);
    uv_read_start((uv_stream_t *)&conn->tcp, on_silent_alloc, on_silent_read);
}

silent_t *silent_start(uv_loop_t *loop)
{
    silent_t *silent = h2o_mem_alloc(sizeof(*silent));
    memset(silent, 0, sizeof(*silent));
    silent->_loop = loop;
    h2o_linklist_init_anchor(&silent->_conns);
    uv_tcp_init(loop, &silent->_listener);
    silent->_listener.data = silent;
    silent->_handles = 1;
    if (listen_on(loop, &silent->_listener, 0, on_silent_accept, &silent->port) != 0) {
        silent_stop(silent);
        while (!silent_stopped(silent))
            uv_run(loop, UV_RUN_ONCE);
        silent_free(silent);
        return NULL;
    }
    return silent;
}

void silent_stop(silent_t *silent)
{
    while (!h2o_linklist_is_empty(&silent->_conns))
        close_silent_conn(H2O_STRUCT_FROM_MEMBER(silent_conn_t, link, silent->_conns.next));
    if (!uv_is_closing((uv_handle_t *)&silent->_listener))
        uv_close((uv_handle_t *)&silent->_listener, on_silent_handle_close);
}

int silent_stopped(silent_t *silent)
{
    return silent->_handles == 0;
}

void silent_free(silent_t *silent)
{
    free(silent);
}

/* ---- helpers ---- */

uint16_t peer_free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    uint16_t port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 && getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

typedef struct st_run_state_t {
    int (*done)(void *data);
    void *data;
} run_state_t;

/*
 * The check runs before each poll: a callback that ran in this turn of the loop (a timer, an
 * I/O completion) is seen before the loop blocks again, so the wait ends at once.
 */
static void on_run_prepare(uv_prepare_t *prepare)
{
    run_state_t *state = prepare->data;
    if (state->done(state->data))
        uv_stop(prepare->loop);
}

static void on_run_guard(uv_timer_t *timer)
{
    uv_stop(timer->loop);
}

static int run_done_never(void *data)
{
    return 0;
}

int peer_run_until(uv_loop_t *loop, int (*done)(void *data), void *data, uint64_t max_ms)
{
    run_state_t state = {done, data};
    uv_prepare_t prepare;
    uv_timer_t guard;

    if (done(data))
        return 1;
    uv_prepare_init(loop, &prepare);
    prepare.data = &state;
    uv_prepare_start(&prepare, on_run_prepare);
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_run_guard, max_ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&prepare, NULL);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* both are on the stack: let their close finish */
    return done(data);
}

void peer_run_for(uv_loop_t *loop, uint64_t ms)
{
    peer_run_until(loop, run_done_never, NULL, ms);
}

static void count_and_close(uv_handle_t *handle, void *arg)
{
    if (!uv_is_closing(handle)) {
        ++*(int *)arg;
        uv_close(handle, NULL);
    }
}

int peer_loop_close(uv_loop_t *loop)
{
    int left = 0;
    uv_walk(loop, count_and_close, &left);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? left : -1;
}
