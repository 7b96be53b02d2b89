/*
 * The client and gather suites' fixture (fixture.h).
 */
#include <check.h>
#include <string.h>
#include "fixture.h"

fixture_t fx;

void fx_setup(void)
{
    memset(&fx, 0, sizeof(fx));
    ck_assert_int_eq(uv_loop_init(&fx.loop), 0);
    h2o_config_init(&fx.globalconf);
    h2o_config_register_host(&fx.globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_context_init(&fx.ctx, &fx.loop, &fx.globalconf);
    h2o_mem_init_pool(&fx.pool);
    fx.peer = peer_start(&fx.loop, 0);
    ck_assert_ptr_nonnull(fx.peer);
}

static int everything_stopped(void *data)
{
    return (fx.peer == NULL || peer_stopped(fx.peer)) && (fx.silent == NULL || silent_stopped(fx.silent));
}

void fx_teardown(void)
{
    h2o_mem_clear_pool(&fx.pool); /* cancels what is still running */
    if (fx.client != NULL)
        h2api_client_destroy(fx.client);
    if (fx.peer != NULL)
        peer_stop(fx.peer);
    if (fx.silent != NULL)
        silent_stop(fx.silent);
    ck_assert_msg(peer_run_until(&fx.loop, everything_stopped, NULL, 3000), "the peers did not stop: %zu connections open",
                  fx.peer != NULL ? fx.peer->num_open : 0);
    if (fx.peer != NULL)
        peer_free(fx.peer);
    if (fx.silent != NULL)
        silent_free(fx.silent);
    h2o_context_dispose(&fx.ctx);
    h2o_config_dispose(&fx.globalconf);
    h2api_conf_free(fx.conf);
    ck_assert_int_eq(peer_loop_close(&fx.loop), 0);
}

void fx_start_client(const char *yaml, size_t len)
{
    char errbuf[256];

    fx.conf = h2api_conf_load_string("test.yaml", yaml, len, errbuf, sizeof(errbuf));
    ck_assert_msg(fx.conf != NULL, "%s\n%.*s", errbuf, (int)len, yaml);
    fx.client = h2api_client_create(&fx.ctx, fx.conf, 1, errbuf, sizeof(errbuf));
    ck_assert_msg(fx.client != NULL, "%s", errbuf);
}

h2api_upstream_t *fx_upstream(const char *name)
{
    h2api_upstream_t *up = h2api_client_upstream(fx.client, name);
    ck_assert_ptr_nonnull(up);
    return up;
}

static int done_reached(void *data)
{
    return fx.num_done >= *(int *)data;
}

void fx_wait_done(int n, uint64_t max_ms)
{
    ck_assert_msg(peer_run_until(&fx.loop, done_reached, &n, max_ms), "%d of %d callbacks after %llu ms", fx.num_done, n,
                  (unsigned long long)max_ms);
}

int fx_peer_stopped(void *data)
{
    return peer_stopped(fx.peer);
}

int fx_peer_closed_reached(void *data)
{
    return fx.peer->num_closed >= *(size_t *)data;
}
