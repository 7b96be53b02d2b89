/*
 * The outbound pool's policy layer: one h2api_upstream_t per configured upstream per worker.
 *
 * Lifetime of a call (all on one worker's loop):
 *
 *   h2api_upstream_call ─► breaker (open: DELAYED until half-open, or PARKED while the trials
 *   are out; see breaker_pass) ─► rate limit (DELAYED) ─► [WAITING: a max_concurrent_requests
 *   slot and a connection, at most pool_timeout_ms] ─► RUNNING (one attempt with the transport:
 *   connect ─ connect_timeout_ms ─► request ─ first_byte_timeout_ms ─► head ─► body)
 *   ─► COMPLETING ─► DONE, or DELAYED (backoff with full jitter) ─► breaker ─► RUNNING again ...
 *
 * The whole call is bounded by timeout_ms (the deadline entry). The transport decides whether
 * a connection (or an HTTP/2 stream) is free; the packaged socket pool ignores its capacity,
 * so the HTTP/1.1 transport counts attempts in flight against max_connections itself.
 *
 * Buffered calls complete from the loop (a zero timeout), never from inside a transport
 * callback: a finished HTTP/1.1 connection is back in the pool first, so a continuation that
 * starts the next call reuses it. Streaming calls get their head and chunks directly from the
 * transport callbacks (no extra loop turn per chunk); only their errors are deferred.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/ssl.h>
#include "client/internal.h"

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

/* Calls that may wait for a connection, per upstream per worker, beyond which they fail at once. */
#define H2API_UPSTREAM_MAX_QUEUE 4096

static const struct {
    const char *errstr;
    int status;
    int is_upstream_failure; /* counts against the circuit breaker */
    const char *detail;
} error_table[] = {
    {h2api_err_connect, 502, 1, "Could not connect to the upstream"},
    {h2api_err_connect_timeout, 504, 1, "Timed out connecting to the upstream"},
    {h2api_err_first_byte_timeout, 504, 1, "The upstream did not answer in time"},
    {h2api_err_io_timeout, 504, 1, "The upstream stalled"},
    {h2api_err_timeout, 504, 1, "The upstream did not answer in time"},
    {h2api_err_pool_timeout, 503, 0, "No upstream connection available"},
    {h2api_err_pool_full, 503, 0, "Too many requests waiting for the upstream"},
    {h2api_err_protocol, 502, 1, "Invalid response from the upstream"},
    {h2api_err_body_too_large, 502, 0, "The upstream response is too large"},
    {h2api_err_circuit_open, 503, 0, "The upstream is unavailable (circuit open)"},
    {h2api_err_rate_limited, 503, 0, "The upstream rate limit is reached"},
};

static size_t error_index(const char *errstr)
{
    for (size_t i = 0; i != sizeof(error_table) / sizeof(error_table[0]); ++i)
        if (error_table[i].errstr == errstr)
            return i;
    return SIZE_MAX;
}

int h2api_client_error_status(const char *errstr)
{
    size_t i = error_index(errstr);
    return i != SIZE_MAX ? error_table[i].status : 502;
}

const char *h2api_client_error_detail(const char *errstr)
{
    size_t i = error_index(errstr);
    return i != SIZE_MAX ? error_table[i].detail : "Upstream error";
}

static void start_attempt(h2api_call_t *call);
static void enqueue_or_start(h2api_call_t *call);
static int breaker_pass(h2api_call_t *call);
static void breaker_record(h2api_call_t *call, int failed);
static void breaker_leave_trial(h2api_call_t *call);

/* Failures to make a connection: raised only before a connection carried the request. */
static int is_connect_error(const char *errstr)
{
    return errstr == h2api_err_connect || errstr == h2api_err_connect_timeout;
}

/*
 * Waiting calls start from the loop, not from inside the event that freed the capacity: an
 * HTTP/1.1 connection returns to the socket pool only after its last callback returned, and the
 * next call should reuse it rather than open another.
 */
static void schedule_pump(h2api_upstream_t *up)
{
    if (!h2o_timeout_is_linked(&up->pump_entry) && !h2o_linklist_is_empty(&up->waiting))
        h2o_timeout_link(up->loop, &up->ctx->zero_timeout, &up->pump_entry);
}

/* ---- small helpers ---- */

