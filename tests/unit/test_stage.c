/*
 * The stage primitive (src/stage.c) over the real client against a real peer on the same loop
 * (peer.h), and the JSON builder (src/jsonb.c). Stages run here without a request
 * (h2api__stage_create with r NULL): what a stage would have answered by itself is read back
 * with h2api__stage_answered. Each test gets a fresh loop, client, pool and peer.
 */
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "app.h"
#include "client/upstream.h"
#include "conf.h"
#include "peer.h"

/* What the continuations saw. */
typedef struct st_seen_t {
    int started; /* h2api_stage_start has returned */
    int num_calls;
    int called_inside;
    uint64_t started_at, done_at;
    h2api_stage_t *stage;
} seen_t;

static uv_loop_t loop;
static h2o_globalconf_t globalconf;
static h2o_context_t ctx;
static h2o_mem_pool_t pool;
static peer_t *peer;
static h2api_conf_t *conf;
static h2api_client_t *client;
static seen_t seen[2];
static int num_done;

static const h2api_leg_t plain_leg = {.upstream = "peer"};
static const h2api_leg_t post_leg = {.upstream = "peer", .on_status = {{404, 404, "Post not found"}}};
static const h2api_leg_t author_leg = {.upstream = "peer", .name = "the author"};
static const h2api_leg_t dead_leg = {.upstream = "dead"};

static void setup(void)
{
    char yaml[1024], errbuf[256];
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    h2o_config_init(&globalconf);
    h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_context_init(&ctx, &loop, &globalconf);
    h2o_mem_init_pool(&pool);
    memset(seen, 0, sizeof(seen));
    num_done = 0;
    peer = peer_start(&loop, 0);
    ck_assert_ptr_nonnull(peer);
    /* "peer" (the h2o peer) and "dead" (nothing listening, one attempt, no breaker) */
    int n = snprintf(yaml, sizeof(yaml),
                     "listen:\n  - 127.0.0.1:0\nupstreams:\n"
                     "  peer:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n"
                     "  dead:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n    circuit_breaker: {failures: 0}\n",
                     peer->port, peer_free_port());
    ck_assert_int_lt(n, (int)sizeof(yaml));
    conf = h2api_conf_load_string("test.yaml", yaml, n, errbuf, sizeof(errbuf));
    ck_assert_msg(conf != NULL, "%s\n%s", errbuf, yaml);
    client = h2api_client_create(&ctx, conf, 1, errbuf, sizeof(errbuf));
    ck_assert_msg(client != NULL, "%s", errbuf);
}

static int peer_is_stopped(void *data)
{
    return peer_stopped(peer);
}

static void teardown(void)
{
    h2o_mem_clear_pool(&pool); /* cancels what is still running */
    h2api_client_destroy(client);
    peer_stop(peer);
    ck_assert_msg(peer_run_until(&loop, peer_is_stopped, NULL, 3000), "the peer did not stop: %zu connections open",
                  peer->num_open);
    peer_free(peer);
    h2o_context_dispose(&ctx);
    h2o_config_dispose(&globalconf);
    h2api_conf_free(conf);
    ck_assert_int_eq(peer_loop_close(&loop), 0);
}

static void on_stage(h2api_request_t *r, h2api_stage_t *stage, void *data)
{
    seen_t *s = data;
    ck_assert_ptr_null(r);
    ck_assert_ptr_eq(stage, s->stage);
    ++s->num_calls;
    ++num_done;
    if (!s->started)
        s->called_inside = 1;
    s->done_at = uv_now(&loop);
}

static h2api_stage_t *new_stage(h2o_mem_pool_t *p, seen_t *s, unsigned flags, size_t max_in_flight, h2api_stage_cb cb)
{
    return s->stage = h2api__stage_create(p, client, NULL, flags, max_in_flight, cb, s);
}

static void start(seen_t *s)
{
    s->started_at = uv_now(&loop);
    h2api_stage_start(s->stage);
    s->started = 1;
}

static int done_reached(void *data)
{
    return num_done >= *(int *)data;
}

static int wait_done(int n, uint64_t max_ms)
{
    return peer_run_until(&loop, done_reached, &n, max_ms);
}

