/*
 * The example app's routes (the FastAPI "API Wrapper Example", rebuilt on h2api). One file per
 * resource, each with one register function; routes.c lists them. Nothing in src/ includes this.
 */
#ifndef h2api_routes_h
#define h2api_routes_h

#include "app.h"
#include "client/upstream.h"
#include "gather.h"

/** Registers every route of the example app on `app`. @return 0 or the first -errno of h2api_app_add_route. */
int h2api_routes_register(h2api_app_t *app);

int routes_root_register(h2api_app_t *app);
int routes_posts_register(h2api_app_t *app);
int routes_users_register(h2api_app_t *app);
int routes_todos_register(h2api_app_t *app);
int routes_proxy_register(h2api_app_t *app);

/**
 * The default upstream of the request's worker (the app's injected client pool). If there is
 * none, answers 503 {"detail": ...} and returns NULL.
 */
h2api_upstream_t *routes_upstream(h2api_request_t *r);

/**
 * Builds a GET (or `method` with `body`) for `path` (copied) in req->pool, carrying the
 * request's X-Request-ID so that the upstream's log names the same request.
 */
const h2api_call_req_t *routes_call_req(h2api_request_t *r, const char *method, h2o_iovec_t path, h2o_iovec_t body);

/**
 * Continuation of routes_upstream_get: runs once with the upstream's buffered answer (any
 * status). Transport errors never reach it: routes_upstream_get answers them itself.
 */
typedef void (*routes_upstream_ok_cb)(h2api_request_t *r, const h2api_call_res_t *res);

/**
 * GETs `path` (origin-form, query included; copied) from the default upstream and calls
 * `on_ok`. On a transport error it answers with routes_send_call_error and never calls `on_ok`.
 * A client that goes away cancels the call (it lives in req->pool).
 */
void routes_upstream_get(h2api_request_t *r, h2o_iovec_t path, routes_upstream_ok_cb on_ok);

/** Answers `status` with {"detail": detail}; a 503 (our own limits) carries Retry-After: 1. */
void routes_send_failure(h2api_request_t *r, int status, const char *detail);

/** Answers a client error constant: its status (502 / 503 / 504) and detail; 503 adds Retry-After: 1. */
void routes_send_call_error(h2api_request_t *r, const char *errstr);

/**
 * Answers the upstream's 2xx JSON unchanged with `status`; a non-2xx answer becomes
 * 502 {"detail":"Upstream answered N"}.
 */
void routes_send_upstream(h2api_request_t *r, int status, const h2api_call_res_t *res);

/**
 * The status and detail that a failed gather child stands for: a transport error maps as
 * routes_send_call_error does; a non-2xx answer is 502 "Upstream answered N" (a 404 is kept as
 * 404). Returns 0 for a 2xx answer.
 */
int routes_child_failure(const h2api_gather_result_t *result, const char **detail, h2o_mem_pool_t *pool);

/** 1 if the answer says it is JSON (Content-Type application/json or +json): we splice it unparsed. */
int routes_is_json(const h2api_call_res_t *res);

#endif