static uint64_t rng_next(uint64_t s[2])
{
    /* xorshift128+: backoff jitter only, not cryptography */
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

static int may_retry(h2api_call_t *call)
{
    return call->idempotent && !call->head_delivered && call->attempt < call->up->conf->retry.attempts;
}

static int breaker_may_wait(h2api_call_t *call, uint64_t now_ms);

/*
 * A connect error is retried within retry.attempts when the breaker is off. With the breaker on,
 * the breaker decides when the upstream is down: until it opens, the call retries (within its
 * deadline, with backoff; each failed connect counts toward opening it), and while it is open the
 * call waits for it as long as breaker_may_wait allows.
 */
static int may_retry_connect(h2api_call_t *call)
{
    const h2api_upstream_t *up = call->up;
    if (up->conf->retry.attempts <= 1)
        return 0;
    if (up->conf->circuit_breaker.failures == 0)
        return call->attempt < up->conf->retry.attempts;
    return up->breaker.open_until_ms == 0 || breaker_may_wait(call, h2o_now(up->loop));
}

/* Retry-After (RFC 9110 §10.2.3) in delay-seconds; the HTTP-date form is not honoured. */
static uint64_t parse_retry_after_ms(const h2o_header_t *headers, size_t num_headers)
{
    for (size_t i = 0; i != num_headers; ++i) {
        if (headers[i].name == &H2O_TOKEN_RETRY_AFTER->buf) {
            size_t secs = h2o_strtosize(headers[i].value.base, headers[i].value.len);
            return secs == SIZE_MAX ? 0 : (uint64_t)secs * 1000;
        }
    }
    return 0;
}

/* ---- the circuit breaker: see breaker_pass and breaker_record further down ---- */

/* Calls wait for an open breaker during this many trips in a row at most (about 3 s at the
 * defaults: base_open_ms 1000, then 2000); after that the upstream counts as down and calls
 * fail at once with 503, as a breaker is meant to. */
#define H2API_BREAKER_MAX_WAIT_TRIPS 2

/* ---- the rate limit: a token bucket per worker; returns the wait in ms, or -1 to refuse ---- */

static int64_t bucket_take(h2api_upstream_t *up)
{
    if (up->bucket.rate_per_ms <= 0)
        return 0;
    uint64_t now = h2o_now(up->loop);
    up->bucket.tokens += (now - up->bucket.updated_at_ms) * up->bucket.rate_per_ms;
    if (up->bucket.tokens > up->bucket.burst)
        up->bucket.tokens = up->bucket.burst;
    up->bucket.updated_at_ms = now;
    if (up->bucket.tokens >= 1) {
        up->bucket.tokens -= 1;
        return 0;
    }
    /* the token is reserved now (the bucket goes below zero) and the call waits for it */
    double wait_ms = ceil((1 - up->bucket.tokens) / up->bucket.rate_per_ms);
    if (wait_ms > (double)up->conf->pool_timeout_ms)
        return -1;
    up->bucket.tokens -= 1;
    return (int64_t)wait_ms;
}

/* ---- timers ---- */

static void on_delay_close(uv_handle_t *handle)
{
    free(handle);
}

static void stop_delay(h2api_call_t *call)
{
    if (call->delay_timer != NULL) {
        uv_timer_stop(call->delay_timer);
        uv_close((uv_handle_t *)call->delay_timer, on_delay_close);
        call->delay_timer = NULL;
    }
}

static void on_delay(uv_timer_t *timer)
{
    h2api_call_t *call = timer->data;
    stop_delay(call);
    call->state = H2API__CALL_NEW;
    if (breaker_pass(call))
        enqueue_or_start(call);
}

static void delay_call(h2api_call_t *call, uint64_t delay_ms)
{
    call->state = H2API__CALL_DELAYED;
    call->delay_timer = h2o_mem_alloc(sizeof(*call->delay_timer));
    uv_timer_init(call->up->loop, call->delay_timer);
    call->delay_timer->data = call;
    uv_timer_start(call->delay_timer, on_delay, delay_ms, 0);
}

/* ---- completion ---- */

/* Releases whatever the call holds in its current state; the caller sets the next state. */
static int release(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    int freed_capacity = 0;
    switch (call->state) {
    case H2API__CALL_WAITING:
        h2o_linklist_unlink(&call->waiting_link);
        --up->num_waiting;
        break;
    case H2API__CALL_DELAYED:
        stop_delay(call);
        break;
    case H2API__CALL_PARKED:
        h2o_linklist_unlink(&call->waiting_link);
        break;
    case H2API__CALL_RUNNING:
        call->transport->cancel(call);
        --up->in_flight;
        freed_capacity = 1;
        break;
    default:
        break;
    }
    if (call->admitted) {
        call->admitted = 0;
        --up->num_admitted;
        freed_capacity = 1;
    }
    if (h2o_timeout_is_linked(&call->deadline_entry))
        h2o_timeout_unlink(&call->deadline_entry);
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    return freed_capacity;
}

static void on_complete(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, complete_entry, entry);
    call->state = H2API__CALL_DONE;
    if (call->done_cb != NULL) {
        call->done_cb(call->data, call->errstr, call->errstr == NULL ? &call->res : NULL);
    } else if (!call->head_delivered) {
        call->stream->on_head(call->data, call, call->errstr, NULL);
    } else {
        call->stream->on_body(call->data, call, call->errstr, h2o_iovec_init(NULL, 0), 1);
    }
}

