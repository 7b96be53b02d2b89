/*
 * The outbound pool, HTTP/1.1 transport over h2o's http1client and socket pool.
 *
 * Lifetime of a call (all on one worker's loop):
 *
 *   h2api_upstream_call ──► [WAITING in the queue, pool_timeout_ms] ──► RUNNING (one attempt:
 *   connect ─ connect_timeout_ms ─► send + head ─ first_byte_timeout_ms ─► body, io_timeout_ms
 *   per read) ──► done, or BACKOFF (full jitter) ──► RUNNING again ... ──► DONE.
 *
 * The whole call is bounded by timeout_ms (the deadline entry). The packaged socket pool
 * ignores its capacity, so `in_flight` (attempts that hold a connection: HTTP/1.1 has no
 * pipelining) is our connection cap, and every connection the pool holds was once in flight:
 * open connections never exceed max_connections.
 *
 * The user's callback always runs from the loop (a zero timeout), never from inside the
 * http1client's callbacks: the finished connection is back in the pool first, so a
 * continuation that starts the next call reuses it.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <h2o.h>
#include <h2o/http1client.h>
#include <h2o/socketpool.h>
#include "app.h"
#include "client/upstream.h"

const char h2api_err_connect[] = "upstream connect error";
const char h2api_err_connect_timeout[] = "upstream connect timeout";
const char h2api_err_first_byte_timeout[] = "upstream first byte timeout";
const char h2api_err_io_timeout[] = "upstream I/O timeout";
const char h2api_err_timeout[] = "upstream timeout";
const char h2api_err_pool_timeout[] = "upstream pool timeout";
const char h2api_err_pool_full[] = "upstream pool queue full";
const char h2api_err_protocol[] = "upstream protocol error";
const char h2api_err_body_too_large[] = "upstream response too large";
const char h2api_err_circuit_open[] = "upstream circuit open";
const char h2api_err_rate_limited[] = "upstream rate limited";
const char h2api_err_cancelled[] = "upstream call cancelled";

/* Calls that may wait for a connection, per upstream per worker, beyond which they fail at once. */
#define H2API_UPSTREAM_MAX_QUEUE 4096

static const struct {
    const char *errstr;
    int status;
    const char *detail;
} error_table[] = {
    {h2api_err_connect, 502, "Could not connect to the upstream"},
    {h2api_err_connect_timeout, 504, "Timed out connecting to the upstream"},
    {h2api_err_first_byte_timeout, 504, "The upstream did not answer in time"},
    {h2api_err_io_timeout, 504, "The upstream stalled"},
    {h2api_err_timeout, 504, "The upstream did not answer in time"},
    {h2api_err_pool_timeout, 503, "No upstream connection available"},
    {h2api_err_pool_full, 503, "Too many requests waiting for the upstream"},
    {h2api_err_protocol, 502, "Invalid response from the upstream"},
    {h2api_err_body_too_large, 502, "The upstream response is too large"},
    {h2api_err_circuit_open, 503, "The upstream is unavailable"},
    {h2api_err_rate_limited, 503, "The upstream rate limit is reached"},
    {h2api_err_cancelled, 499, "Cancelled"},
};

int h2api_client_error_status(const char *errstr)
{
    for (size_t i = 0; i != sizeof(error_table) / sizeof(error_table[0]); ++i)
        if (error_table[i].errstr == errstr)
            return error_table[i].status;
    return 502;
}

const char *h2api_client_error_detail(const char *errstr)
{
    for (size_t i = 0; i != sizeof(error_table) / sizeof(error_table[0]); ++i)
        if (error_table[i].errstr == errstr)
            return error_table[i].detail;
    return "Upstream error";
}

struct st_h2api_upstream_t {
    h2api_client_t *client;
    const h2api_conf_upstream_t *conf;
    SSL_CTX *ssl_ctx;
    h2o_socketpool_t sockpool;
    h2o_http1client_ctx_t h1ctx;
    h2o_timeout_t io_timeout;
    h2o_timeout_t deadline_timeout;
    h2o_timeout_t connect_timeout;
    h2o_timeout_t first_byte_timeout;
    h2o_timeout_t pool_timeout;
    h2o_iovec_t host_header; /* value of Host: (RFC 9110 §7.2) */
    h2o_linklist_t waiting;  /* calls waiting for a connection, oldest first */
    size_t num_waiting;
    size_t in_flight;
    h2api_upstream_stats_t stats;
};

