/*
 * The dispatcher: the one h2o handler at "/" of a host, between libh2o and the app's routes.
 * For every request it assigns the X-Request-ID, tracks the request (for the drain, and for the
 * HTTP/2 stream accounting of http2_guard.c), applies the limits on the request head (414,
 * 431), answers /healthz and /readyz, matches the route table (FastAPI's 404, 405 and 422 in
 * JSON, Starlette's 307 for a trailing slash too many or too few) and runs the route's handler: at once for HTTP/1.x, watched for a
 * client that goes away; on the loop's next turn for HTTP/2 (see defer_handler).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <h2o.h>
#include "app_internal.h"
#include "http2_guard.h"
#include "json.h"
#include "reqid.h"
#include "worker.h"

typedef struct st_h2api_dispatcher_t {
    h2o_handler_t super;
    h2api_app_t *app;
} h2api_dispatcher_t;

/* ---- HTTP/1.1 clients that go away ----
 *
 * libh2o 2.2.5 stops reading an HTTP/1.1 connection while its request is being handled, so it
 * never sees the client leave; an HTTP/2 client's RST_STREAM does dispose of the request. A
 * request that is still unanswered is therefore watched: every H2API_WATCH_INTERVAL_MS its socket
 * is peeked (MSG_PEEK: the bytes stay for h2o), and an end of stream or a reset means the client
 * is gone. It is answered 499 (nginx's "client closed request") so that h2o finishes it at once,
 * and disposing of its pool cancels its upstream calls. Later answers from its continuations are
 * dropped (see h2api__send_json_req).
 */
#define H2API_WATCH_INTERVAL_MS 200

typedef struct st_h2api_watch_t {
    h2o_linklist_t link;
    h2api_request_t *r;
    int fd;
} h2api_watch_t;

static void on_watch_dispose(void *_watch)
{
    h2api_watch_t *watch = _watch;
    if (h2o_linklist_is_linked(&watch->link))
        h2o_linklist_unlink(&watch->link);
}

static void on_watch_timer(uv_timer_t *timer)
{
    h2api_worker_t *worker = timer->data;
    h2o_linklist_t *node = worker->watched.next;
    while (node != &worker->watched) {
        h2api_watch_t *watch = H2O_STRUCT_FROM_MEMBER(h2api_watch_t, link, node);
        node = node->next;
        h2o_req_t *req = watch->r->req;
        if (req->_generator != NULL || req->res.status != 0) {
            h2o_linklist_unlink(&watch->link); /* answering already */
            continue;
        }
        char c;
        ssize_t n = recv(watch->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            h2o_linklist_unlink(&watch->link);
            watch->r->client_gone = 1;
            req->http1_is_persistent = 0;
            h2api__send_json_req(req, 499, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Client Closed Request\"}")));
        }
    }
    if (h2o_linklist_is_empty(&worker->watched))
        uv_timer_stop(timer);
}

static void on_deferred_timer(uv_timer_t *timer);

void h2api__worker_init_dispatch(h2api_worker_t *worker)
{
    h2o_linklist_init_anchor(&worker->watched);
    uv_timer_init(&worker->loop, &worker->watch_timer);
    worker->watch_timer.data = worker;
    uv_unref((uv_handle_t *)&worker->watch_timer);
    h2o_linklist_init_anchor(&worker->deferred);
    uv_timer_init(&worker->loop, &worker->deferred_timer);
    worker->deferred_timer.data = worker;
    uv_unref((uv_handle_t *)&worker->deferred_timer);
}

/* Starts watching `r` if it is an HTTP/1.x request whose handler did not answer at once. */
static void watch_request(h2api_request_t *r)
{
    h2o_req_t *req = r->req;
    if (req->version >= 0x200 || req->_generator != NULL || req->res.status != 0)
        return;
    h2api_conn_t *conn = r->_conn;
    if (conn == NULL)
        return;
    int fd;
    if (uv_fileno((uv_handle_t *)&conn->handle, &fd) != 0)
        return;
    h2api_watch_t *watch = h2o_mem_alloc_shared(&req->pool, sizeof(*watch), on_watch_dispose);
    *watch = (h2api_watch_t){.r = r, .fd = fd};
    h2o_linklist_insert(&r->worker->watched, &watch->link);
    if (!uv_is_active((uv_handle_t *)&r->worker->watch_timer))
        uv_timer_start(&r->worker->watch_timer, on_watch_timer, H2API_WATCH_INTERVAL_MS, H2API_WATCH_INTERVAL_MS);
}