/*
 * Ends the call with `errstr` (NULL: success with call->res) and releases what it holds (a
 * running attempt is cancelled). `defer` 1 runs the user's callback from the loop; 0 means the
 * caller has delivered the outcome itself (streaming).
 */
static void finish(h2api_call_t *call, const char *errstr, int defer)
{
    h2api_upstream_t *up = call->up;
    /* what the call's end says of the upstream's health: an attempt that ended (COMPLETING) or
     * was overtaken by the deadline while it ran; never a call that was still queued, delayed
     * or parked, nor our own refusals (pool, rate limit, open circuit), nor connect errors
     * (each failed connect was counted as it happened, in h2api__call_on_error) */
    int observed = call->state == H2API__CALL_COMPLETING || call->state == H2API__CALL_RUNNING;
    int pump = release(call);
    call->state = H2API__CALL_COMPLETING;
    call->errstr = errstr;

    size_t ei = errstr != NULL ? error_index(errstr) : SIZE_MAX;
    int upstream_failure = ei != SIZE_MAX && error_table[ei].is_upstream_failure;
    if (observed && (errstr == NULL || (upstream_failure && !is_connect_error(errstr)))) {
        breaker_record(call, upstream_failure ||
                                 (errstr == NULL && call->res.status >= 500 && status_is_retryable(up->conf, call->res.status)));
    } else {
        breaker_leave_trial(call);
    }
    if (errstr != NULL)
        ++up->stats.errors;

    if (call->body != NULL) {
        if (errstr == NULL) {
            call->res.body = h2o_iovec_init(call->body->bytes, call->body->size);
            h2o_buffer_link_to_pool(call->body, call->pool);
            call->body = NULL;
        } else {
            h2o_buffer_dispose(&call->body);
        }
    }
    if (defer) {
        h2o_timeout_link(up->loop, &up->ctx->zero_timeout, &call->complete_entry);
    } else {
        call->state = H2API__CALL_DONE;
    }
    if (pump)
        schedule_pump(up);
}

static void on_call_dispose(void *_call)
{
    h2api_call_t *call = _call;
    if (call->state == H2API__CALL_DONE)
        return;
    int pump = release(call);
    if (h2o_timeout_is_linked(&call->complete_entry))
        h2o_timeout_unlink(&call->complete_entry);
    if (call->body != NULL)
        h2o_buffer_dispose(&call->body);
    breaker_leave_trial(call); /* cancelled: it counts for nothing, and another call may try */
    call->state = H2API__CALL_DONE;
    if (pump)
        schedule_pump(call->up);
}

/* ---- retry ---- */

/* Ends the running attempt (the transport already forgot it) and schedules the next one. */
static void retry_later(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    --up->in_flight;
    call->state = H2API__CALL_DELAYED;
    call->transport_data = NULL;
    call->discard_response = 0;
    ++up->stats.retries;
    if (call->body != NULL)
        call->body->size = 0;
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    /* exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] */
    unsigned shift = call->attempt - 1 < 20 ? call->attempt - 1 : 20;
    uint64_t ceiling = up->conf->retry.backoff_base_ms << shift;
    if (ceiling > up->conf->retry.backoff_cap_ms)
        ceiling = up->conf->retry.backoff_cap_ms;
    uint64_t delay_ms = ceiling == 0 ? 0 : rng_next(up->client->rng) % (ceiling + 1);
    if (call->retry_after_ms > delay_ms)
        delay_ms = call->retry_after_ms < up->conf->retry.backoff_cap_ms ? call->retry_after_ms : up->conf->retry.backoff_cap_ms;
    call->retry_after_ms = 0;
    delay_call(call, delay_ms);
    schedule_pump(up);
}

/* ---- events from the transports ---- */

