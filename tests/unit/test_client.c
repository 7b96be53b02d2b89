/*
 * The outbound client against real peers on the same uv loop (peer.h): an h2o server, a
 * listener that never answers, and a port with nothing listening. Each test gets (fixture.h) a fresh loop,
 * an h2o context for the client, a memory pool for its calls and a peer; it writes its own
 * upstream config, runs the loop until the callbacks it expects have run (bounded by a timer),
 * and asserts on what the callbacks and the peer counted.
 *
 * The behaviours that do not depend on the transport run twice (a loop test): _i & 1 == 0 over
 * HTTP/1.1, 1 over h2c with prior knowledge (`http2: on`; the h2o peer speaks both). Pool
 * limits, connection-level timeouts and teardown are HTTP/1.1 only.
 */
#include <check.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_main.h"
#include "client/internal.h"
#include "fixture.h"

#define MAX_RESULTS 16

/* What one buffered call's callback saw. */
typedef struct st_result_t {
    int returned;      /* h2api_upstream_call has returned */
    int num_calls;     /* callback runs */
    int called_inside; /* the callback ran before h2api_upstream_call returned */
    const char *errstr;
    int status;
    h2o_iovec_t body;
    const h2o_header_t *headers;
    size_t num_headers;
    uint64_t started_at, done_at;
    h2api_call_t *call;
} result_t;

static result_t results[MAX_RESULTS];
static h2api_upstream_t *chain_up; /* keepalive_reuse */
static int use_h2;                 /* start_client adds `http2: on` to every upstream */

static void setup(void)
{
    fx_setup();
    memset(results, 0, sizeof(results));
    use_h2 = 0;
}

/* Loads "listen + upstreams:" followed by the printf-formatted upstream entries and creates the client. */
__attribute__((format(printf, 1, 2))) static void start_client(const char *fmt, ...)
{
    char yaml[4096];
    va_list args;
    int n = snprintf(yaml, sizeof(yaml), "listen:\n  - 127.0.0.1:0\nupstreams:\n");
    va_start(args, fmt);
    n += vsnprintf(yaml + n, sizeof(yaml) - n, fmt, args);
    va_end(args);
    ck_assert_int_lt(n, (int)sizeof(yaml));
    if (use_h2) {
        /* `http2: on` after each base_url line */
        char copy[sizeof(yaml)], *line, *save = NULL;
        memcpy(copy, yaml, n + 1);
        n = 0;
        for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
            n += snprintf(yaml + n, sizeof(yaml) - n, "%s\n%s", line, strstr(line, "base_url:") != NULL ? "    http2: on\n" : "");
            ck_assert_int_lt(n, (int)sizeof(yaml));
        }
    }
    fx_start_client(yaml, n);
}

static void on_done(void *data, const char *errstr, const h2api_call_res_t *res)
{
    result_t *r = data;
    ++r->num_calls;
    ++fx.num_done;
    if (!r->returned)
        r->called_inside = 1;
    r->errstr = errstr;
    r->done_at = uv_now(&fx.loop);
    if (errstr == NULL) {
        ck_assert_ptr_nonnull(res);
        r->status = res->status;
        r->body = res->body;
        r->headers = res->headers;
        r->num_headers = res->num_headers;
    } else {
        ck_assert_ptr_null(res);
    }
}

/* The request, in `p` as the client's contract asks. */
static h2api_call_req_t *make_req(h2o_mem_pool_t *p, const char *method, const char *path, const char *body)
{
    h2api_call_req_t *creq = h2o_mem_alloc_pool(p, sizeof(*creq));
    *creq = (h2api_call_req_t){.method = h2o_strdup(p, method, SIZE_MAX), .path = h2o_strdup(p, path, SIZE_MAX)};
    if (body != NULL)
        creq->body = h2o_strdup(p, body, SIZE_MAX);
    return creq;
}

/* Starts a buffered call in `p` whose outcome goes to `r`. */
static void call_in(h2o_mem_pool_t *p, h2api_upstream_t *up, const char *method, const char *path, result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->started_at = uv_now(&fx.loop);
    h2api_upstream_call(up, p, make_req(p, method, path, NULL), on_done, r, &r->call);
    r->returned = 1;
}

static void call(h2api_upstream_t *up, const char *method, const char *path, result_t *r)
{
    call_in(&fx.pool, up, method, path, r);
}

static int peer_aborted_reached(void *data)
{
    return fx.peer->num_aborted >= *(size_t *)data;
}

static int silent_closed_reached(void *data)
{
    return fx.silent->num_client_closed >= *(size_t *)data;
}

static h2api_upstream_stats_t stats_of(h2api_upstream_t *up)
{
    h2api_upstream_stats_t stats;
    h2api_upstream_get_stats(up, &stats);
    return stats;
}

#define ck_assert_body(r, expected)                                                                                                \
    do {                                                                                                                           \
        ck_assert_int_eq((r)->body.len, strlen(expected));                                                                         \
        ck_assert_int_eq(memcmp((r)->body.base, (expected), (r)->body.len), 0);                                                    \
    } while (0)

#define ck_assert_ok(r, expected_status)                                                                                           \
    do {                                                                                                                           \
        ck_assert_int_eq((r)->num_calls, 1);                                                                                       \
        ck_assert_msg((r)->errstr == NULL, "errstr: %s", (r)->errstr);                                                             \
        ck_assert_int_eq((r)->status, (expected_status));                                                                          \
    } while (0)

#define ck_assert_err(r, expected)                                                                                                 \
    do {                                                                                                                           \
        ck_assert_int_eq((r)->num_calls, 1);                                                                                       \
        ck_assert_msg((r)->errstr == (expected), "errstr: %s, expected %s", (r)->errstr ? (r)->errstr : "(null)", (expected));     \
    } while (0)

static const h2o_header_t *find_header(const result_t *r, const char *name)
{
    for (size_t i = 0; i != r->num_headers; ++i)
        if (h2o_memis(r->headers[i].name->base, r->headers[i].name->len, name, strlen(name)))
            return r->headers + i;
    return NULL;
}

/* ---- buffered calls ---- */

