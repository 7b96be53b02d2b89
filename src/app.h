/*
 * The app interface (ASGI-like): a route table with typed path parameters, lifespan hooks,
 * per-worker resources injected into handlers (FastAPI's `Depends`), and the helpers handlers
 * use to read the request and send JSON.
 *
 * One h2o handler sits at "/" of a host and dispatches to the app's routes. 404, 405 and 422
 * are answered here in FastAPI's JSON shapes. Everything a request touches lives on its
 * worker's loop: handlers never lock.
 */
#ifndef h2api__app_h
#define h2api__app_h

#include <h2o.h>
#include "conf.h"
#include "router.h"
#include "reqid.h"
#include "../include/h2api.h" /* the public half: route rows, handlers, lifespan hooks, answers */

typedef struct st_h2api_app_t h2api_app_t;
typedef struct st_h2api_worker_t h2api_worker_t;
typedef struct st_h2api_request_t h2api_request_t;

/** The request object a handler receives; lives in req->pool. */
struct st_h2api_request_t {
    h2o_req_t *req;
    h2api_worker_t *worker;
    const h2api_route_t *route;
    h2api_param_t *params; /* in req->pool */
    size_t num_params;
    h2o_iovec_t request_id;        /* the X-Request-ID of this request (kept from the client or made) */
    int client_gone;               /* the HTTP/1.1 client closed its connection: answered 499, work cancelled */
    struct st_h2api_conn_t *_conn; /* the accepted connection it came on (server.c), or NULL */
};

/** Creates an app bound to `conf` (borrowed, must outlive the app). */
h2api_app_t *h2api_app_create(const h2api_conf_t *conf);

/** Frees the app and its route table. */
void h2api_app_destroy(h2api_app_t *app);

/** The config the app was created with (read-only). */
const h2api_conf_t *h2api_app_conf(h2api_app_t *app);

/**
 * Registers `route` (static storage, not copied).
 * @return 0, or the router's -EINVAL / -EEXIST (a bad or duplicate pattern: a bug in routes/).
 */
int h2api_app_add_route(h2api_app_t *app, const h2api_route_t *route);

/**
 * Marks `app` as an upstream of the server's own app (the embedded demo): during the drain its
 * listener stays open, so that requests still in flight can reach it, and its requests are
 * not waited for. Called by h2api_server_add_app_listener.
 */
void h2api_app_mark_internal_upstream(h2api_app_t *app);

/** The route table, in registration order (for OpenAPI and tests). */
const h2api_route_t *const *h2api_app_routes(h2api_app_t *app, size_t *num_routes);

/** Runs the process-wide startup hooks; on failure runs the shutdown hooks of those that succeeded. */
int h2api_app_startup(h2api_app_t *app, char *errbuf, size_t errlen);
/** Runs the process-wide shutdown hooks in reverse order. */
void h2api_app_shutdown(h2api_app_t *app);
/** Runs the per-worker startup hooks for `worker`; same contract as h2api_app_startup. */
int h2api_app_worker_startup(h2api_app_t *app, h2api_worker_t *worker, char *errbuf, size_t errlen);
/** Runs the per-worker shutdown hooks for `worker` in reverse order. */
void h2api_app_worker_shutdown(h2api_app_t *app, h2api_worker_t *worker);

/**
 * Registers the app's dispatcher (and the JSON error filter and access logger) on `hostconf`'s
 * "/" path. Call before the global config is frozen (before workers start).
 */
void h2api_app_register_host(h2api_app_t *app, h2o_hostconf_t *hostconf);

/* ---- per-worker resources (dependency injection) ---- */

/** The worker's h2o context (its loop is ctx->loop). */
h2o_context_t *h2api_worker_ctx(h2api_worker_t *worker);
/** The worker's index, 0..workers-1. */
unsigned h2api_worker_index(h2api_worker_t *worker);
/** How many workers the server runs (shares of per-process limits divide by it). */
unsigned h2api_worker_count(h2api_worker_t *worker);
/** The app the worker serves. */
h2api_app_t *h2api_worker_app(h2api_worker_t *worker);
/** 1 while the worker drains after SIGTERM (then /readyz answers 503). */
int h2api_worker_is_draining(h2api_worker_t *worker);

/**
 * Stores a per-worker resource under `name` (a static string), replacing any previous one.
 * Typically called by a per-worker startup hook; the hook's shutdown twin destroys it.
 */
void h2api_worker_set_resource(h2api_worker_t *worker, const char *name, void *resource);
/** Returns the resource stored under `name`, or NULL. */
void *h2api_worker_resource(h2api_worker_t *worker, const char *name);

/* ---- request helpers ---- */

/**
 * Sends `body` as JSON without copying it: it must live until the response is sent (in
 * req->pool, or static storage such as prebuilt data that outlives every request).
 */
void h2api_send_json_nocopy(h2api_request_t *r, int status, h2o_iovec_t body);

/** The reason phrase of `status` (RFC 9110 §15), e.g. "Not Found"; a class phrase for others. Static. */
const char *h2api_status_reason(int status);

/**
 * Same as h2api_send_error for a bare h2o request (used where no h2api_request_t exists, e.g.
 * by the demo upstream or before routing).
 */
void h2api_send_error_req(h2o_req_t *req, int status, const char *detail);

/**
 * Returns the request body. h2o 2.2.5 buffers it whole before the handler runs and refuses
 * bodies over limits.max_body_bytes with 413 (made JSON by the app's error filter).
 *
 * For a route with a JSON body model (`.body.model` set), the body is JSON text only when the
 * request says Content-Type application/json or application/<anything>+json (any case, parameters
 * ignored) or says no Content-Type at all, as FastAPI decides (fastapi/routing.py,
 * get_request_handler). Any other type (text/plain, a form) returns the body as a JSON string
 * literal of its bytes, in req->pool: the model's validation then fails with 422
 * model_attributes_type (list_type for a list), its input the raw text, as FastAPI answers. This
 * also keeps a cross-site HTML form, which needs no CORS preflight, from creating anything. (An
 * invalid UTF-8 body of such a type fails as json_invalid instead; FastAPI answers 500 there.)
 */
h2o_iovec_t h2api_request_body(h2api_request_t *r);

/**
 * Finds query parameter `name` and percent-decodes its value (`+` is a space) into req->pool.
 * @return 1 and *value (NUL-terminated) if present, 0 if absent, -1 if its escape is malformed.
 */
int h2api_request_query(h2api_request_t *r, const char *name, h2o_iovec_t *value);

/** Returns the path parameter `name` or NULL. */
const h2api_param_t *h2api_request_param(h2api_request_t *r, const char *name);

/**
 * The client's numeric address ("127.0.0.1", "::1"), for X-Forwarded-For and logs. Formatted
 * once per connection and kept on it; "unknown" if the socket has no peer address. Static for
 * the request's life (in the connection, or req->pool).
 */
h2o_iovec_t h2api_request_peer_address(h2api_request_t *r);

/** Returns the value of request header `name` (lower-case) or {NULL, 0}. */
h2o_iovec_t h2api_request_header(h2api_request_t *r, const char *name);

#endif