static int peer_closed_reached(void *data)
{
    return peer->num_closed >= *(size_t *)data;
}

static void check_slot(h2api_stage_t *stage, size_t slot, int want_status, const char *want_detail)
{
    const char *detail = NULL;
    int status = h2api_slot_failure(stage, slot, &detail);
    ck_assert_msg(status == want_status, "slot %zu: status %d, expected %d (%s)", slot, status, want_status,
                  detail != NULL ? detail : "");
    if (want_detail != NULL)
        ck_assert_str_eq(detail, want_detail);
    if (want_status != 0)
        ck_assert_ptr_null(h2api_slot_body(stage, slot).base);
}

static void check_answered(h2api_stage_t *stage, int want_status, const char *want_detail)
{
    const char *detail = NULL;
    int status = h2api__stage_answered(stage, &detail);
    ck_assert_msg(status == want_status, "answered %d, expected %d (%s)", status, want_status, detail != NULL ? detail : "");
    if (want_detail != NULL)
        ck_assert_str_eq(detail, want_detail);
}

START_TEST(all_succeed)
{
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_FAIL_FAST, 0, on_stage);
    h2api_stage_get(stage, &plain_leg, "/ok?slot=%d", 0);
    h2api_stage_get(stage, &plain_leg, "/count");
    start(seen);
    ck_assert_int_eq(seen[0].num_calls, 0);
    ck_assert(wait_done(1, 3000));
    peer_run_for(&loop, 50);

    ck_assert_int_eq(seen[0].num_calls, 1);
    ck_assert(!seen[0].called_inside);
    check_answered(stage, 0, NULL);
    ck_assert_uint_eq(h2api_stage_size(stage), 2);
    check_slot(stage, 0, 0, NULL);
    h2api_str_t body = h2api_slot_body(stage, 0);
    ck_assert_msg(body.len == 11 && memcmp(body.base, "{\"ok\":true}", 11) == 0, "slot 0: %.*s", (int)body.len, body.base);
    ck_assert_str_eq(peer->log[0], "/ok?slot=0");

    /* one call reads a field of a result; a field that is not an integer, or absent, is -ENOENT */
    int64_t value = -1;
    ck_assert_int_eq(h2api_slot_int(stage, 1, "connections", &value), 0);
    ck_assert_int_ge(value, 1);
    ck_assert_int_eq(h2api_slot_int(stage, 1, "requests", &value), 0);
    ck_assert_int_le(value, 1);
    ck_assert_int_eq(h2api_slot_int(stage, 0, "ok", &value), -ENOENT);
    ck_assert_int_eq(h2api_slot_int(stage, 0, "missing", &value), -ENOENT);
}
END_TEST

START_TEST(fail_fast_maps_the_first_failed_slot)
{
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_FAIL_FAST, 0, on_stage);
    h2api_stage_get(stage, &plain_leg, "/ok");
    h2api_stage_get(stage, &post_leg, "/status/404");
    h2api_stage_get(stage, &plain_leg, "/status/500");
    start(seen);
    peer_run_for(&loop, 300);

    /* the continuation does not run; slot 1 is the first failure in slot order, through its leg's map */
    ck_assert_int_eq(seen[0].num_calls, 0);
    check_answered(stage, 404, "Post not found");
}
END_TEST

START_TEST(fail_fast_transport_error_cancels_the_rest)
{
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_FAIL_FAST, 0, on_stage);
    uint64_t started_at = uv_now(&loop);
    h2api_stage_get(stage, &plain_leg, "/slow?ms=600&tag=0");
    h2api_stage_get(stage, &dead_leg, "/ok");
    start(seen);
    int answered_early = 0;
    for (int i = 0; i != 40 && !answered_early; ++i) {
        const char *detail;
        peer_run_for(&loop, 10);
        answered_early = h2api__stage_answered(stage, &detail) != 0;
    }
    ck_assert_msg(answered_early, "no answer within 400 ms of the connect error");
    ck_assert_uint_lt(uv_now(&loop) - started_at, 400);
    check_answered(stage, h2api_client_error_status(h2api_err_connect), h2api_client_error_detail(h2api_err_connect));
    ck_assert_int_eq(seen[0].num_calls, 0);

    /* the slow call's connection is closed, not left running */
    size_t one = 1;
    ck_assert_msg(peer_run_until(&loop, peer_closed_reached, &one, 2000), "%zu of 1 connections closed", peer->num_closed);
    ck_assert_int_eq(seen[0].num_calls, 0);
}
END_TEST