/* ---- dispatch ---- */

/* The accepted connection behind `req` (server.c keeps it in the socket's on_close.data), or NULL. */
static h2api_conn_t *conn_of(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL ? req->conn->callbacks->get_socket(req->conn) : NULL;
    return sock != NULL ? sock->on_close.data : NULL;
}

typedef struct st_h2api_request_tracker_t {
    h2api_worker_t *worker;
    h2o_req_t *req;
    h2api_conn_t *conn;      /* the connection (NULL if it is not one of ours) */
    h2api_conn_t *h2_conn;   /* the same for HTTP/2, NULL for HTTP/1.x */
    int counts_for_drain;    /* not for an internal upstream's requests */
    h2o_linklist_t deferred; /* in worker->deferred while its HTTP/2 handler waits (see defer_handler) */
    h2api_request_t *r;      /* the handler's request, once routed */
} h2api_request_tracker_t;

static void on_request_dispose(void *_tracker)
{
    h2api_request_tracker_t *t = _tracker;
    if (h2o_linklist_is_linked(&t->deferred))
        h2o_linklist_unlink(&t->deferred); /* reset before its handler ran */
    if (t->counts_for_drain)
        --t->worker->num_requests_in_flight;
    if (t->conn != NULL) {
        --t->conn->num_active;
        t->conn->last_active_ms = h2o_now(t->worker->ctx.loop);
    }
    /* disposed of with no answer: the client reset the stream (or the connection went away) */
    if (t->h2_conn != NULL && t->req->res.status == 0)
        h2api__http2_guard_count_cancel(t->h2_conn, h2o_now(t->worker->ctx.loop));
}

static h2o_iovec_t assign_request_id(h2api_worker_t *worker, h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t id;
    if (i >= 0 && h2api_request_id_is_sane(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
        id = req->headers.entries[i].value;
    } else {
        char *buf = h2o_mem_alloc_pool(&req->pool, 33);
        h2api_request_id_generate(worker->rng, buf);
        id = h2o_iovec_init(buf, 32);
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
    return id;
}

/* The probes the dispatcher answers itself, before the route table: each as a GET route would. */
typedef enum en_h2api_probe_t { PROBE_NONE = 0, PROBE_HEALTH, PROBE_READY } h2api_probe_t;

static h2api_probe_t probe_of(const char *path, size_t len)
{
    if (h2o_memis(path, len, H2O_STRLIT("/healthz")))
        return PROBE_HEALTH;
    if (h2o_memis(path, len, H2O_STRLIT("/readyz")))
        return PROBE_READY;
    return PROBE_NONE;
}

static void send_health(h2o_req_t *req, h2api_worker_t *worker, h2api_probe_t probe)
{
    if (probe == PROBE_HEALTH) {
        h2api__send_json_req(req, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
    } else if (worker->ready && !worker->draining) {
        h2api__send_json_req(req, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ready\"}")));
    } else {
        h2api__send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"status\":\"not ready\"}")));
    }
}

static void send_match_error(h2o_req_t *req, const h2api_match_t *match)
{
    switch (match->status) {
    case H2API_MATCH_NOT_FOUND:
        h2api__send_json_req(req, 404, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Not Found\"}")));
        break;
    case H2API_MATCH_METHOD_NOT_ALLOWED: {
        char allow[128];
        size_t len = h2api_methods_to_allow(match->allowed, allow, sizeof(allow));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, h2o_strdup(&req->pool, allow, len).base, len);
        h2api__send_json_req(req, 405, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Method Not Allowed\"}")));
    } break;
    case H2API_MATCH_BAD_PARAM: {
        /* pydantic v2's int_parsing error, as FastAPI answers it */
        h2o_iovec_t name = h2api_json_quote(&req->pool, match->bad_param, strlen(match->bad_param));
        h2o_iovec_t input = h2api_json_quote(&req->pool, match->bad_value, strlen(match->bad_value));
        h2o_iovec_t body =
            h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",")), name,
                       h2o_iovec_init(H2O_STRLIT(
                           "],\"msg\":\"Input should be a valid integer, unable to parse string as an integer\",\"input\":")),
                       input, h2o_iovec_init(H2O_STRLIT("}]}")));
        h2api__send_json_req(req, 422, body);
    } break;
    default:
        h2api__send_json_req(req, 400, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Invalid path\"}")));
        break;
    }
}

