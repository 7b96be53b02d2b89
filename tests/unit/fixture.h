/*
 * The fixture the client and gather suites share: per test, a fresh uv loop, an h2o context for
 * the client on it, a memory pool for the test's calls and an h2o peer (peer.h) on a free port;
 * the test loads its upstream config and creates the client with fx_start_client, and the
 * teardown cancels what is still running, stops the peers (bounded), and closes the loop,
 * failing the test if a handle was left open.
 *
 * Use it as the checked fixture of every TCase (unit_suite_create(name, setup, fx_teardown, ...),
 * a suite's setup calling fx_setup first), so that each test, in its own process unless
 * CK_FORK=no, starts from a clean `fx`. Everything here belongs to the test's one thread.
 */
#ifndef h2api__test_fixture_h
#define h2api__test_fixture_h

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "client/upstream.h"
#include "conf.h"
#include "peer.h"

typedef struct st_fixture_t {
    uv_loop_t loop;
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;      /* the client's, on `loop` */
    h2o_mem_pool_t pool;    /* the test's calls; cleared first by fx_teardown, which cancels them */
    peer_t *peer;           /* started by fx_setup; a test that replaces it stores the new one here */
    silent_t *silent;       /* NULL unless the test starts one; stopped and freed by fx_teardown */
    h2api_conf_t *conf;     /* NULL until fx_start_client */
    h2api_client_t *client; /* NULL until fx_start_client; a test that destroys it sets it to NULL */
    int num_done;           /* callbacks run, all calls together: the suite's callbacks count them */
} fixture_t;

/* The running test's fixture. */
extern fixture_t fx;

/** Resets `fx` and starts the loop, the client's context, the pool and the peer (fails the test if the peer cannot start). */
void fx_setup(void);

/**
 * Clears the pool (cancelling the calls in it), destroys the client, stops the peer and the
 * silent listener and runs the loop until they have stopped (at most 3 s), frees them and the
 * config, and closes the loop. Fails the test if the peers do not stop or a handle was left open.
 */
void fx_teardown(void);

/** Loads `yaml` (`len` bytes, as test.yaml) into fx.conf and creates fx.client with one worker; fails the test on an error. */
void fx_start_client(const char *yaml, size_t len);

/** The upstream `name` of fx.client; fails the test if there is none. */
h2api_upstream_t *fx_upstream(const char *name);

/** Runs the loop until fx.num_done reaches `n`; fails the test after `max_ms` milliseconds. */
void fx_wait_done(int n, uint64_t max_ms);

/** For peer_run_until: 1 once fx.peer has stopped (peer_stopped). `data` is unused. */
int fx_peer_stopped(void *data);

/** For peer_run_until: 1 once fx.peer has seen at least *(size_t *)data connections closed. */
int fx_peer_closed_reached(void *data);

#endif