START_TEST(return_exceptions_maps_every_slot)
{
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_RETURN_EXCEPTIONS, 0, on_stage);
    h2api_stage_get(stage, &author_leg, "/status/500");
    h2api_stage_get(stage, &plain_leg, "/slow?ms=100");
    h2api_stage_get(stage, &plain_leg, "/ok");
    h2api_stage_get(stage, &dead_leg, "/ok");
    h2api_stage_get(stage, &post_leg, "/status/404");
    h2api_stage_get(stage, &plain_leg, "/status/404");
    start(seen);
    ck_assert(wait_done(1, 3000));
    peer_run_for(&loop, 50);

    ck_assert_int_eq(seen[0].num_calls, 1);
    ck_assert(!seen[0].called_inside);
    ck_assert_uint_ge(seen[0].done_at - seen[0].started_at, 95); /* waited for the slow one despite the failures */
    check_answered(stage, 0, NULL);
    check_slot(stage, 0, 502, "Upstream answered 500 for the author");
    check_slot(stage, 1, 502, "Upstream answered with no JSON"); /* text/plain */
    check_slot(stage, 2, 0, NULL);
    check_slot(stage, 3, h2api_client_error_status(h2api_err_connect), h2api_client_error_detail(h2api_err_connect));
    check_slot(stage, 4, 404, "Post not found");
    check_slot(stage, 5, 502, "Upstream answered 404");
}
END_TEST

START_TEST(bounded)
{
    char paths[6][32];
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_RETURN_EXCEPTIONS | H2API_BOUNDED, 2, on_stage);
    for (size_t i = 0; i != 6; ++i) {
        snprintf(paths[i], sizeof(paths[i]), "/slow?ms=50&tag=%zu", i);
        h2api_stage_get(stage, &plain_leg, "%s", paths[i]);
    }
    start(seen);
    ck_assert(wait_done(1, 5000));

    ck_assert_uint_eq(peer->num_requests, 6);
    ck_assert_uint_le(peer->max_active, 2);
    ck_assert_uint_ge(seen[0].done_at - seen[0].started_at, 145); /* three rounds of two */
    for (size_t i = 0; i != 6; ++i)
        ck_assert_str_eq(peer->log[i], paths[i]); /* in slot order */
}
END_TEST

START_TEST(unbounded_without_the_flag)
{
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_RETURN_EXCEPTIONS, 2, on_stage);
    for (size_t i = 0; i != 4; ++i)
        h2api_stage_get(stage, &plain_leg, "/slow?ms=100&tag=%zu", i);
    start(seen);
    ck_assert(wait_done(1, 3000));
    ck_assert_uint_eq(peer->max_active, 4);
}
END_TEST

START_TEST(unknown_upstream)
{
    static const h2api_leg_t nowhere = {.upstream = "nowhere"};
    h2api_stage_t *stage = new_stage(&pool, seen, H2API_FAIL_FAST, 0, on_stage);
    h2api_stage_get(stage, &plain_leg, "/ok");
    h2api_stage_get(stage, &nowhere, "/ok");
    start(seen);
    /* answered at once; nothing is sent, and the continuation never runs */
    check_answered(stage, 503, "No upstream is configured");
    peer_run_for(&loop, 100);
    ck_assert_int_eq(seen[0].num_calls, 0);
    ck_assert_uint_eq(peer->num_requests, 0);
}
END_TEST

/* The second stage reads a field of the first's result and calls with it. */
static void on_first(h2api_request_t *r, h2api_stage_t *first, void *data)
{
    int64_t connections;
    on_stage(r, first, data);
    ck_assert_int_eq(h2api_slot_int(first, 0, "connections", &connections), 0);
    h2api_stage_t *second = new_stage(&pool, seen + 1, H2API_FAIL_FAST, 0, on_stage);
    h2api_stage_get(second, &plain_leg, "/ok?connections=%" PRId64, connections);
    start(seen + 1);
    ck_assert_int_eq(seen[1].num_calls, 0);
}