START_TEST(get_ok)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);

    ck_assert_ok(results, 200);
    ck_assert_body(results, "{\"ok\":true}");
    /* names are lower-cased (the peer sent "Content-Type" and "X-Peer-Id"); known ones are tokens */
    for (size_t i = 0; i != results->num_headers; ++i)
        for (size_t j = 0; j != results->headers[i].name->len; ++j)
            ck_assert_msg(!(results->headers[i].name->base[j] >= 'A' && results->headers[i].name->base[j] <= 'Z'), "header %.*s",
                          (int)results->headers[i].name->len, results->headers[i].name->base);
    const h2o_header_t *h = find_header(results, "content-type");
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_eq(h->name, &H2O_TOKEN_CONTENT_TYPE->buf);
    ck_assert(h2o_memis(h->value.base, h->value.len, H2O_STRLIT("application/json")));
    h = find_header(results, "x-peer-id");
    ck_assert_ptr_nonnull(h);
    ck_assert(h2o_memis(h->value.base, h->value.len, H2O_STRLIT("1")));

    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_eq(st.requests, 1);
    ck_assert_uint_eq(st.attempts, 1);
    ck_assert_uint_eq(st.retries, 0);
    ck_assert_uint_eq(st.errors, 0);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_str_eq(st.transport, use_h2 ? "h2" : "http/1.1");
    ck_assert_uint_eq(fx.peer->num_requests, 1);

    /* nothing more arrives */
    peer_run_for(&fx.loop, 100);
    ck_assert_int_eq(results->num_calls, 1);
}
END_TEST

START_TEST(request_head)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u/api\n    headers:\n      user-agent: h2api-test\n", fx.peer->port);
    h2o_iovec_t *name = h2o_mem_alloc_pool(&fx.pool, sizeof(*name));
    *name = h2o_iovec_init(H2O_STRLIT("x-test"));
    h2o_header_t *headers = h2o_mem_alloc_pool(&fx.pool, sizeof(*headers));
    *headers = (h2o_header_t){name, NULL, h2o_iovec_init(H2O_STRLIT("hello"))};
    h2api_call_req_t *creq = make_req(&fx.pool, "POST", "/echo?x=1", "hello");
    creq->headers = headers;
    creq->num_headers = 1;
    h2api_upstream_call(fx_upstream("peer"), &fx.pool, creq, on_done, results, NULL);
    results->returned = 1;
    fx_wait_done(1, 3000);

    char expected[256];
    snprintf(expected, sizeof(expected),
             "POST /api/echo?x=1\nhost: 127.0.0.1:%u\nuser-agent: h2api-test\nx-test: hello\ncontent-length: 5\n\nhello",
             fx.peer->port);
    ck_assert_ok(results, 200);
    ck_assert_body(results, expected);
}
END_TEST

/*
 * upstream.h: "An outbound request. All memory is the caller's and must live until the call is
 * started." The caller's buffers stay allocated here (so that a client reading them late reads
 * valid memory) but are reused as soon as the call has started.
 */
static char reused_name[] = "x-test", reused_value[] = "hello", reused_body[] = "hello";
static h2o_iovec_t reused_name_iov;
static h2o_header_t reused_header;
static h2api_call_req_t reused_req;

static void start_call_then_reuse_memory(h2api_upstream_t *up)
{
    reused_name_iov = h2o_iovec_init(reused_name, 6);
    reused_header = (h2o_header_t){&reused_name_iov, NULL, h2o_iovec_init(reused_value, 5)};
    reused_req = (h2api_call_req_t){.method = h2o_iovec_init(H2O_STRLIT("POST")),
                                    .path = h2o_iovec_init(H2O_STRLIT("/echo")),
                                    .headers = &reused_header,
                                    .num_headers = 1,
                                    .body = h2o_iovec_init(reused_body, 5)};
    h2api_upstream_call(up, &fx.pool, &reused_req, on_done, results, NULL);
    results->returned = 1;
    /* the call is started: the caller reuses its memory for something else */
    memcpy(reused_name, "x-gone", 6);
    memcpy(reused_value, "XXXXX", 5);
    memcpy(reused_body, "YYYYY", 5);
    reused_req.method = h2o_iovec_init(H2O_STRLIT("GET"));
    reused_req.num_headers = 0;
}

START_TEST(request_memory_until_started)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    headers:\n      user-agent: h2api-test\n", fx.peer->port);
    start_call_then_reuse_memory(fx_upstream("peer"));
    fx_wait_done(1, 3000);

    char expected[256];
    snprintf(expected, sizeof(expected),
             "POST /echo\nhost: 127.0.0.1:%u\nuser-agent: h2api-test\nx-test: hello\ncontent-length: 5\n\nhello", fx.peer->port);
    ck_assert_int_eq(results->num_calls, 1);
    ck_assert_msg(results->errstr == NULL && results->status == 200 && results->body.len == strlen(expected) &&
                      memcmp(results->body.base, expected, results->body.len) == 0,
                  "the peer answered %d: %.*s", results->status, (int)results->body.len, results->body.base);
}
END_TEST

START_TEST(never_synchronous)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n"
                 "  dead:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n",
                 fx.peer->port, peer_free_port());
    /* success, then a second call on the kept-alive connection (handed over at once by the pool) */
    call(fx_upstream("peer"), "GET", "/ok", results + 0);
    ck_assert_int_eq(results[0].num_calls, 0);
    fx_wait_done(1, 3000);
    call(fx_upstream("peer"), "GET", "/ok", results + 1);
    ck_assert_int_eq(results[1].num_calls, 0);
    /* connect refused */
    call(fx_upstream("dead"), "GET", "/ok", results + 2);
    ck_assert_int_eq(results[2].num_calls, 0);
    fx_wait_done(3, 3000);

    for (int i = 0; i != 3; ++i) {
        ck_assert_int_eq(results[i].num_calls, 1);
        ck_assert_msg(!results[i].called_inside, "call %d completed inside h2api_upstream_call", i);
    }
    ck_assert_ok(results + 0, 200);
    ck_assert_ok(results + 1, 200);
    ck_assert_err(results + 2, h2api_err_connect);
    ck_assert_uint_eq(fx.peer->num_accepted, 1);
}
END_TEST

