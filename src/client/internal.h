/*
 * Internals of the outbound pool shared by the policy layer (upstream.c) and the two
 * transports (h1.c: HTTP/1.1 on h2o sockets with its own keep-alive pool; h2.c: nghttp2 on an
 * h2o socket).
 *
 * The policy layer owns a call from start to finish: queueing, limits, rate limit, breaker,
 * deadline, retries. A transport runs one *attempt* of a call at a time and reports back
 * through the h2api__call_on_* events below, in this order:
 *
 *   on_connected  (once; a connection is ready and the request is being written)
 *   on_head       (once; status and headers)
 *   on_body       (one or more chunks, the last with is_final = 1, possibly empty)
 *
 * or, at any point, on_error (once, and nothing after it). Before an event that ends the
 * attempt (a final on_body, on_error, restart) the transport sets call->transport_data to NULL
 * and forgets the call; after the policy calls `cancel` it raises no event.
 * Events may be raised synchronously from inside `start` (a reused connection is ready at
 * once); the policy copes. A transport never calls the user's callbacks itself.
 */
#ifndef h2api__client_internal_h
#define h2api__client_internal_h

#include <uv.h>
#include <h2o.h>
#include "client/upstream.h"

typedef struct st_h2api__transport_t h2api__transport_t;

typedef enum en_h2api__call_state_t {
    H2API__CALL_NEW = 0,    /* created, not yet queued or started */
    H2API__CALL_WAITING,    /* in the upstream's queue */
    H2API__CALL_DELAYED,    /* waiting on a timer: backoff before a retry, a rate-limit slot, or an open breaker */
    H2API__CALL_PARKED,     /* waiting for the half-open breaker's trial calls to settle */
    H2API__CALL_RUNNING,    /* an attempt is with the transport */
    H2API__CALL_COMPLETING, /* the result is known; the user's callback runs from the loop */
    H2API__CALL_DONE
} h2api__call_state_t;

struct st_h2api_call_t {
    h2api_upstream_t *up;
    h2o_mem_pool_t *pool;
    /* the user's side */
    h2api_call_done_cb done_cb;       /* buffered mode */
    const h2api_stream_cbs_t *stream; /* streaming mode (done_cb == NULL) */
    void *data;
    /* the request */
    h2o_iovec_t method;
    h2o_iovec_t path;            /* prefix + path, origin-form */
    h2o_iovec_t head;            /* HTTP/1.1 request head, built once (h1 transport) */
    const h2api_call_req_t *req; /* a deep copy in pool: headers and body are read at each attempt */
    int is_head;
    int idempotent;
    /* state */
    h2api__call_state_t state;
    unsigned attempt;                    /* attempts started */
    int admitted;                        /* holds a max_concurrent_requests slot */
    int is_trial;                        /* one of the half-open circuit breaker's trial calls */
    int breaker_waited;                  /* it waited for the breaker (counted once in stats.breaker_waited) */
    int waiting_for_breaker;             /* delayed or parked by the breaker: its deadline fails it as circuit open */
    uint64_t deadline_at_ms;             /* loop time at which timeout_ms runs out */
    int stale_retry_done;                /* a reused keep-alive connection failed once and the attempt went again */
    int discard_response;                /* a retryable status: drain the answer, then retry */
    int head_delivered;                  /* streaming: on_head went to the user; no more retries */
    int paused;                          /* streaming: waiting for h2api_call_proceed */
    const h2api__transport_t *transport; /* of the running attempt */
    void *transport_data;                /* the transport's per-attempt state (a connection, a stream) */
    h2o_linklist_t waiting_link;
    h2o_timeout_entry_t deadline_entry;
    h2o_timeout_entry_t phase_entry; /* pool wait, connect, or first byte */
    h2o_timeout_entry_t complete_entry;
    uv_timer_t *delay_timer; /* malloc'ed: a uv handle outlives the pool until its close callback */
    uint64_t retry_after_ms; /* from the last answer's Retry-After, capped */
    /* the response */
    h2o_buffer_t *body; /* buffered mode */
    h2api_call_res_t res;
    const char *errstr;
};

struct st_h2api__transport_t {
    const char *name; /* "http/1.1", "h2" */
    /** 1 if an attempt can start now without exceeding max_connections (or stream limits). */
    int (*has_capacity)(h2api_upstream_t *up);
    /** Starts an attempt of `call`; events follow. */
    void (*start)(h2api_call_t *call);
    /** Aborts the running attempt (closes the connection or resets the stream); no event follows. */
    void (*cancel)(h2api_call_t *call);
    /** Streaming: the consumer took the last chunk; read on. */
    void (*proceed)(h2api_call_t *call);
    /** Connections open (in use + idle) for stats. */
    size_t (*num_connections)(h2api_upstream_t *up);
};

