/*
 * The outbound client pool: the equivalent of one long-lived httpx.AsyncClient per named
 * upstream, per worker. A per-worker startup hook creates the worker's h2api_client_t (all
 * configured upstreams) and a shutdown hook destroys it; handlers reach it through the worker
 * (h2api_client_of) and never share it across threads.
 *
 * A call is tied to a memory pool (normally the downstream request's req->pool): it is
 * allocated there with h2o_mem_alloc_shared, and disposing of the pool cancels the call (its
 * connection is closed, it leaves the wait queue), after which its callback is never called.
 */
#ifndef h2api__client_upstream_h
#define h2api__client_upstream_h

#include <h2o.h>
#include "conf.h"

typedef struct st_h2api_client_t h2api_client_t;
typedef struct st_h2api_upstream_t h2api_upstream_t;
typedef struct st_h2api_call_t h2api_call_t;

/* ---- error constants (compared by address); each maps to a downstream status ---- */
extern const char h2api_err_connect[];            /* 502: connection refused, DNS failure, TLS handshake failure */
extern const char h2api_err_connect_timeout[];    /* 504 */
extern const char h2api_err_first_byte_timeout[]; /* 504: no complete response head in time */
extern const char h2api_err_io_timeout[];         /* 504: a read or write stalled */
extern const char h2api_err_timeout[];            /* 504: the whole-call deadline (timeout_ms) passed */
extern const char h2api_err_pool_timeout[];       /* 503: no free connection within pool_timeout_ms */
extern const char h2api_err_pool_full[];          /* 503: the wait queue is full */
extern const char h2api_err_protocol[];           /* 502: malformed response, connection closed mid-response */
extern const char h2api_err_body_too_large[];     /* 502: response body over max_response_bytes */
extern const char h2api_err_circuit_open[];       /* 503 */
extern const char h2api_err_rate_limited[];       /* 503 */

/**
 * Maps an error constant to the downstream status a handler answers with: 502 (bad gateway),
 * 503 (service unavailable: our own limits) or 504 (gateway timeout), per RFC 9110 §15.6.
 * Unknown strings map to 502.
 */
int h2api_client_error_status(const char *errstr);

/** A short human-readable sentence for an error constant, for `{"detail": ...}` bodies. */
const char *h2api_client_error_detail(const char *errstr);

/** An outbound request. All memory is the caller's and must live until the call is started. */
typedef struct st_h2api_call_req_t {
    h2o_iovec_t method;          /* "GET", ...; idempotent methods (RFC 9110 §9.2.2) may be retried */
    h2o_iovec_t path;            /* origin-form, starting with '/', query included; the upstream's path prefix is prepended */
    const h2o_header_t *headers; /* extra request headers (the upstream's defaults are added first) */
    size_t num_headers;
    h2o_iovec_t body; /* sent with Content-Length when body.base != NULL */
} h2api_call_req_t;

/** A buffered response; everything lives in the call's pool. */
typedef struct st_h2api_call_res_t {
    int status;
    const h2o_header_t *headers; /* names lower-cased; known ones point to H2O_TOKEN_* */
    size_t num_headers;
    h2o_iovec_t body;
} h2api_call_res_t;

/**
 * Completion of a buffered call: runs once, on the worker's loop, never from inside
 * h2api_upstream_call. `errstr` is NULL and `res` set on success (any HTTP status, including
 * 4xx/5xx after retries ran out); otherwise `errstr` is one of the constants above and `res` is NULL.
 */
typedef void (*h2api_call_done_cb)(void *data, const char *errstr, const h2api_call_res_t *res);

/**
 * Streaming mode (the proxy): the response head first, then body chunks as they arrive, with
 * back-pressure. Each callback runs on the worker's loop.
 * - on_head: once. `errstr` NULL and `res` holds status and headers (res->body is empty), or
 *   `errstr` set (the call failed before any response; nothing follows).
 * - on_body: after a successful on_head, one or more times: `chunk` (valid only during the
 *   callback), `is_final` 1 on the last one (possibly empty), or `errstr` set if the response
 *   broke off (nothing follows). An `errstr` can come while the consumer still holds a chunk,
 *   before it calls h2api_call_proceed (an upstream stream reset, or its connection lost, is seen
 *   even while this call is paused). After a non-final chunk nothing more is read from the upstream
 *   until the consumer calls h2api_call_proceed: a slow downstream never makes the pool buffer
 *   an unbounded body.
 */
