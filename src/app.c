/*
 * The app object: the route table, lifespan hooks, per-worker resources, and the helpers
 * handlers use to read the request and answer JSON. The rest of the app layer sits beside it:
 * dispatch.c (from h2o to the routes), error_filter.c (libh2o's own errors as JSON) and
 * access_log.c.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "api.h"
#include "app_internal.h"
#include "json.h"
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

int h2api__app_is_internal_upstream(h2api_app_t *app)
{
    return app->is_internal_upstream;
}

h2api_router_t *h2api__app_router(h2api_app_t *app)
{
    return &app->router;
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
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 307:
        return "Temporary Redirect";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

void h2api__send_json_req(h2o_req_t *req, int status, h2o_iovec_t body)
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
    h2api__send_json_req(r->req, status, h2o_strdup(&r->req->pool, body, len));
}

void h2api_send_json_nocopy(h2api_request_t *r, int status, h2o_iovec_t body)
{
    h2api__send_json_req(r->req, status, body);
}

void h2api_send_error_req(h2o_req_t *req, int status, const char *detail)
{
    h2api__send_json_req(req, status, h2api_json_detail(&req->pool, detail));
}

void h2api_send_error(h2api_request_t *r, int status, const char *detail)
{
    if (status == 503) /* our own limits (pool, rate limit, breaker) clear within about a second */
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    h2api_send_error_req(r->req, status, detail);
}

/* ---- request helpers ---- */

/*
 * 1 if the media type of Content-Type value `ct` is application/json or application/...+json, as
 * FastAPI decides with email.message (get_content_maintype, get_content_subtype): parameters
 * after ';' ignored, case and surrounding white space ignored.
 */
static int is_json_media_type(h2o_iovec_t ct)
{
    const char *p = ct.base, *end = ct.base + ct.len, *semi = memchr(p, ';', ct.len);
    if (semi != NULL)
        end = semi;
    while (p != end && (*p == ' ' || *p == '\t'))
        ++p;
    while (end != p && (end[-1] == ' ' || end[-1] == '\t'))
        --end;
    static const char maintype[] = "application/";
    size_t n = end - p, mlen = sizeof(maintype) - 1;
    if (n <= mlen || !h2o_lcstris(p, mlen, maintype, mlen))
        return 0;
    const char *sub = p + mlen;
    size_t sublen = n - mlen;
    return h2o_lcstris(sub, sublen, H2O_STRLIT("json")) || (sublen >= 5 && h2o_lcstris(sub + sublen - 5, 5, H2O_STRLIT("+json")));
}

h2o_iovec_t h2api_request_body(h2api_request_t *r)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t body = req->entity.base != NULL ? req->entity : h2o_iovec_init("", 0);
    if (body.len == 0 || r->route == NULL || r->route->body.model == NULL)
        return body;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0 || req->headers.entries[i].value.len == 0 || is_json_media_type(req->headers.entries[i].value))
        return body;
    /* not JSON: FastAPI validates the raw bytes, decoded, which a JSON body model refuses */
    return h2api_json_quote(&req->pool, body.base, body.len);
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

void h2api_app_register_host(h2api_app_t *app, h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2api__dispatch_register(pathconf, app);

    /* the fallback path too: libh2o answers there the requests that never reach a handler */
    h2o_pathconf_t *pathconfs[] = {pathconf, &hostconf->fallback_path};
    for (size_t i = 0; i != 2; ++i) {
        h2api__error_filter_register(pathconfs[i]);
        if (app->conf == NULL || app->conf->log.access_log)
            h2api__access_log_register(pathconfs[i]);
    }
}
