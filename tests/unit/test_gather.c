/*
 * Fan-out / join over the real client against real peers on the same uv loop (peer.h): slot
 * order, return_exceptions and fail-fast, bounded concurrency, composition, and cancellation
 * when the pool goes away. Each test gets a fresh loop, client context, pool and peer (fixture.h).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_main.h"
#include "fixture.h"
#include "gather.h"

#define MAX_GATHERS 4

/* What one gather's continuation saw. */
typedef struct st_join_t {
    int started;   /* h2api_gather_start has returned */
    int num_calls; /* continuation runs */
    int called_inside;
    uint64_t started_at, done_at;
    h2api_gather_t *gather;
} join_t;

static join_t joins[MAX_GATHERS];

static void setup(void)
{
    fx_setup();
    memset(joins, 0, sizeof(joins));
}

/*
 * Two upstreams: "peer" (the h2o peer) and "dead" (a port with nothing listening, one attempt,
 * no breaker), plus `extra` lines for "peer".
 */
static void start_client(const char *extra)
{
    char yaml[2048];
    int n = snprintf(yaml, sizeof(yaml),
                     "listen:\n  - 127.0.0.1:0\nupstreams:\n"
                     "  peer:\n    base_url: http://127.0.0.1:%u\n%s"
                     "  dead:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n    circuit_breaker: {failures: 0}\n",
                     fx.peer->port, extra, peer_free_port());
    ck_assert_int_lt(n, (int)sizeof(yaml));
    fx_start_client(yaml, n);
}

/* A GET of `path` to upstream `name`, in `p` as the gather asks. */
static const h2api_call_req_t *get_req(h2o_mem_pool_t *p, const char *path)
{
    h2api_call_req_t *creq = h2o_mem_alloc_pool(p, sizeof(*creq));
    *creq = (h2api_call_req_t){.method = h2o_iovec_init(H2O_STRLIT("GET")), .path = h2o_strdup(p, path, SIZE_MAX)};
    return creq;
}

static void set_child(h2api_gather_t *gather, size_t slot, const char *upstream_name, const char *path)
{
    h2api_gather_set(gather, slot, fx_upstream(upstream_name), get_req(&fx.pool, path));
}

static void on_join(h2api_gather_t *gather, void *data)
{
    join_t *j = data;
    ++j->num_calls;
    ++fx.num_done;
    if (!j->started)
        j->called_inside = 1;
    ck_assert_ptr_eq(gather, j->gather);
    j->done_at = uv_now(&fx.loop);
}

static void start(join_t *j)
{
    j->started_at = uv_now(&fx.loop);
    h2api_gather_start(j->gather);
    j->started = 1;
}

static const char *state_name(int state)
{
    static const char *const names[] = {"PENDING", "DONE", "FAILED", "CANCELLED"};
    return state >= 0 && state <= 3 ? names[state] : "?";
}

#define ck_assert_state(gather, slot, expected)                                                                                    \
    do {                                                                                                                           \
        int st_ = h2api_gather_result((gather), (slot))->state;                                                                    \
        ck_assert_msg(st_ == (expected), "slot %d is %s, expected %s", (int)(slot), state_name(st_), state_name(expected));        \
    } while (0)

/* Asserts slot `slot` is DONE with status 200 and `body`. */
static void check_done(h2api_gather_t *gather, size_t slot, const char *body)
{
    const h2api_gather_result_t *r = h2api_gather_result(gather, slot);
    ck_assert_state(gather, slot, H2API_GATHER_DONE);
    ck_assert_ptr_null(r->errstr);
    ck_assert_int_eq(r->res.status, 200);
    ck_assert_msg(h2o_memis(r->res.body.base, r->res.body.len, body, strlen(body)), "slot %zu: %.*s, expected %s", slot,
                  (int)r->res.body.len, r->res.body.base, body);
}

START_TEST(all_succeed)
{
    static const char *const paths[] = {"/slow?ms=60&tag=0", "/slow?ms=20&tag=1", "/slow?ms=40&tag=2"};
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 3, 0, 0, on_join, joins);
    for (size_t i = 0; i != 3; ++i)
        set_child(joins[0].gather, i, "peer", paths[i]);
    start(joins);
    ck_assert_int_eq(joins[0].num_calls, 0);
    fx_wait_done(1, 3000);
    peer_run_for(&fx.loop, 100);

    ck_assert_int_eq(joins[0].num_calls, 1);
    ck_assert(!joins[0].called_inside);
    ck_assert_uint_eq(h2api_gather_size(joins[0].gather), 3);
    /* answers came back 1, 2, 0; results are in slot order */
    for (size_t i = 0; i != 3; ++i)
        check_done(joins[0].gather, i, paths[i]);
    ck_assert(h2api_gather_all_done(joins[0].gather));
    ck_assert_uint_ge(joins[0].done_at - joins[0].started_at, 55);
    ck_assert_uint_eq(fx.peer->num_requests, 3);
    ck_assert_uint_eq(fx.peer->max_active, 3);
}
END_TEST

