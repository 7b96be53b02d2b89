/*
 * h2api_main: the command line, config, signals, start and stop of an h2api process (h2api.h).
 * The h2api binary and every app built on the installed library enter here from their main().
 */
#include <errno.h>
#include <getopt.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "h2api.h"
#include "app.h"
#include "client_hooks.h"
#include "conf.h"
#include "demo/demo.h"
#include "http1_guard.h"
#include "http2_guard.h"
#include "log.h"
#include "server.h"

#define H2API_DEFAULT_CONFIG "config/h2api.yaml"

static void usage(FILE *fp, const char *prog)
{
    fprintf(fp,
            "Usage: %s [-c FILE] [-t]\n"
            "  -c, --conf FILE   configuration file (default: " H2API_DEFAULT_CONFIG " if it exists, else the embedded default)\n"
            "  -t, --test        validate the configuration and exit (0: valid, 2: invalid)\n"
            "  -v, --version     print the version and exit\n"
            "  -h, --help        print this help and exit\n"
            "Environment: H2API_LISTEN, H2API_WORKERS, H2API_LOG_LEVEL, H2API_UPSTREAM_URL (see README.md)\n",
            prog);
}

/* Every client connection and every upstream connection is a descriptor: take the hard limit. */
static void raise_nofile_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max)
        return;
    rlim_t was = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
        h2api_log(H2API_LOG_INFO, "open files limit raised from %llu to %llu", (unsigned long long)was,
                  (unsigned long long)lim.rlim_cur);
}

int h2api_main(int argc, char **argv, h2api_setup_cb setup, void *data)
{
    static const struct option longopts[] = {{"conf", required_argument, NULL, 'c'},
                                             {"test", no_argument, NULL, 't'},
                                             {"version", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *prog = argc > 0 && argv[0] != NULL && argv[0][0] != '\0' ? argv[0] : "h2api";
    if (strrchr(prog, '/') != NULL && strrchr(prog, '/')[1] != '\0')
        prog = strrchr(prog, '/') + 1;
    const char *conf_path = NULL;
    int test_only = 0, ch;
    char errbuf[1024];

    while ((ch = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf_path = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'v':
            printf("h2api %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout, prog);
            return 0;
        default:
            usage(stderr, prog);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr, prog);
        return 2;
    }
    if (conf_path == NULL && access(H2API_DEFAULT_CONFIG, R_OK) == 0)
        conf_path = H2API_DEFAULT_CONFIG;

    h2api_conf_t *conf = h2api_conf_load(conf_path, errbuf, sizeof(errbuf));
    if (conf == NULL || h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return 2;
    }
    if (test_only) {
        printf("configuration file %s test is successful\n", conf->path);
        h2api_conf_free(conf);
        return 0;
    }
    h2api_log_set_level(conf->log.level);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();

    /* The client first: the app's own per-worker hooks start after it and stop before it. */
    h2api_app_t *app = h2api_app_create(conf);
    h2api_app_on_lifespan(app, 1, h2api_client_worker_startup, h2api_client_worker_shutdown, NULL);
    int ret;
    if (setup != NULL && (ret = setup(app, data)) != 0) {
        fprintf(stderr, "%s: the app's setup failed: %s\n", prog, strerror(-ret));
        return 1;
    }

    h2api_server_t *server = h2api_server_create(conf, app, errbuf, sizeof(errbuf));
    if (server == NULL) {
        fprintf(stderr, "%s: %s\n", prog, errbuf);
        return 1;
    }
    h2api_app_t *demo = NULL;
    if (conf->demo_upstream.enabled) {
        demo = h2api_demo_create(conf);
        h2api_server_add_app_listener(server, demo, &conf->demo_upstream.listen);
    }
    h2api_log(H2API_LOG_INFO, "h2api %s starting with %s", PACKAGE_VERSION, conf->path);

    ret = h2api_app_startup(app, errbuf, sizeof(errbuf));
    if (ret != 0) {
        h2api_log(H2API_LOG_ERROR, "startup failed: %s", errbuf);
        return 1;
    }
    ret = h2api_server_run(server, errbuf, sizeof(errbuf));
    if (ret != 0)
        h2api_log(H2API_LOG_ERROR, "%s", errbuf);
    /* referencing the guards also links them in from the static library: libh2o parses HTTP/1.1
     * heads and HTTP/2 frames through them */
    h2api_log(H2API_LOG_INFO, "guards: %lu HTTP/1.1 request heads refused, %lu HTTP/2 connections closed for frame floods",
              h2api__http1_guard_refused(), h2api__http2_guard_refused());
    h2api_app_shutdown(app);
    /* Workers leave their loops with idle keep-alive connections open; the process exit closes them. */
    if (ret == 0) {
        h2api_server_destroy(server);
        if (demo != NULL)
            h2api_demo_destroy(demo);
        h2api_app_destroy(app);
        h2api_conf_free(conf);
    }
    return ret == 0 ? 0 : 1;
}