typedef struct st_h2api_stream_cbs_t {
    void (*on_head)(void *data, h2api_call_t *call, const char *errstr, const h2api_call_res_t *res);
    void (*on_body)(void *data, h2api_call_t *call, const char *errstr, h2o_iovec_t chunk, int is_final);
} h2api_stream_cbs_t;

/**
 * Creates the client of one worker: one h2api_upstream_t per configured upstream.
 * @param ctx   the worker's h2o context (its loop drives every call)
 * @param conf  read-only config (borrowed; outlives the client)
 * @param num_workers  how many workers share the process-wide limits (rate_limit is divided by it)
 * @return the client, or NULL with a message in errbuf (an unusable TLS setting such as a bad ca_file).
 */
h2api_client_t *h2api_client_create(h2o_context_t *ctx, const h2api_conf_t *conf, unsigned num_workers, char *errbuf,
                                    size_t errlen);

/**
 * Destroys the client: closes idle keep-alive connections and its uv handles. The memory is
 * freed in the loop's next closing phase (libuv needs a handle's memory until then); if the loop
 * never runs again, as at process exit, it is simply not freed. Calls still in flight must have
 * been cancelled (their pools disposed of) before; the server's drain guarantees that.
 */
void h2api_client_destroy(h2api_client_t *client);

/** Returns the upstream named `name` (NULL: the default upstream), or NULL if there is none. */
h2api_upstream_t *h2api_client_upstream(h2api_client_t *client, const char *name);

/** The upstream's config. */
const h2api_conf_upstream_t *h2api_upstream_conf(h2api_upstream_t *up);

/**
 * Sends `creq` to `up` and calls `cb` once with the buffered response or an error.
 * The call waits for a free connection when max_connections are busy (at most
 * pool_timeout_ms), reuses keep-alive connections, retries idempotent methods on timeouts
 * before the response head and the retry statuses, and every method on connect errors (the
 * request never left), with exponential backoff and full jitter (retry.* in the config); an
 * open circuit breaker holds it back or fails it with h2api_err_circuit_open (circuit_breaker.*;
 * README, "The outbound pool").
 * @param pool   owner of the call and of every byte of the response (normally &req->pool);
 *               disposing of it cancels the call and `cb` is never called
 * @param callp  if not NULL, receives the call handle (for h2api_call_cancel), valid until `cb` runs
 * The call always starts: allocation failure aborts, and every other failure comes through `cb`.
 */
void h2api_upstream_call(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq, h2api_call_done_cb cb, void *data,
                         h2api_call_t **callp);

/**
 * Cancels a call before its completion: its attempt is aborted (the HTTP/1.1 connection closed,
 * the HTTP/2 stream reset), it leaves any queue, and its callbacks are never called.
 */
void h2api_call_cancel(h2api_call_t *call);

/**
 * Same as h2api_upstream_call, in streaming mode. Retries happen only before on_head.
 * @param cbs  static storage
 */
void h2api_upstream_call_stream(h2api_upstream_t *up, h2o_mem_pool_t *pool, const h2api_call_req_t *creq,
                                const h2api_stream_cbs_t *cbs, void *data, h2api_call_t **callp);

/** Streaming: the consumer is done with the last chunk; read the next one. */
void h2api_call_proceed(h2api_call_t *call);

/** Per-upstream, per-worker counters (read on the worker's thread). */
typedef struct st_h2api_upstream_stats_t {
    uint64_t requests; /* calls started */
    uint64_t attempts; /* HTTP requests sent, retries included */
    uint64_t retries;
    uint64_t errors;           /* calls that ended with an errstr */
    size_t in_flight;          /* attempts holding a connection */
    size_t queued;             /* calls waiting for a connection */
    size_t connections_open;   /* in use + idle */
    uint64_t rate_limited;     /* calls refused by the rate limit */
    uint64_t breaker_rejected; /* calls refused at once while the circuit was open */
    uint64_t breaker_waited;   /* calls that waited for an open circuit (then went, or failed at their deadline) */
    uint64_t breaker_trips;    /* times the circuit opened */
    int breaker_open;          /* 1 while open (or half-open) */
    const char *transport;     /* "http/1.1" or "h2" */
} h2api_upstream_stats_t;

/** Copies the upstream's counters into `stats`. */
void h2api_upstream_get_stats(h2api_upstream_t *up, h2api_upstream_stats_t *stats);

#endif