static void on_first_byte_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    call->transport->cancel(call);
    h2api__call_on_error(call, h2api_err_first_byte_timeout, 1);
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    call->transport->cancel(call);
    h2api__call_on_error(call, h2api_err_connect_timeout, 1);
}

void h2api__call_on_connected(h2api_call_t *call)
{
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    call->phase_entry.cb = on_first_byte_timeout;
    h2o_timeout_link(call->up->loop, &call->up->first_byte_timeout, &call->phase_entry);
}

void h2api__call_on_head(h2api_call_t *call, int status, const h2o_header_t *headers, size_t num_headers)
{
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);

    if (status_is_retryable(call->up->conf, status) && may_retry(call)) {
        /* read this answer to its end (the connection stays reusable), then go again */
        call->discard_response = 1;
        call->retry_after_ms = parse_retry_after_ms(headers, num_headers);
        return;
    }

    call->res.status = status;
    h2o_header_t *copy = h2o_mem_alloc_pool(call->pool, sizeof(*copy) * (num_headers + 1));
    for (size_t i = 0; i != num_headers; ++i) {
        copy[i].name = headers[i].name;
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

    if (call->stream != NULL) {
        /* a stream may last as long as its body keeps coming: from here on io_timeout_ms bounds
         * each read, as httpx's read timeout does, and the whole-call deadline no longer applies */
        if (h2o_timeout_is_linked(&call->deadline_entry))
            h2o_timeout_unlink(&call->deadline_entry);
        call->head_delivered = 1;
        call->stream->on_head(call->data, call, NULL, &call->res);
    }
}

int h2api__call_on_body(h2api_call_t *call, const void *bytes, size_t len, int is_final)
{
    if (!is_final) {
        if (call->discard_response || len == 0)
            return 0;
        if (call->stream != NULL) {
            call->paused = 1;
            call->stream->on_body(call->data, call, NULL, h2o_iovec_init(bytes, len), 0);
            return call->paused;
        }
        if (call->body->size + len > call->up->conf->max_response_bytes)
            return -1;
        h2o_iovec_t dst = h2o_buffer_reserve(&call->body, len);
        memcpy(dst.base, bytes, len);
        call->body->size += len;
        return 0;
    }

    /* the end of the attempt */
    if (call->discard_response) {
        retry_later(call);
        return 0;
    }
    if (call->stream == NULL && len != 0) {
        if (call->body->size + len > call->up->conf->max_response_bytes) {
            h2api__call_on_error(call, h2api_err_body_too_large, 0);
            return 0;
        }
        h2o_iovec_t dst = h2o_buffer_reserve(&call->body, len);
        memcpy(dst.base, bytes, len);
        call->body->size += len;
    }
    --call->up->in_flight;
    schedule_pump(call->up);
    call->state = H2API__CALL_COMPLETING; /* release() must not cancel the finished attempt */
    if (call->stream != NULL) {
        finish(call, NULL, 0);
        call->stream->on_body(call->data, call, NULL, h2o_iovec_init(bytes, len), 1);
    } else {
        finish(call, NULL, 1);
    }
    return 0;
}

void h2api__call_on_error(h2api_call_t *call, const char *errstr, int before_response)
{
    call->transport_data = NULL;
    if (is_connect_error(errstr)) {
        /* Every failed connect is a fact about the upstream, whatever the call does next. The
         * request never left (the transports raise these only before a connection carried
         * it), so it is retried whatever its method (may_retry_connect), so that a restarting
         * upstream is ridden through. retry.attempts: 1 turns this off too. */
        breaker_record(call, 1);
        if (may_retry_connect(call)) {
            retry_later(call);
            return;
        }
    } else if ((before_response || call->discard_response) && may_retry(call)) {
        retry_later(call);
        return;
    }
    --call->up->in_flight;
    schedule_pump(call->up);
    call->state = H2API__CALL_COMPLETING;
    finish(call, errstr, 1);
}

void h2api__call_restart(h2api_call_t *call)
{
    --call->up->in_flight;
    --call->attempt;
    --call->up->stats.attempts;
    call->transport_data = NULL;
    if (h2o_timeout_is_linked(&call->phase_entry))
        h2o_timeout_unlink(&call->phase_entry);
    start_attempt(call);
}

void h2api_call_proceed(h2api_call_t *call)
{
    if (!call->paused)
        return;
    call->paused = 0;
    if (call->state == H2API__CALL_RUNNING && call->transport->proceed != NULL)
        call->transport->proceed(call);
}

/* ---- scheduling ---- */

