/*
 * Unit tests of the configuration loader (src/conf.c): the embedded default, a file with every
 * key, each kind of refused file (asserting the exact FILE:LINE message), environment overrides
 * and base_url parsing.
 *
 * Refused files are written to /tmp with mkstemp and loaded by path; the path in the message is
 * replaced by "FILE" so that the expected messages can be written out in full.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_main.h"
#include "conf.h"

/* most test files start with this line, so that the lines below it count from 2 */
#define LISTEN "listen: 127.0.0.1:8000\n"

static char errbuf[1024];

/** Writes `text` to a new file under /tmp. @return its path (heap); the caller unlinks and frees it. */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/h2api_test_conf_XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(text);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/**
 * Loads `text` through a temporary file. On failure errbuf holds the message, with the file's
 * path (which must lead it) replaced by "FILE".
 */
static h2api_conf_t *load_text(const char *text)
{
    char *path = write_temp(text);
    h2api_conf_t *conf = h2api_conf_load(path, errbuf, sizeof(errbuf));
    size_t path_len = strlen(path);

    if (conf == NULL) {
        ck_assert_msg(strncmp(errbuf, path, path_len) == 0, "message does not start with the path: %s", errbuf);
        memcpy(errbuf, "FILE", 4);
        memmove(errbuf + 4, errbuf + path_len, strlen(errbuf + path_len) + 1);
    } else {
        ck_assert_str_eq(conf->path, path);
    }
    unlink(path);
    free(path);
    return conf;
}

/** Loads `text` from memory under the name "t.yaml". */
static h2api_conf_t *load_mem(const char *text)
{
    return h2api_conf_load_string("t.yaml", text, strlen(text), errbuf, sizeof(errbuf));
}

/* A macro, so that a failure names the line of the case. */
#define assert_refused(text, expected)                                                                                             \
    do {                                                                                                                           \
        h2api_conf_t *refused_ = load_text(text);                                                                                  \
        ck_assert_msg(refused_ == NULL, "accepted:\n%s", text);                                                                    \
        ck_assert_str_eq(errbuf, expected);                                                                                        \
    } while (0)

/* ---- the embedded default ---- */

static void assert_shipped_values(const h2api_conf_t *conf)
{
    const h2api_conf_upstream_t *up;

    ck_assert_uint_eq(conf->num_listens, 1);
    ck_assert_str_eq(conf->listens[0].host, "127.0.0.1");
    ck_assert_uint_eq(conf->listens[0].port, 8000);
    ck_assert_ptr_null(conf->listens[0].tls_cert_file);
    ck_assert_ptr_null(conf->listens[0].tls_key_file);
    ck_assert_uint_eq(conf->workers, 0);
    ck_assert_uint_eq(conf->limits.max_body_bytes, 1024 * 1024);
    ck_assert_uint_eq(conf->limits.max_header_bytes, 8192);
    ck_assert_uint_eq(conf->limits.request_header_timeout_ms, 10000);
    ck_assert_uint_eq(conf->limits.idle_timeout_ms, 10000);
    ck_assert_uint_eq(conf->limits.max_connections_per_worker, 4096);
    ck_assert_uint_eq(conf->limits.http2_max_concurrent_streams, 100);
    ck_assert_uint_eq(conf->limits.max_url_bytes, 4096);
    ck_assert_uint_eq(conf->limits.http2_max_streams_per_second, 100000);
    ck_assert_uint_eq(conf->limits.http2_max_cancelled_streams, 1000);
    ck_assert_uint_eq(conf->limits.http2_max_control_frames, 1000);
    ck_assert_uint_eq(conf->limits.http2_max_continuation_frames, 8);
    ck_assert_uint_eq(conf->limits.max_header_field_bytes, 8192);
    ck_assert_uint_eq(conf->limits.max_header_count, 100);
    ck_assert_uint_eq(conf->limits.send_timeout_ms, 60000);
    ck_assert_uint_eq(conf->shutdown_timeout_ms, 10000);
    ck_assert_int_eq(conf->log.level, H2API_LOG_INFO);
    ck_assert_int_eq(conf->log.access_log, 1);

    ck_assert_uint_eq(conf->num_upstreams, 1);
    ck_assert_str_eq(conf->default_upstream, "jsonplaceholder");
    up = h2api_conf_find_upstream(conf, "jsonplaceholder");
    ck_assert_ptr_eq(up, &conf->upstreams[0]);
    ck_assert_str_eq(up->name, "jsonplaceholder");
    ck_assert_str_eq(up->base_url, "http://127.0.0.1:8081");
    ck_assert_int_eq(up->is_tls, 0);
    ck_assert_str_eq(up->host, "127.0.0.1");
    ck_assert_uint_eq(up->port, 8081);
    ck_assert_str_eq(up->path_prefix, "");
    ck_assert_uint_eq(up->num_headers, 1);
    ck_assert_str_eq(up->headers[0].name, "user-agent");
    ck_assert_str_eq(up->headers[0].value, "h2api/0.1");
    ck_assert_int_eq(up->http2, H2API_HTTP2_AUTO);
    ck_assert_uint_eq(up->timeout_ms, 10000);
    ck_assert_uint_eq(up->connect_timeout_ms, 5000);
    ck_assert_uint_eq(up->first_byte_timeout_ms, 10000);
    ck_assert_uint_eq(up->io_timeout_ms, 5000);
    ck_assert_uint_eq(up->pool_timeout_ms, 5000);
    ck_assert_uint_eq(up->max_connections, 100);
    ck_assert_uint_eq(up->max_keepalive_connections, 20);
    ck_assert_uint_eq(up->keepalive_expiry_ms, 5000);
    ck_assert_uint_eq(up->max_concurrent_requests, 0);
    ck_assert_uint_eq(up->max_response_bytes, 8 * 1024 * 1024);
    ck_assert(up->rate_limit.requests_per_second == 0);
    ck_assert_uint_eq(up->rate_limit.burst, 0);
    ck_assert_uint_eq(up->retry.attempts, 3);
    ck_assert_uint_eq(up->retry.num_statuses, 3);
    ck_assert_int_eq(up->retry.statuses[0], 502);
    ck_assert_int_eq(up->retry.statuses[1], 503);
    ck_assert_int_eq(up->retry.statuses[2], 504);
    ck_assert_uint_eq(up->retry.backoff_base_ms, 100);
    ck_assert_uint_eq(up->retry.backoff_cap_ms, 2000);
    ck_assert_uint_eq(up->circuit_breaker.failures, 5);
    ck_assert_uint_eq(up->circuit_breaker.base_open_ms, 1000);
    ck_assert_uint_eq(up->circuit_breaker.open_ms, 10000);
    ck_assert_uint_eq(up->circuit_breaker.half_open_calls, 3);
    ck_assert_int_eq(up->tls.verify, 1);
    ck_assert_ptr_null(up->tls.ca_file);
    ck_assert_ptr_null(up->tls.sni);

    ck_assert_int_eq(conf->demo_upstream.enabled, 1);
    ck_assert_str_eq(conf->demo_upstream.listen.host, "127.0.0.1");
    ck_assert_uint_eq(conf->demo_upstream.listen.port, 8081);
    ck_assert_uint_eq(conf->app.bulk_concurrency, 5);
}