START_TEST(return_exceptions)
{
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 3, 0, 0, on_join, joins);
    set_child(joins[0].gather, 0, "peer", "/slow?ms=100&tag=0");
    set_child(joins[0].gather, 1, "dead", "/ok");
    set_child(joins[0].gather, 2, "peer", "/ok");
    start(joins);
    fx_wait_done(1, 3000);
    peer_run_for(&fx.loop, 100);

    ck_assert_int_eq(joins[0].num_calls, 1);
    ck_assert(!joins[0].called_inside);
    /* the continuation waited for the slow sibling despite the failure */
    ck_assert_uint_ge(joins[0].done_at - joins[0].started_at, 95);
    check_done(joins[0].gather, 0, "/slow?ms=100&tag=0");
    ck_assert_state(joins[0].gather, 1, H2API_GATHER_FAILED);
    ck_assert_ptr_eq(h2api_gather_result(joins[0].gather, 1)->errstr, h2api_err_connect);
    check_done(joins[0].gather, 2, "{\"ok\":true}");
    ck_assert(!h2api_gather_all_done(joins[0].gather));
}
END_TEST

START_TEST(fail_fast)
{
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 3, 1, 0, on_join, joins);
    set_child(joins[0].gather, 0, "peer", "/slow?ms=600&tag=0");
    set_child(joins[0].gather, 1, "dead", "/ok");
    set_child(joins[0].gather, 2, "peer", "/slow?ms=600&tag=2");
    start(joins);
    fx_wait_done(1, 3000);

    /* at the first failure, not after the slow siblings */
    ck_assert_uint_lt(joins[0].done_at - joins[0].started_at, 400);
    ck_assert(!joins[0].called_inside);
    ck_assert_state(joins[0].gather, 0, H2API_GATHER_CANCELLED);
    ck_assert_state(joins[0].gather, 1, H2API_GATHER_FAILED);
    ck_assert_ptr_eq(h2api_gather_result(joins[0].gather, 1)->errstr, h2api_err_connect);
    ck_assert_state(joins[0].gather, 2, H2API_GATHER_CANCELLED);
    ck_assert(!h2api_gather_all_done(joins[0].gather));
    h2api_upstream_stats_t st;
    h2api_upstream_get_stats(fx_upstream("peer"), &st);
    ck_assert_uint_eq(st.in_flight, 0);

    /* the peer sees both slow connections closed, and the continuation does not run again */
    size_t two = 2;
    ck_assert_msg(peer_run_until(&fx.loop, fx_peer_closed_reached, &two, 2000), "%zu of 2 connections closed", fx.peer->num_closed);
    peer_run_for(&fx.loop, 100);
    ck_assert_int_eq(joins[0].num_calls, 1);
    ck_assert_uint_eq(fx.peer->num_requests, 2);
}
END_TEST

START_TEST(fail_fast_unstarted)
{
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 3, 1, 1, on_join, joins);
    set_child(joins[0].gather, 0, "dead", "/ok");
    set_child(joins[0].gather, 1, "peer", "/ok");
    set_child(joins[0].gather, 2, "peer", "/ok");
    start(joins);
    fx_wait_done(1, 3000);
    peer_run_for(&fx.loop, 100);

    ck_assert_int_eq(joins[0].num_calls, 1);
    ck_assert_state(joins[0].gather, 0, H2API_GATHER_FAILED);
    ck_assert_state(joins[0].gather, 1, H2API_GATHER_CANCELLED);
    ck_assert_state(joins[0].gather, 2, H2API_GATHER_CANCELLED);
    ck_assert_uint_eq(fx.peer->num_requests, 0);
}
END_TEST