static int can_run(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    if (!call->admitted && up->conf->max_concurrent_requests != 0 && up->num_admitted >= up->conf->max_concurrent_requests)
        return 0;
    return up->transport->has_capacity(up);
}

static void start_attempt(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    if (!call->admitted && up->conf->max_concurrent_requests != 0) {
        call->admitted = 1;
        ++up->num_admitted;
    }
    call->state = H2API__CALL_RUNNING;
    ++call->attempt;
    ++up->in_flight;
    ++up->stats.attempts;
    if (call->done_cb != NULL && call->body == NULL)
        h2o_buffer_init(&call->body, &h2o_socket_buffer_prototype);
    call->transport = up->transport;
    call->phase_entry.cb = on_connect_timeout;
    h2o_timeout_link(up->loop, &up->connect_timeout, &call->phase_entry);
    call->transport->start(call);
}

static void on_pool_timeout(h2o_timeout_entry_t *entry)
{
    h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, phase_entry, entry);
    finish(call, h2api_err_pool_timeout, 1);
}

/* Queues `call` for a slot and a connection, at most pool_timeout_ms. */
static void wait_for_connection(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    call->state = H2API__CALL_WAITING;
    h2o_linklist_insert(&up->waiting, &call->waiting_link);
    ++up->num_waiting;
    if (up->num_waiting > H2API_UPSTREAM_MAX_QUEUE) {
        finish(call, h2api_err_pool_full, 1);
        return;
    }
    call->phase_entry.cb = on_pool_timeout;
    h2o_timeout_link(up->loop, &up->pool_timeout, &call->phase_entry);
}

static void enqueue_or_start(h2api_call_t *call)
{
    if (h2o_linklist_is_empty(&call->up->waiting) && can_run(call)) {
        start_attempt(call);
    } else {
        wait_for_connection(call);
    }
}

/*
 * The circuit breaker, per upstream per worker (config: circuit_breaker.*; README, "The outbound
 * pool"). Three states:
 *   closed     calls go through; failures in a row are counted (breaker_record), a success
 *              resets the count.
 *   open       after `failures` in a row, for base_open_ms on the first trip, doubled on each
 *              trip in a row up to open_ms: no call reaches the upstream.
 *   half-open  once the open time is over: up to half_open_calls trial calls go; the first
 *              success closes the breaker, a failed trial opens it again for a longer time.
 * A call the breaker holds back has sent nothing, so it may wait whatever its method: it waits
 * (DELAYED until the half-open moment, or PARKED while the trials are out) if that moment comes
 * before its deadline and the breaker has tripped at most H2API_BREAKER_MAX_WAIT_TRIPS times in
 * a row; otherwise it fails at once with h2api_err_circuit_open. So a restart of a few hundred
 * milliseconds costs latency, not errors, and a dead upstream still fails fast after a few
 * seconds. A breaker with several origins is the outlier ejection of issue 16, not this.
 */
static int breaker_may_wait(h2api_call_t *call, uint64_t now_ms)
{
    const h2api_upstream_t *up = call->up;
    uint64_t go_at_ms = up->breaker.open_until_ms > now_ms ? up->breaker.open_until_ms : now_ms;
    return up->breaker.trips <= H2API_BREAKER_MAX_WAIT_TRIPS && go_at_ms < call->deadline_at_ms;
}

/* 1 if `call` may go on now; otherwise the breaker has taken it (to wait, or to fail it). */
static int breaker_pass(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    const h2api_conf_upstream_t *conf = up->conf;
    if (conf->circuit_breaker.failures == 0 || up->breaker.open_until_ms == 0 || call->is_trial) {
        call->waiting_for_breaker = 0;
        return 1;
    }
    uint64_t now_ms = h2o_now(up->loop);
    if (now_ms >= up->breaker.open_until_ms && up->breaker.trials < conf->circuit_breaker.half_open_calls) {
        ++up->breaker.trials;
        call->is_trial = 1;
        call->waiting_for_breaker = 0;
        return 1;
    }
    if (!breaker_may_wait(call, now_ms)) {
        ++up->stats.breaker_rejected;
        finish(call, h2api_err_circuit_open, 1);
        return 0;
    }
    if (!call->breaker_waited) {
        call->breaker_waited = 1;
        ++up->stats.breaker_waited;
    }
    call->waiting_for_breaker = 1;
    if (now_ms < up->breaker.open_until_ms) {
        delay_call(call, up->breaker.open_until_ms - now_ms);
    } else {
        call->state = H2API__CALL_PARKED;
        h2o_linklist_insert(&up->breaker.parked, &call->waiting_link);
    }
    return 0;
}