/* ---- the pool ---- */

static void on_done_chain(void *data, const char *errstr, const h2api_call_res_t *res)
{
    result_t *r = data;
    on_done(data, errstr, res);
    /* the next call from inside this one's completion, as a handler's continuation would */
    if (r + 1 < results + 10) {
        memset(r + 1, 0, sizeof(*r));
        h2api_upstream_call(chain_up, &fx.pool, make_req(&fx.pool, "GET", "/ok", NULL), on_done_chain, r + 1, &r[1].call);
        r[1].returned = 1;
    }
}

START_TEST(keepalive_reuse)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    h2api_upstream_t *up = chain_up = fx_upstream("peer");
    h2api_upstream_call(up, &fx.pool, make_req(&fx.pool, "GET", "/ok", NULL), on_done_chain, results, &results->call);
    results->returned = 1;
    fx_wait_done(10, 5000);

    for (int i = 0; i != 10; ++i)
        ck_assert_ok(results + i, 200);
    ck_assert_uint_eq(fx.peer->num_requests, 10);
    ck_assert_uint_eq(fx.peer->num_accepted, 1);
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_eq(st.connections_open, 1);
    ck_assert_uint_eq(st.attempts, 10);
}
END_TEST

START_TEST(max_connections)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    max_connections: 2\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    for (int i = 0; i != 10; ++i)
        call(up, "GET", "/slow?ms=50", results + i);
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_le(st.in_flight, 2);
    ck_assert_uint_eq(st.queued + st.in_flight, 10);
    fx_wait_done(10, 5000);

    for (int i = 0; i != 10; ++i) {
        ck_assert_ok(results + i, 200);
        ck_assert_body(results + i, "/slow?ms=50");
    }
    ck_assert_uint_eq(fx.peer->num_requests, 10);
    ck_assert_uint_le(fx.peer->max_open, 2);
    ck_assert_uint_le(fx.peer->max_active, 2);
    ck_assert_uint_eq(fx.peer->num_accepted, 2);
}
END_TEST

START_TEST(pool_timeout)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    max_connections: 1\n    pool_timeout_ms: 100\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/slow?ms=500", results + 0);
    call(up, "GET", "/slow?ms=500", results + 1);
    fx_wait_done(1, 3000);
    ck_assert_err(results + 1, h2api_err_pool_timeout);
    ck_assert_int_eq(results[0].num_calls, 0);
    uint64_t waited = results[1].done_at - results[1].started_at;
    ck_assert_msg(waited >= 95 && waited < 400, "failed after %llu ms", (unsigned long long)waited);
    fx_wait_done(2, 3000);
    ck_assert_ok(results + 0, 200);
    ck_assert_uint_eq(fx.peer->num_requests, 1);
    ck_assert_uint_eq(stats_of(up).errors, 1);
}
END_TEST

START_TEST(cancel_while_queued)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    max_connections: 1\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/slow?ms=200", results + 0);
    call(up, "GET", "/ok", results + 1);
    call(up, "GET", "/ok", results + 2);
    ck_assert_uint_eq(stats_of(up).queued, 2);
    h2api_call_cancel(results[1].call);
    ck_assert_uint_eq(stats_of(up).queued, 1);
    fx_wait_done(2, 3000);
    peer_run_for(&fx.loop, 100);

    ck_assert_ok(results + 0, 200);
    ck_assert_int_eq(results[1].num_calls, 0);
    ck_assert_ok(results + 2, 200);
    ck_assert_uint_eq(fx.peer->num_requests, 2);
    ck_assert_str_eq(fx.peer->log[1], "/ok");
    ck_assert_uint_eq(stats_of(up).queued, 0);
}
END_TEST

START_TEST(no_keepalive)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    max_keepalive_connections: 0\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    for (int i = 0; i != 3; ++i) {
        call(up, "GET", "/ok", results + i);
        fx_wait_done(i + 1, 3000);
        ck_assert_ok(results + i, 200);
    }
    ck_assert_uint_eq(fx.peer->num_accepted, 3);
    size_t three = 3;
    ck_assert(peer_run_until(&fx.loop, fx_peer_closed_reached, &three, 2000));
    ck_assert_uint_eq(stats_of(up).connections_open, 0);
}
END_TEST

START_TEST(keepalive_expiry)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    keepalive_expiry_ms: 100\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/ok", results + 0);
    fx_wait_done(1, 3000);
    ck_assert_ok(results + 0, 200);
    ck_assert_uint_eq(stats_of(up).connections_open, 1);
    /* an idle connection older than keepalive_expiry_ms is not reused */
    peer_run_for(&fx.loop, 150);
    call(up, "GET", "/ok", results + 1);
    fx_wait_done(2, 3000);
    ck_assert_ok(results + 1, 200);
    ck_assert_uint_eq(fx.peer->num_accepted, 2);
    ck_assert_uint_ge(fx.peer->num_closed, 1);
    /* nor kept: libh2o's socket pool sweeps idle connections once a second */
    size_t two = 2;
    ck_assert_msg(peer_run_until(&fx.loop, fx_peer_closed_reached, &two, 2500), "the idle connection stayed open");
    ck_assert_uint_eq(stats_of(up).connections_open, 0);
}
END_TEST

START_TEST(head_method)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    timeout_ms: 1000\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "HEAD", "/big?bytes=100", results + 0);
    fx_wait_done(1, 3000);
    ck_assert_ok(results + 0, 200);
    ck_assert_int_eq(results[0].body.len, 0);
    const h2o_header_t *h = find_header(results + 0, "content-length");
    ck_assert_ptr_nonnull(h);
    ck_assert(h2o_memis(h->value.base, h->value.len, H2O_STRLIT("100")));
    ck_assert_uint_lt(results[0].done_at - results[0].started_at, 500);
    /* the connection is reusable: no body was left on it */
    call(up, "GET", "/ok", results + 1);
    fx_wait_done(2, 3000);
    ck_assert_ok(results + 1, 200);
    ck_assert_body(results + 1, "{\"ok\":true}");
    ck_assert_uint_eq(fx.peer->num_accepted, 1);
}
END_TEST

