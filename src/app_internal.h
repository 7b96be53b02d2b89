/*
 * Cross-file internals of the app layer (app.c, dispatch.c, error_filter.c, access_log.c).
 * Nothing outside src/ includes this header; route code uses app.h.
 */
#ifndef h2api__app_internal_h
#define h2api__app_internal_h

#include <h2o.h>
#include "app.h"

/**
 * Answers `req` with `status` and `body` (JSON, borrowed: it must live until the response is
 * sent, in req->pool or static storage), with Content-Type application/json and a
 * Content-Length. Does nothing if the request was answered 499 already (an HTTP/1.1 client that
 * went away, see dispatch.c): a late continuation's answer is dropped. (app.c)
 */
void h2api__send_json_req(h2o_req_t *req, int status, h2o_iovec_t body);

/** The app's route table, for the dispatcher to match requests against. (app.c) */
h2api_router_t *h2api__app_router(h2api_app_t *app);

/** 1 if `app` was marked with h2api_app_mark_internal_upstream, else 0. (app.c) */
int h2api__app_is_internal_upstream(h2api_app_t *app);

/**
 * Registers the dispatcher of `app` as the handler of `pathconf` (dispatch.c): request ids,
 * limits on the request head, /healthz and /readyz, routing with FastAPI's 404 / 405 / 422 and
 * Starlette's trailing-slash redirect, then the route's handler. Call before the global config
 * is frozen.
 */
void h2api__dispatch_register(h2o_pathconf_t *pathconf, h2api_app_t *app);

/**
 * Registers on `pathconf` the filter that turns the text/plain errors libh2o raises itself
 * (413, 400, 417, 502...) into `{"detail": reason}` JSON (error_filter.c).
 */
void h2api__error_filter_register(h2o_pathconf_t *pathconf);

/** Registers on `pathconf` the access logger: one line per request on stdout (access_log.c). */
void h2api__access_log_register(h2o_pathconf_t *pathconf);

#endif