struct st_h2api_client_t {
    h2o_context_t *ctx;
    const h2api_conf_t *conf;
    h2api_upstream_t *upstreams;
    size_t num_upstreams;
    h2api_upstream_t *default_upstream;
    uint64_t rng[2];
};

typedef enum en_call_state_t { CALL_WAITING, CALL_RUNNING, CALL_BACKOFF, CALL_COMPLETING, CALL_DONE } call_state_t;

typedef struct st_h2api_call_t {
    h2api_upstream_t *up;
    h2o_mem_pool_t *pool;
    h2api_call_done_cb cb;
    void *data;
    h2o_iovec_t reqbufs[2]; /* head, body */
    size_t num_reqbufs;
    int is_head;
    int idempotent;
    unsigned attempt; /* attempts started so far */
    call_state_t state;
    h2o_http1client_t *h1;
    h2o_linklist_t waiting_link;
    h2o_timeout_entry_t deadline_entry;
    h2o_timeout_entry_t phase_entry; /* pool wait, connect, or first byte */
    h2o_timeout_entry_t complete_entry;
    uv_timer_t *backoff_timer; /* malloc'ed: a uv handle outlives the pool until its close callback */
    h2o_buffer_t *body;
    h2api_call_res_t res;
    const char *errstr;
} h2api_call_t;

static void start_attempt(h2api_call_t *call);
static void pump_queue(h2api_upstream_t *up);

/* ---- small helpers ---- */

static uint64_t rng_next(uint64_t s[2])
{
    uint64_t s1 = s[0];
    const uint64_t s0 = s[1];
    s[0] = s0;
    s1 ^= s1 << 23;
    s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return s[1] + s0;
}

static int method_is_idempotent(h2o_iovec_t m)
{
    /* RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE */
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i != sizeof(idempotent) / sizeof(idempotent[0]); ++i)
        if (h2o_memis(m.base, m.len, idempotent[i], strlen(idempotent[i])))
            return 1;
    return 0;
}

static int status_is_retryable(const h2api_conf_upstream_t *conf, int status)
{
    for (size_t i = 0; i != conf->retry.num_statuses; ++i)
        if (conf->retry.statuses[i] == status)
            return 1;
    return 0;
}

/* ---- completion ---- */

static void on_complete(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, complete_entry, entry);
    call->state = CALL_DONE;
    call->cb(call->data, call->errstr, call->errstr == NULL ? &call->res : NULL);
}

static void on_backoff_close(uv_handle_t *handle)
{
    free(handle);
}

static void stop_backoff(h2api_call_t *call)
{
    if (call->backoff_timer != NULL) {
        uv_timer_stop(call->backoff_timer);
        uv_close((uv_handle_t *)call->backoff_timer, on_backoff_close);
        call->backoff_timer = NULL;
    }
}

/* Releases whatever the call holds in its current state. */
static void release(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    switch (call->state) {
    case CALL_WAITING:
        h2o_linklist_unlink(&call->waiting_link);
        --up->num_waiting;
        break;
    case CALL_RUNNING:
        if (call->h1 != NULL) {
            h2o_http1client_cancel(call->h1);
            call->h1 = NULL;
        }
        --up->in_flight;
        break;
    case CALL_BACKOFF:
        stop_backoff(call);
        break;
    default:
        break;
    }
    if (h2o_timeout_is_linked(&call->deadline_entry))
        h2o_timeout_unlink(&call->deadline_entry);
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
}

static void finish(h2api_call_t *call, const char *errstr)
{
    int was_running = call->state == CALL_RUNNING;
    release(call);
    call->state = CALL_COMPLETING;
    call->errstr = errstr;
    if (errstr != NULL) {
        ++call->up->stats.errors;
        if (call->body != NULL)
            h2o_buffer_dispose(&call->body);
    } else {
        call->res.body = h2o_iovec_init(call->body->bytes, call->body->size);
        h2o_buffer_link_to_pool(call->body, call->pool);
        call->body = NULL;
    }
    h2o_timeout_link(call->up->client->ctx->loop, &call->up->client->ctx->zero_timeout, &call->complete_entry);
    if (was_running)
        pump_queue(call->up);
}