/* ---- failures and retries ---- */

START_TEST(connect_refused)
{
    use_h2 = _i & 1;
    start_client("  dead:\n    base_url: http://127.0.0.1:%u\n"
                 "    retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}\n    circuit_breaker: {failures: 0}\n",
                 peer_free_port());
    h2api_upstream_t *up = fx_upstream("dead");
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);

    ck_assert_err(results, h2api_err_connect);
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_eq(st.requests, 1);
    ck_assert_uint_eq(st.attempts, 3);
    ck_assert_uint_eq(st.retries, 2);
    ck_assert_uint_eq(st.errors, 1);
    ck_assert_uint_eq(st.in_flight, 0);
}
END_TEST

static void start_silent_client(const char *timeouts)
{
    fx.silent = silent_start(&fx.loop);
    ck_assert_ptr_nonnull(fx.silent);
    start_client("  silent:\n    base_url: http://127.0.0.1:%u\n%s", fx.silent->port, timeouts);
}

START_TEST(deadline_timeout)
{
    start_silent_client(
        "    timeout_ms: 200\n    first_byte_timeout_ms: 1000\n    retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}\n");
    h2api_upstream_t *up = fx_upstream("silent");
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);

    ck_assert_err(results, h2api_err_timeout);
    uint64_t took = results->done_at - results->started_at;
    ck_assert_msg(took >= 195 && took < 600, "failed after %llu ms", (unsigned long long)took);
    ck_assert_uint_eq(fx.silent->num_accepted, 1);
    /* the abandoned attempt's connection is closed */
    size_t one = 1;
    ck_assert(peer_run_until(&fx.loop, silent_closed_reached, &one, 1000));
    ck_assert_uint_eq(stats_of(up).in_flight, 0);
}
END_TEST

START_TEST(first_byte_timeout)
{
    start_silent_client("    timeout_ms: 1000\n    first_byte_timeout_ms: 150\n    retry: {attempts: 1}\n");
    h2api_upstream_t *up = fx_upstream("silent");
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);

    ck_assert_err(results, h2api_err_first_byte_timeout);
    uint64_t took = results->done_at - results->started_at;
    ck_assert_msg(took >= 145 && took < 600, "failed after %llu ms", (unsigned long long)took);
    size_t one = 1;
    ck_assert(peer_run_until(&fx.loop, silent_closed_reached, &one, 1000));
    ck_assert_uint_eq(fx.silent->num_accepted, 1);
}
END_TEST

START_TEST(first_byte_timeout_retried)
{
    start_silent_client("    timeout_ms: 3000\n    first_byte_timeout_ms: 100\n"
                        "    retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}\n    circuit_breaker: {failures: 0}\n");
    h2api_upstream_t *up = fx_upstream("silent");
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);

    ck_assert_err(results, h2api_err_first_byte_timeout);
    uint64_t took = results->done_at - results->started_at;
    ck_assert_msg(took >= 295 && took < 1000, "failed after %llu ms", (unsigned long long)took);
    ck_assert_uint_eq(stats_of(up).attempts, 3);
    ck_assert_uint_eq(stats_of(up).retries, 2);
    size_t three = 3;
    ck_assert(peer_run_until(&fx.loop, silent_closed_reached, &three, 1000));
    ck_assert_uint_eq(fx.silent->num_accepted, 3);
}
END_TEST

START_TEST(retry_503_get)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n"
                 "    retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}\n    circuit_breaker: {failures: 0}\n",
                 fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/status/503", results);
    fx_wait_done(1, 3000);

    /* the last answer is delivered as a response */
    ck_assert_ok(results, 503);
    ck_assert_body(results, "status 503");
    ck_assert_uint_eq(fx.peer->num_requests, 3);
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_eq(st.attempts, 3);
    ck_assert_uint_eq(st.retries, 2);
    ck_assert_uint_eq(st.errors, 0);
    /* the retried answers were read to their end: one connection served all three */
    ck_assert_uint_eq(fx.peer->num_accepted, 1);

    /* and the peer agrees over HTTP */
    call(up, "GET", "/count", results + 1);
    fx_wait_done(2, 3000);
    ck_assert_ok(results + 1, 200);
    ck_assert_body(results + 1, "{\"requests\":3,\"connections\":1}");
}
END_TEST

START_TEST(no_retry_post)
{
    use_h2 = _i & 1;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n"
                 "    retry: {attempts: 3, backoff_base_ms: 1, backoff_cap_ms: 5}\n    circuit_breaker: {failures: 0}\n",
                 fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "POST", "/status/503", results);
    fx_wait_done(1, 3000);

    ck_assert_ok(results, 503);
    ck_assert_uint_eq(fx.peer->num_requests, 1);
    ck_assert_uint_eq(stats_of(up).attempts, 1);
    ck_assert_uint_eq(stats_of(up).retries, 0);
}
END_TEST

START_TEST(retry_after)
{
    use_h2 = _i & 1;
    /* Retry-After: 1 (1000 ms) against a cap of 250 ms and one of 3000 ms; the jitter is at most 1 ms */
    start_client("  capped:\n    base_url: http://127.0.0.1:%u\n"
                 "    retry: {attempts: 2, backoff_base_ms: 1, backoff_cap_ms: 250}\n    circuit_breaker: {failures: 0}\n"
                 "  uncapped:\n    base_url: http://127.0.0.1:%u\n"
                 "    retry: {attempts: 2, backoff_base_ms: 1, backoff_cap_ms: 3000}\n    circuit_breaker: {failures: 0}\n",
                 fx.peer->port, fx.peer->port);
    call(fx_upstream("capped"), "GET", "/status/503?retry_after=1", results + 0);
    call(fx_upstream("uncapped"), "GET", "/status/503?retry_after=1", results + 1);
    fx_wait_done(2, 4000);

    ck_assert_ok(results + 0, 503);
    ck_assert_ok(results + 1, 503);
    uint64_t capped = results[0].done_at - results[0].started_at, uncapped = results[1].done_at - results[1].started_at;
    ck_assert_msg(capped >= 250 && capped < 900, "capped retry after %llu ms", (unsigned long long)capped);
    ck_assert_msg(uncapped >= 1000 && uncapped < 1800, "uncapped retry after %llu ms", (unsigned long long)uncapped);
    ck_assert_uint_eq(fx.peer->num_requests, 4);
}
END_TEST

