/*
 * Test peers for the client and gather suites: real servers on 127.0.0.1 that run on the test's
 * own uv loop, so that a test drives the client and the server it talks to with one uv_run.
 *
 * - peer_t: a tiny h2o HTTP/1.1 server (h2o_accept on uv_tcp connections) that counts what it
 *   sees: connections accepted, open at once and closed, requests, requests being answered at
 *   once, and the order in which paths arrived. Endpoints:
 *     /ok                         200, {"ok":true}, content-type application/json, X-Peer-Id: 1
 *     /status/NNN[?retry_after=S] status NNN with body "status NNN" (and Retry-After: S)
 *     /slow?ms=N[&...]            200 after N ms (a uv timer); the body is the request path
 *     /big?bytes=N[&chunked=1]    200 with N bytes 'a' + i % 26, with content-length (or chunked)
 *     /count                      {"requests":N,"connections":M}: requests seen before this one
 *                                 (/count itself not counted) and connections accepted
 *     /echo, /PREFIX/echo         the request as text: "METHOD PATH\n" then the host,
 *                                 user-agent, x-test and content-length headers as
 *                                 "name: value\n", a blank line and the request body
 *   anything else answers 404.
 * - silent_t: a plain uv_tcp listener that accepts, reads and discards, and never answers; it
 *   counts connections accepted and connections the client closed (EOF seen).
 * - peer_free_port: a port with nothing listening (bound, then closed) for "connection refused".
 *
 * Every object here belongs to one loop and one thread. Stopping is two steps because uv
 * handles close asynchronously: *_stop starts closing, then the loop runs (the test's teardown
 * runs it until *_stopped), then *_free releases the memory.
 */
#ifndef h2api__test_peer_h
#define h2api__test_peer_h

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <h2o.h>

#define PEER_LOG_MAX 64

typedef struct st_peer_t {
    uint16_t port;
    /* connections */
    size_t num_accepted;
    size_t num_open;
    size_t max_open; /* most connections open at once */
    size_t num_closed;
    /* requests */
    size_t num_requests;        /* /count excluded */
    size_t num_active;          /* requests being answered (a /slow one until its timer fires) */
    size_t max_active;          /* most requests being answered at once */
    size_t num_aborted;         /* /slow requests disposed of before their answer */
    char log[PEER_LOG_MAX][64]; /* request paths (query included, truncated), in arrival order */
    size_t log_len;
    /* private */
    uv_loop_t *_loop;
    h2o_globalconf_t _globalconf;
    h2o_context_t _ctx;
    h2o_accept_ctx_t _accept_ctx;
    uv_tcp_t _listener;
    h2o_linklist_t _slow; /* /slow requests waiting for their timer */
    int _stopping;
    int _listener_closed;
} peer_t;

/**
 * Starts an h2o server on 127.0.0.1:`port` (0: any free port; read peer->port).
 * @return the peer, or NULL if the port cannot be bound (the reason on stderr).
 */
peer_t *peer_start(uv_loop_t *loop, uint16_t port);

/**
 * Stops accepting and answers every /slow request still waiting at once, so that each
 * connection ends (the server closes a connection when the client closed it and it has no
 * request in progress). The client must have closed its connections (its calls cancelled, the
 * client destroyed) for peer_stopped to become true.
 */
void peer_stop(peer_t *peer);

/** 1 once every connection and the listener are closed after peer_stop. */
int peer_stopped(peer_t *peer);

/** Disposes of the server's context and frees the peer; peer_stopped must be true. */
void peer_free(peer_t *peer);

typedef struct st_silent_t {
    uint16_t port;
    size_t num_accepted;
    size_t num_open;
    size_t num_client_closed; /* connections on which EOF (or a reset) was read */
    size_t bytes_received;
    /* private */
    uv_loop_t *_loop;
    uv_tcp_t _listener;
    h2o_linklist_t _conns;
    size_t _handles; /* open or closing, the listener included */
} silent_t;

/** Starts a listener on 127.0.0.1 (any free port) that never answers; NULL on error. */
silent_t *silent_start(uv_loop_t *loop);

/** Closes every connection and the listener. */
void silent_stop(silent_t *silent);

/** 1 once every handle of the silent listener is closed. */
int silent_stopped(silent_t *silent);

/** Frees the silent listener; silent_stopped must be true. */
void silent_free(silent_t *silent);

/** A port on 127.0.0.1 with nothing listening: bound to port 0, read back, then closed. 0 on error. */
uint16_t peer_free_port(void);

/**
 * Runs `loop` until `done(data)` returns non-zero or `max_ms` passed (a uv timer bounds the
 * wait). `done` is checked before the loop blocks, so the run ends in the turn that made it true.
 * @return 1 if `done` became true, 0 on time-out.
 */
int peer_run_until(uv_loop_t *loop, int (*done)(void *data), void *data, uint64_t max_ms);

/** Runs `loop` for `ms` milliseconds (callbacks that arrive meanwhile run). */
void peer_run_for(uv_loop_t *loop, uint64_t ms);

/**
 * Closes every handle still open on `loop`, runs it until they are closed, and closes it.
 * @return the number of handles that were still open and not closing (0 when everything was
 *         cleaned up by its owner), or -1 if uv_loop_close failed.
 */
int peer_loop_close(uv_loop_t *loop);

#endif