static void on_call_dispose(void *_call)
{
    h2api_call_t *call = _call;
    if (call->state == CALL_DONE)
        return;
    int was_running = call->state == CALL_RUNNING;
    release(call);
    if (h2o_timeout_is_linked(&call->complete_entry))
        h2o_timeout_unlink(&call->complete_entry);
    if (call->body != NULL)
        h2o_buffer_dispose(&call->body);
    call->state = CALL_DONE;
    if (was_running)
        pump_queue(call->up);
}

/* ---- retry ---- */

static void on_backoff_timer(uv_timer_t *timer)
{
    h2api_call_t *call = timer->data;
    stop_backoff(call);
    call->state = CALL_WAITING; /* transitional: start_attempt / queueing decide */
    h2o_linklist_init_anchor(&call->waiting_link);
    if (call->up->in_flight < call->up->conf->max_connections) {
        start_attempt(call);
    } else {
        h2o_linklist_insert(&call->up->waiting, &call->waiting_link);
        ++call->up->num_waiting;
    }
}

/* Ends an attempt that could not produce a usable answer; retries or finishes. */
static void attempt_failed(h2api_call_t *call, const char *errstr, int retryable)
{
    h2api_upstream_t *up = call->up;
    call->h1 = NULL;
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    if (!(retryable && call->idempotent && call->attempt < up->conf->retry.attempts)) {
        finish(call, errstr);
        return;
    }
    /* exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] */
    --up->in_flight;
    call->state = CALL_BACKOFF;
    ++up->stats.retries;
    if (call->body != NULL)
        call->body->size = 0;
    uint64_t ceiling = up->conf->retry.backoff_base_ms << (call->attempt - 1 < 16 ? call->attempt - 1 : 16);
    if (ceiling > up->conf->retry.backoff_cap_ms)
        ceiling = up->conf->retry.backoff_cap_ms;
    uint64_t delay_ms = ceiling == 0 ? 0 : rng_next(up->client->rng) % (ceiling + 1);
    call->backoff_timer = h2o_mem_alloc(sizeof(*call->backoff_timer));
    uv_timer_init(up->client->ctx->loop, call->backoff_timer);
    call->backoff_timer->data = call;
    uv_timer_start(call->backoff_timer, on_backoff_timer, delay_ms, 0);
    pump_queue(up);
}

/* ---- the http1client callbacks ---- */

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    h2api_call_t *call = client->data;
    h2o_buffer_t **input = &client->sock->input;

    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        call->h1 = NULL;
        finish(call, strcmp(errstr, "I/O timeout") == 0 ? h2api_err_io_timeout : h2api_err_protocol);
        return -1;
    }
    if ((*input)->size != 0) {
        if (call->body->size + (*input)->size > call->up->conf->max_response_bytes) {
            call->h1 = NULL;
            finish(call, h2api_err_body_too_large);
            return -1;
        }
        h2o_iovec_t dst = h2o_buffer_reserve(&call->body, (*input)->size);
        memcpy(dst.base, (*input)->bytes, (*input)->size);
        call->body->size += (*input)->size;
        h2o_buffer_consume(input, (*input)->size);
    }
    if (errstr == h2o_http1client_error_is_eos) {
        call->h1 = NULL;
        if (status_is_retryable(call->up->conf, call->res.status) && call->idempotent &&
            call->attempt < call->up->conf->retry.attempts) {
            attempt_failed(call, NULL, 1);
        } else {
            finish(call, NULL);
        }
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    h2api_call_t *call = client->data;

    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        /* nothing of the response was usable: an idempotent request may go again (also covers a
         * reused keep-alive connection that the upstream closed as we wrote) */
        int is_parse_error = strstr(errstr, "parse") != NULL;
        attempt_failed(call, is_parse_error ? h2api_err_protocol
                             : strcmp(errstr, "I/O timeout") == 0 ? h2api_err_io_timeout
                                                                 : h2api_err_protocol,
                       !is_parse_error);
        return NULL;
    }

    call->res.status = status;
    h2o_header_t *copy = h2o_mem_alloc_pool(call->pool, sizeof(*copy) * (num_headers + 1));
    for (size_t i = 0; i != num_headers; ++i) {
        copy[i] = headers[i];
        if (!h2o_iovec_is_token(headers[i].name)) {
            h2o_iovec_t *name = h2o_mem_alloc_pool(call->pool, sizeof(*name));
            *name = h2o_strdup(call->pool, headers[i].name->base, headers[i].name->len);
            copy[i].name = name;
        }
        copy[i].orig_name = NULL;
        copy[i].value = h2o_strdup(call->pool, headers[i].value.base, headers[i].value.len);
    }
    call->res.headers = copy;
    call->res.num_headers = num_headers;

    if (errstr == h2o_http1client_error_is_eos) {
        call->h1 = NULL;
        if (status_is_retryable(call->up->conf, status) && call->idempotent && call->attempt < call->up->conf->retry.attempts)
            attempt_failed(call, NULL, 1);
        else
            finish(call, NULL);
        return NULL;
    }
    return on_body;
}