START_TEST(test_default)
{
    h2api_conf_t *conf = h2api_conf_load(NULL, errbuf, sizeof(errbuf));
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_str_eq(conf->path, "<embedded>");
    assert_shipped_values(conf);
    ck_assert_ptr_null(h2api_conf_find_upstream(conf, "nope"));
    ck_assert_ptr_null(h2api_conf_find_upstream(conf, NULL));
    h2api_conf_free(conf);

    /* the embedded text is the same through load_string and through a file */
    conf = load_text(h2api_conf_default_yaml);
    ck_assert_msg(conf != NULL, "%s", errbuf);
    assert_shipped_values(conf);
    h2api_conf_free(conf);

    h2api_conf_free(NULL);
}
END_TEST

/* ---- a good file with every key ---- */

static const char full_yaml[] = "listen:\n"                                        /* 1 */
                                "  - 0.0.0.0:8080\n"                               /* 2 */
                                "  - \"[::1]:8443\"\n"                             /* 3 */
                                "  - address: localhost:9443\n"                    /* 4 */
                                "    tls:\n"                                       /* 5 */
                                "      cert: /etc/h2api/cert.pem\n"                /* 6 */
                                "      key: /etc/h2api/key.pem\n"                  /* 7 */
                                "  - {address: '[::]:0'}\n"                        /* 8 */
                                "workers: 4\n"                                     /* 9 */
                                "limits:\n"                                        /* 10 */
                                "  max_body_bytes: 2MiB\n"                         /* 11 */
                                "  max_header_bytes: 4k\n"                         /* 12 */
                                "  request_header_timeout_ms: 3000\n"              /* 13 */
                                "  idle_timeout_ms: 4000\n"                        /* 14 */
                                "  max_connections_per_worker: 1000\n"             /* 15 */
                                "  http2_max_concurrent_streams: 50\n"             /* 16 */
                                "shutdown_timeout_ms: 0\n"                         /* 17 */
                                "log:\n"                                           /* 18 */
                                "  level: debug\n"                                 /* 19 */
                                "  access_log: false\n"                            /* 20 */
                                "default_upstream: backup\n"                       /* 21 */
                                "upstreams:\n"                                     /* 22 */
                                "  api:\n"                                         /* 23 */
                                "    base_url: https://API.example.com:8443/v2/\n" /* 24 */
                                "    headers:\n"                                   /* 25 */
                                "      User-Agent: test/1.0\n"                     /* 26 */
                                "      x-api-key: \"secret\"\n"                    /* 27 */
                                "      x-version: 2\n"                             /* 28 */
                                "    http2: on\n"                                  /* 29 */
                                "    timeout_ms: 20000\n"                          /* 30 */
                                "    connect_timeout_ms: 1000\n"                   /* 31 */
                                "    first_byte_timeout_ms: 15000\n"               /* 32 */
                                "    io_timeout_ms: 2000\n"                        /* 33 */
                                "    pool_timeout_ms: 3000\n"                      /* 34 */
                                "    max_connections: 10\n"                        /* 35 */
                                "    max_keepalive_connections: 10\n"              /* 36 */
                                "    keepalive_expiry_ms: 60000\n"                 /* 37 */
                                "    max_concurrent_requests: 8\n"                 /* 38 */
                                "    max_response_bytes: 512KiB\n"                 /* 39 */
                                "    rate_limit: {requests_per_second: 2.5, burst: 7}\n"
                                "    retry: {attempts: 1, statuses: [429, 503], backoff_base_ms: 0, backoff_cap_ms: 0}\n"
                                "    circuit_breaker: {failures: 0, open_ms: 500}\n"
                                "    tls: {verify: false, ca_file: /etc/ssl/ca.pem, sni: api.internal}\n"
                                "  backup:\n" /* 44 */
                                "    base_url: http://[::1]:8081\n"
                                "    http2: \"off\"\n"
                                "demo_upstream:\n"
                                "  enabled: false\n"
                                "  listen: \"[::1]:9081\"\n" /* 49 */
                                "app:\n"
                                "  bulk_concurrency: 20\n";

START_TEST(test_full)
{
    h2api_conf_t *conf = load_text(full_yaml);
    const h2api_conf_upstream_t *up;

    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->num_listens, 4);
    ck_assert_str_eq(conf->listens[0].host, "0.0.0.0");
    ck_assert_uint_eq(conf->listens[0].port, 8080);
    ck_assert_int_eq(conf->listens[0].line, 2);
    ck_assert_str_eq(conf->listens[1].host, "::1");
    ck_assert_uint_eq(conf->listens[1].port, 8443);
    ck_assert_ptr_null(conf->listens[1].tls_cert_file);
    ck_assert_str_eq(conf->listens[2].host, "127.0.0.1");
    ck_assert_uint_eq(conf->listens[2].port, 9443);
    ck_assert_str_eq(conf->listens[2].tls_cert_file, "/etc/h2api/cert.pem");
    ck_assert_str_eq(conf->listens[2].tls_key_file, "/etc/h2api/key.pem");
    ck_assert_int_eq(conf->listens[2].line, 4);
    ck_assert_str_eq(conf->listens[3].host, "::");
    ck_assert_uint_eq(conf->listens[3].port, 0);
    ck_assert_int_eq(conf->listens[3].line, 8);

    ck_assert_uint_eq(conf->workers, 4);
    ck_assert_uint_eq(conf->limits.max_body_bytes, 2 * 1024 * 1024);
    ck_assert_uint_eq(conf->limits.max_header_bytes, 4096);
    ck_assert_uint_eq(conf->limits.request_header_timeout_ms, 3000);
    ck_assert_uint_eq(conf->limits.idle_timeout_ms, 4000);
    ck_assert_uint_eq(conf->limits.max_connections_per_worker, 1000);
    ck_assert_uint_eq(conf->limits.http2_max_concurrent_streams, 50);
    ck_assert_uint_eq(conf->shutdown_timeout_ms, 0);
    ck_assert_int_eq(conf->log.level, H2API_LOG_DEBUG);
    ck_assert_int_eq(conf->log.access_log, 0);

    ck_assert_uint_eq(conf->num_upstreams, 2);
    ck_assert_str_eq(conf->default_upstream, "backup");
    up = h2api_conf_find_upstream(conf, "api");
    ck_assert_ptr_eq(up, &conf->upstreams[0]);
    ck_assert_int_eq(up->line, 23);
    ck_assert_str_eq(up->base_url, "https://API.example.com:8443/v2/");
    ck_assert_int_eq(up->is_tls, 1);
    ck_assert_str_eq(up->host, "api.example.com");
    ck_assert_uint_eq(up->port, 8443);
    ck_assert_str_eq(up->path_prefix, "/v2");
    ck_assert_uint_eq(up->num_headers, 3);
    ck_assert_str_eq(up->headers[0].name, "user-agent");
    ck_assert_str_eq(up->headers[0].value, "test/1.0");
    ck_assert_str_eq(up->headers[1].name, "x-api-key");
    ck_assert_str_eq(up->headers[1].value, "secret");
    ck_assert_str_eq(up->headers[2].name, "x-version");
    ck_assert_str_eq(up->headers[2].value, "2");
    ck_assert_int_eq(up->http2, H2API_HTTP2_ON);
    ck_assert_uint_eq(up->timeout_ms, 20000);
    ck_assert_uint_eq(up->connect_timeout_ms, 1000);
    ck_assert_uint_eq(up->first_byte_timeout_ms, 15000);
    ck_assert_uint_eq(up->io_timeout_ms, 2000);
    ck_assert_uint_eq(up->pool_timeout_ms, 3000);
    ck_assert_uint_eq(up->max_connections, 10);
    ck_assert_uint_eq(up->max_keepalive_connections, 10);
    ck_assert_uint_eq(up->keepalive_expiry_ms, 60000);
    ck_assert_uint_eq(up->max_concurrent_requests, 8);
    ck_assert_uint_eq(up->max_response_bytes, 512 * 1024);
    ck_assert(up->rate_limit.requests_per_second == 2.5);
    ck_assert_uint_eq(up->rate_limit.burst, 7);
    ck_assert_uint_eq(up->retry.attempts, 1);
    ck_assert_uint_eq(up->retry.num_statuses, 2);
    ck_assert_int_eq(up->retry.statuses[0], 429);
    ck_assert_int_eq(up->retry.statuses[1], 503);
    ck_assert_uint_eq(up->retry.backoff_base_ms, 0);
    ck_assert_uint_eq(up->retry.backoff_cap_ms, 0);
    ck_assert_uint_eq(up->circuit_breaker.failures, 0);
    ck_assert_uint_eq(up->circuit_breaker.open_ms, 500);
    ck_assert_uint_eq(up->circuit_breaker.base_open_ms, 500); /* an unwritten base yields to open_ms */
    ck_assert_int_eq(up->tls.verify, 0);
    ck_assert_str_eq(up->tls.ca_file, "/etc/ssl/ca.pem");
    ck_assert_str_eq(up->tls.sni, "api.internal");

    up = h2api_conf_find_upstream(conf, "backup");
    ck_assert_ptr_eq(up, &conf->upstreams[1]);
    ck_assert_int_eq(up->line, 44);
    ck_assert_str_eq(up->host, "::1");
    ck_assert_uint_eq(up->port, 8081);
    ck_assert_int_eq(up->http2, H2API_HTTP2_OFF);
    ck_assert_uint_eq(up->num_headers, 0);
    ck_assert_uint_eq(up->timeout_ms, 10000); /* defaults filled for every upstream */
    ck_assert_uint_eq(up->max_keepalive_connections, 20);
    ck_assert_uint_eq(up->retry.num_statuses, 3);

    ck_assert_int_eq(conf->demo_upstream.enabled, 0);
    ck_assert_str_eq(conf->demo_upstream.listen.host, "::1");
    ck_assert_uint_eq(conf->demo_upstream.listen.port, 9081);
    ck_assert_int_eq(conf->demo_upstream.listen.line, 49);
    ck_assert_uint_eq(conf->app.bulk_concurrency, 20);
    h2api_conf_free(conf);
}
END_TEST

