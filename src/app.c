/*
 * The app layer: dispatch from h2o to routes, FastAPI-shaped errors, lifespan hooks, per-worker
 * resources, request helpers, the JSON error filter and the access log.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "api.h"
#include "app.h"
#include "json.h"
#include "server.h"
#include "reqid.h"
#include "worker.h"

#define H2API_APP_MAX_HOOKS 32

typedef struct st_h2api_hook_t {
    int per_worker;
    h2api_lifespan_cb startup;
    h2api_lifespan_cb shutdown;
    void *data;
} h2api_hook_t;

struct st_h2api_app_t {
    const h2api_conf_t *conf;
    h2api_router_t router;
    const h2api_route_t **routes;
    size_t num_routes;
    h2api_hook_t hooks[H2API_APP_MAX_HOOKS];
    size_t num_hooks;
    size_t num_started; /* process-wide startup hooks that succeeded */
    int is_internal_upstream;
};

typedef struct st_h2api_dispatcher_t {
    h2o_handler_t super;
    h2api_app_t *app;
} h2api_dispatcher_t;

static const h2o_iovec_t content_type_json = {H2O_STRLIT("application/json")};

/* ---- app object ---- */

h2api_app_t *h2api_app_create(const h2api_conf_t *conf)
{
    h2api_app_t *app = h2o_mem_alloc(sizeof(*app));
    *app = (h2api_app_t){.conf = conf};
    h2api_router_init(&app->router);
    return app;
}

void h2api_app_destroy(h2api_app_t *app)
{
    h2api_router_dispose(&app->router);
    free(app->routes);
    free(app);
}

const h2api_conf_t *h2api_app_conf(h2api_app_t *app)
{
    return app->conf;
}

int h2api_app_add_route(h2api_app_t *app, const h2api_route_t *route)
{
    int ret;
    if ((ret = h2api__route_check(route)) != 0 ||
        (ret = h2api_router_add(&app->router, route->methods, route->pattern, (void *)route)) != 0)
        return ret;
    app->routes = h2o_mem_realloc(app->routes, sizeof(*app->routes) * (app->num_routes + 1));
    app->routes[app->num_routes++] = route;
    return 0;
}

int h2api_app_add_routes(h2api_app_t *app, const h2api_route_t *routes, size_t num_routes)
{
    for (size_t i = 0; i != num_routes; ++i) {
        int ret;
        if ((ret = h2api_app_add_route(app, routes + i)) != 0)
            return ret;
    }
    return 0;
}

void h2api_app_mark_internal_upstream(h2api_app_t *app)
{
    app->is_internal_upstream = 1;
}

const h2api_route_t *const *h2api_app_routes(h2api_app_t *app, size_t *num_routes)
{
    *num_routes = app->num_routes;
    return app->routes;
}

void h2api_app_on_lifespan(h2api_app_t *app, int per_worker, h2api_lifespan_cb startup, h2api_lifespan_cb shutdown, void *data)
{
    if (app->num_hooks == H2API_APP_MAX_HOOKS) {
        fprintf(stderr, "h2api: more than %d lifespan hooks\n", H2API_APP_MAX_HOOKS);
        abort();
    }
    app->hooks[app->num_hooks++] = (h2api_hook_t){per_worker, startup, shutdown, data};
}

static int run_startup(h2api_app_t *app, h2api_worker_t *worker, size_t *num_started, char *errbuf, size_t errlen)
{
    int per_worker = worker != NULL;
    for (*num_started = 0; *num_started != app->num_hooks; ++*num_started) {
        h2api_hook_t *hook = app->hooks + *num_started;
        int ret;
        if (hook->per_worker != per_worker || hook->startup == NULL)
            continue;
        if ((ret = hook->startup(app, worker, hook->data, errbuf, errlen)) != 0)
            return ret;
    }
    return 0;
}

static void run_shutdown(h2api_app_t *app, h2api_worker_t *worker, size_t num_started)
{
    int per_worker = worker != NULL;
    char errbuf[256];
    while (num_started-- != 0) {
        h2api_hook_t *hook = app->hooks + num_started;
        if (hook->per_worker == per_worker && hook->shutdown != NULL)
            hook->shutdown(app, worker, hook->data, errbuf, sizeof(errbuf));
    }
}