/* the upstream (one per configured upstream per worker) */
struct st_h2api_upstream_t {
    h2api_client_t *client;
    const h2api_conf_upstream_t *conf;
    h2o_loop_t *loop;
    h2o_context_t *ctx;
    const h2api__transport_t *transport;
    SSL_CTX *ssl_ctx;      /* https: the context offered to the upstream (ALPN h2 only with the h2 transport) */
    char *server_name;     /* TLS SNI and name checks */
    h2o_iovec_t authority; /* Host: / :authority (RFC 9110 §7.2) */
    h2o_timeout_t deadline_timeout;
    h2o_timeout_t connect_timeout;
    h2o_timeout_t first_byte_timeout;
    h2o_timeout_t pool_timeout;
    h2o_timeout_t io_timeout;
    h2o_linklist_t waiting;         /* calls waiting for a slot or a connection, oldest first */
    h2o_timeout_entry_t pump_entry; /* starts waiting calls from the loop */
    size_t num_waiting;
    size_t num_admitted; /* calls holding a max_concurrent_requests slot */
    size_t in_flight;    /* attempts with the transport */
    struct {
        double tokens;
        uint64_t updated_at_ms;
        double rate_per_ms; /* this worker's share */
        double burst;
    } bucket;
    struct {
        unsigned consecutive_failures;
        unsigned trips;         /* times it opened in a row (a success resets it); sets the open time */
        uint64_t open_until_ms; /* 0 = closed; from then on, half-open */
        unsigned trials;        /* trial calls running while half-open */
        h2o_linklist_t parked;  /* calls waiting for the trials to settle (H2API__CALL_PARKED) */
    } breaker;
    h2api_upstream_stats_t stats;
    /* HTTP/1.1 transport (h1.c) */
    struct {
        h2o_timeout_t paused_io_timeout; /* reads of a stream paused by back-pressure: see h1.c */
    } h1;
    void *h1n; /* the HTTP/1.1 transport's keep-alive pool (h1.c) */
    /* HTTP/2 transport (h2.c) */
    void *h2;
};

struct st_h2api_client_t {
    h2o_context_t *ctx;
    const h2api_conf_t *conf;
    h2api_upstream_t *upstreams;
    size_t num_upstreams;
    h2api_upstream_t *default_upstream;
    unsigned num_workers;
    uint64_t rng[2];
    size_t num_closing; /* uv handles closed by h2api_client_destroy whose close callback has not run */
};

/* ---- events from a transport ---- */
void h2api__call_on_connected(h2api_call_t *call);
void h2api__call_on_head(h2api_call_t *call, int status, const h2o_header_t *headers, size_t num_headers);
/**
 * A chunk of the response body (`bytes` valid during the call only); `is_final` 1 ends the attempt.
 * @return 0 to read on; 1 to stop reading until `proceed` (streaming back-pressure); -1 if the
 *         buffered body would exceed max_response_bytes: the transport closes the connection and
 *         reports on_error(h2api_err_body_too_large). A final chunk's result is ignored.
 */
int h2api__call_on_body(h2api_call_t *call, const void *bytes, size_t len, int is_final);
/**
 * The attempt failed. `before_response` is 1 when no byte of the response head was seen: an
 * idempotent request may then be retried (RFC 9110 §9.2.2), including on a reused keep-alive
 * connection that the upstream closed as we wrote.
 */
void h2api__call_on_error(h2api_call_t *call, const char *errstr, int before_response);
/**
 * The attempt could not run on this transport and was not sent (e.g. ALPN chose http/1.1 on an
 * `http2: auto` upstream, which then switched up->transport): start it again at once on
 * up->transport, without counting it as a retry.
 */
void h2api__call_restart(h2api_call_t *call);
/** The transport has capacity again (a connection or stream was freed): start waiting calls. */
void h2api__upstream_pump(h2api_upstream_t *up);

/**
 * A client TLS context for upstream `conf` (upstream.c): TLS 1.2 or later, the peer certificate
 * checked against `conf->tls.ca_file` (or the system's CAs) when `conf->tls.verify`, and the ALPN
 * list `alpn` (wire format, RFC 7301 §3.1: length-prefixed names, `alpn_len` bytes; NULL for none).
 * @return a new SSL_CTX the caller frees with SSL_CTX_free, or NULL with errbuf filled when the
 * CA file cannot be loaded.
 */
SSL_CTX *h2api__client_ssl_ctx_create(const h2api_conf_upstream_t *conf, const char *alpn, size_t alpn_len, char *errbuf,
                                      size_t errlen);

/* ---- the transports ---- */
extern const h2api__transport_t h2api__transport_h1;
extern const h2api__transport_t h2api__transport_h2;

/**
 * Closes an h2o timeout (its entries must be unlinked) like h2o_timeout_dispose, but with a close
 * callback: h2o_timeout_dispose closes the timer with none (libh2o 2.2.5,
 * lib/common/socket/uv-binding.c.h), and the memory that holds the timer may only be freed
 * after libuv ran its close callback. The client counts these closes and frees its memory (the
 * upstreams and the transports' states) when the last one has run, whatever order libuv runs
 * them in (which it does not document).
 */
void h2api__client_close_timeout(h2api_client_t *client, h2o_timeout_t *timeout);

/**
 * Sets up / tears down the HTTP/1.1 transport's state in `up` (up->h1n). Teardown closes handles
 * (h2api__client_close_timeout); the client frees up->h1n once libuv let go of them.
 */
void h2api__h1_init(h2api_upstream_t *up);
void h2api__h1_dispose(h2api_upstream_t *up);

/**
 * Sets up / tears down the HTTP/2 transport's state in `up` (up->h2).
 * @return 0, or -EINVAL with errbuf filled.
 */
int h2api__h2_init(h2api_upstream_t *up, char *errbuf, size_t errlen);
/** Closes the HTTP/2 connections and handles; the client frees up->h2 once libuv let go of them. */
void h2api__h2_dispose(h2api_upstream_t *up);

#endif