/* ---- defaults and the values derived from others ---- */

START_TEST(test_minimal)
{
    h2api_conf_t *conf = load_text("listen:\n  - 127.0.0.1:0\n");

    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->num_listens, 1);
    ck_assert_uint_eq(conf->listens[0].port, 0);
    ck_assert_uint_eq(conf->workers, 0);
    ck_assert_uint_eq(conf->limits.max_body_bytes, 1024 * 1024);
    ck_assert_uint_eq(conf->limits.max_header_bytes, 8192);
    ck_assert_uint_eq(conf->shutdown_timeout_ms, 10000);
    ck_assert_int_eq(conf->log.level, H2API_LOG_INFO);
    ck_assert_int_eq(conf->log.access_log, 1);
    ck_assert_uint_eq(conf->num_upstreams, 0);
    ck_assert_ptr_null(conf->default_upstream);
    ck_assert_int_eq(conf->demo_upstream.enabled, 0);
    ck_assert_str_eq(conf->demo_upstream.listen.host, "127.0.0.1");
    ck_assert_uint_eq(conf->demo_upstream.listen.port, 8081);
    ck_assert_uint_eq(conf->app.bulk_concurrency, 5);
    h2api_conf_free(conf);

    /* empty sections count as left out */
    conf = load_mem(LISTEN "limits:\nlog: {}\nupstreams:\ndemo_upstream: {listen: 127.0.0.1:9000}\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->num_upstreams, 0);
    ck_assert_int_eq(conf->demo_upstream.enabled, 0);
    ck_assert_uint_eq(conf->demo_upstream.listen.port, 9000);
    h2api_conf_free(conf);
}
END_TEST

START_TEST(test_derived)
{
    h2api_conf_t *conf = load_mem(LISTEN "upstreams:\n"
                                         "  a:\n"
                                         "    base_url: http://a\n"
                                         "    timeout_ms: 30000\n"
                                         "    max_connections: 4\n"
                                         "    rate_limit: {requests_per_second: 2.5}\n"
                                         "    retry: {backoff_base_ms: 5000}\n"
                                         "  b:\n"
                                         "    base_url: http://b\n"
                                         "    rate_limit: {requests_per_second: 0.2}\n"
                                         "    retry: {backoff_cap_ms: 50}\n");
    const h2api_conf_upstream_t *a, *b;

    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_str_eq(conf->default_upstream, "a"); /* the first one */
    a = h2api_conf_find_upstream(conf, "a");
    b = h2api_conf_find_upstream(conf, "b");
    ck_assert_uint_eq(a->first_byte_timeout_ms, 30000); /* follows timeout_ms */
    ck_assert_uint_eq(a->max_keepalive_connections, 4); /* default 20 yields to max_connections */
    ck_assert_uint_eq(a->rate_limit.burst, 3);          /* ceil(2.5) */
    ck_assert_uint_eq(a->retry.backoff_cap_ms, 5000);   /* default cap yields to the base */
    ck_assert_uint_eq(b->first_byte_timeout_ms, 10000);
    ck_assert_uint_eq(b->rate_limit.burst, 1); /* at least 1 */
    ck_assert_uint_eq(b->retry.backoff_base_ms, 50);
    ck_assert_uint_eq(b->retry.backoff_cap_ms, 50);
    ck_assert_uint_eq(b->port, 80);
    h2api_conf_free(conf);
}
END_TEST

/* ---- value forms ---- */

START_TEST(test_sizes)
{
    static const struct {
        const char *text;
        size_t bytes;
    } good[] = {{"0", 0},           {"8192", 8192},       {"1k", 1024},        {"3K", 3072},
                {"2KiB", 2048},     {"1m", 1048576},      {"5M", 5 * 1048576}, {"1MiB", 1048576},
                {"1g", 1073741824}, {"1GiB", 1073741824}, {"!!int 7", 7}};
    static const struct {
        const char *text, *message;
    } bad[] = {
        {"1kb", "t.yaml:3: limits.max_body_bytes: expected a size such as 8192, 64k, 1m or 8MiB, got 1kb"},
        {"1MB", "t.yaml:3: limits.max_body_bytes: expected a size such as 8192, 64k, 1m or 8MiB, got 1MB"},
        {"1.5m", "t.yaml:3: limits.max_body_bytes: expected a size such as 8192, 64k, 1m or 8MiB, got 1.5m"},
        {"1 k", "t.yaml:3: limits.max_body_bytes: expected a size such as 8192, 64k, 1m or 8MiB, got 1 k"},
        {"k", "t.yaml:3: limits.max_body_bytes: expected a size such as 8192, 64k, 1m or 8MiB, got k"},
        {"-1k", "t.yaml:3: limits.max_body_bytes: must not be negative, got -1k"},
        {"2g", "t.yaml:3: limits.max_body_bytes: must be from 0 to 1073741824 bytes, got 2g"},
        {"99999999999999999999999g",
         "t.yaml:3: limits.max_body_bytes: must be from 0 to 1073741824 bytes, got 99999999999999999999999g"},
        {"\"1m\"", "t.yaml:3: limits.max_body_bytes: expected a size, got \"1m\""},
        {"", "t.yaml:3: limits.max_body_bytes: expected a size, got nothing"},
    };
    char text[256];

    for (size_t i = 0; i != sizeof(good) / sizeof(good[0]); ++i) {
        h2api_conf_t *conf;
        snprintf(text, sizeof(text), LISTEN "limits:\n  max_body_bytes: %s\n", good[i].text);
        conf = load_mem(text);
        ck_assert_msg(conf != NULL, "%s: %s", good[i].text, errbuf);
        ck_assert_uint_eq(conf->limits.max_body_bytes, good[i].bytes);
        h2api_conf_free(conf);
    }
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        snprintf(text, sizeof(text), LISTEN "limits:\n  max_body_bytes: %s\n", bad[i].text);
        ck_assert_msg(load_mem(text) == NULL, "accepted %s", bad[i].text);
        ck_assert_str_eq(errbuf, bad[i].message);
    }
}
END_TEST