START_TEST(composition)
{
    new_stage(&pool, seen, H2API_FAIL_FAST, 0, on_first);
    h2api_stage_get(seen[0].stage, &plain_leg, "/count");
    start(seen);
    ck_assert(wait_done(2, 3000));
    peer_run_for(&loop, 50);

    ck_assert_int_eq(seen[0].num_calls, 1);
    ck_assert_int_eq(seen[1].num_calls, 1);
    ck_assert(!seen[1].called_inside);
    ck_assert_uint_eq(peer->num_requests, 1); /* /count is not counted */
    ck_assert_str_eq(peer->log[0], "/ok?connections=1");
}
END_TEST

START_TEST(dispose_cancels)
{
    h2o_mem_pool_t req_pool;
    h2o_mem_init_pool(&req_pool);
    h2api_stage_t *stage = new_stage(&req_pool, seen, H2API_RETURN_EXCEPTIONS, 0, on_stage);
    h2api_stage_get(stage, &plain_leg, "/slow?ms=300");
    h2api_stage_get(stage, &plain_leg, "/slow?ms=300");
    start(seen);
    peer_run_for(&loop, 50);
    ck_assert_uint_eq(peer->num_active, 2);

    /* the downstream request goes away */
    h2o_mem_clear_pool(&req_pool);
    size_t two = 2;
    ck_assert_msg(peer_run_until(&loop, peer_closed_reached, &two, 2000), "%zu of 2 connections closed", peer->num_closed);
    peer_run_for(&loop, 400);
    ck_assert_int_eq(seen[0].num_calls, 0);
}
END_TEST

/* ---- route rows, checked at registration ---- */

static int handler(h2api_request_t *r)
{
    return 0;
}

START_TEST(route_rows_checked_at_registration)
{
    static const h2api_path_param_t post_id = H2API_PATH_INT("post_id"), post_id_str = H2API_PATH_STR("post_id"),
                                    user_id = H2API_PATH_INT("user_id"), odd = {"post_id", "float"};
    static const h2api_route_t good[] = {
        {H2API_METHOD_GET, "/v1/posts/{post_id:int}", handler, "one post", .params = {&post_id}},
        {H2API_METHOD_GET, "/v1/users/{user_id:int}/posts/{post_id:int}", handler, "both", .params = {&post_id, &user_id}},
    };
    static const h2api_route_t lacks[] = {{H2API_METHOD_GET, "/v1/users/{id:int}", handler, "x", .params = {&user_id}}};
    static const h2api_route_t other_converter[] = {
        {H2API_METHOD_GET, "/v1/p/{post_id:int}", handler, "x", .params = {&post_id_str}}};
    static const h2api_route_t unknown_converter[] = {{H2API_METHOD_GET, "/v1/q/{post_id:int}", handler, "x", .params = {&odd}}};
    static const h2api_route_t list_without_model[] = {
        {H2API_METHOD_POST, "/b", handler, "x", .body = {NULL, H2API_BODY_LIST, 1, 2}}};
    static const h2api_route_t malformed[] = {{H2API_METHOD_GET, "/v1/{unterminated", handler, "x"}};
    h2api_app_t *app = h2api_app_create(conf);
    size_t num_routes;

    ck_assert_int_eq(H2API_ADD_ROUTES(app, good), 0);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, lacks), -EINVAL);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, other_converter), -EINVAL);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, unknown_converter), -EINVAL);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, list_without_model), -EINVAL);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, malformed), -EINVAL);
    ck_assert_int_eq(H2API_ADD_ROUTES(app, good), -EEXIST); /* the router's own check still runs */
    h2api_app_routes(app, &num_routes);
    ck_assert_uint_eq(num_routes, 2); /* refused rows are not registered */
    h2api_app_destroy(app);
}
END_TEST

/* ---- the JSON builder ---- */

static void check_text(h2api_jsonb_t *jb, const char *want)
{
    h2api_str_t text = h2api_jsonb_text(jb);
    ck_assert_msg(text.len == strlen(want) && memcmp(text.base, want, text.len) == 0, "got %.*s\nwant %s", (int)text.len, text.base,
                  want);
}

