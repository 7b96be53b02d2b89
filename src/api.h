/*
 * Cross-file internals of the public API (include/h2api.h): the route check app.c runs at
 * registration, and the request-free constructors the unit tests drive the stage and the JSON
 * builder with.
 */
#ifndef h2api__api_h
#define h2api__api_h

#include <stdarg.h>
#include <h2o.h>
#include "../include/h2api.h"
#include "client/upstream.h"

/**
 * Checks `route` against its own pattern (h2api_app_add_routes' contract): every `.params`
 * handle names a parameter of the pattern with its converter; a list body has a model.
 * @return 0, or -EINVAL with the reason on stderr (a bad pattern or methods included: the router's own -EINVAL).
 */
int h2api__route_check(const h2api_route_t *route);

/**
 * The stage core. `r` may be NULL (unit tests): then nothing is sent, failures are only
 * recorded (h2api__stage_answered) and the calls carry no X-Request-ID.
 * @param client          the worker's client; NULL answers 503 at h2api_stage_start
 * @param max_in_flight   the bound H2API_BOUNDED applies (0: none)
 */
h2api_stage_t *h2api__stage_create(h2o_mem_pool_t *pool, h2api_client_t *client, h2api_request_t *r, unsigned flags,
                                   size_t max_in_flight, h2api_stage_cb cb, void *data);

/** The status a stage answered by itself (a failure under H2API_FAIL_FAST, or no upstream), with *detail; 0 if none. */
int h2api__stage_answered(h2api_stage_t *stage, const char **detail);

/** A JSON builder in `pool` (h2api_jsonb without a request). */
h2api_jsonb_t *h2api__jsonb_create(h2o_mem_pool_t *pool);

/** vsnprintf into `pool`: the formatted text, NUL-terminated, sized to fit. */
h2o_iovec_t h2api__pool_vprintf(h2o_mem_pool_t *pool, const char *fmt, va_list args);
h2o_iovec_t h2api__pool_printf(h2o_mem_pool_t *pool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