/* A trial call that ends with nothing to say of the upstream (cancelled, refused, timed out
 * before it ran) gives its place to another call. */
static void breaker_leave_trial(h2api_call_t *call)
{
    if (call->is_trial) {
        call->is_trial = 0;
        --call->up->breaker.trials;
    }
}

static void breaker_trip(h2api_upstream_t *up)
{
    const h2api_conf_upstream_t *conf = up->conf;
    unsigned shift = up->breaker.trips < 20 ? up->breaker.trips : 20;
    uint64_t open_ms = conf->circuit_breaker.base_open_ms << shift;
    if (open_ms > conf->circuit_breaker.open_ms)
        open_ms = conf->circuit_breaker.open_ms;
    ++up->breaker.trips;
    ++up->stats.breaker_trips;
    up->breaker.open_until_ms = h2o_now(up->loop) + open_ms;
    h2api_log(H2API_LOG_WARN, "upstream %s: circuit open for %llu ms after %u failures in a row (trip %u in a row)", conf->name,
              (unsigned long long)open_ms, up->breaker.consecutive_failures, up->breaker.trips);
    /* the calls that waited for the trials wait for the next half-open moment, or fail */
    while (!h2o_linklist_is_empty(&up->breaker.parked)) {
        h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, waiting_link, up->breaker.parked.next);
        h2o_linklist_unlink(&call->waiting_link);
        call->state = H2API__CALL_NEW;
        breaker_pass(call);
    }
}

static void breaker_close(h2api_upstream_t *up)
{
    h2api_log(H2API_LOG_INFO, "upstream %s: circuit closed", up->conf->name);
    up->breaker.open_until_ms = 0;
    up->breaker.trips = 0;
    while (!h2o_linklist_is_empty(&up->breaker.parked)) {
        h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, waiting_link, up->breaker.parked.next);
        h2o_linklist_unlink(&call->waiting_link);
        call->waiting_for_breaker = 0;
        wait_for_connection(call); /* started from the loop by the pump, in arrival order */
    }
    schedule_pump(up);
}

/* Counts one outcome that says something of the upstream's health: a failure (1) or not (0). */
static void breaker_record(h2api_call_t *call, int failed)
{
    h2api_upstream_t *up = call->up;
    int was_trial = call->is_trial;
    breaker_leave_trial(call);
    if (up->conf->circuit_breaker.failures == 0)
        return;
    if (!failed) {
        up->breaker.consecutive_failures = 0;
        if (up->breaker.open_until_ms != 0)
            breaker_close(up);
        return;
    }
    ++up->breaker.consecutive_failures;
    /* a call let through before the trip that fails while open adds nothing to the open time */
    if (was_trial || (up->breaker.open_until_ms == 0 && up->breaker.consecutive_failures >= up->conf->circuit_breaker.failures))
        breaker_trip(up);
}

static void on_pump(h2o_timeout_entry_t *entry)
{
    h2api__upstream_pump(H2O_STRUCT_FROM_MEMBER(h2api_upstream_t, pump_entry, entry));
}