START_TEST(test_http2_forms)
{
    static const struct {
        const char *text;
        h2api_http2_mode_t mode;
    } cases[] = {{"on", H2API_HTTP2_ON},     {"off", H2API_HTTP2_OFF},      {"auto", H2API_HTTP2_AUTO}, {"\"on\"", H2API_HTTP2_ON},
                 {"'off'", H2API_HTTP2_OFF}, {"true", H2API_HTTP2_ON},      {"false", H2API_HTTP2_OFF}, {"On", H2API_HTTP2_ON},
                 {"OFF", H2API_HTTP2_OFF},   {"\"auto\"", H2API_HTTP2_AUTO}};
    char text[256];

    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        h2api_conf_t *conf;
        snprintf(text, sizeof(text), LISTEN "upstreams:\n  a:\n    base_url: http://a\n    http2: %s\n", cases[i].text);
        conf = load_mem(text);
        ck_assert_msg(conf != NULL, "%s: %s", cases[i].text, errbuf);
        ck_assert_int_eq(conf->upstreams[0].http2, cases[i].mode);
        h2api_conf_free(conf);
    }
    ck_assert_ptr_null(load_mem(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    http2: yes\n"));
    ck_assert_str_eq(errbuf, "t.yaml:5: upstreams.a.http2: expected on, off or auto, got yes");
    ck_assert_ptr_null(load_mem(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    http2: [on]\n"));
    ck_assert_str_eq(errbuf, "t.yaml:5: upstreams.a.http2: expected on, off or auto, got a sequence");
}
END_TEST

START_TEST(test_listen_forms)
{
    h2api_conf_t *conf;

    /* one address without the list; localhost is 127.0.0.1 */
    conf = load_mem("listen: localhost:8000\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->num_listens, 1);
    ck_assert_str_eq(conf->listens[0].host, "127.0.0.1");
    ck_assert_int_eq(conf->listens[0].line, 1);
    h2api_conf_free(conf);

    /* the same port on different addresses, and port 0 twice, are fine */
    conf = load_mem("listen: [127.0.0.1:8000, 127.0.0.2:8000, '[::1]:8000', 127.0.0.1:0, 127.0.0.1:0]\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->num_listens, 5);
    h2api_conf_free(conf);

    assert_refused("listen: example.com:80\n",
                   "FILE:1: listen: host in \"example.com:80\" must be a numeric IPv4 or IPv6 address or localhost");
    assert_refused("listen:\n  - 127.0.0.1:65536\n", "FILE:2: listen[0]: bad port in \"127.0.0.1:65536\" (expected 0..65535)");
    assert_refused("listen:\n  - 127.0.0.1:-1\n", "FILE:2: listen[0]: bad port in \"127.0.0.1:-1\" (expected 0..65535)");
    assert_refused("listen:\n  - \"127.0.0.1:\"\n", "FILE:2: listen[0]: bad port in \"127.0.0.1:\" (expected 0..65535)");
    /* unquoted, that is a mapping { 127.0.0.1: null } */
    assert_refused("listen:\n  - 127.0.0.1:\n", "FILE:2: listen[0].127.0.0.1: unknown key (known keys: address, tls)");
    assert_refused("listen:\n  - 127.0.0.1\n", "FILE:2: listen[0]: expected host:port, got \"127.0.0.1\"");
    assert_refused("listen:\n  - :8000\n", "FILE:2: listen[0]: empty host in \":8000\" (0.0.0.0 listens on every IPv4 address)");
    assert_refused("listen:\n  - 8000\n", "FILE:2: listen[0]: expected host:port, got \"8000\"");
    assert_refused("listen:\n  - ::1:8000\n",
                   "FILE:2: listen[0]: an IPv6 address needs brackets, as in \"[::1]:8000\", got \"::1:8000\"");
    assert_refused("listen:\n  - \"[::1]\"\n", "FILE:2: listen[0]: expected [address]:port, got \"[::1]\"");
    assert_refused("listen:\n  - \"[::1:8000\"\n", "FILE:2: listen[0]: missing ']' in \"[::1:8000\"");
    assert_refused("listen:\n  - \"[127.0.0.1]:8000\"\n",
                   "FILE:2: listen[0]: host in \"[127.0.0.1]:8000\" must be a numeric IPv4 or IPv6 address or localhost");
    assert_refused("listen:\n  - 127.0.0.1:8000\n  - [::1]:8000\n",
                   "FILE:3: listen[1]: expected \"host:port\" or a mapping with address and tls, got a sequence "
                   "(IPv6 needs quotes: \"[::1]:8000\")");
    assert_refused("listen:\n  - 127.0.0.1:8000\n  - 127.0.0.1:8000\n",
                   "FILE:3: listen[1]: duplicate listen address (first on line 2)");
    assert_refused("listen:\n  - tls: {cert: c.pem, key: k.pem}\n", "FILE:2: listen[0]: address is required");
    assert_refused("listen:\n  - address: 127.0.0.1:8443\n    tls:\n      cert: c.pem\n",
                   "FILE:3: listen[0].tls: cert is set but key is missing");
    assert_refused("listen:\n  - address: 127.0.0.1:8443\n    tls: {key: k.pem}\n",
                   "FILE:3: listen[0].tls: key is set but cert is missing");
    assert_refused("listen:\n  - address: 127.0.0.1:8443\n    tls:\n", "FILE:3: listen[0].tls: needs cert and key");
    assert_refused("listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: c.pem, key: }\n",
                   "FILE:3: listen[0].tls.key: expected a string, got nothing");
    assert_refused("listen: []\n", "FILE:1: listen: at least one address is required");
    assert_refused("workers: 2\n", "FILE:1: listen: at least one address is required");
    assert_refused("", "FILE:1: listen: at least one address is required");
    assert_refused("listen: [1.0.0.1:1, 1.0.0.2:1, 1.0.0.3:1, 1.0.0.4:1, 1.0.0.5:1, 1.0.0.6:1, 1.0.0.7:1, 1.0.0.8:1,\n"
                   "  1.0.0.9:1, 1.0.0.10:1, 1.0.0.11:1, 1.0.0.12:1, 1.0.0.13:1, 1.0.0.14:1, 1.0.0.15:1, 1.0.0.16:1,\n"
                   "  1.0.0.17:1]\n",
                   "FILE:3: listen[16]: too many listen entries (at most 16)");
}
END_TEST

/* ---- refused files ---- */

START_TEST(test_unknown_key)
{
    assert_refused(LISTEN "worker: 4\n", "FILE:2: worker: unknown key (known keys: listen, workers, limits, shutdown_timeout_ms, "
                                         "log, default_upstream, upstreams, demo_upstream, app)");
    assert_refused(LISTEN "limits:\n  max_body_bytes: 1m\n  max_body: 2m\n",
                   "FILE:4: limits.max_body: unknown key (known keys: max_body_bytes, max_header_bytes, request_header_timeout_ms, "
                   "idle_timeout_ms, max_connections_per_worker, http2_max_concurrent_streams, max_url_bytes, http2_max_streams_per_second, "
                   "http2_max_cancelled_streams, http2_max_control_frames, http2_max_continuation_frames, max_header_field_bytes, "
                   "max_header_count, send_timeout_ms)");
    assert_refused(LISTEN "log: {level: info, format: json}\n", "FILE:2: log.format: unknown key (known keys: level, access_log)");
    assert_refused(
        LISTEN "upstreams:\n  a:\n    base_url: http://a\n    timeout: 5\n",
        "FILE:5: upstreams.a.timeout: unknown key (known keys: base_url, headers, http2, timeout_ms, connect_timeout_ms, "
        "first_byte_timeout_ms, io_timeout_ms, pool_timeout_ms, max_connections, max_keepalive_connections, "
        "keepalive_expiry_ms, max_concurrent_requests, max_response_bytes, rate_limit, retry, circuit_breaker, tls)");
    assert_refused(
        LISTEN "upstreams:\n  a:\n    base_url: http://a\n    retry:\n      attempts: 2\n      jitter: true\n",
        "FILE:7: upstreams.a.retry.jitter: unknown key (known keys: attempts, statuses, backoff_base_ms, backoff_cap_ms)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    tls: {verify: true, ca_path: /x}\n",
                   "FILE:5: upstreams.a.tls.ca_path: unknown key (known keys: verify, ca_file, sni)");
    assert_refused("listen:\n  - address: 127.0.0.1:1\n    port: 2\n",
                   "FILE:3: listen[0].port: unknown key (known keys: address, tls)");
    assert_refused(LISTEN "demo_upstream:\n  enabled: true\n  port: 1\n",
                   "FILE:4: demo_upstream.port: unknown key (known keys: enabled, listen)");
    assert_refused(LISTEN "app:\n  bulk: 1\n", "FILE:3: app.bulk: unknown key (known keys: bulk_concurrency)");
    assert_refused(LISTEN "workers: 2\nworkers: 3\n", "FILE:3: workers: duplicate key (first on line 2)");
    assert_refused(LISTEN "? [a, b]\n: 1\n", "FILE:2: expected a key, got a sequence");
}
END_TEST

START_TEST(test_wrong_type)
{
    assert_refused(LISTEN "workers: many\n", "FILE:2: workers: expected auto or an integer from 1 to 1024, got many");
    assert_refused(LISTEN "workers: \"4\"\n", "FILE:2: workers: expected auto or an integer from 1 to 1024, got \"4\"");
    assert_refused(LISTEN "shutdown_timeout_ms: \"100\"\n", "FILE:2: shutdown_timeout_ms: expected an integer, got \"100\"");
    assert_refused(LISTEN "shutdown_timeout_ms: 1.5\n", "FILE:2: shutdown_timeout_ms: expected an integer, got 1.5");
    assert_refused(LISTEN "shutdown_timeout_ms: 0x10\n", "FILE:2: shutdown_timeout_ms: expected an integer, got 0x10");
    assert_refused(LISTEN "shutdown_timeout_ms: -5\n", "FILE:2: shutdown_timeout_ms: must not be negative, got -5");
    assert_refused(LISTEN "shutdown_timeout_ms:\n", "FILE:2: shutdown_timeout_ms: expected an integer, got nothing");
    assert_refused(LISTEN "shutdown_timeout_ms: [1]\n", "FILE:2: shutdown_timeout_ms: expected an integer, got a sequence");
    assert_refused(LISTEN "log:\n  access_log: yes\n", "FILE:3: log.access_log: expected true or false, got yes");
    assert_refused(LISTEN "log:\n  access_log: \"true\"\n", "FILE:3: log.access_log: expected true or false, got \"true\"");
    assert_refused(LISTEN "log:\n  access_log: 1\n", "FILE:3: log.access_log: expected true or false, got 1");
    assert_refused(LISTEN "log:\n  level: verbose\n", "FILE:3: log.level: expected error, warn, info or debug, got verbose");
    assert_refused(LISTEN "log: info\n", "FILE:2: log: expected a mapping, got info");
    assert_refused(LISTEN "limits: [1m]\n", "FILE:2: limits: expected a mapping, got a sequence");
    assert_refused(LISTEN "upstreams:\n  - a\n", "FILE:3: upstreams: expected a mapping, got a sequence");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    retry: {statuses: 503}\n",
                   "FILE:5: upstreams.a.retry.statuses: expected a sequence, got 503");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: {url: x}\n",
                   "FILE:4: upstreams.a.base_url: expected a string, got a mapping");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url:\n", "FILE:4: upstreams.a.base_url: expected a string, got nothing");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers: [a]\n",
                   "FILE:5: upstreams.a.headers: expected a mapping, got a sequence");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers: {x-a: [1]}\n",
                   "FILE:5: upstreams.a.headers.x-a: expected a string, got a sequence");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    rate_limit: {requests_per_second: fast}\n",
                   "FILE:5: upstreams.a.rate_limit.requests_per_second: expected a number such as 10 or 0.5, got fast");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    rate_limit: {requests_per_second: -1}\n",
                   "FILE:5: upstreams.a.rate_limit.requests_per_second: must not be negative, got -1");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    rate_limit: {requests_per_second: .nan}\n",
                   "FILE:5: upstreams.a.rate_limit.requests_per_second: expected a number such as 10 or 0.5, got .nan");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    tls: {verify: off}\n",
                   "FILE:5: upstreams.a.tls.verify: expected true or false, got off");
    assert_refused(LISTEN "demo_upstream:\n  listen: {address: 127.0.0.1:1}\n",
                   "FILE:3: demo_upstream.listen: expected \"host:port\", got a mapping");
    assert_refused("- listen\n", "FILE:1: expected a mapping of settings at the top level, got a sequence");
    assert_refused("listen\n", "FILE:1: expected a mapping of settings at the top level, got listen");
}
END_TEST