int h2api_app_startup(h2api_app_t *app, char *errbuf, size_t errlen)
{
    int ret = run_startup(app, NULL, &app->num_started, errbuf, errlen);
    if (ret != 0)
        run_shutdown(app, NULL, app->num_started);
    return ret;
}

void h2api_app_shutdown(h2api_app_t *app)
{
    run_shutdown(app, NULL, app->num_hooks);
}

int h2api_app_worker_startup(h2api_app_t *app, h2api_worker_t *worker, char *errbuf, size_t errlen)
{
    size_t num_started;
    int ret = run_startup(app, worker, &num_started, errbuf, errlen);
    if (ret != 0)
        run_shutdown(app, worker, num_started);
    return ret;
}

void h2api_app_worker_shutdown(h2api_app_t *app, h2api_worker_t *worker)
{
    run_shutdown(app, worker, app->num_hooks);
}

/* ---- worker accessors ---- */

h2o_context_t *h2api_worker_ctx(h2api_worker_t *worker)
{
    return &worker->ctx;
}

unsigned h2api_worker_index(h2api_worker_t *worker)
{
    return worker->index;
}

unsigned h2api_worker_count(h2api_worker_t *worker)
{
    return worker->num_workers;
}

h2api_app_t *h2api_worker_app(h2api_worker_t *worker)
{
    return worker->app;
}

int h2api_worker_is_draining(h2api_worker_t *worker)
{
    return worker->draining;
}

void h2api_worker_set_resource(h2api_worker_t *worker, const char *name, void *resource)
{
    for (size_t i = 0; i != worker->num_resources; ++i) {
        if (strcmp(worker->resources[i].name, name) == 0) {
            worker->resources[i].value = resource;
            return;
        }
    }
    if (worker->num_resources == H2API_WORKER_MAX_RESOURCES) {
        fprintf(stderr, "h2api: more than %d worker resources\n", H2API_WORKER_MAX_RESOURCES);
        abort();
    }
    worker->resources[worker->num_resources].name = name;
    worker->resources[worker->num_resources++].value = resource;
}

void *h2api_worker_resource(h2api_worker_t *worker, const char *name)
{
    for (size_t i = 0; i != worker->num_resources; ++i)
        if (strcmp(worker->resources[i].name, name) == 0)
            return worker->resources[i].value;
    return NULL;
}

/* ---- responses ---- */

const char *h2api_status_reason(int status)
{
    /* RFC 9110 §15 reason phrases of the statuses h2api answers with */
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

static void send_json_req(h2o_req_t *req, int status, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    if (req->res.status == 499)
        return; /* the client went away and was answered already: a late continuation */
    req->res.status = status;
    req->res.reason = h2api_status_reason(status);
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type_json.base, content_type_json.len);
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void h2api_send_json(h2api_request_t *r, int status, const char *body, size_t len)
{
    send_json_req(r->req, status, h2o_strdup(&r->req->pool, body, len));
}

void h2api_send_json_nocopy(h2api_request_t *r, int status, h2o_iovec_t body)
{
    send_json_req(r->req, status, body);
}

void h2api_send_error_req(h2o_req_t *req, int status, const char *detail)
{
    send_json_req(req, status, h2api_json_detail(&req->pool, detail));
}

void h2api_send_error(h2api_request_t *r, int status, const char *detail)
{
    if (status == 503) /* our own limits (pool, rate limit, breaker) clear within about a second */
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    h2api_send_error_req(r->req, status, detail);
}

/* ---- request helpers ---- */

h2o_iovec_t h2api_request_body(h2api_request_t *r)
{
    return r->req->entity.base != NULL ? r->req->entity : h2o_iovec_init("", 0);
}

int h2api_request_query(h2api_request_t *r, const char *name, h2o_iovec_t *value)
{
    h2o_req_t *req = r->req;
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t name_len = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', end - p), *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', pair_end - p), *key_end = eq != NULL ? eq : pair_end;
        char *key = h2o_mem_alloc_pool(&req->pool, key_end - p + 1);
        long key_len = h2api_percent_decode(p, key_end - p, key, 1);
        if (key_len == (long)name_len && memcmp(key, name, name_len) == 0) {
            const char *v = eq != NULL ? eq + 1 : pair_end;
            char *buf = h2o_mem_alloc_pool(&req->pool, pair_end - v + 1);
            long len = h2api_percent_decode(v, pair_end - v, buf, 1);
            if (len < 0)
                return -1;
            *value = h2o_iovec_init(buf, len);
            return 1;
        }
        p = pair_end + 1;
    }
    return 0;
}