void h2api__upstream_pump(h2api_upstream_t *up)
{
    while (!h2o_linklist_is_empty(&up->waiting)) {
        h2api_call_t *call = H2O_STRUCT_FROM_MEMBER(h2api_call_t, waiting_link, up->waiting.next);
        if (!can_run(call))
            break;
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
    finish(call, call->waiting_for_breaker ? h2api_err_circuit_open : h2api_err_timeout, 1);
}

static h2api_call_t *create_call(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq)
{
    h2api_call_t *call = h2o_mem_alloc_shared(pool, sizeof(*call), on_call_dispose);
    *call = (h2api_call_t){.up = up, .pool = pool};
    size_t prefix_len = strlen(up->conf->path_prefix);
    call->method = h2o_strdup(pool, creq->method.base, creq->method.len);
    call->path = h2o_concat(pool, h2o_iovec_init(up->conf->path_prefix, prefix_len), creq->path);
    /* the caller's request is copied: an attempt (or a retry) reads it long after this returns */
    h2api_call_req_t *req = h2o_mem_alloc_pool(pool, sizeof(*req));
    *req = *creq;
    req->method = call->method;
    req->path = call->path;
    if (creq->num_headers != 0) {
        h2o_header_t *headers = h2o_mem_alloc_pool(pool, sizeof(*headers) * creq->num_headers);
        for (size_t i = 0; i != creq->num_headers; ++i) {
            headers[i] = creq->headers[i];
            if (!h2o_iovec_is_token(creq->headers[i].name)) {
                h2o_iovec_t *name = h2o_mem_alloc_pool(pool, sizeof(*name));
                *name = h2o_strdup(pool, creq->headers[i].name->base, creq->headers[i].name->len);
                headers[i].name = name;
            }
            headers[i].value = h2o_strdup(pool, creq->headers[i].value.base, creq->headers[i].value.len);
        }
        req->headers = headers;
    }
    if (creq->body.base != NULL)
        req->body = h2o_strdup(pool, creq->body.base, creq->body.len);
    call->req = req;
    call->is_head = h2o_memis(creq->method.base, creq->method.len, H2O_STRLIT("HEAD"));
    call->idempotent = method_is_idempotent(creq->method);
    call->complete_entry.cb = on_complete;
    call->deadline_entry.cb = on_deadline;
    return call;
}

static void submit(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    ++up->stats.requests;
    call->deadline_at_ms = h2o_now(up->loop) + up->conf->timeout_ms;
    h2o_timeout_link(up->loop, &up->deadline_timeout, &call->deadline_entry);
    if (!breaker_pass(call))
        return;
    int64_t wait_ms = bucket_take(up);
    if (wait_ms < 0) {
        ++up->stats.rate_limited;
        finish(call, h2api_err_rate_limited, 1);
    } else if (wait_ms > 0) {
        delay_call(call, (uint64_t)wait_ms);
    } else {
        enqueue_or_start(call);
    }
}

void h2api_upstream_call(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq, h2api_call_done_cb cb, void *data,
                         h2api_call_t **callp)
{
    h2api_call_t *call = create_call(up, pool, creq);
    call->done_cb = cb;
    call->data = data;
    if (callp != NULL)
        *callp = call;
    submit(call);
}

void h2api_upstream_call_stream(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq,
                                const h2api_stream_cbs_t *cbs, void *data, h2api_call_t **callp)
{
    h2api_call_t *call = create_call(up, pool, creq);
    call->stream = cbs;
    call->data = data;
    if (callp != NULL)
        *callp = call;
    submit(call);
}

void h2api_call_cancel(h2api_call_t *call)
{
    on_call_dispose(call);
}

/* ---- setup ---- */

SSL_CTX *h2api__client_ssl_ctx_create(const h2api_conf_upstream_t *conf, const char *alpn, size_t alpn_len, char *errbuf,
                                      size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); /* RFC 9113 §9.2 asks TLS 1.2 of HTTP/2 too */
    int ok = conf->tls.ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, conf->tls.ca_file, NULL)
                                       : SSL_CTX_set_default_verify_paths(ctx);
    if (!ok) {
        snprintf(errbuf, errlen, "upstream %s: cannot load CA certificates%s%s", conf->name, conf->tls.ca_file ? " from " : "",
                 conf->tls.ca_file ? conf->tls.ca_file : "");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, conf->tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (alpn != NULL)
        SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn, (unsigned)alpn_len);
    return ctx;
}

static int upstream_init(h2api_upstream_t *up, h2api_client_t *client, const h2api_conf_upstream_t *conf, char *errbuf,
                         size_t errlen)
{
    h2o_loop_t *loop = client->ctx->loop;
    *up = (h2api_upstream_t){.client = client, .conf = conf, .loop = loop, .ctx = client->ctx};
    up->server_name = h2o_strdup(NULL, conf->tls.sni != NULL ? conf->tls.sni : conf->host, SIZE_MAX).base;

    int default_port = conf->is_tls ? 443 : 80, is_v6 = strchr(conf->host, ':') != NULL;
    char authority[300];
    int n = snprintf(authority, sizeof(authority), "%s%s%s", is_v6 ? "[" : "", conf->host, is_v6 ? "]" : "");
    if (conf->port != default_port)
        n += snprintf(authority + n, sizeof(authority) - n, ":%u", conf->port);
    up->authority = h2o_strdup(NULL, authority, n);

    h2o_timeout_init(loop, &up->deadline_timeout, conf->timeout_ms);
    h2o_timeout_init(loop, &up->connect_timeout, conf->connect_timeout_ms);
    h2o_timeout_init(loop, &up->first_byte_timeout, conf->first_byte_timeout_ms);
    h2o_timeout_init(loop, &up->pool_timeout, conf->pool_timeout_ms);
    h2o_timeout_init(loop, &up->io_timeout, conf->io_timeout_ms);
    h2o_linklist_init_anchor(&up->waiting);
    h2o_linklist_init_anchor(&up->breaker.parked);
    up->pump_entry.cb = on_pump;

    if (conf->rate_limit.requests_per_second > 0) {
        /* the limit is per process: each worker takes its share */
        unsigned n = client->num_workers != 0 ? client->num_workers : 1;
        up->bucket.rate_per_ms = conf->rate_limit.requests_per_second / 1000.0 / n;
        up->bucket.burst = (double)conf->rate_limit.burst / n < 1 ? 1 : (double)conf->rate_limit.burst / n;
        up->bucket.tokens = up->bucket.burst;
        up->bucket.updated_at_ms = h2o_now(loop);
    }

    /* everything above is what upstream_dispose undoes; what can fail comes after it */
    h2api__h1_init(up);
    up->transport = &h2api__transport_h1;
    if (conf->is_tls && (up->ssl_ctx = h2api__client_ssl_ctx_create(conf, NULL, 0, errbuf, errlen)) == NULL)
        return -EINVAL;
    if (conf->http2 == H2API_HTTP2_ON || (conf->http2 == H2API_HTTP2_AUTO && conf->is_tls)) {
        int ret;
        if ((ret = h2api__h2_init(up, errbuf, errlen)) != 0)
            return ret;
        up->transport = &h2api__transport_h2;
    }
    return 0;
}