START_TEST(test_impossible)
{
    assert_refused(LISTEN "workers: 0\n", "FILE:2: workers: expected auto or an integer from 1 to 1024, got 0");
    assert_refused(LISTEN "workers: 1025\n", "FILE:2: workers: expected auto or an integer from 1 to 1024, got 1025");
    assert_refused(LISTEN "limits:\n  max_header_bytes: 8193\n",
                   "FILE:3: limits.max_header_bytes: must be from 1 to 8192 bytes, got 8193");
    assert_refused(LISTEN "limits:\n  max_header_bytes: 9k\n",
                   "FILE:3: limits.max_header_bytes: must be from 1 to 8192 bytes, got 9k");
    assert_refused(LISTEN "limits:\n  request_header_timeout_ms: 0\n",
                   "FILE:3: limits.request_header_timeout_ms: must be from 1 to 86400000, got 0");
    assert_refused(LISTEN "limits:\n  idle_timeout_ms: 99999999999999999999999\n",
                   "FILE:3: limits.idle_timeout_ms: must be from 1 to 86400000, got 99999999999999999999999");
    assert_refused(LISTEN "limits:\n  max_connections_per_worker: 0\n",
                   "FILE:3: limits.max_connections_per_worker: must be from 1 to 1048576, got 0");
    assert_refused(LISTEN "app:\n  bulk_concurrency: 0\n", "FILE:3: app.bulk_concurrency: must be from 1 to 1000, got 0");

    /* upstreams */
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    timeout_ms: 0\n",
                   "FILE:5: upstreams.a.timeout_ms: must be from 1 to 86400000, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    connect_timeout_ms: 0\n",
                   "FILE:5: upstreams.a.connect_timeout_ms: must be from 1 to 86400000, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    max_connections: 0\n",
                   "FILE:5: upstreams.a.max_connections: must be from 1 to 100000, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    max_connections: 10\n    max_keepalive_connections: 11\n",
                   "FILE:6: upstreams.a: max_keepalive_connections (11) exceeds max_connections (10)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    max_keepalive_connections: 101\n",
                   "FILE:5: upstreams.a: max_keepalive_connections (101) exceeds max_connections (100)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    retry: {attempts: 0}\n",
                   "FILE:5: upstreams.a.retry.attempts: must be from 1 to 10, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    retry:\n      statuses: [502, 200]\n",
                   "FILE:6: upstreams.a.retry.statuses[1]: must be from 400 to 599, got 200");
    assert_refused(LISTEN
                   "upstreams:\n  a:\n    base_url: http://a\n    retry:\n      backoff_cap_ms: 10\n      backoff_base_ms: 20\n",
                   "FILE:6: upstreams.a: retry.backoff_cap_ms (10) is below retry.backoff_base_ms (20)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    circuit_breaker: {open_ms: 0}\n",
                   "FILE:5: upstreams.a.circuit_breaker.open_ms: must be from 1 to 86400000, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    circuit_breaker:\n      base_open_ms: 2000\n      open_ms: 1000\n",
                   "FILE:7: upstreams.a: circuit_breaker.open_ms (1000) is below circuit_breaker.base_open_ms (2000)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    circuit_breaker: {half_open_calls: 0}\n",
                   "FILE:5: upstreams.a.circuit_breaker.half_open_calls: must be from 1 to 1000, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    max_response_bytes: 0\n",
                   "FILE:5: upstreams.a.max_response_bytes: must be from 1 to 1073741824 bytes, got 0");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: ftp://a\n",
                   "FILE:4: upstreams.a.base_url: unsupported scheme \"ftp\" in \"ftp://a\" (use http or https)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a:99999\n",
                   "FILE:4: upstreams.a.base_url: bad port in \"http://a:99999\" (expected 1..65535)");
    assert_refused(LISTEN "upstreams:\n  a:\n    http2: on\n", "FILE:3: upstreams.a: base_url is required");
    assert_refused(LISTEN "upstreams:\n  a:\n", "FILE:3: upstreams.a: base_url is required");
    assert_refused(LISTEN "upstreams:\n  a: {base_url: http://a}\n  b: {base_url: http://b}\n  a: {base_url: http://c}\n",
                   "FILE:5: upstreams.a: duplicate upstream (first on line 3)");
    assert_refused(LISTEN "upstreams:\n  a b: {base_url: http://a}\n",
                   "FILE:3: upstreams.a b: an upstream name may hold only letters, digits, '-', '_' and '.'");
    assert_refused(LISTEN "default_upstream: b\nupstreams:\n  a: {base_url: http://a}\n",
                   "FILE:2: default_upstream: unknown upstream \"b\"");
    assert_refused(LISTEN "default_upstream: a\n", "FILE:2: default_upstream: unknown upstream \"a\"");

    /* headers */
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers:\n      X-A: 1\n      x-a: 2\n",
                   "FILE:7: upstreams.a.headers.x-a: duplicate header");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers:\n      Connection: close\n",
                   "FILE:6: upstreams.a.headers.Connection: connection is a hop-by-hop or framing header; the client sets it");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers:\n      \"x a\": 1\n",
                   "FILE:6: upstreams.a.headers.x a: bad character ' ' in a header name");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers:\n      x-a: \"1\\r\\nx-b: 2\"\n",
                   "FILE:6: upstreams.a.headers.x-a: a header value cannot hold CR or LF");

    /* too many entries */
    {
        char text[4096];
        size_t len = snprintf(text, sizeof(text), LISTEN "upstreams:\n");
        for (int i = 0; i != 17; ++i)
            len += snprintf(text + len, sizeof(text) - len, "  u%d: {base_url: http://a}\n", i);
        assert_refused(text, "FILE:19: upstreams.u16: too many upstreams (at most 16)");

        len = snprintf(text, sizeof(text), LISTEN "upstreams:\n  a:\n    base_url: http://a\n    headers:\n");
        for (int i = 0; i != 17; ++i)
            len += snprintf(text + len, sizeof(text) - len, "      x-%d: v\n", i);
        assert_refused(text, "FILE:22: upstreams.a.headers.x-16: too many headers (at most 16)");

        assert_refused(LISTEN
                       "upstreams:\n  a:\n    base_url: http://a\n    retry:\n      statuses: [500, 501, 502, 503, 504, 505, 506, "
                       "507, 508, 509, 510, 511, 512, 513, 514, 515,\n        516]\n",
                       "FILE:7: upstreams.a.retry.statuses[16]: too many statuses (at most 16)");
    }
}
END_TEST