/*
 * Starlette's redirect_slashes (starlette/routing.py, Router): a request whose path matches no
 * route, not even with another method, but would with its trailing slash toggled ("/a/" -> "/a",
 * every trailing slash stripped, as rstrip("/"); "/a" -> "/a/") is answered 307 Temporary
 * Redirect, with an empty body, to the toggled path: `scheme://authority` of the request (Host or
 * :authority, as Starlette's URL(scope=...)), the path, and the query string as it came. "/" is
 * never redirected. A match of the toggled path whose parameter fails validation counts as a
 * match, as a FastAPI path parameter matches any segment and is validated after routing.
 * @return 1 if the request was answered, 0 if it was not (no toggled route: the caller answers 404)
 */
static int redirect_slashes(h2o_req_t *req, h2api_app_t *app, unsigned method, size_t path_len)
{
    const char *path = req->path.base;
    if (path_len <= 1)
        return 0;
    h2o_iovec_t toggled;
    if (path[path_len - 1] == '/') {
        size_t len = path_len;
        while (len != 0 && path[len - 1] == '/')
            --len;
        if (len == 0)
            return 0; /* only slashes: no route matches an empty path */
        toggled = h2o_iovec_init(path, len);
    } else {
        char *buf = h2o_mem_alloc_pool(&req->pool, path_len + 1);
        memcpy(buf, path, path_len);
        buf[path_len] = '/';
        toggled = h2o_iovec_init(buf, path_len + 1);
    }
    if (probe_of(toggled.base, toggled.len) == PROBE_NONE) {
        h2api_match_t *match = h2o_mem_alloc_pool(&req->pool, sizeof(*match));
        h2api_router_match(h2api__app_router(app), method, toggled.base, toggled.len, match);
        if (match->status == H2API_MATCH_NOT_FOUND || match->status == H2API_MATCH_BAD_PATH)
            return 0;
    }

    h2o_iovec_t query = h2o_iovec_init(path + path_len, req->path.len - path_len), location;
    if (req->input.authority.len != 0) {
        location =
            h2o_concat(&req->pool, req->scheme->name, h2o_iovec_init(H2O_STRLIT("://")), req->input.authority, toggled, query);
    } else {
        location = h2o_concat(&req->pool, toggled, query); /* no Host (HTTP/1.0): a relative reference, RFC 9110 §10.2.2 */
    }
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = 307;
    req->res.reason = h2api_status_reason(307);
    req->res.content_length = 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location.base, location.len);
    h2o_start_response(req, &generator);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    return 1;
}

/* 1 if the request's head is within limits.max_header_bytes (request line and every field),
 * max_header_field_bytes (each field) and max_header_count, else 0 (431, RFC 6585 §5) */
static int headers_within_limits(h2o_req_t *req, const h2api_conf_t *conf)
{
    if (req->headers.size > conf->limits.max_header_count)
        return 0;
    size_t total = req->input.path.len + req->input.method.len;
    for (size_t i = 0; i != req->headers.size; ++i) {
        size_t field = req->headers.entries[i].name->len + req->headers.entries[i].value.len;
        if (field > conf->limits.max_header_field_bytes)
            return 0;
        total += field + 4;
    }
    return total <= conf->limits.max_header_bytes;
}

static void run_handler(h2api_request_t *r)
{
    h2o_req_t *req = r->req;
    if (r->_conn != NULL && r->_conn->closing) {
        h2api__send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Connection closed for abuse\"}")));
        return;
    }
    if (r->route->handler(r) != 0 && req->_generator == NULL)
        h2api__send_json_req(req, 500, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Internal Server Error\"}")));
    else
        watch_request(r);
}

/*
 * HTTP/2 handlers run on the loop's next turn, not from inside libh2o's frame parser. libh2o
 * dispatches a request as soon as its HEADERS frame is parsed, before it parses the frames read
 * with it: a RST_STREAM in the same read (the shape of a Rapid Reset, CVE-2023-44487) would
 * cancel upstream calls the handler had already started. Deferred, the request is disposed of
 * by the reset first (its pool's dispose callback takes it off the queue) and no upstream call
 * is ever started for it. The timer fires at the start of the next loop iteration, before it
 * polls again, so the delay is the rest of this iteration's I/O callbacks. The request's tracker
 * (whose dispose callback runs when libh2o disposes of the request) holds its place in the queue.
 */