static void on_first_byte_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    h2o_http1client_cancel(call->h1);
    attempt_failed(call, h2api_err_first_byte_timeout, 1);
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs, size_t *reqbufcnt,
                                          int *method_is_head)
{
    h2api_call_t *call = client->data;
    h2api_upstream_t *up = call->up;

    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    if (errstr != NULL) {
        attempt_failed(call, strcmp(errstr, "connection timeout") == 0 ? h2api_err_connect_timeout : h2api_err_connect, 1);
        return NULL;
    }
    *reqbufs = call->reqbufs;
    *reqbufcnt = call->num_reqbufs;
    *method_is_head = call->is_head;
    call->phase_entry.cb = on_first_byte_timeout;
    h2o_timeout_link(up->client->ctx->loop, &up->first_byte_timeout, &call->phase_entry);
    return on_head;
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    h2o_http1client_cancel(call->h1);
    attempt_failed(call, h2api_err_connect_timeout, 1);
}

/* ---- scheduling ---- */

static void start_attempt(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    call->state = CALL_RUNNING;
    ++call->attempt;
    ++up->in_flight;
    ++up->stats.attempts;
    if (call->body == NULL)
        h2o_buffer_init(&call->body, &h2o_socket_buffer_prototype);
    call->phase_entry.cb = on_connect_timeout;
    h2o_timeout_link(up->client->ctx->loop, &up->connect_timeout, &call->phase_entry);
    h2o_http1client_connect_with_pool(&call->h1, call, &up->h1ctx, &up->sockpool, on_connect);
}

static void on_pool_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    finish(call, h2api_err_pool_timeout);
}

static void pump_queue(h2api_upstream_t *up)
{
    while (up->in_flight < up->conf->max_connections && !h2o_linklist_is_empty(&up->waiting)) {
        h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, waiting_link, up->waiting.next);
        h2o_linklist_unlink(&call->waiting_link);
        --up->num_waiting;
        if (h2o_timeout_is_linked(&call->phase_entry))
            h2o_timeout_unlink(&call->phase_entry);
        start_attempt(call);
    }
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, deadline_entry, entry);
    finish(call, h2api_err_timeout);
}

static h2o_iovec_t build_request_head(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq)
{
    const h2api_conf_upstream_t *conf = up->conf;
    size_t prefix_len = strlen(conf->path_prefix);
    size_t cap = creq->method.len + prefix_len + creq->path.len + up->host_header.len + 64;
    for (size_t i = 0; i != conf->num_headers; ++i)
        cap += strlen(conf->headers[i].name) + strlen(conf->headers[i].value) + 4;
    for (size_t i = 0; i != creq->num_headers; ++i)
        cap += creq->headers[i].name->len + creq->headers[i].value.len + 4;

    char *buf = h2o_mem_alloc_pool(pool, cap), *p = buf;
#define APPEND(s, n) (memcpy(p, (s), (n)), p += (n))
#define APPEND_LIT(s) APPEND(s, sizeof(s) - 1)
    APPEND(creq->method.base, creq->method.len);
    APPEND_LIT(" ");
    APPEND(conf->path_prefix, prefix_len);
    APPEND(creq->path.base, creq->path.len);
    APPEND_LIT(" HTTP/1.1\r\nhost: ");
    APPEND(up->host_header.base, up->host_header.len);
    APPEND_LIT("\r\n");
    for (size_t i = 0; i != conf->num_headers; ++i) {
        APPEND(conf->headers[i].name, strlen(conf->headers[i].name));
        APPEND_LIT(": ");
        APPEND(conf->headers[i].value, strlen(conf->headers[i].value));
        APPEND_LIT("\r\n");
    }
    for (size_t i = 0; i != creq->num_headers; ++i) {
        APPEND(creq->headers[i].name->base, creq->headers[i].name->len);
        APPEND_LIT(": ");
        APPEND(creq->headers[i].value.base, creq->headers[i].value.len);
        APPEND_LIT("\r\n");
    }
    if (creq->body.base != NULL)
        p += sprintf(p, "content-length: %zu\r\n", creq->body.len);
    APPEND_LIT("\r\n");
#undef APPEND_LIT
#undef APPEND
    return h2o_iovec_init(buf, p - buf);
}

