/*
 * The example app's routes (the FastAPI "API Wrapper Example", rebuilt on h2api). One file per
 * resource, each with one register function; routes.c lists them. Nothing in src/ includes this.
 */
#ifndef h2api_routes_h
#define h2api_routes_h

#include "app.h"
#include "client/upstream.h"

/** Registers every route of the example app on `app`. @return 0 or the first -errno of h2api_app_add_route. */
int h2api_routes_register(h2api_app_t *app);

int routes_root_register(h2api_app_t *app);
int routes_posts_register(h2api_app_t *app);
int routes_users_register(h2api_app_t *app);

/**
 * Continuation of routes_upstream_get: runs once with the upstream's buffered answer (any
 * status). Transport errors never reach it: routes_upstream_get answers them itself.
 */
typedef void (*routes_upstream_ok_cb)(h2api_request_t *r, const h2api_call_res_t *res);

/**
 * GETs `path` (origin-form, query included; copied) from the default upstream of the request's
 * worker and calls `on_ok`. On a transport error it answers the mapped status (502 / 503 / 504)
 * with {"detail": ...} and never calls `on_ok`; a 503 carries Retry-After: 1. A client that goes
 * away cancels the call (the call lives in req->pool).
 */
void routes_upstream_get(h2api_request_t *r, h2o_iovec_t path, routes_upstream_ok_cb on_ok);

/**
 * Answers the upstream's response unchanged when it is a 2xx (its body and content type), else
 * 502 {"detail":"Upstream answered N"}.
 */
void routes_send_upstream(h2api_request_t *r, const h2api_call_res_t *res);

#endif