START_TEST(test_syntax)
{
    assert_refused(LISTEN "limits:\n  max_body_bytes: 1m\n bad: 2\n",
                   "FILE:4: YAML syntax error: did not find expected key (while parsing a block mapping at line 1)");
    assert_refused(LISTEN "log: {level: info\n",
                   "FILE:3: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 2)");
    assert_refused(LISTEN "log:\n\tlevel: info\n",
                   "FILE:3: YAML syntax error: found character that cannot start any token (while scanning for the next token at "
                   "line 3)");
    assert_refused(LISTEN "workers: \"2\n", "FILE:3: YAML syntax error: found unexpected end of stream (while scanning a quoted "
                                            "scalar at line 2)");
    assert_refused(LISTEN "log:\n  level: info\n  level info\n  access_log: true\n",
                   "FILE:5: YAML syntax error: could not find expected ':' (while scanning a simple key at line 4)");
    assert_refused(LISTEN "workers: 2\n---\nworkers: 3\n", "FILE:3: only one YAML document is allowed");
    assert_refused("listen: &l 127.0.0.1:8000\ndemo_upstream:\n  listen: *l\n",
                   "FILE:3: demo_upstream.listen: aliases (*l) are not supported");
    assert_refused(LISTEN "app: {bulk_concurrency: \"\xff\"}\n", "FILE:2: YAML syntax error: invalid leading UTF-8 octet");
}
END_TEST

START_TEST(test_io)
{
    char *dir = strdup("/tmp/h2api_test_conf_XXXXXX"), path[256];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/missing.yaml", dir);
    ck_assert_ptr_null(h2api_conf_load(path, errbuf, sizeof(errbuf)));
    ck_assert_msg(strncmp(errbuf, path, strlen(path)) == 0, "%s", errbuf);
    ck_assert_str_eq(errbuf + strlen(path), ": cannot open: No such file or directory");

    ck_assert_ptr_null(h2api_conf_load(dir, errbuf, sizeof(errbuf)));
    ck_assert_msg(strncmp(errbuf, dir, strlen(dir)) == 0, "%s", errbuf);
    ck_assert_str_eq(errbuf + strlen(dir), ": cannot read: Is a directory");
    rmdir(dir);
    free(dir);

    /* a short buffer gets a truncated, terminated message */
    {
        char small[12];
        ck_assert_ptr_null(h2api_conf_load_string("t.yaml", "workers: 2\n", 11, small, sizeof(small)));
        ck_assert_str_eq(small, "t.yaml:1: l");
        ck_assert_ptr_null(h2api_conf_load_string("t.yaml", "workers: 2\n", 11, NULL, 0));
    }
}
END_TEST