/* ---- breaker and rate limit ---- */

/* Restarts the peer on the same port (the upstream came back). */
static void peer_restart(uint16_t port)
{
    peer_stop(fx.peer);
    ck_assert(peer_run_until(&fx.loop, fx_peer_stopped, NULL, 2000));
    peer_free(fx.peer);
    fx.peer = peer_start(&fx.loop, port);
    ck_assert_ptr_nonnull(fx.peer);
}

START_TEST(circuit_breaker)
{
    uint16_t port = peer_free_port();
    start_client("  flaky:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n"
                 "    circuit_breaker: {failures: 2, base_open_ms: 300, open_ms: 2000, half_open_calls: 1}\n",
                 port);
    h2api_upstream_t *up = fx_upstream("flaky");
    call(up, "GET", "/ok", results + 0);
    fx_wait_done(1, 3000);
    call(up, "GET", "/ok", results + 1);
    fx_wait_done(2, 3000);
    ck_assert_err(results + 0, h2api_err_connect);
    ck_assert_err(results + 1, h2api_err_connect);
    ck_assert_int_eq(stats_of(up).breaker_open, 1);
    ck_assert_uint_eq(stats_of(up).breaker_trips, 1);

    /* the upstream comes back at once; calls made while the breaker is open send nothing until
     * the open time is over (nothing is accepted before), then one trial goes, and its success
     * lets the others go: a GET and a POST alike, since neither had been sent */
    peer_restart(port);
    call(up, "GET", "/ok", results + 2);
    call(up, "POST", "/ok", results + 3);
    call(up, "GET", "/ok", results + 4);
    ck_assert_int_eq(results[2].num_calls, 0);
    peer_run_for(&fx.loop, 150);
    ck_assert_uint_eq(fx.peer->num_accepted, 0);
    fx_wait_done(5, 3000);
    for (int i = 2; i != 5; ++i) {
        ck_assert_ok(results + i, 200);
        /* from the trip's callback, which runs a moment after the trip itself */
        uint64_t waited = results[i].done_at - results[1].done_at;
        ck_assert_msg(waited >= 250 && waited < 1000, "call %d answered %llu ms after the trip", i, (unsigned long long)waited);
    }
    ck_assert_uint_eq(fx.peer->num_requests, 3);
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_int_eq(st.breaker_open, 0);
    ck_assert_uint_eq(st.breaker_waited, 3);
    ck_assert_uint_eq(st.breaker_rejected, 0);
    ck_assert_uint_eq(st.attempts, 5);
    call(up, "GET", "/ok", results + 5);
    fx_wait_done(6, 3000);
    ck_assert_ok(results + 5, 200);
    ck_assert_uint_lt(results[5].done_at - results[5].started_at, 100);
}
END_TEST

START_TEST(circuit_breaker_backs_off)
{
    /* a dead upstream: each failed trial doubles the open time (100, 200, 400 ms); calls wait
     * through the first two open times, then fail at once with 503 */
    start_client("  dead:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n"
                 "    circuit_breaker: {failures: 1, base_open_ms: 100, open_ms: 400}\n",
                 peer_free_port());
    h2api_upstream_t *up = fx_upstream("dead");
    call(up, "GET", "/ok", results + 0);
    fx_wait_done(1, 3000);
    ck_assert_err(results + 0, h2api_err_connect);
    uint64_t tripped_at = results[0].done_at;

    call(up, "GET", "/ok", results + 1); /* waits 100 ms, is the trial, fails: open 200 ms */
    fx_wait_done(2, 3000);
    ck_assert_err(results + 1, h2api_err_connect);
    uint64_t t1 = results[1].done_at - tripped_at;
    ck_assert_msg(t1 >= 95 && t1 < 180, "first trial %llu ms after the trip", (unsigned long long)t1);

    call(up, "GET", "/ok", results + 2); /* waits 200 ms, is the trial, fails: open 400 ms */
    fx_wait_done(3, 3000);
    ck_assert_err(results + 2, h2api_err_connect);
    uint64_t t2 = results[2].done_at - results[1].done_at;
    ck_assert_msg(t2 >= 195 && t2 < 290, "second trial %llu ms after the first", (unsigned long long)t2);

    call(up, "GET", "/ok", results + 3); /* three trips in a row: fails at once */
    fx_wait_done(4, 3000);
    ck_assert_err(results + 3, h2api_err_circuit_open);
    ck_assert_msg(!results[3].called_inside, "completed inside h2api_upstream_call");
    ck_assert_uint_lt(results[3].done_at - results[3].started_at, 200); /* waiting would take 400 ms */
    h2api_upstream_stats_t st = stats_of(up);
    ck_assert_uint_eq(st.breaker_trips, 3);
    ck_assert_uint_eq(st.breaker_rejected, 1);
    ck_assert_uint_eq(st.attempts, 3);
}
END_TEST

START_TEST(circuit_breaker_rides_restart)
{
    /* connect errors are retried whatever the method (nothing was sent), beyond retry.attempts
     * while the breaker is open: an upstream down for 250 ms costs no call */
    use_h2 = _i & 1;
    uint16_t port = fx.peer->port;
    start_client("  restarting:\n    base_url: http://127.0.0.1:%u\n    max_keepalive_connections: 0\n"
                 "    retry: {attempts: 2, backoff_base_ms: 10, backoff_cap_ms: 50}\n"
                 "    circuit_breaker: {failures: 3, base_open_ms: 300, open_ms: 2000}\n",
                 port);
    h2api_upstream_t *up = fx_upstream("restarting");
    call(up, "GET", "/ok", results + 0);
    fx_wait_done(1, 3000);
    ck_assert_ok(results + 0, 200);
    peer_stop(fx.peer);
    ck_assert(peer_run_until(&fx.loop, fx_peer_stopped, NULL, 2000));
    peer_free(fx.peer);
    fx.peer = NULL;
    for (int i = 1; i != 5; ++i)
        call(up, i % 2 ? "GET" : "POST", "/ok", results + i);
    peer_run_for(&fx.loop, 250);
    ck_assert_int_eq(fx.num_done, 1);
    fx.peer = peer_start(&fx.loop, port);
    ck_assert_ptr_nonnull(fx.peer);
    fx_wait_done(5, 3000);
    for (int i = 1; i != 5; ++i)
        ck_assert_ok(results + i, 200);
    ck_assert_uint_eq(fx.peer->num_requests, 4); /* each POST reached the upstream once */
    ck_assert_uint_ge(stats_of(up).breaker_trips, 1);
}
END_TEST