START_TEST(max_concurrency)
{
    char paths[6][32];
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 6, 0, 2, on_join, joins);
    for (size_t i = 0; i != 6; ++i) {
        snprintf(paths[i], sizeof(paths[i]), "/slow?ms=50&tag=%zu", i);
        set_child(joins[0].gather, i, "peer", paths[i]);
    }
    start(joins);
    fx_wait_done(1, 5000);

    ck_assert_int_eq(joins[0].num_calls, 1);
    for (size_t i = 0; i != 6; ++i)
        check_done(joins[0].gather, i, paths[i]);
    ck_assert(h2api_gather_all_done(joins[0].gather));
    ck_assert_uint_eq(fx.peer->num_requests, 6);
    ck_assert_uint_le(fx.peer->max_active, 2);
    ck_assert_uint_le(fx.peer->max_open, 2);
    ck_assert_uint_ge(joins[0].done_at - joins[0].started_at, 145); /* three rounds of two */
    /* children start in slot order */
    for (size_t i = 0; i != 6; ++i)
        ck_assert_str_eq(fx.peer->log[i], paths[i]);
}
END_TEST

/* The second stage: one child per answer of the first, started from the first's continuation. */
static void on_first_stage(h2api_gather_t *gather, void *data)
{
    char path[64];
    on_join(gather, data);
    joins[1].gather = h2api_gather_create(&fx.pool, 2, 0, 0, on_join, joins + 1);
    for (size_t i = 0; i != 2; ++i) {
        const h2api_gather_result_t *r = h2api_gather_result(gather, i);
        ck_assert_int_eq(r->state, H2API_GATHER_DONE);
        snprintf(path, sizeof(path), "/slow?ms=10&from=%zu&len=%zu", i, r->res.body.len);
        set_child(joins[1].gather, i, "peer", path);
    }
    start(joins + 1);
    ck_assert_int_eq(joins[1].num_calls, 0);
}

START_TEST(composition)
{
    start_client("");
    joins[0].gather = h2api_gather_create(&fx.pool, 2, 0, 0, on_first_stage, joins);
    set_child(joins[0].gather, 0, "peer", "/ok");
    set_child(joins[0].gather, 1, "peer", "/slow?ms=20");
    start(joins);
    fx_wait_done(2, 3000);
    peer_run_for(&fx.loop, 100);

    ck_assert_int_eq(joins[0].num_calls, 1);
    ck_assert_int_eq(joins[1].num_calls, 1);
    ck_assert(!joins[1].called_inside);
    ck_assert_uint_ge(joins[1].done_at, joins[0].done_at);
    check_done(joins[0].gather, 0, "{\"ok\":true}");
    check_done(joins[0].gather, 1, "/slow?ms=20");
    check_done(joins[1].gather, 0, "/slow?ms=10&from=0&len=11");
    check_done(joins[1].gather, 1, "/slow?ms=10&from=1&len=11");
    ck_assert_uint_eq(fx.peer->num_requests, 4);
}
END_TEST

START_TEST(dispose_mid_gather)
{
    h2o_mem_pool_t req_pool;
    start_client("");
    h2o_mem_init_pool(&req_pool);
    joins[0].gather = h2api_gather_create(&req_pool, 3, 0, 0, on_join, joins);
    for (size_t i = 0; i != 3; ++i)
        h2api_gather_set(joins[0].gather, i, fx_upstream("peer"), get_req(&req_pool, "/slow?ms=300"));
    start(joins);
    peer_run_for(&fx.loop, 50);
    ck_assert_uint_eq(fx.peer->num_active, 3);

    /* the downstream request goes away */
    h2o_mem_clear_pool(&req_pool);
    h2api_upstream_stats_t st;
    h2api_upstream_get_stats(fx_upstream("peer"), &st);
    ck_assert_uint_eq(st.in_flight, 0);
    size_t three = 3;
    ck_assert_msg(peer_run_until(&fx.loop, fx_peer_closed_reached, &three, 2000), "%zu of 3 connections closed",
                  fx.peer->num_closed);
    peer_run_for(&fx.loop, 100);
    ck_assert_int_eq(joins[0].num_calls, 0);
    ck_assert_int_eq(fx.num_done, 0);
}
END_TEST

Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_CASE(all_succeed),     UNIT_CASE(return_exceptions), UNIT_CASE(fail_fast),          UNIT_CASE(fail_fast_unstarted),
        UNIT_CASE(max_concurrency), UNIT_CASE(composition),       UNIT_CASE(dispose_mid_gather),
    };
    return unit_suite_create("gather", setup, fx_teardown, 10, cases, UNIT_LEN(cases));
}