/* ---- environment ---- */

static void env_clear(void)
{
    unsetenv("H2API_LISTEN");
    unsetenv("H2API_WORKERS");
    unsetenv("H2API_LOG_LEVEL");
    unsetenv("H2API_UPSTREAM_URL");
}

START_TEST(test_env)
{
    h2api_conf_t *conf = h2api_conf_load(NULL, errbuf, sizeof(errbuf));
    const h2api_conf_upstream_t *up;

    ck_assert_msg(conf != NULL, "%s", errbuf);
    /* nothing set, or set to "", changes nothing */
    ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), 0);
    setenv("H2API_LISTEN", "", 1);
    setenv("H2API_WORKERS", "", 1);
    ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), 0);
    assert_shipped_values(conf);

    setenv("H2API_LISTEN", "0.0.0.0:8080, [::]:8080,localhost:0", 1);
    setenv("H2API_WORKERS", "8", 1);
    setenv("H2API_LOG_LEVEL", "DEBUG", 1);
    setenv("H2API_UPSTREAM_URL", "https://jsonplaceholder.typicode.com/", 1);
    ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), 0);
    ck_assert_uint_eq(conf->num_listens, 3);
    ck_assert_str_eq(conf->listens[0].host, "0.0.0.0");
    ck_assert_uint_eq(conf->listens[0].port, 8080);
    ck_assert_str_eq(conf->listens[1].host, "::");
    ck_assert_uint_eq(conf->listens[1].port, 8080);
    ck_assert_str_eq(conf->listens[2].host, "127.0.0.1");
    ck_assert_uint_eq(conf->listens[2].port, 0);
    ck_assert_ptr_null(conf->listens[2].tls_cert_file);
    ck_assert_uint_eq(conf->workers, 8);
    ck_assert_int_eq(conf->log.level, H2API_LOG_DEBUG);
    up = h2api_conf_find_upstream(conf, "jsonplaceholder");
    ck_assert_str_eq(up->base_url, "https://jsonplaceholder.typicode.com/");
    ck_assert_int_eq(up->is_tls, 1);
    ck_assert_str_eq(up->host, "jsonplaceholder.typicode.com");
    ck_assert_uint_eq(up->port, 443);
    ck_assert_str_eq(up->path_prefix, "");

    setenv("H2API_WORKERS", "auto", 1);
    setenv("H2API_LOG_LEVEL", "warn", 1);
    ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), 0);
    ck_assert_uint_eq(conf->workers, 0);
    ck_assert_int_eq(conf->log.level, H2API_LOG_WARN);
    h2api_conf_free(conf);
}
END_TEST

START_TEST(test_env_bad)
{
    static const struct {
        const char *name, *value, *message;
    } cases[] = {
        {"H2API_LISTEN", "example.com:80",
         "ENV H2API_LISTEN: host in \"example.com:80\" must be a numeric IPv4 or IPv6 address or localhost"},
        {"H2API_LISTEN", "127.0.0.1:8000,", "ENV H2API_LISTEN: empty address in \"127.0.0.1:8000,\""},
        {"H2API_LISTEN", "127.0.0.1:70000", "ENV H2API_LISTEN: bad port in \"127.0.0.1:70000\" (expected 0..65535)"},
        {"H2API_LISTEN", "127.0.0.1:1,127.0.0.1:1", "ENV H2API_LISTEN: duplicate address \"127.0.0.1:1\""},
        {"H2API_LISTEN",
         "1.1.1.1:1,1.1.1.2:1,1.1.1.3:1,1.1.1.4:1,1.1.1.5:1,1.1.1.6:1,1.1.1.7:1,1.1.1.8:1,1.1.1.9:1,1.1.1.10:1,"
         "1.1.1.11:1,1.1.1.12:1,1.1.1.13:1,1.1.1.14:1,1.1.1.15:1,1.1.1.16:1,1.1.1.17:1",
         "ENV H2API_LISTEN: too many addresses (at most 16)"},
        {"H2API_WORKERS", "0", "ENV H2API_WORKERS: expected auto or an integer from 1 to 1024, got 0"},
        {"H2API_WORKERS", "-2", "ENV H2API_WORKERS: expected auto or an integer from 1 to 1024, got -2"},
        {"H2API_WORKERS", "four", "ENV H2API_WORKERS: expected auto or an integer from 1 to 1024, got four"},
        {"H2API_LOG_LEVEL", "trace", "ENV H2API_LOG_LEVEL: expected error, warn, info or debug, got trace"},
        {"H2API_UPSTREAM_URL", "ftp://x", "ENV H2API_UPSTREAM_URL: unsupported scheme \"ftp\" in \"ftp://x\" (use http or https)"},
        {"H2API_UPSTREAM_URL", "127.0.0.1:8081",
         "ENV H2API_UPSTREAM_URL: expected http[s]://host[:port][/prefix], got \"127.0.0.1:8081\""},
    };
    h2api_conf_t *conf = h2api_conf_load(NULL, errbuf, sizeof(errbuf));

    ck_assert_msg(conf != NULL, "%s", errbuf);
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        env_clear();
        /* a good variable next to the bad one is not applied either */
        setenv("H2API_LOG_LEVEL", "error", 1);
        setenv(cases[i].name, cases[i].value, 1);
        ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), -EINVAL);
        ck_assert_str_eq(errbuf, cases[i].message);
        assert_shipped_values(conf);
    }
    h2api_conf_free(conf);

    /* an upstream URL needs an upstream to go to */
    env_clear();
    conf = load_mem(LISTEN);
    ck_assert_msg(conf != NULL, "%s", errbuf);
    setenv("H2API_UPSTREAM_URL", "http://a", 1);
    ck_assert_int_eq(h2api_conf_apply_env(conf, errbuf, sizeof(errbuf)), -EINVAL);
    ck_assert_str_eq(errbuf, "ENV H2API_UPSTREAM_URL: no upstream is configured to take it");
    h2api_conf_free(conf);
}
END_TEST

/* ---- base_url ---- */