START_TEST(rate_limited)
{
    /* the second call would wait 1000 ms for a token, beyond pool_timeout_ms: refused at once
     * (well under 500 ms, however loaded the machine: a wait would be 1000 ms) */
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    pool_timeout_ms: 500\n"
                 "    rate_limit: {requests_per_second: 1, burst: 1}\n",
                 fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/ok", results + 0);
    call(up, "GET", "/ok", results + 1);
    ck_assert_int_eq(results[1].num_calls, 0);
    fx_wait_done(2, 3000);

    ck_assert_ok(results + 0, 200);
    ck_assert_err(results + 1, h2api_err_rate_limited);
    ck_assert_msg(!results[1].called_inside, "completed inside h2api_upstream_call");
    ck_assert_uint_lt(results[1].done_at - results[1].started_at, 500);
    ck_assert_uint_eq(fx.peer->num_requests, 1);
    ck_assert_uint_eq(stats_of(up).rate_limited, 1);
}
END_TEST

START_TEST(rate_limit_waits)
{
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    pool_timeout_ms: 500\n"
                 "    rate_limit: {requests_per_second: 10, burst: 1}\n",
                 fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    call(up, "GET", "/ok", results + 0);
    call(up, "GET", "/ok", results + 1);
    fx_wait_done(2, 3000);

    ck_assert_ok(results + 0, 200);
    ck_assert_ok(results + 1, 200);
    uint64_t waited = results[1].done_at - results[1].started_at;
    ck_assert_msg(waited >= 95 && waited < 400, "second call after %llu ms", (unsigned long long)waited);
    ck_assert_uint_le(results[0].done_at, results[1].done_at);
    ck_assert_uint_eq(stats_of(up).rate_limited, 0);
}
END_TEST

/* ---- cancellation and limits ---- */

START_TEST(cancel_by_pool)
{
    use_h2 = _i & 1;
    h2o_mem_pool_t req_pool;
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    h2o_mem_init_pool(&req_pool);
    call_in(&req_pool, up, "GET", "/slow?ms=300", results + 0);
    peer_run_for(&fx.loop, 50);
    ck_assert_uint_eq(fx.peer->num_active, 1);
    ck_assert_uint_eq(stats_of(up).in_flight, 1);

    /* the downstream request goes away: HTTP/1.1 closes the connection, h2 resets the stream
     * (the peer disposes of the request before its answer) */
    h2o_mem_clear_pool(&req_pool);
    ck_assert_uint_eq(stats_of(up).in_flight, 0);
    size_t one = 1;
    if (use_h2) {
        ck_assert_msg(peer_run_until(&fx.loop, peer_aborted_reached, &one, 2000), "the peer's request was not reset");
    } else {
        ck_assert_msg(peer_run_until(&fx.loop, fx_peer_closed_reached, &one, 2000), "the peer's connection stayed open");
    }
    peer_run_for(&fx.loop, 100);
    ck_assert_int_eq(results[0].num_calls, 0);
    ck_assert_uint_eq(stats_of(up).errors, 0);

    /* the client works on */
    call(up, "GET", "/ok", results + 1);
    fx_wait_done(1, 3000);
    ck_assert_ok(results + 1, 200);
    ck_assert_int_eq(results[0].num_calls, 0);
    ck_assert_uint_eq(fx.peer->num_accepted, use_h2 ? 1 : 2);
}
END_TEST

/* _i >> 1: 0 with content-length, 1 chunked */
START_TEST(max_response_bytes)
{
    use_h2 = _i & 1;
    const char *chunked = _i >> 1 ? "&chunked=1" : "";
    char path[64];
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    max_response_bytes: 1k\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    snprintf(path, sizeof(path), "/big?bytes=1024%s", chunked);
    call(up, "GET", path, results + 0);
    snprintf(path, sizeof(path), "/big?bytes=1025%s", chunked);
    call(up, "GET", path, results + 1);
    snprintf(path, sizeof(path), "/big?bytes=4194304%s", chunked); /* over the limit in a chunk that is not the last */
    call(up, "GET", path, results + 2);
    fx_wait_done(3, 5000);

    ck_assert_ok(results + 0, 200);
    ck_assert_int_eq(results[0].body.len, 1024);
    for (size_t i = 0; i != 1024; ++i)
        ck_assert_int_eq(results[0].body.base[i], 'a' + i % 26);
    ck_assert_err(results + 1, h2api_err_body_too_large);
    ck_assert_err(results + 2, h2api_err_body_too_large);
    ck_assert_uint_eq(stats_of(up).in_flight, 0);

    /* the client works on */
    call(up, "GET", "/ok", results + 3);
    fx_wait_done(4, 3000);
    ck_assert_ok(results + 3, 200);
}
END_TEST

/* ---- streaming ---- */

typedef struct st_stream_t {
    h2api_call_t *call;
    int returned;
    int num_heads, num_bodies, num_finals, num_errors, after_final, inside;
    int status;
    int auto_proceed;
    int cancel_in; /* 1: cancel the call inside on_head, 2: inside the first on_body */
    size_t bytes, bad_bytes;
    const char *errstr;
} stream_t;

static void on_stream_head(void *data, h2api_call_t *call, const char *errstr, const h2api_call_res_t *res)
{
    stream_t *s = data;
    ++s->num_heads;
    s->inside |= !s->returned;
    s->errstr = errstr;
    if (errstr == NULL) {
        s->status = res->status;
        ck_assert_int_eq(res->body.len, 0);
        if (s->cancel_in == 1)
            h2api_call_cancel(call);
    } else {
        ++fx.num_done;
    }
}

