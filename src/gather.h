/*
 * Fan-out / join over the outbound pool, with asyncio.gather semantics: start N upstream calls,
 * continue once when all finished, each child's result or error kept
 * (`return_exceptions=True`); or, in fail-fast mode, continue at the first error and cancel the
 * rest. An optional bound on calls in flight serves bulk work (the semaphore pattern of
 * `asyncio.Semaphore(n)` around each call). Gathers compose: a continuation may start the next
 * gather (a second stage that needs the first stage's answers).
 *
 * A gather lives in a memory pool (normally req->pool) with all its calls: disposing of the
 * pool (the client went away) cancels the calls still running, and the continuation never runs.
 */
#ifndef h2api__gather_h
#define h2api__gather_h

#include <h2o.h>
#include "client/upstream.h"

typedef struct st_h2api_gather_t h2api_gather_t;

/** Runs once, on the loop, when the gather is over (see h2api_gather_create). */
typedef void (*h2api_gather_done_cb)(h2api_gather_t *gather, void *data);

/** One child's outcome. */
typedef struct st_h2api_gather_result_t {
    int state;             /* H2API_GATHER_PENDING, _DONE, _FAILED or _CANCELLED */
    const char *errstr;    /* _FAILED: one of the client's error constants */
    h2api_call_res_t res;  /* _DONE: status, headers and body, in the gather's pool */
} h2api_gather_result_t;

enum { H2API_GATHER_PENDING = 0, H2API_GATHER_DONE, H2API_GATHER_FAILED, H2API_GATHER_CANCELLED };

/**
 * Creates a gather of `num_slots` (>= 1) children in `pool`.
 * @param fail_fast        0: wait for every child (return_exceptions=True); 1: continue at the
 *                         first child that fails with an errstr, cancelling the others
 *                         (their state becomes _CANCELLED)
 * @param max_concurrency  children in flight at once; 0 = all at once. Children start in slot order.
 * @param cb               the continuation; runs once, after h2api_gather_start, never from inside it
 */
h2api_gather_t *h2api_gather_create(h2o_mem_pool_t *pool, size_t num_slots, int fail_fast, size_t max_concurrency,
                                    h2api_gather_done_cb cb, void *data);

/**
 * Declares child `slot` (0..num_slots-1): `creq` to `up`. `creq` and everything it points to
 * must live as long as the pool (allocate it there). Children start at h2api_gather_start.
 */
void h2api_gather_set(h2api_gather_t *gather, size_t slot, h2api_upstream_t *up, const h2api_call_req_t *creq);

/** Starts the children (up to max_concurrency). Every slot must have been set. */
void h2api_gather_start(h2api_gather_t *gather);

/** The outcome of child `slot`; valid in and after the continuation. */
const h2api_gather_result_t *h2api_gather_result(h2api_gather_t *gather, size_t slot);

/** Number of slots. */
size_t h2api_gather_size(h2api_gather_t *gather);

/** 1 if every child is _DONE (whatever its HTTP status). */
int h2api_gather_all_done(h2api_gather_t *gather);

#endif