START_TEST(test_base_url)
{
    static const struct {
        const char *url, *host, *prefix;
        int is_tls;
        uint16_t port;
    } good[] = {
        {"http://127.0.0.1:8081", "127.0.0.1", "", 0, 8081},
        {"http://example.com", "example.com", "", 0, 80},
        {"https://example.com", "example.com", "", 1, 443},
        {"HTTPS://Example.COM/", "example.com", "", 1, 443},
        {"http://[::1]:8080", "::1", "", 0, 8080},
        {"https://[2001:db8::1]/api", "2001:db8::1", "/api", 1, 443},
        {"http://api.example.com/v2/", "api.example.com", "/v2", 0, 80},
        {"http://api.example.com/v2//", "api.example.com", "/v2", 0, 80},
        {"http://a:1/x/y", "a", "/x/y", 0, 1},
        {"http://my_host:65535", "my_host", "", 0, 65535},
    };
    static const struct {
        const char *url, *message;
    } bad[] = {
        {"ftp://example.com", "unsupported scheme \"ftp\" in \"ftp://example.com\" (use http or https)"},
        {"example.com", "expected http[s]://host[:port][/prefix], got \"example.com\""},
        {"", "empty url (expected http[s]://host[:port][/prefix])"},
        {"http://", "empty host in \"http://\""},
        {"http:///x", "empty host in \"http:///x\""},
        {"http://:80", "empty host in \"http://:80\""},
        {"http://[]:80", "empty host in \"http://[]:80\""},
        {"http://a/x?q=1", "a query or fragment is not allowed in \"http://a/x?q=1\""},
        {"http://a?q=1", "a query or fragment is not allowed in \"http://a?q=1\""},
        {"http://a/#top", "a query or fragment is not allowed in \"http://a/#top\""},
        {"http://a:0", "bad port in \"http://a:0\" (expected 1..65535)"},
        {"http://a:", "bad port in \"http://a:\" (expected 1..65535)"},
        {"http://a:65536", "bad port in \"http://a:65536\" (expected 1..65535)"},
        {"http://a:8o", "bad port in \"http://a:8o\" (expected 1..65535)"},
        {"http://[::1", "missing ']' after the IPv6 address in \"http://[::1\""},
        {"http://[::g]:80", "bad IPv6 address in \"http://[::g]:80\""},
        {"http://[::1]x", "expected ':' or '/' after the host in \"http://[::1]x\""},
        {"http://user:pw@a", "user information (user@host) is not supported in \"http://user:pw@a\""},
        {"http://a b", "bad character ' ' in the host of \"http://a b\""},
        {"http://a/b c", "bad character in the path of \"http://a/b c\""},
    };
    char msg[256];

    for (size_t i = 0; i != sizeof(good) / sizeof(good[0]); ++i) {
        h2api_conf_upstream_t up = {NULL};
        ck_assert_msg(h2api_conf_parse_base_url(&up, good[i].url, msg, sizeof(msg)) == 0, "%s: %s", good[i].url, msg);
        ck_assert_str_eq(up.host, good[i].host);
        ck_assert_str_eq(up.path_prefix, good[i].prefix);
        ck_assert_int_eq(up.is_tls, good[i].is_tls);
        ck_assert_uint_eq(up.port, good[i].port);
        /* a second parse replaces (and frees) the first one's strings */
        ck_assert_int_eq(h2api_conf_parse_base_url(&up, "http://b/c", msg, sizeof(msg)), 0);
        ck_assert_str_eq(up.host, "b");
        ck_assert_str_eq(up.path_prefix, "/c");
        free(up.host);
        free(up.path_prefix);
    }
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        h2api_conf_upstream_t up = {NULL};
        ck_assert_msg(h2api_conf_parse_base_url(&up, bad[i].url, msg, sizeof(msg)) == -EINVAL, "accepted %s", bad[i].url);
        ck_assert_str_eq(msg, bad[i].message);
        ck_assert_ptr_null(up.host);
        ck_assert_ptr_null(up.path_prefix);
    }
}
END_TEST

/* The HTTP/2 abuse bounds (README "Hardening"): read, and their ranges enforced. */
START_TEST(test_http2_abuse_limits)
{
    h2api_conf_t *conf = load_text(LISTEN "limits: {http2_max_streams_per_second: 5, http2_max_cancelled_streams: 6,\n"
                                          "  http2_max_control_frames: 7, http2_max_continuation_frames: 0}\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->limits.http2_max_streams_per_second, 5);
    ck_assert_uint_eq(conf->limits.http2_max_cancelled_streams, 6);
    ck_assert_uint_eq(conf->limits.http2_max_control_frames, 7);
    ck_assert_uint_eq(conf->limits.http2_max_continuation_frames, 0);
    h2api_conf_free(conf);

    /* a client always sends one SETTINGS frame: 0 control frames would refuse every client */
    conf = load_text(LISTEN "limits: {max_header_field_bytes: 1k, max_header_count: 20}\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    ck_assert_uint_eq(conf->limits.max_header_field_bytes, 1024);
    ck_assert_uint_eq(conf->limits.max_header_count, 20);
    h2api_conf_free(conf);
    assert_refused(LISTEN "limits: {max_header_count: 101}\n", "FILE:2: limits.max_header_count: must be from 1 to 100, got 101");

    assert_refused(LISTEN "limits: {http2_max_control_frames: 0}\n", "FILE:2: limits.http2_max_control_frames: must be from 1 to 2147483647, got 0");
    assert_refused(LISTEN "limits: {http2_max_continuation_frames: -1}\n", "FILE:2: limits.http2_max_continuation_frames: must not be negative, got -1");
    assert_refused(LISTEN "limits: {http2_max_continuation_frames: 2147483648}\n", "FILE:2: limits.http2_max_continuation_frames: must be from 0 to 2147483647, got 2147483648");
}
END_TEST

/* A key counts as written when it is in the file, even with its default value; each upstream
 * keeps its own record of what was written. */
START_TEST(test_written_keys)
{
    h2api_conf_t *conf;
    const h2api_conf_upstream_t *a, *b;

    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    max_connections: 4\n    max_keepalive_connections: 20\n",
                   "FILE:6: upstreams.a: max_keepalive_connections (20) exceeds max_connections (4)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    retry: {backoff_base_ms: 3000, backoff_cap_ms: 2000}\n",
                   "FILE:5: upstreams.a: retry.backoff_cap_ms (2000) is below retry.backoff_base_ms (3000)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    circuit_breaker:\n      base_open_ms: 20000\n"
                          "      open_ms: 10000\n",
                   "FILE:7: upstreams.a: circuit_breaker.open_ms (10000) is below circuit_breaker.base_open_ms (20000)");

    conf = load_mem(LISTEN "upstreams:\n"
                           "  a:\n"
                           "    base_url: http://a\n"
                           "    timeout_ms: 30000\n"
                           "    first_byte_timeout_ms: 10000\n"
                           "    max_keepalive_connections: 20\n"
                           "  b:\n"
                           "    base_url: http://b\n"
                           "    timeout_ms: 20000\n"
                           "    max_connections: 4\n");
    ck_assert_msg(conf != NULL, "%s", errbuf);
    a = h2api_conf_find_upstream(conf, "a");
    b = h2api_conf_find_upstream(conf, "b");
    ck_assert_uint_eq(a->first_byte_timeout_ms, 10000); /* written, though equal to its default */
    ck_assert_uint_eq(b->first_byte_timeout_ms, 20000); /* left out in b: follows b's timeout_ms */
    ck_assert_uint_eq(b->max_keepalive_connections, 4); /* written in a only: yields in b */
    h2api_conf_free(conf);

    /* the known keys of the mappings that the unknown_key case leaves out */
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    rate_limit: {rps: 1}\n",
                   "FILE:5: upstreams.a.rate_limit.rps: unknown key (known keys: requests_per_second, burst)");
    assert_refused(LISTEN "upstreams:\n  a:\n    base_url: http://a\n    circuit_breaker: {open: 1}\n",
                   "FILE:5: upstreams.a.circuit_breaker.open: unknown key (known keys: failures, base_open_ms, open_ms, "
                   "half_open_calls)");
    assert_refused("listen:\n  - address: 127.0.0.1:8000\n    tls: {cert: a, key: b, ca: c}\n",
                   "FILE:3: listen[0].tls.ca: unknown key (known keys: cert, key)");
}
END_TEST

Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        {"default", test_default},
        {"full", test_full},
        {"minimal", test_minimal},
        {"derived", test_derived},
        {"written_keys", test_written_keys},
        {"sizes", test_sizes},
        {"http2_forms", test_http2_forms},
        {"http2_abuse_limits", test_http2_abuse_limits},
        {"listen_forms", test_listen_forms},
        {"unknown_key", test_unknown_key},
        {"wrong_type", test_wrong_type},
        {"impossible", test_impossible},
        {"syntax", test_syntax},
        {"io", test_io},
        {"env", test_env},
        {"env_bad", test_env_bad},
        {"base_url", test_base_url},
    };
    return unit_suite_create("conf", env_clear, env_clear, 0, cases, UNIT_LEN(cases));
}
