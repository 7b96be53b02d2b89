/*
 * h2api: the public header of the installed library (<h2api.h>, `pkg-config --cflags --libs h2api`).
 *
 * Placeholder holding the entry point only; the route author's API (routes, stages, JSON) joins
 * it from the `api` branch.
 */
#ifndef h2api_h
#define h2api_h

#ifdef __cplusplus
extern "C" {
#endif

/** An app: its route table and lifespan hooks (opaque). */
typedef struct st_h2api_app_t h2api_app_t;

typedef int (*h2api_setup_cb)(h2api_app_t *app, void *data); /* registers routes and lifespan hooks; 0 or -errno */

/**
 * The whole life of an h2api process, for an app's main(): `return h2api_main(argc, argv, setup, NULL);`
 *
 * Parses the command line of the h2api binary: `-c FILE` / `--conf FILE` (the YAML config;
 * default config/h2api.yaml in the working directory if it is readable, else the embedded copy of
 * the shipped config), `-t` / `--test` (validate the config and exit), `--version`, `--help`.
 * Then loads the config and its environment overrides (H2API_LISTEN, H2API_WORKERS,
 * H2API_LOG_LEVEL, H2API_UPSTREAM_URL), sets the log level, ignores SIGPIPE, raises the
 * open-files limit to its hard limit, creates the app, registers the outbound client pool as a
 * per-worker lifespan resource (each worker gets one client over the configured upstreams), and
 * calls `setup(app, data)` once, on the calling thread, before any listener is bound: it
 * registers the app's routes and its own lifespan hooks (which therefore start after the client
 * and stop before it). Then it binds the listeners (and the embedded demo upstream when the
 * config enables it), runs the startup hooks and serves until SIGTERM or SIGINT, drains (new
 * connections refused, /readyz 503, requests in flight finish up to shutdown_timeout_ms), runs
 * the shutdown hooks and returns. A second signal during the drain exits the process at once
 * with status 1 (h2api_main does not return then).
 *
 * @param argc, argv  main()'s arguments, unchanged (argv[0] names the program in --help).
 * @param setup  the app's composition: 0 on success, or a negative errno (the route table is
 *               invalid, a hook cannot be registered) to stop before serving. NULL: no routes.
 * @param data   passed to `setup` as is (borrowed).
 * @return the process exit status, for main() to return: 0 after `--version`, `--help`, a
 *         successful `-t` or a clean drain; 2 for a bad command line or an invalid config
 *         (`FILE:LINE: message` on stderr); 1 if `setup` failed, a listener could not be bound,
 *         a TLS certificate could not be loaded or a startup hook failed (reason on stderr).
 * Call it once per process, from the main thread: it owns the process's signals and getopt state.
 */
int h2api_main(int argc, char **argv, h2api_setup_cb setup, void *data);

#ifdef __cplusplus
}
#endif

#endif