const h2api_param_t *h2api_request_param(h2api_request_t *r, const char *name)
{
    for (size_t i = 0; i != r->num_params; ++i)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params + i;
    return NULL;
}

h2o_iovec_t h2api_request_peer_address(h2api_request_t *r)
{
    h2api_conn_t *conn = r->_conn;
    if (conn != NULL && conn->peer_len != 0)
        return h2o_iovec_init(conn->peer, conn->peer_len);
    char buf[NI_MAXHOST] = "unknown";
    struct sockaddr_storage ss;
    socklen_t sslen;
    if ((sslen = r->req->conn->callbacks->get_peername(r->req->conn, (void *)&ss)) != 0)
        h2o_socket_getnumerichost((void *)&ss, sslen, buf);
    size_t len = strlen(buf);
    if (conn == NULL || len >= sizeof(conn->peer))
        return h2o_strdup(&r->req->pool, buf, len);
    memcpy(conn->peer, buf, len);
    conn->peer_len = len;
    return h2o_iovec_init(conn->peer, len);
}

h2o_iovec_t h2api_request_header(h2api_request_t *r, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1);
    return i >= 0 ? r->req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* ---- HTTP/1.1 clients that go away ----
 *
 * libh2o 2.2.5 stops reading an HTTP/1.1 connection while its request is being handled, so it
 * never sees the client leave; an HTTP/2 client's RST_STREAM does dispose of the request. A
 * request that is still unanswered is therefore watched: every H2API_WATCH_INTERVAL_MS its socket
 * is peeked (MSG_PEEK: the bytes stay for h2o), and an end of stream or a reset means the client
 * is gone. It is answered 499 (nginx's "client closed request") so that h2o finishes it at once,
 * and disposing of its pool cancels its upstream calls. Later answers from its continuations are
 * dropped (see send_json_req).
 */
#define H2API_WATCH_INTERVAL_MS 200

typedef struct st_h2api_watch_t {
    h2o_linklist_t link;
    h2api_request_t *r;
    int fd;
} h2api_watch_t;

static void send_json_req(h2o_req_t *req, int status, h2o_iovec_t body);

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
            send_json_req(req, 499, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Client Closed Request\"}")));
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

/* ---- HTTP/2 abuse: stream floods and Rapid Reset (CVE-2023-44487) ----
 *
 * libh2o 2.2.5 lets a client open and reset streams without bound. Every HTTP/2 request that
 * reaches the dispatcher is counted on its connection: streams opened per second, and streams
 * the client cancelled before they were answered, per ten seconds. Past either bound
 * (limits.http2_max_streams_per_second / http2_max_cancelled_streams) the connection is shut
 * down at the socket (shutdown(2)): libh2o reads the end of stream and closes it through its own
 * path, and the requests still dispatched on it start no upstream work.
 */
static h2api_conn_t *conn_of(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL ? req->conn->callbacks->get_socket(req->conn) : NULL;
    return sock != NULL ? sock->on_close.data : NULL;
}

/* Counts a new stream; returns 0 if the connection may go on. */
static int account_h2_stream(h2api_conn_t *conn, const h2api_conf_t *conf, uint64_t now_ms)
{
    if (now_ms - conn->window_start_ms >= 1000) {
        conn->window_start_ms = now_ms;
        conn->streams_in_window = 0;
    }
    if (++conn->streams_in_window > conf->limits.http2_max_streams_per_second)
        h2api__conn_cut(conn, "more streams per second than limits.http2_max_streams_per_second", H2API_CUT_SHUTDOWN);
    return conn->closing;
}