START_TEST(jsonb_nesting_and_commas)
{
    h2api_jsonb_t *jb = h2api__jsonb_create(&pool);
    check_text(jb, "");
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_raw(jb, "post", H2API_STR("{\"id\":1}"));
    h2api_jsonb_array(jb, "list");
    h2api_jsonb_int(jb, NULL, 1);
    h2api_jsonb_int(jb, NULL, INT64_MIN);
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_end(jb);
    h2api_jsonb_array(jb, NULL);
    h2api_jsonb_end(jb);
    h2api_jsonb_raw(jb, NULL, H2API_STR("null"));
    h2api_jsonb_end(jb);
    h2api_jsonb_str(jb, "s", "x");
    h2api_jsonb_end(jb);
    check_text(jb, "{\"post\":{\"id\":1},\"list\":[1,-9223372036854775808,{},[],null],\"s\":\"x\"}");
}
END_TEST

START_TEST(jsonb_escapes_keys_and_strings)
{
    h2api_jsonb_t *jb = h2api__jsonb_create(&pool);
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_str(jb, "a\"b", "line\nq\"\\ \x01 é");
    h2api_jsonb_end(jb);
    check_text(jb, "{\"a\\\"b\":\"line\\nq\\\"\\\\ \\u0001 é\"}");
}
END_TEST

START_TEST(jsonb_grows)
{
    size_t big_len = 100000;
    char *big = h2o_mem_alloc_pool(&pool, big_len + 2);
    big[0] = '"';
    memset(big + 1, 'a', big_len - 2);
    big[big_len - 1] = '"';
    big[big_len] = '\0';
    h2api_jsonb_t *jb = h2api__jsonb_create(&pool);
    h2api_jsonb_array(jb, NULL);
    for (int i = 0; i != 3; ++i)
        h2api_jsonb_raw(jb, NULL, (h2api_str_t){big, big_len});
    h2api_jsonb_end(jb);
    h2api_str_t text = h2api_jsonb_text(jb);
    ck_assert_uint_eq(text.len, 3 * big_len + 4);
    ck_assert_int_eq(text.base[0], '[');
    ck_assert_int_eq(text.base[big_len + 1], ',');
    ck_assert_int_eq(text.base[text.len - 1], ']');
    ck_assert_int_eq(memcmp(text.base + 1, big, big_len), 0);
    ck_assert_int_eq(memcmp(text.base + 2 * big_len + 3, big, big_len), 0);
}
END_TEST

START_TEST(jsonb_key_inside_array_aborts)
{
    h2api_jsonb_t *jb = h2api__jsonb_create(&pool);
    h2api_jsonb_array(jb, NULL);
    h2api_jsonb_int(jb, "key", 1);
}
END_TEST

START_TEST(jsonb_end_without_container_aborts)
{
    h2api_jsonb_end(h2api__jsonb_create(&pool));
}
END_TEST

static void add_case(Suite *s, const char *name, const TTest *test, int signal)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    if (signal != 0)
        tcase_add_test_raise_signal(tc, test, signal);
    else
        tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

/* SIGABRT cases: the shared case table has no signal column */
Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_CASE(all_succeed),
        UNIT_CASE(fail_fast_maps_the_first_failed_slot),
        UNIT_CASE(fail_fast_transport_error_cancels_the_rest),
        UNIT_CASE(return_exceptions_maps_every_slot),
        UNIT_CASE(bounded),
        UNIT_CASE(unbounded_without_the_flag),
        UNIT_CASE(unknown_upstream),
        UNIT_CASE(composition),
        UNIT_CASE(dispose_cancels),
        UNIT_CASE(route_rows_checked_at_registration),
        UNIT_CASE(jsonb_nesting_and_commas),
        UNIT_CASE(jsonb_escapes_keys_and_strings),
        UNIT_CASE(jsonb_grows),
    };
    Suite *s = unit_suite_create("stage", setup, teardown, 10, cases, UNIT_LEN(cases));
    add_case(s, "jsonb_key_inside_array_aborts", jsonb_key_inside_array_aborts, SIGABRT);
    add_case(s, "jsonb_end_without_container_aborts", jsonb_end_without_container_aborts, SIGABRT);
    return s;
}