static void on_stream_body(void *data, h2api_call_t *call, const char *errstr, h2o_iovec_t chunk, int is_final)
{
    stream_t *s = data;
    s->after_final += s->num_finals != 0;
    ++s->num_bodies;
    if (errstr != NULL) {
        s->errstr = errstr;
        ++s->num_errors;
        ++fx.num_done;
        return;
    }
    for (size_t i = 0; i != chunk.len; ++i)
        s->bad_bytes += chunk.base[i] != (char)('a' + (s->bytes + i) % 26);
    s->bytes += chunk.len;
    if (is_final) {
        ++s->num_finals;
        ++fx.num_done;
    } else if (s->cancel_in == 2) {
        h2api_call_cancel(call);
    } else if (s->auto_proceed) {
        h2api_call_proceed(call);
    }
}

static const h2api_stream_cbs_t stream_cbs = {on_stream_head, on_stream_body};

static int stream_has_head(void *data)
{
    return ((stream_t *)data)->num_heads != 0;
}

static int stream_has_body(void *data)
{
    return ((stream_t *)data)->num_bodies != 0 || ((stream_t *)data)->errstr != NULL;
}

/* _i >> 1: 0 with content-length, 1 chunked */
START_TEST(stream_backpressure)
{
    use_h2 = _i & 1;
    enum { BIG = 4 * 1024 * 1024 };
    stream_t s = {0};
    char path[64];
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    snprintf(path, sizeof(path), "/big?bytes=%d%s", BIG, _i >> 1 ? "&chunked=1" : "");
    h2api_upstream_call_stream(fx_upstream("peer"), &fx.pool, make_req(&fx.pool, "GET", path, NULL), &stream_cbs, &s, &s.call);
    s.returned = 1;
    ck_assert_int_eq(s.num_heads, 0);
    ck_assert(peer_run_until(&fx.loop, stream_has_body, &s, 3000));
    ck_assert_ptr_null(s.errstr);
    ck_assert_int_eq(s.num_heads, 1);
    ck_assert_int_eq(s.status, 200);
    ck_assert(!s.inside);

    /* no proceed: nothing more for 200 ms */
    int seen = s.num_bodies;
    size_t bytes = s.bytes;
    ck_assert_int_lt(bytes, BIG);
    peer_run_for(&fx.loop, 200);
    ck_assert_int_eq(s.num_bodies, seen);
    ck_assert_uint_eq(s.bytes, bytes);

    /* proceed: the rest arrives */
    s.auto_proceed = 1;
    h2api_call_proceed(s.call);
    fx_wait_done(1, 5000);
    ck_assert_ptr_null(s.errstr);
    ck_assert_int_eq(s.num_finals, 1);
    ck_assert_int_eq(s.after_final, 0);
    ck_assert_int_gt(s.num_bodies, seen);
    ck_assert_uint_eq(s.bytes, BIG);
    ck_assert_uint_eq(s.bad_bytes, 0);
    ck_assert_int_eq(s.num_heads, 1);
    peer_run_for(&fx.loop, 50);
    ck_assert_int_eq(s.num_finals, 1);
    ck_assert_int_eq(s.after_final, 0);
}
END_TEST

/* A consumer may give up from inside its own callback (_i >> 1: 0 in on_head, 1 in the first on_body). */
START_TEST(stream_cancel_in_callback)
{
    use_h2 = _i & 1;
    int in_body = _i >> 1;
    stream_t s = {.cancel_in = 1 + in_body};
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    h2api_upstream_t *up = fx_upstream("peer");
    h2api_upstream_call_stream(up, &fx.pool, make_req(&fx.pool, "GET", "/big?bytes=4194304", NULL), &stream_cbs, &s, &s.call);
    s.returned = 1;
    ck_assert(peer_run_until(&fx.loop, in_body ? stream_has_body : stream_has_head, &s, 3000));
    peer_run_for(&fx.loop, 200);
    ck_assert_int_eq(s.num_heads, 1);
    ck_assert_int_eq(s.num_bodies, in_body);
    ck_assert_int_eq(s.num_finals, 0);
    ck_assert_uint_eq(stats_of(up).in_flight, 0);
    if (!use_h2) {
        /* HTTP/1.1 cannot abandon a response but by closing its connection (h2 resets the stream) */
        size_t one = 1;
        ck_assert_msg(peer_run_until(&fx.loop, fx_peer_closed_reached, &one, 2000), "the peer's connection stayed open");
    }

    /* the client works on */
    call(up, "GET", "/ok", results);
    fx_wait_done(1, 3000);
    ck_assert_ok(results, 200);
}
END_TEST

/* Back-pressure is the consumer's pause, not an upstream stall: it must not count against io_timeout_ms. */
START_TEST(stream_pause_beyond_io_timeout)
{
    use_h2 = _i & 1;
    stream_t s = {0};
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n    io_timeout_ms: 150\n", fx.peer->port);
    h2api_upstream_call_stream(fx_upstream("peer"), &fx.pool,
                                                make_req(&fx.pool, "GET", "/big?bytes=4194304", NULL), &stream_cbs, &s, &s.call);
    s.returned = 1;
    ck_assert(peer_run_until(&fx.loop, stream_has_body, &s, 3000));
    peer_run_for(&fx.loop, 450);
    ck_assert_msg(s.errstr == NULL, "paused stream failed with: %s", s.errstr);
    s.auto_proceed = 1;
    h2api_call_proceed(s.call);
    fx_wait_done(1, 5000);
    ck_assert_msg(s.errstr == NULL, "paused stream failed with: %s", s.errstr);
    ck_assert_int_eq(s.num_finals, 1);
    ck_assert_uint_eq(s.bytes, 4194304);
}
END_TEST