int h2api_upstream_call(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq, h2api_call_done_cb cb,
                        void *data)
{
    h2api_call_t *call = h2o_mem_alloc_shared(pool, sizeof(*call), on_call_dispose);
    *call = (h2api_call_t){.up = up, .pool = pool, .cb = cb, .data = data};
    call->reqbufs[0] = build_request_head(up, pool, creq);
    call->num_reqbufs = 1;
    if (creq->body.base != NULL && creq->body.len != 0)
        call->reqbufs[call->num_reqbufs++] = creq->body;
    call->is_head = h2o_memis(creq->method.base, creq->method.len, H2O_STRLIT("HEAD"));
    call->idempotent = method_is_idempotent(creq->method);
    call->complete_entry.cb = on_complete;
    call->deadline_entry.cb = on_deadline;
    h2o_linklist_init_anchor(&call->waiting_link);
    ++up->stats.requests;

    h2o_timeout_link(up->client->ctx->loop, &up->deadline_timeout, &call->deadline_entry);
    if (up->in_flight < up->conf->max_connections) {
        start_attempt(call);
    } else if (up->num_waiting >= H2API_UPSTREAM_MAX_QUEUE) {
        call->state = CALL_WAITING;
        h2o_linklist_insert(&up->waiting, &call->waiting_link);
        ++up->num_waiting;
        finish(call, h2api_err_pool_full);
    } else {
        call->state = CALL_WAITING;
        h2o_linklist_insert(&up->waiting, &call->waiting_link);
        ++up->num_waiting;
        call->phase_entry.cb = on_pool_timeout;
        h2o_timeout_link(up->client->ctx->loop, &up->pool_timeout, &call->phase_entry);
    }
    return 0;
}

/* ---- setup ---- */

static SSL_CTX *create_ssl_ctx(const h2api_conf_upstream_t *conf, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    int ok = conf->tls.ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, conf->tls.ca_file, NULL)
                                       : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        snprintf(errbuf, errlen, "upstream %s: cannot load CA certificates%s%s", conf->name, conf->tls.ca_file ? " from " : "",
                 conf->tls.ca_file ? conf->tls.ca_file : "");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, conf->tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return ctx;
}

static int upstream_init(h2api_upstream_t *up, h2api_client_t *client, const h2api_conf_upstream_t *conf, char *errbuf,
                         size_t errlen)
{
    h2o_loop_t *loop = client->ctx->loop;
    *up = (h2api_upstream_t){.client = client, .conf = conf};
    if (conf->is_tls && (up->ssl_ctx = create_ssl_ctx(conf, errbuf, errlen)) == NULL)
        return -EINVAL;

    /* a numeric host is used as is; a name is resolved by h2o's getaddrinfo thread on each new connection */
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
    char port[8];
    snprintf(port, sizeof(port), "%u", conf->port);
    if (getaddrinfo(conf->host, port, &hints, &ai) == 0) {
        h2o_socketpool_init_by_address(&up->sockpool, ai->ai_addr, ai->ai_addrlen, conf->is_tls, conf->max_connections);
        freeaddrinfo(ai);
        /* TLS name checks use peer.host; for an address that is the address text */
        if (conf->is_tls) {
            free(up->sockpool.peer.host.base);
            up->sockpool.peer.host = h2o_strdup(NULL, conf->tls.sni ? conf->tls.sni : conf->host, SIZE_MAX);
        }
    } else {
        h2o_socketpool_init_by_hostport(&up->sockpool, h2o_iovec_init(conf->host, strlen(conf->host)), conf->port, conf->is_tls,
                                        conf->max_connections);
    }
    h2o_socketpool_set_timeout(&up->sockpool, loop, conf->keepalive_expiry_ms);

    h2o_timeout_init(loop, &up->io_timeout, conf->io_timeout_ms);
    h2o_timeout_init(loop, &up->deadline_timeout, conf->timeout_ms);
    h2o_timeout_init(loop, &up->connect_timeout, conf->connect_timeout_ms);
    h2o_timeout_init(loop, &up->first_byte_timeout, conf->first_byte_timeout_ms);
    h2o_timeout_init(loop, &up->pool_timeout, conf->pool_timeout_ms);
    up->h1ctx = (h2o_http1client_ctx_t){
        .loop = loop, .getaddr_receiver = &client->ctx->receivers.hostinfo_getaddr, .io_timeout = &up->io_timeout,
        .ssl_ctx = up->ssl_ctx};

    int default_port = conf->is_tls ? 443 : 80, is_v6 = strchr(conf->host, ':') != NULL;
    char host[300];
    int n = snprintf(host, sizeof(host), "%s%s%s", is_v6 ? "[" : "", conf->host, is_v6 ? "]" : "");
    if (conf->port != default_port)
        n += snprintf(host + n, sizeof(host) - n, ":%u", conf->port);
    up->host_header = h2o_strdup(NULL, host, n);
    h2o_linklist_init_anchor(&up->waiting);
    return 0;
}

