/*
 * A worker: one thread with its own uv loop and h2o context. Internal to src/ (the app layer and
 * server.c); handlers see it only through the accessors in app.h.
 */
#ifndef h2api__worker_h
#define h2api__worker_h

#include <pthread.h>
#include <uv.h>
#include <h2o.h>
#include "app.h"

#define H2API_WORKER_MAX_RESOURCES 16

struct st_h2api_worker_t {
    h2o_context_t ctx; /* first: h2api__worker_of(req->conn->ctx) relies on it */
    uv_loop_t loop;
    unsigned index;
    unsigned num_workers;
    struct st_h2api_server_t *server;
    h2api_app_t *app;
    pthread_t thread;
    int draining;
    int ready;
    uint64_t rng[2];               /* request-id generator state */
    size_t num_connections;        /* accepted and not yet closed */
    h2o_linklist_t conns;          /* h2api_conn_t, oldest first */
    size_t num_closing;            /* of those, shut down to make room and not yet closed */
    size_t num_requests_in_flight; /* reached the dispatcher and not yet disposed of */
    struct {
        const char *name;
        void *value;
    } resources[H2API_WORKER_MAX_RESOURCES];
    /* HTTP/1.1 requests waiting on upstream work, checked for a client that went away */
    h2o_linklist_t watched;
    uv_timer_t watch_timer;
    /* HTTP/2 requests whose handler runs on the next loop turn (dispatch.c, see defer_handler) */
    h2o_linklist_t deferred;
    uv_timer_t deferred_timer;
    size_t num_resources;
};

/**
 * The accepted connection behind an h2o server socket: server.c stores it in the socket's
 * on_close.data, a field libh2o uses only for client (socket pool) sockets.
 */
typedef struct st_h2api_conn_t {
    uv_tcp_t handle;
    h2api_worker_t *worker;
    h2o_linklist_t link;    /* in worker->conns, oldest first */
    size_t num_active;      /* requests dispatched on it and not yet disposed of */
    uint64_t last_active_ms; /* accepted, or a request dispatched or finished on it (loop time) */
    /* HTTP/2 stream accounting (http2_guard.c, counted by dispatch.c) */
    uint64_t window_start_ms;  /* of the current one-second window of opened streams */
    size_t streams_in_window;
    uint64_t cancel_window_start_ms; /* of the current ten-second window of cancelled streams */
    size_t cancelled_in_window;
    /* HTTP/2 frame-flood accounting (http2_guard.c) */
    uint64_t control_window_start_ms; /* of the current ten-second window of SETTINGS and PING frames */
    size_t control_in_window;
    size_t continuations;             /* CONTINUATION frames since the last HEADERS */
    h2o_socket_cb read_cb;            /* libh2o's reader of this connection, behind the guard's */
    int closing;               /* cut short (h2api__conn_cut): its requests get no upstream work */
    int evicted;               /* shut down, idle, to make room for a new client or for the drain (server.c) */
    int is_h2;                 /* has carried an HTTP/2 request */
    int is_internal_upstream;  /* accepted by the embedded demo upstream's listener */
    uint64_t bytes_acked;           /* by the client, at the last send-progress check (server.c) */
    uint64_t send_stalled_since_ms; /* loop time its send queue was first seen stuck; 0: it is not */
    char peer[64];             /* the client's numeric address, formatted on first use (app.c) */
    size_t peer_len;
} h2api_conn_t;

/* How h2api__conn_cut ends a connection. */
typedef enum en_h2api_cut_t {
    /* leave the socket to libh2o, which is already closing the connection (a refused HTTP/2 frame) */
    H2API_CUT_LEAVE_SOCKET,
    /* shutdown(2) both directions: libh2o reads the end of stream, or fails its pending write,
     * and closes the connection through its own path; data already queued still goes out */
    H2API_CUT_SHUTDOWN,
    /* the same, and the close sends a TCP reset (SO_LINGER with a zero timeout) that discards
     * what the kernel still holds unsent, as nginx's reset_timedout_connection: for a client that
     * stopped reading, whose queued megabytes would otherwise keep the connection alive */
    H2API_CUT_RESET,
} h2api_cut_t;

/**
 * Cuts `conn` short (abuse, or a client that stopped reading) and logs `why` (a static string)
 * once, as a warning; `conn->closing` makes the requests still dispatched on it start no upstream
 * work; `how` says what happens to the socket (h2api_cut_t). Does nothing if it is already
 * closing. (server.c)
 */
void h2api__conn_cut(h2api_conn_t *conn, const char *why, h2api_cut_t how);

/**
 * Sets up the dispatcher's per-worker state (dispatch.c): the watcher of HTTP/1.1 clients and the
 * queue of deferred HTTP/2 requests. Call on the worker's thread before it accepts.
 */
void h2api__worker_init_dispatch(h2api_worker_t *worker);

/** The worker that owns h2o context `ctx` (every context we create is a worker's first member). */
static inline h2api_worker_t *h2api__worker_of(h2o_context_t *ctx)
{
    return (h2api_worker_t *)ctx;
}

#endif
