/*
 * libFuzzer target: the configuration loader (src/conf.c).
 *
 * Input: a YAML config file's bytes (any bytes). h2api_conf_load_string("FUZZ", ...) loads it;
 * a config is freed with h2api_conf_free (LeakSanitizer checks that nothing is left). Inputs
 * shorter than 1 KiB are also given to h2api_conf_parse_base_url as a C string (up to the first
 * NUL), since it takes text straight from the file and from H2API_UPSTREAM_URL.
 *
 * Invariants:
 *   - on failure errbuf is NUL-terminated within its size and starts with "FUZZ:" (every message
 *     names the file: "FILE:LINE: message"); loading again with a 6-byte errbuf fails too and
 *     leaves exactly "FUZZ:" (truncation stays in bounds and NUL-terminated);
 *   - on success the config keeps the promises of conf.h: 1..16 listens, each with a host and
 *     either both TLS files or neither, no address twice (port 0 aside); at most 16 upstreams, each with base_url, host, a non-zero
 *     port and a path_prefix that does not end with '/', found by its own name (no duplicate
 *     names: conf.c refuses them); default_upstream names one of them, and
 *     is set whenever there is one; max_header_bytes <= H2API_CONF_MAX_HEADER_BYTES_LIMIT;
 *   - h2api_conf_parse_base_url: 0 with a non-empty lower-case host, a port and a prefix that does
 *     not end with '/', or -EINVAL with a NUL-terminated message.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "conf.h"
#include "fuzz_common.h"

#define ERRBUF_BYTES 512

static const uint8_t *cur_data;
static size_t cur_size;

#define CHECK(cond, ...)                                                                                                           \
    FUZZ_CHECK_DO(cond, fuzz_print_bytes("config", (const char *)cur_data, cur_size > 2000 ? 2000 : cur_size), __VA_ARGS__)

static void check_conf(const h2api_conf_t *conf)
{
    CHECK(conf->path != NULL && strcmp(conf->path, "FUZZ") == 0, "conf->path is the name given");
    CHECK(conf->num_listens >= 1 && conf->num_listens <= H2API_CONF_MAX_LISTENS, "1..16 listens, got %zu", conf->num_listens);
    for (size_t i = 0; i != conf->num_listens; ++i) {
        const h2api_conf_listen_t *l = &conf->listens[i];
        CHECK(l->host != NULL && l->host[0] != '\0', "listen %zu has a host", i);
        CHECK((l->tls_cert_file == NULL) == (l->tls_key_file == NULL), "listen %zu has both TLS files or neither", i);
        for (size_t j = 0; j != i; ++j)
            CHECK(l->port == 0 || l->port != conf->listens[j].port || strcmp(l->host, conf->listens[j].host) != 0,
                  "listen %zu is not a duplicate of listen %zu", i, j);
    }
    CHECK(conf->num_upstreams <= H2API_CONF_MAX_UPSTREAMS, "at most 16 upstreams");
    for (size_t i = 0; i != conf->num_upstreams; ++i) {
        const h2api_conf_upstream_t *up = &conf->upstreams[i];
        size_t plen;
        CHECK(up->name != NULL && up->base_url != NULL && up->host != NULL && up->host[0] != '\0',
              "upstream %zu has name, url, host", i);
        CHECK(up->port != 0, "upstream %s has a port", up->name);
        CHECK(up->path_prefix != NULL && ((plen = strlen(up->path_prefix)) == 0 || up->path_prefix[plen - 1] != '/'),
              "upstream %s path_prefix does not end with '/'", up->name);
        CHECK(up->num_headers <= H2API_CONF_MAX_HEADERS && up->retry.num_statuses <= H2API_CONF_MAX_RETRY_STATUSES,
              "upstream %s arrays within bounds", up->name);
        CHECK(h2api_conf_find_upstream(conf, up->name) == up, "upstream %s is found by its name (no duplicates)", up->name);
    }
    if (conf->num_upstreams != 0)
        CHECK(conf->default_upstream != NULL && h2api_conf_find_upstream(conf, conf->default_upstream) != NULL,
              "default_upstream names a configured upstream");
    else
        CHECK(conf->default_upstream == NULL, "no default_upstream without upstreams");
    CHECK(conf->limits.max_header_bytes <= H2API_CONF_MAX_HEADER_BYTES_LIMIT, "max_header_bytes <= %d",
          H2API_CONF_MAX_HEADER_BYTES_LIMIT);
}

static void check_base_url(const uint8_t *data, size_t size)
{
    char url[1024], errbuf[128];
    h2api_conf_upstream_t up;
    size_t len = size < sizeof(url) - 1 ? size : sizeof(url) - 1;

    memcpy(url, data, len);
    url[len] = '\0';
    memset(&up, 0, sizeof(up));
    memset(errbuf, 0x5a, sizeof(errbuf));
    int ret = h2api_conf_parse_base_url(&up, url, errbuf, sizeof(errbuf));
    CHECK(ret == 0 || ret == -EINVAL, "parse_base_url returns 0 or -EINVAL, got %d", ret);
    if (ret == 0) {
        size_t plen = strlen(up.path_prefix);
        CHECK(up.host != NULL && up.host[0] != '\0' && up.port != 0, "parse_base_url: a host and a port");
        for (const char *c = up.host; *c != '\0'; ++c)
            CHECK(!(*c >= 'A' && *c <= 'Z'), "parse_base_url: host is lower case");
        CHECK(plen == 0 || up.path_prefix[plen - 1] != '/', "parse_base_url: prefix does not end with '/'");
    } else {
        CHECK(memchr(errbuf, '\0', sizeof(errbuf)) != NULL && errbuf[0] != '\0', "parse_base_url: a NUL-terminated message");
    }
    free(up.host);
    free(up.path_prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errbuf[ERRBUF_BYTES], small[6];
    h2api_conf_t *conf;

    cur_data = data;
    cur_size = size;
    memset(errbuf, 0x5a, sizeof(errbuf)); /* no NUL anywhere until the loader writes one */
    conf = h2api_conf_load_string("FUZZ", (const char *)data, size, errbuf, sizeof(errbuf));
    if (conf != NULL) {
        check_conf(conf);
        h2api_conf_free(conf);
    } else {
        CHECK(memchr(errbuf, '\0', sizeof(errbuf)) != NULL, "errbuf is NUL-terminated on failure");
        FUZZ_CHECK_DO(strncmp(errbuf, "FUZZ:", 5) == 0,
                      (fuzz_print_bytes("config", (const char *)data, size > 2000 ? 2000 : size),
                       fuzz_print_bytes("errbuf", errbuf, strlen(errbuf))),
                      "errbuf starts with the name \"FUZZ:\"");

        memset(small, 0x5a, sizeof(small));
        conf = h2api_conf_load_string("FUZZ", (const char *)data, size, small, sizeof(small));
        CHECK(conf == NULL, "the same input fails with a small errbuf too");
        h2api_conf_free(conf);
        CHECK(memcmp(small, "FUZZ:", 6) == 0, "a 6-byte errbuf holds exactly \"FUZZ:\"");
    }
    if (size < 1024)
        check_base_url(data, size);
    return 0;
}