static void upstream_dispose(h2api_upstream_t *up)
{
    h2o_loop_t *loop = up->client->ctx->loop;
    h2o_socketpool_dispose(&up->sockpool);
    h2o_timeout_dispose(loop, &up->io_timeout);
    h2o_timeout_dispose(loop, &up->deadline_timeout);
    h2o_timeout_dispose(loop, &up->connect_timeout);
    h2o_timeout_dispose(loop, &up->first_byte_timeout);
    h2o_timeout_dispose(loop, &up->pool_timeout);
    free(up->host_header.base);
    if (up->ssl_ctx != NULL)
        SSL_CTX_free(up->ssl_ctx);
}

h2api_client_t *h2api_client_create(h2o_context_t *ctx, const h2api_conf_t *conf, char *errbuf, size_t errlen)
{
    h2api_client_t *client = h2o_mem_alloc(sizeof(*client));
    *client = (h2api_client_t){.ctx = ctx, .conf = conf};
    if (getrandom(client->rng, sizeof(client->rng), 0) != sizeof(client->rng) || (client->rng[0] | client->rng[1]) == 0)
        client->rng[0] = (uint64_t)(uintptr_t)client ^ 0x9e3779b97f4a7c15ull, client->rng[1] = 1;
    client->upstreams = h2o_mem_alloc(sizeof(*client->upstreams) * (conf->num_upstreams + 1));
    for (size_t i = 0; i != conf->num_upstreams; ++i) {
        if (upstream_init(client->upstreams + i, client, conf->upstreams + i, errbuf, errlen) != 0) {
            client->num_upstreams = i;
            h2api_client_destroy(client);
            return NULL;
        }
        client->num_upstreams = i + 1;
        if (conf->default_upstream != NULL && strcmp(conf->default_upstream, conf->upstreams[i].name) == 0)
            client->default_upstream = client->upstreams + i;
    }
    if (client->default_upstream == NULL && client->num_upstreams != 0)
        client->default_upstream = client->upstreams;
    return client;
}

void h2api_client_destroy(h2api_client_t *client)
{
    for (size_t i = 0; i != client->num_upstreams; ++i)
        upstream_dispose(client->upstreams + i);
    free(client->upstreams);
    free(client);
}

h2api_upstream_t *h2api_client_upstream(h2api_client_t *client, const char *name)
{
    if (name == NULL)
        return client->default_upstream;
    for (size_t i = 0; i != client->num_upstreams; ++i)
        if (strcmp(client->upstreams[i].conf->name, name) == 0)
            return client->upstreams + i;
    return NULL;
}

const h2api_conf_upstream_t *h2api_upstream_conf(h2api_upstream_t *up)
{
    return up->conf;
}

void h2api_upstream_get_stats(h2api_upstream_t *up, h2api_upstream_stats_t *stats)
{
    *stats = up->stats;
    stats->in_flight = up->in_flight;
    stats->queued = up->num_waiting;
    stats->connections_open = __sync_add_and_fetch(&up->sockpool._shared.count, 0);
}

int h2api_client_worker_startup(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen)
{
    h2api_client_t *client = h2api_client_create(h2api_worker_ctx(worker), h2api_app_conf(app), errbuf, errlen);
    if (client == NULL)
        return -EINVAL;
    h2api_worker_set_resource(worker, "client", client);
    return 0;
}

int h2api_client_worker_shutdown(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen)
{
    h2api_client_t *client = h2api_worker_resource(worker, "client");
    if (client != NULL) {
        h2api_worker_set_resource(worker, "client", NULL);
        h2api_client_destroy(client);
    }
    return 0;
}
