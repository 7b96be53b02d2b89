/*
 * Fan-out / join: a countdown over the children, as lwan and asyncio.gather do it. Each child
 * is one upstream call whose completion fills its slot; the last one (or the first failure in
 * fail-fast mode) runs the continuation. Completions come from the loop (the client's
 * contract), so the continuation never runs inside h2api_gather_start.
 */
#include <assert.h>
#include "gather.h"

typedef struct st_h2api_gather_child_t {
    h2api_gather_t *gather;
    size_t slot;
    h2api_upstream_t *up;
    const h2api_call_req_t *creq;
    h2api_call_t *call; /* while running */
} h2api_gather_child_t;

struct st_h2api_gather_t {
    h2o_mem_pool_t *pool;
    size_t num_slots;
    size_t num_started;
    size_t num_running;
    size_t num_finished;
    size_t max_concurrency;
    int fail_fast;
    h2api_gather_done_cb cb;
    void *data;
    h2api_gather_child_t *children;
    h2api_gather_result_t *results;
};

static void start_next(h2api_gather_t *gather);

static void on_child_done(void *_child, const char *errstr, const h2api_call_res_t *res)
{
    h2api_gather_child_t *child = _child;
    h2api_gather_t *gather = child->gather;
    h2api_gather_result_t *result = gather->results + child->slot;

    child->call = NULL;
    --gather->num_running;
    ++gather->num_finished;
    if (errstr != NULL) {
        result->state = H2API_GATHER_FAILED;
        result->errstr = errstr;
    } else {
        result->state = H2API_GATHER_DONE;
        result->res = *res;
    }

    if (gather->fail_fast && errstr != NULL) {
        /* like asyncio.gather without return_exceptions: the first exception ends the wait; the
         * others are cancelled rather than left running unobserved */
        for (size_t i = 0; i != gather->num_slots; ++i) {
            h2api_gather_child_t *c = gather->children + i;
            if (c->call != NULL) {
                h2api_call_cancel(c->call);
                c->call = NULL;
                --gather->num_running;
            }
            if (gather->results[i].state == H2API_GATHER_PENDING)
                gather->results[i].state = H2API_GATHER_CANCELLED;
        }
        gather->cb(gather, gather->data);
        return;
    }
    if (gather->num_finished == gather->num_slots) {
        gather->cb(gather, gather->data);
        return;
    }
    start_next(gather);
}

static void start_next(h2api_gather_t *gather)
{
    while (gather->num_started != gather->num_slots &&
           (gather->max_concurrency == 0 || gather->num_running < gather->max_concurrency)) {
        h2api_gather_child_t *child = gather->children + gather->num_started++;
        ++gather->num_running;
        h2api_upstream_call(child->up, gather->pool, child->creq, on_child_done, child, &child->call);
    }
}

h2api_gather_t *h2api_gather_create(h2o_mem_pool_t *pool, size_t num_slots, int fail_fast, size_t max_concurrency,
                                    h2api_gather_done_cb cb, void *data)
{
    assert(num_slots != 0);
    h2api_gather_t *gather = h2o_mem_alloc_pool(pool, sizeof(*gather));
    *gather = (h2api_gather_t){.pool = pool,
                               .num_slots = num_slots,
                               .max_concurrency = max_concurrency,
                               .fail_fast = fail_fast,
                               .cb = cb,
                               .data = data};
    gather->children = h2o_mem_alloc_pool(pool, sizeof(*gather->children) * num_slots);
    gather->results = h2o_mem_alloc_pool(pool, sizeof(*gather->results) * num_slots);
    for (size_t i = 0; i != num_slots; ++i) {
        gather->children[i] = (h2api_gather_child_t){.gather = gather, .slot = i};
        gather->results[i] = (h2api_gather_result_t){.state = H2API_GATHER_PENDING};
    }
    return gather;
}

void h2api_gather_set(h2api_gather_t *gather, size_t slot, h2api_upstream_t *up, const h2api_call_req_t *creq)
{
    assert(slot < gather->num_slots);
    gather->children[slot].up = up;
    gather->children[slot].creq = creq;
}

void h2api_gather_start(h2api_gather_t *gather)
{
    start_next(gather);
}

const h2api_gather_result_t *h2api_gather_result(h2api_gather_t *gather, size_t slot)
{
    assert(slot < gather->num_slots);
    return gather->results + slot;
}

size_t h2api_gather_size(h2api_gather_t *gather)
{
    return gather->num_slots;
}

int h2api_gather_all_done(h2api_gather_t *gather)
{
    for (size_t i = 0; i != gather->num_slots; ++i)
        if (gather->results[i].state != H2API_GATHER_DONE)
            return 0;
    return 1;
}
