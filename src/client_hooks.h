/*
 * The outbound client as a worker resource: the lifespan hooks that give every worker its own
 * client pool. They live outside client/ so that the client knows nothing of the app; the core's
 * entry point (h2api_main) registers them for every app.
 */
#ifndef h2api__client_hooks_h
#define h2api__client_hooks_h

#include "app.h"

/** The name of the worker resource holding the worker's h2api_client_t. */
#define H2API_CLIENT_RESOURCE "client"

/**
 * Per-worker lifespan hooks (the httpx.AsyncClient of FastAPI's lifespan): the startup hook
 * creates the worker's client on its loop from the app's config (h2api_client_create) and stores
 * it as the worker resource H2API_CLIENT_RESOURCE; the shutdown hook destroys it and clears the
 * resource. Register them with
 * h2api_app_on_lifespan(app, 1, h2api_client_worker_startup, h2api_client_worker_shutdown, NULL).
 * @return (startup) 0, or -EINVAL with the client's message in `errbuf` (for example a TLS
 *         upstream whose CA file cannot be read): the server then does not start.
 *         (shutdown) always 0.
 */
int h2api_client_worker_startup(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen);
int h2api_client_worker_shutdown(h2api_app_t *app, h2api_worker_t *worker, void *data, char *errbuf, size_t errlen);

#endif