static void account_h2_cancel(h2api_conn_t *conn, const h2api_conf_t *conf, uint64_t now_ms)
{
    if (now_ms - conn->cancel_window_start_ms >= 10000) {
        conn->cancel_window_start_ms = now_ms;
        conn->cancelled_in_window = 0;
    }
    if (++conn->cancelled_in_window > conf->limits.http2_max_cancelled_streams)
        h2api__conn_cut(conn, "more streams reset before their answer than limits.http2_max_cancelled_streams (Rapid Reset)", H2API_CUT_SHUTDOWN);
}

typedef struct st_h2api_request_tracker_t {
    h2api_worker_t *worker;
    h2o_req_t *req;
    h2api_conn_t *conn;    /* the connection (NULL if it is not one of ours) */
    h2api_conn_t *h2_conn; /* the same for HTTP/2, NULL for HTTP/1.x */
    const h2api_conf_t *conf;
    int counts_for_drain;  /* not for an internal upstream's requests */
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
        account_h2_cancel(t->h2_conn, t->conf, h2o_now(t->worker->ctx.loop));
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

static void send_health(h2o_req_t *req, h2api_worker_t *worker, int is_ready)
{
    if (!is_ready) {
        send_json_req(req, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
    } else if (worker->ready && !worker->draining) {
        send_json_req(req, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ready\"}")));
    } else {
        send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"status\":\"not ready\"}")));
    }
}

static void send_match_error(h2o_req_t *req, const h2api_match_t *match)
{
    switch (match->status) {
    case H2API_MATCH_NOT_FOUND:
        send_json_req(req, 404, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Not Found\"}")));
        break;
    case H2API_MATCH_METHOD_NOT_ALLOWED: {
        char allow[128];
        size_t len = h2api_methods_to_allow(match->allowed, allow, sizeof(allow));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, h2o_strdup(&req->pool, allow, len).base, len);
        send_json_req(req, 405, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Method Not Allowed\"}")));
    } break;
    case H2API_MATCH_BAD_PARAM: {
        /* pydantic v2's int_parsing error, as FastAPI answers it */
        h2o_iovec_t name = h2api_json_quote(&req->pool, match->bad_param, strlen(match->bad_param));
        h2o_iovec_t input = h2api_json_quote(&req->pool, match->bad_value, strlen(match->bad_value));
        h2o_iovec_t body = h2o_concat(
            &req->pool, h2o_iovec_init(H2O_STRLIT("{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",")), name,
            h2o_iovec_init(H2O_STRLIT("],\"msg\":\"Input should be a valid integer, unable to parse string as an integer\",\"input\":")),
            input, h2o_iovec_init(H2O_STRLIT("}]}")));
        send_json_req(req, 422, body);
    } break;
    default:
        send_json_req(req, 400, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Invalid path\"}")));
        break;
    }
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
        send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Connection closed for abuse\"}")));
        return;
    }
    if (r->route->handler(r) != 0 && req->_generator == NULL)
        send_json_req(req, 500, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Internal Server Error\"}")));
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
    h2api_worker_t *worker = h2api__worker_of(req->conn->ctx);

    h2o_iovec_t request_id = assign_request_id(worker, req);

    /* every request is tracked: the drain waits for it, and an HTTP/2 stream counts on its connection */
    h2api_request_tracker_t *tracker = h2o_mem_alloc_shared(&req->pool, sizeof(*tracker), on_request_dispose);
    *tracker = (h2api_request_tracker_t){
        .worker = worker, .req = req, .conn = conn_of(req), .conf = app->conf, .counts_for_drain = !app->is_internal_upstream};
    if (tracker->counts_for_drain)
        ++worker->num_requests_in_flight;
    if (tracker->conn != NULL) {
        ++tracker->conn->num_active;
        tracker->conn->last_active_ms = h2o_now(worker->ctx.loop);
        tracker->conn->is_h2 |= req->version >= 0x200;
    }
    if (req->version >= 0x200 && (tracker->h2_conn = tracker->conn) != NULL &&
        account_h2_stream(tracker->h2_conn, app->conf, h2o_now(worker->ctx.loop))) {
        send_json_req(req, 503, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Connection closed for abuse\"}")));
        return 0;
    }

    if (req->input.path.len > app->conf->limits.max_url_bytes) {
        send_json_req(req, 414, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"URI Too Long\"}")));
        return 0;
    }
    if (!headers_within_limits(req, app->conf)) {
        send_json_req(req, 431, h2o_iovec_init(H2O_STRLIT("{\"detail\":\"Request Header Fields Too Large\"}")));
        return 0;
    }

    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    unsigned method = h2api_method_from_string(req->method.base, req->method.len);
    int is_get = method == H2API_METHOD_GET || method == H2API_METHOD_HEAD;
    if (is_get && h2o_memis(req->path.base, path_len, H2O_STRLIT("/healthz"))) {
        send_health(req, worker, 0);
        return 0;
    }
    if (is_get && h2o_memis(req->path.base, path_len, H2O_STRLIT("/readyz"))) {
        send_health(req, worker, 1);
        return 0;
    }

    h2api_match_t *match = h2o_mem_alloc_pool(&req->pool, sizeof(*match));
    h2api_router_match(&app->router, method, req->path.base, path_len, match);
    if (match->status != H2API_MATCH_OK) {
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

/* ---- errors raised by libh2o itself (413, 400, 417, 502...) turned into JSON ---- */

typedef struct st_h2api_json_error_ostream_t {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
} h2api_json_error_ostream_t;

static void json_error_do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    h2api_json_error_ostream_t *self = (void *)_self;
    h2o_iovec_t out = self->sent ? h2o_iovec_init(NULL, 0) : self->body;
    self->sent = 1;
    h2o_ostream_send_next(&self->super, req, &out, out.len != 0 ? 1 : 0, state);
}