static void upstream_dispose(h2api_upstream_t *up)
{
    if (h2o_timeout_is_linked(&up->pump_entry))
        h2o_timeout_unlink(&up->pump_entry);
    if (up->h2 != NULL)
        h2api__h2_dispose(up);
    h2api__h1_dispose(up);
    h2api__client_close_timeout(up->client, &up->deadline_timeout);
    h2api__client_close_timeout(up->client, &up->connect_timeout);
    h2api__client_close_timeout(up->client, &up->first_byte_timeout);
    h2api__client_close_timeout(up->client, &up->pool_timeout);
    h2api__client_close_timeout(up->client, &up->io_timeout);
    free(up->authority.base);
    free(up->server_name);
    if (up->ssl_ctx != NULL)
        SSL_CTX_free(up->ssl_ctx);
}

h2api_client_t *h2api_client_create(h2o_context_t *ctx, const h2api_conf_t *conf, unsigned num_workers, char *errbuf, size_t errlen)
{
    h2api_client_t *client = h2o_mem_alloc(sizeof(*client));
    *client = (h2api_client_t){.ctx = ctx, .conf = conf, .num_workers = num_workers != 0 ? num_workers : 1};
    if (getrandom(client->rng, sizeof(client->rng), 0) != sizeof(client->rng) || (client->rng[0] | client->rng[1]) == 0)
        client->rng[0] = (uint64_t)(uintptr_t)client ^ 0x9e3779b97f4a7c15ull, client->rng[1] = 1;
    client->upstreams = h2o_mem_alloc(sizeof(*client->upstreams) * (conf->num_upstreams + 1));
    for (size_t i = 0; i != conf->num_upstreams; ++i) {
        if (upstream_init(client->upstreams + i, client, conf->upstreams + i, errbuf, errlen) != 0) {
            client->num_upstreams = i + 1;
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

static void client_free(h2api_client_t *client)
{
    for (size_t i = 0; i != client->num_upstreams; ++i) {
        free(client->upstreams[i].h1n);
        free(client->upstreams[i].h2);
    }
    free(client->upstreams);
    free(client);
}

static void on_timeout_closed(uv_handle_t *handle)
{
    h2api_client_t *client = handle->data;
    if (--client->num_closing == 0)
        client_free(client);
}

void h2api__client_close_timeout(h2api_client_t *client, h2o_timeout_t *timeout)
{
    assert(h2o_linklist_is_empty(&timeout->_entries));
    uv_handle_t *timer = (uv_handle_t *)&timeout->_backend.timer;
    timer->data = client;
    ++client->num_closing;
    uv_close(timer, on_timeout_closed);
}

void h2api_client_destroy(h2api_client_t *client)
{
    /* the upstreams embed uv handles (h2o timeouts): the memory goes when the last of their
     * close callbacks has run (on_timeout_closed) */
    for (size_t i = 0; i != client->num_upstreams; ++i)
        upstream_dispose(client->upstreams + i);
    if (client->num_closing == 0)
        client_free(client);
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
    stats->connections_open = up->transport->num_connections(up);
    stats->breaker_open = up->breaker.open_until_ms != 0;
    stats->transport = up->transport->name;
}
