/*
 * The server: listeners, worker threads (one uv_loop + h2o_context + SO_REUSEPORT listener
 * each), signals and the graceful drain.
 */
#ifndef h2api__server_h
#define h2api__server_h

#include <h2o.h>
#include "app.h"
#include "conf.h"
#include "log.h"

typedef struct st_h2api_server_t h2api_server_t;

/**
 * Creates a server for `conf` (borrowed; outlives the server) serving `app` on every
 * `listen` entry. TLS listeners get TLS 1.2+ and ALPN h2 / http/1.1.
 * @return the server, or NULL with a message in errbuf (bad certificate or key file).
 */
h2api_server_t *h2api_server_create(const h2api_conf_t *conf, h2api_app_t *app, char *errbuf, size_t errlen);

/**
 * Serves `app`, an upstream of the main app (the embedded demo), on one more listener `listen`,
 * in the same workers. During the drain this listener stays open until the workers stop, so
 * that the main app's requests in flight can still reach it. Call before h2api_server_run.
 */
void h2api_server_add_app_listener(h2api_server_t *server, h2api_app_t *app, const h2api_conf_listen_t *listen);

/**
 * Binds every listener in every worker, runs the per-worker startup hooks, then serves until
 * SIGTERM or SIGINT, drains (stop accepting, /readyz 503, in-flight requests finish up to
 * conf->shutdown_timeout_ms), runs the per-worker shutdown hooks and returns. A second signal
 * exits the process at once with status 1.
 * @return 0 after a clean drain; -errno if a listener could not be bound or a startup hook
 *         failed (message in errbuf).
 */
int h2api_server_run(h2api_server_t *server, char *errbuf, size_t errlen);

/** Frees the server (after h2api_server_run returned). */
void h2api_server_destroy(h2api_server_t *server);

#endif