static void on_setup_json_error(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t i;
    /* h2o_send_error_generic answers text/plain; charset=utf-8: that is the signature of an
     * error that libh2o raised itself; our handlers always answer application/json */
    if (req->res.status >= 400 && (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) >= 0 &&
        h2o_memis(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
                  H2O_STRLIT("text/plain; charset=utf-8"))) {
        const char *reason = req->res.reason != NULL && req->res.reason[0] != '\0' ? req->res.reason : "Error";
        h2api_json_error_ostream_t *os = (void *)h2o_add_ostream(req, sizeof(*os), slot);
        os->body = h2api_json_detail(&req->pool, reason);
        os->sent = 0;
        os->super.do_send = json_error_do_send;
        req->res.headers.entries[i].value = content_type_json;
        req->res.content_length = os->body.len;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- access log: one line per request on stdout ---- */

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    char line[1024];
    struct timeval now;
    gettimeofday(&now, NULL);
    double ms = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000.0 +
                (now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000.0;
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t rid = i >= 0 ? req->res.headers.entries[i].value : h2o_iovec_init(H2O_STRLIT("-"));
    h2o_iovec_t method = req->input.method.base != NULL ? req->input.method : h2o_iovec_init(H2O_STRLIT("-"));
    h2o_iovec_t path = req->input.path.base != NULL ? req->input.path : h2o_iovec_init(H2O_STRLIT("-"));
    const char *proto = req->version >= 0x200 ? "HTTP/2" : req->version == 0x101 ? "HTTP/1.1" : "HTTP/1.0";
    int n = snprintf(line, sizeof(line), "%.*s %.*s %s %d %zu %.3fms %.*s\n", (int)(method.len > 16 ? 16 : method.len),
                     method.base, (int)(path.len > 512 ? 512 : path.len), path.base, proto, req->res.status, req->bytes_sent, ms,
                     (int)rid.len, rid.base);
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
        /* stdout gone: nothing useful to do */
    }
}

void h2api_app_register_host(h2api_app_t *app, h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2api_dispatcher_t *dispatcher = (void *)h2o_create_handler(pathconf, sizeof(*dispatcher));
    dispatcher->super.on_req = on_req;
    dispatcher->app = app;

    h2o_pathconf_t *pathconfs[] = {pathconf, &hostconf->fallback_path};
    for (size_t i = 0; i != 2; ++i) {
        h2o_filter_t *filter = h2o_create_filter(pathconfs[i], sizeof(*filter));
        filter->on_setup_ostream = on_setup_json_error;
        if (app->conf == NULL || app->conf->log.access_log) {
            h2o_logger_t *logger = h2o_create_logger(pathconfs[i], sizeof(*logger));
            logger->log_access = log_access;
        }
    }
}