START_TEST(stream_error)
{
    use_h2 = _i & 1;
    stream_t s = {0};
    start_client("  dead:\n    base_url: http://127.0.0.1:%u\n    retry: {attempts: 1}\n", peer_free_port());
    h2api_upstream_call_stream(fx_upstream("dead"), &fx.pool, make_req(&fx.pool, "GET", "/ok", NULL), &stream_cbs, &s, &s.call);
    s.returned = 1;
    fx_wait_done(1, 3000);
    peer_run_for(&fx.loop, 50);
    ck_assert_int_eq(s.num_heads, 1);
    ck_assert(!s.inside);
    ck_assert_ptr_eq(s.errstr, h2api_err_connect);
    ck_assert_int_eq(s.num_bodies, 0);
}
END_TEST

/* ---- lifetime ---- */

/* Blocks that h2api_client_destroy frees, and the uv handles found inside them. */
typedef struct st_freed_blocks_t {
    const char *begin[2 + H2API_CONF_MAX_UPSTREAMS], *end[2 + H2API_CONF_MAX_UPSTREAMS];
    size_t num_blocks;
    size_t num_inside;
} freed_blocks_t;

static void add_block(freed_blocks_t *b, const void *p)
{
    b->begin[b->num_blocks] = p;
    b->end[b->num_blocks] = (const char *)p + malloc_usable_size((void *)p);
    ++b->num_blocks;
}

static void count_handles_inside(uv_handle_t *handle, void *arg)
{
    freed_blocks_t *b = arg;
    for (size_t i = 0; i != b->num_blocks; ++i)
        b->num_inside += (const char *)handle >= b->begin[i] && (const char *)handle < b->end[i];
}

/*
 * h2api_client_destroy closes every uv handle inside the client, its upstreams and their
 * transport state (the h2o_timeout_t timers), and frees that memory only in the loop's next
 * closing phase, after libuv let go of the handles (libuv: a handle's memory must stay valid
 * until its close callback has run). After one turn of the loop no handle of theirs is left.
 */
START_TEST(destroy_releases_handles)
{
    use_h2 = _i & 1;
    freed_blocks_t freed = {.num_blocks = 0};
    start_client("  peer:\n    base_url: http://127.0.0.1:%u\n", fx.peer->port);
    call(fx_upstream("peer"), "GET", "/ok", results);
    fx_wait_done(1, 3000);
    ck_assert_ok(results, 200);

    add_block(&freed, fx.client);
    add_block(&freed, fx.client->upstreams);
    for (size_t i = 0; i != fx.client->num_upstreams; ++i)
        if (fx.client->upstreams[i].h2 != NULL)
            add_block(&freed, fx.client->upstreams[i].h2);
    h2api_client_destroy(fx.client);
    fx.client = NULL;
    uv_run(&fx.loop, UV_RUN_NOWAIT);
    uv_walk(&fx.loop, count_handles_inside, &freed);
    ck_assert_msg(freed.num_inside == 0, "%zu uv handles inside the memory h2api_client_destroy freed are still on the loop",
                  freed.num_inside);
}
END_TEST

/* ---- error constants ---- */

START_TEST(error_status)
{
    static const struct {
        const char *errstr;
        int status;
    } cases[] = {
        {h2api_err_connect, 502},      {h2api_err_connect_timeout, 504}, {h2api_err_first_byte_timeout, 504},
        {h2api_err_io_timeout, 504},   {h2api_err_timeout, 504},         {h2api_err_pool_timeout, 503},
        {h2api_err_pool_full, 503},    {h2api_err_protocol, 502},        {h2api_err_body_too_large, 502},
        {h2api_err_circuit_open, 503}, {h2api_err_rate_limited, 503},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        ck_assert_msg(h2api_client_error_status(cases[i].errstr) == cases[i].status, "%s: %d", cases[i].errstr,
                      h2api_client_error_status(cases[i].errstr));
        const char *detail = h2api_client_error_detail(cases[i].errstr);
        ck_assert_ptr_nonnull(detail);
        ck_assert_uint_gt(strlen(detail), 0);
    }
    /* compared by address: the same words elsewhere are an unknown error */
    char copy[64];
    snprintf(copy, sizeof(copy), "%s", h2api_err_pool_timeout);
    ck_assert_int_eq(h2api_client_error_status(copy), 502);
    ck_assert_str_eq(h2api_client_error_detail(copy), "Upstream error");
}
END_TEST

/* One TCase per behaviour, each with a fresh loop, context, pool and peer. */
Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_LOOP_CASE(get_ok, 2),
        UNIT_LOOP_CASE(request_head, 2),
        UNIT_CASE(request_memory_until_started),
        UNIT_LOOP_CASE(never_synchronous, 2),
        UNIT_LOOP_CASE(keepalive_reuse, 2),
        UNIT_CASE(max_connections),
        UNIT_CASE(pool_timeout),
        UNIT_CASE(cancel_while_queued),
        UNIT_CASE(no_keepalive),
        UNIT_CASE(keepalive_expiry),
        UNIT_LOOP_CASE(head_method, 2),
        UNIT_LOOP_CASE(connect_refused, 2),
        UNIT_CASE(deadline_timeout),
        UNIT_CASE(first_byte_timeout),
        UNIT_CASE(first_byte_timeout_retried),
        UNIT_LOOP_CASE(retry_503_get, 2),
        UNIT_LOOP_CASE(no_retry_post, 2),
        UNIT_LOOP_CASE(retry_after, 2),
        UNIT_CASE(circuit_breaker),
        UNIT_CASE(circuit_breaker_backs_off),
        UNIT_LOOP_CASE(circuit_breaker_rides_restart, 2),
        UNIT_CASE(rate_limited),
        UNIT_CASE(rate_limit_waits),
        UNIT_LOOP_CASE(cancel_by_pool, 2),
        UNIT_LOOP_CASE(max_response_bytes, 4),
        UNIT_LOOP_CASE(stream_backpressure, 4),
        UNIT_LOOP_CASE(stream_cancel_in_callback, 4),
        UNIT_LOOP_CASE(stream_pause_beyond_io_timeout, 2),
        UNIT_LOOP_CASE(stream_error, 2),
        UNIT_LOOP_CASE(destroy_releases_handles, 2),
        {"error_status", error_status, 0, 5},
    };
    return unit_suite_create("client", setup, fx_teardown, 10, cases, UNIT_LEN(cases));
}