static void defer_handler(h2api_request_tracker_t *t)
{
    h2api_worker_t *worker = t->worker;
    h2o_linklist_insert(&worker->deferred, &t->deferred);
    if (!uv_is_active((uv_handle_t *)&worker->deferred_timer))
        uv_timer_start(&worker->deferred_timer, on_deferred_timer, 0, 0);
}

static void on_deferred_timer(uv_timer_t *timer)
{
    h2api_worker_t *worker = timer->data;
    while (!h2o_linklist_is_empty(&worker->deferred)) {
        h2api_request_tracker_t *t = H2O_STRUCT_FROM_MEMBER(h2api_request_tracker_t, deferred, worker->deferred.next);
        h2o_linklist_unlink(&t->deferred);
        run_handler(t->r);
    }
}

static int on_req(h2o_handler_t *_self, h2o_req_t *req)
{
    h2api_dispatcher_t *self = (void *)_self;
    h2api_app_t *app = self->app;
    const h2api_conf_t *conf = h2api_app_conf(app);
    h2api_worker_t *worker = h2api__worker_of(req->conn->ctx);

    h2o_iovec_t request_id = assign_request_id(worker, req);

    /* every request is tracked: the drain waits for it, and an HTTP/2 stream counts on its connection */
    h2api_request_tracker_t *tracker = h2o_mem_alloc_shared(&req->pool, sizeof(*tracker), on_request_dispose);
    *tracker = (h2api_request_tracker_t){
        .worker = worker, .req = req, .conn = conn_of(req), .counts_for_drain = !h2api__app_is_internal_upstream(app)};
    if (tracker->counts_for_drain)
        ++worker->num_requests_in_flight;
    if (tracker->conn != NULL) {
        ++tracker->conn->num_active;
        tracker->conn->last_active_ms = h2o_now(worker->ctx.loop);
        tracker->conn->is_h2 |= req->version >= 0x200;
    }
    if (req->version >= 0x200 && (tracker->h2_conn = tracker->conn) != NULL &&
        h2api__http2_guard_count_stream(tracker->h2_conn, h2o_now(worker->ctx.loop))) {
        h2api__send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Connection closed for abuse\"}")));
        return 0;
    }

    if (req->input.path.len > conf->limits.max_url_bytes) {
        h2api__send_json_req(req, 414, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"URI Too Long\"}")));
        return 0;
    }
    if (!headers_within_limits(req, conf)) {
        h2api__send_json_req(req, 431, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Request Header Fields Too Large\"}")));
        return 0;
    }

    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    unsigned method = h2api_method_from_string(req->method.base, req->method.len);
    h2api_match_t *match = h2o_mem_alloc_pool(&req->pool, sizeof(*match));
    h2api_probe_t probe = probe_of(req->path.base, path_len);
    if (probe != PROBE_NONE) {
        if (method == H2API_METHOD_GET || method == H2API_METHOD_HEAD) {
            send_health(req, worker, probe);
        } else {
            /* the probes are GET routes like any other: a wrong method is a 405 with Allow */
            *match = (h2api_match_t){.status = H2API_MATCH_METHOD_NOT_ALLOWED, .allowed = H2API_METHOD_GET | H2API_METHOD_HEAD};
            send_match_error(req, match);
        }
        return 0;
    }

    h2api_router_match(h2api__app_router(app), method, req->path.base, path_len, match);
    if (match->status != H2API_MATCH_OK) {
        if (match->status != H2API_MATCH_NOT_FOUND || !redirect_slashes(req, app, method, path_len))
            send_match_error(req, match);
        return 0;
    }

    h2api_request_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    *r = (h2api_request_t){.req = req,
                           .worker = worker,
                           .route = match->route->data,
                           .params = match->params,
                           .num_params = match->num_params,
                           .request_id = request_id,
                           ._conn = tracker->conn};

    tracker->r = r;
    if (req->version >= 0x200)
        defer_handler(tracker);
    else
        run_handler(r);
    return 0;
}

void h2api__dispatch_register(h2o_pathconf_t *pathconf, h2api_app_t *app)
{
    h2api_dispatcher_t *dispatcher = (void *)h2o_create_handler(pathconf, sizeof(*dispatcher));
    dispatcher->super.on_req = on_req;
    dispatcher->app = app;
}
