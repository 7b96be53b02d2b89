/*
 * The configuration schema: one table per mapping of the file with one row per key (name, kind,
 * bounds, default, field, doc), the readers of the keys that need their own parsing, the checks
 * across keys, and the public functions of conf.h.
 *
 * The YAML reader, which walks these tables and writes the FILE:LINE messages, is conf_yaml.c;
 * the environment overrides are conf_env.c. A new key is one row in its mapping's table (and its
 * field in conf.h, its comment in config/h2api.yaml); a row's place in its table is its place in
 * the "known keys" of the message for an unknown key.
 *
 * Strings in the config are heap copies owned by the config (h2api_conf_free); out of memory
 * aborts, as in the rest of h2api.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conf_internal.h"

/* Bounds that catch typos; documented in config/h2api.yaml. */
#define MAX_DURATION_MS 86400000ULL              /* one day */
#define MAX_BUFFER_BYTES (1024ULL * 1024 * 1024) /* max_body_bytes, max_response_bytes: 1 GiB */
#define MAX_WORKERS 1024
#define MAX_CONNECTIONS_PER_WORKER 1048576
#define MAX_HTTP2_STREAMS 2147483647ULL /* RFC 9113 SETTINGS_MAX_CONCURRENT_STREAMS is 31 bits */
#define MAX_UPSTREAM_CONNECTIONS 100000
#define MAX_RATE 1000000
#define MAX_RETRY_ATTEMPTS 10
#define MAX_HALF_OPEN_CALLS 1000
#define MAX_BULK_CONCURRENCY 1000
#define MAX_UPSTREAM_NAME_LEN 64
#define MAX_FILE_BYTES (1024 * 1024)

/*
 * The rows of the tables below:
 *   KEY(name, kind, min, max, default, field, doc)  a value read by its kind (conf_internal.h)
 *   MAP(name, table, doc)                           a nested mapping, into the same struct
 *   CUSTOM(name, reader, field, doc)                a value read by `reader`
 * `field` is the offset of the field in the table's struct: TOP for h2api_conf_t, UP for
 * h2api_conf_upstream_t, LISTEN for h2api_conf_listen_t. h2api__conf_set_defaults stores the
 * defaults of KEY rows; the few CUSTOM keys whose default is not zero get it where their struct
 * is made (h2api_conf_load_string, on_upstream_pair).
 */
/* clang-format off */
#define KEY(name, kind, min, max, def, field, doc) {name, H2API__CONF_##kind, min, max, def, field, NULL, NULL, doc}
#define MAP(name, table, doc) {name, H2API__CONF_MAP, 0, 0, 0, 0, table, NULL, doc}
#define CUSTOM(name, reader, field, doc) {name, H2API__CONF_CUSTOM, 0, 0, 0, field, NULL, reader, doc}
#define END {NULL}
/* clang-format on */
#define TOP(f) offsetof(h2api_conf_t, f)
#define UP(f) offsetof(h2api_conf_upstream_t, f)
#define LISTEN(f) offsetof(h2api_conf_listen_t, f)

/* ---- text parsers shared with the environment (conf_env.c) ---- */

int h2api__conf_parse_workers(const char *s, unsigned *out, char *msg, size_t msglen)
{
    uint64_t v;
    if (strcmp(s, "auto") == 0) {
        *out = 0;
        return 0;
    }
    if (h2api__conf_parse_uint(s, 1, MAX_WORKERS, &v, msg, msglen) != 0) {
        h2api__conf_set_msg(msg, msglen, "expected auto or an integer from 1 to %d, got %s", MAX_WORKERS, s);
        return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

int h2api__conf_parse_log_level(const char *s, h2api_log_level_t *out, char *msg, size_t msglen)
{
    if (strcasecmp(s, "error") == 0) {
        *out = H2API_LOG_ERROR;
    } else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0) {
        *out = H2API_LOG_WARN;
    } else if (strcasecmp(s, "info") == 0) {
        *out = H2API_LOG_INFO;
    } else if (strcasecmp(s, "debug") == 0) {
        *out = H2API_LOG_DEBUG;
    } else {
        h2api__conf_set_msg(msg, msglen, "expected error, warn, info or debug, got %s", s);
        return -EINVAL;
    }
    return 0;
}
int h2api__conf_parse_listen(const char *s, char **host, uint16_t *port, char *msg, size_t msglen)
{
    const char *host_start, *host_end, *port_start;
    char addr[INET6_ADDRSTRLEN + 1], buf[sizeof(struct in6_addr)];
    int family;
    uint64_t v;

    if (s[0] == '[') {
        host_start = s + 1;
        if ((host_end = strchr(host_start, ']')) == NULL) {
            h2api__conf_set_msg(msg, msglen, "missing ']' in \"%s\"", s);
            return -EINVAL;
        }
        if (host_end[1] != ':') {
            h2api__conf_set_msg(msg, msglen, "expected [address]:port, got \"%s\"", s);
            return -EINVAL;
        }
        port_start = host_end + 2;
        family = AF_INET6;
    } else {
        host_start = s;
        if ((host_end = strrchr(s, ':')) == NULL) {
            h2api__conf_set_msg(msg, msglen, "expected host:port, got \"%s\"", s);
            return -EINVAL;
        }
        if (strchr(s, ':') != host_end) {
            h2api__conf_set_msg(msg, msglen, "an IPv6 address needs brackets, as in \"[::1]:8000\", got \"%s\"", s);
            return -EINVAL;
        }
        port_start = host_end + 1;
        family = AF_INET;
    }
    if (host_end == host_start) {
        h2api__conf_set_msg(msg, msglen, "empty host in \"%s\" (0.0.0.0 listens on every IPv4 address)", s);
        return -EINVAL;
    }
    if (*port_start == '\0' || strlen(port_start) > 5 || h2api__conf_parse_uint(port_start, 0, 65535, &v, NULL, 0) != 0) {
        h2api__conf_set_msg(msg, msglen, "bad port in \"%s\" (expected 0..65535)", s);
        return -EINVAL;
    }
    if ((size_t)(host_end - host_start) >= sizeof(addr)) {
        h2api__conf_set_msg(msg, msglen, "host in \"%s\" must be a numeric IPv4 or IPv6 address or localhost", s);
        return -EINVAL;
    }
    memcpy(addr, host_start, host_end - host_start);
    addr[host_end - host_start] = '\0';
    if (family == AF_INET && strcasecmp(addr, "localhost") == 0) {
        strcpy(addr, "127.0.0.1");
    } else if (inet_pton(family, addr, buf) != 1) {
        h2api__conf_set_msg(msg, msglen, "host in \"%s\" must be a numeric IPv4 or IPv6 address or localhost", s);
        return -EINVAL;
    }
    *host = h2api__conf_strdup(addr);
    *port = (uint16_t)v;
    return 0;
}

int h2api_conf_parse_base_url(h2api_conf_upstream_t *up, const char *url, char *errbuf, size_t errlen)
{
    const char *p, *end, *host_start, *host_end, *q, *path;
    char addr[INET6_ADDRSTRLEN + 1], buf[sizeof(struct in6_addr)];
    size_t path_len;
    uint64_t port;
    int is_tls;
    char *host;

    if (url == NULL || *url == '\0') {
        h2api__conf_set_msg(errbuf, errlen, "empty url (expected http[s]://host[:port][/prefix])");
        return -EINVAL;
    }
    if (strncasecmp(url, "http://", 7) == 0) {
        is_tls = 0;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        is_tls = 1;
        p = url + 8;
    } else if ((q = strstr(url, "://")) != NULL) {
        h2api__conf_set_msg(errbuf, errlen, "unsupported scheme \"%.*s\" in \"%s\" (use http or https)", (int)(q - url), url, url);
        return -EINVAL;
    } else {
        h2api__conf_set_msg(errbuf, errlen, "expected http[s]://host[:port][/prefix], got \"%s\"", url);
        return -EINVAL;
    }
    end = p + strcspn(p, "/?#");
    if (memchr(p, '@', end - p) != NULL) {
        h2api__conf_set_msg(errbuf, errlen, "user information (user@host) is not supported in \"%s\"", url);
        return -EINVAL;
    }

    /* host: [v6] or name / IPv4 */
    if (*p == '[') {
        host_start = p + 1;
        if ((host_end = memchr(host_start, ']', end - host_start)) == NULL) {
            h2api__conf_set_msg(errbuf, errlen, "missing ']' after the IPv6 address in \"%s\"", url);
            return -EINVAL;
        }
        q = host_end + 1;
        if ((size_t)(host_end - host_start) >= sizeof(addr)) {
            h2api__conf_set_msg(errbuf, errlen, "bad IPv6 address in \"%s\"", url);
            return -EINVAL;
        }
        memcpy(addr, host_start, host_end - host_start);
        addr[host_end - host_start] = '\0';
        if (host_end != host_start && inet_pton(AF_INET6, addr, buf) != 1) {
            h2api__conf_set_msg(errbuf, errlen, "bad IPv6 address in \"%s\"", url);
            return -EINVAL;
        }
    } else {
        host_start = p;
        host_end = memchr(p, ':', end - p);
        if (host_end == NULL)
            host_end = end;
        q = host_end;
        for (const char *c = host_start; c != host_end; ++c) {
            if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_')) {
                h2api__conf_set_msg(errbuf, errlen, "bad character '%c' in the host of \"%s\"", *c, url);
                return -EINVAL;
            }
        }
    }
    if (host_end == host_start) {
        h2api__conf_set_msg(errbuf, errlen, "empty host in \"%s\"", url);
        return -EINVAL;
    }

    /* port */
    if (q == end) {
        port = is_tls ? 443 : 80;
    } else {
        char digits[8];
        if (*q != ':') {
            h2api__conf_set_msg(errbuf, errlen, "expected ':' or '/' after the host in \"%s\"", url);
            return -EINVAL;
        }
        ++q;
        if (end - q == 0 || end - q >= (ptrdiff_t)sizeof(digits)) {
            h2api__conf_set_msg(errbuf, errlen, "bad port in \"%s\" (expected 1..65535)", url);
            return -EINVAL;
        }
        memcpy(digits, q, end - q);
        digits[end - q] = '\0';
        if (h2api__conf_parse_uint(digits, 1, 65535, &port, NULL, 0) != 0) {
            h2api__conf_set_msg(errbuf, errlen, "bad port in \"%s\" (expected 1..65535)", url);
            return -EINVAL;
        }
    }

    /* path prefix */
    path = end;
    if (strpbrk(path, "?#") != NULL) {
        h2api__conf_set_msg(errbuf, errlen, "a query or fragment is not allowed in \"%s\"", url);
        return -EINVAL;
    }
    for (const char *c = path; *c != '\0'; ++c) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            h2api__conf_set_msg(errbuf, errlen, "bad character in the path of \"%s\"", url);
            return -EINVAL;
        }
    }
    path_len = strlen(path);
    while (path_len != 0 && path[path_len - 1] == '/')
        --path_len;

    host = h2api__conf_strndup(host_start, host_end - host_start);
    for (char *c = host; *c != '\0'; ++c)
        *c = (char)tolower((unsigned char)*c);
    h2api__conf_replace_str(&up->host, host);
    h2api__conf_replace_str(&up->path_prefix, h2api__conf_strndup(path, path_len));
    up->is_tls = is_tls;
    up->port = (uint16_t)port;
    return 0;
}

void h2api__conf_free_listen(h2api_conf_listen_t *l)
{
    free(l->host);
    free(l->tls_cert_file);
    free(l->tls_key_file);
    memset(l, 0, sizeof(*l));
}

static void free_upstream(h2api_conf_upstream_t *up)
{
    free(up->name);
    free(up->base_url);
    free(up->host);
    free(up->path_prefix);
    for (size_t i = 0; i != up->num_headers; ++i) {
        free(up->headers[i].name);
        free(up->headers[i].value);
    }
    free(up->tls.ca_file);
    free(up->tls.sni);
    memset(up, 0, sizeof(*up));
}

/* ---- listen: "host:port" or {address, tls: {cert, key}} ---- */

static int read_address(h2api__conf_reader_t *r, h2api_conf_listen_t *l)
{
    char msg[256], *host;
    int ret;
    if ((ret = h2api__conf_expect_text(r, "\"host:port\"")) != 0)
        return ret;
    if (h2api__conf_parse_listen(h2api__conf_scalar(r), &host, &l->port, msg, sizeof(msg)) != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "%s", msg);
    h2api__conf_replace_str(&l->host, host);
    return 0;
}

static int read_listen_address(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    return read_address(r, base);
}

static const h2api__conf_key_t listen_tls_keys[] = {
    KEY("cert", STRING, 0, 0, 0, LISTEN(tls_cert_file), "PEM certificate chain"),
    KEY("key", STRING, 0, 0, 0, LISTEN(tls_key_file), "PEM private key"),
    END,
};

static int read_listen_tls(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_listen_t *l = base;
    int ret;

    if ((ret = h2api__conf_read_map(r, listen_tls_keys, l, NULL)) != 0)
        return ret;
    if (l->tls_cert_file == NULL || l->tls_key_file == NULL)
        return h2api__conf_error(r, key_line, "%s",
                                 l->tls_cert_file != NULL  ? "cert is set but key is missing"
                                 : l->tls_key_file != NULL ? "key is set but cert is missing"
                                                           : "needs cert and key");
    return 0;
}

static const h2api__conf_key_t listen_keys[] = {
    CUSTOM("address", read_listen_address, LISTEN(host), "host:port, IPv6 as [::1]:8000; required"),
    CUSTOM("tls", read_listen_tls, LISTEN(tls_cert_file), "cert and key: a TLS listener (h2 and http/1.1 by ALPN)"),
    END,
};

static int on_listen_item(h2api__conf_reader_t *r, void *ctx, size_t index)
{
    h2api_conf_t *conf = ctx;
    h2api_conf_listen_t *l;
    int line = h2api__conf_line(r), ret;
    char buf[80];

    if (conf->num_listens == H2API_CONF_MAX_LISTENS)
        return h2api__conf_error(r, line, "too many listen entries (at most %d)", H2API_CONF_MAX_LISTENS);
    l = &conf->listens[conf->num_listens++];
    l->line = line;
    if (h2api__conf_is_mapping(r)) {
        if ((ret = h2api__conf_read_map(r, listen_keys, l, NULL)) != 0)
            return ret;
        if (l->host == NULL)
            return h2api__conf_error(r, line, "address is required");
    } else if (h2api__conf_is_scalar(r)) {
        if ((ret = read_address(r, l)) != 0)
            return ret;
    } else {
        return h2api__conf_error(
            r, line, "expected \"host:port\" or a mapping with address and tls, got %s (IPv6 needs quotes: \"[::1]:8000\")",
            h2api__conf_describe(r, buf, sizeof(buf)));
    }
    for (size_t i = 0; i + 1 < conf->num_listens; ++i)
        if (l->port != 0 && l->port == conf->listens[i].port && strcmp(l->host, conf->listens[i].host) == 0)
            return h2api__conf_error(r, line, "duplicate listen address (first on line %d)", conf->listens[i].line);
    return 0;
}

static int read_listens(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    if (h2api__conf_is_scalar(r) && !h2api__conf_is_null(r)) /* one address without the list */
        return on_listen_item(r, base, 0);
    return h2api__conf_read_seq(r, on_listen_item, base);
}

/* ---- upstreams.NAME ---- */

static int read_base_url(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_upstream_t *up = base;
    char msg[256];
    int ret;

    if ((ret = h2api__conf_read_string(r, 0, &up->base_url)) != 0)
        return ret;
    if (h2api_conf_parse_base_url(up, up->base_url, msg, sizeof(msg)) != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "%s", msg);
    return 0;
}

static int on_header_pair(h2api__conf_reader_t *r, void *ctx, const char *key, int key_line)
{
    static const char *const refused[] = {"connection", "keep-alive",        "proxy-connection", "te",
                                          "trailer",    "transfer-encoding", "upgrade",          "content-length"};
    h2api_conf_upstream_t *up = ctx;
    h2api_conf_header_t *h;
    char *name;
    int ret;

    if (up->num_headers == H2API_CONF_MAX_HEADERS)
        return h2api__conf_error(r, key_line, "too many headers (at most %d)", H2API_CONF_MAX_HEADERS);
    for (const char *c = key; *c != '\0'; ++c)
        if (!(isalnum((unsigned char)*c) || strchr("!#$%&'*+-.^_`|~", *c) != NULL))
            return h2api__conf_error(r, key_line, "bad character '%c' in a header name", *c);
    for (size_t i = 0; i != sizeof(refused) / sizeof(refused[0]); ++i)
        if (strcasecmp(key, refused[i]) == 0)
            return h2api__conf_error(r, key_line, "%s is a hop-by-hop or framing header; the client sets it", refused[i]);
    for (size_t i = 0; i != up->num_headers; ++i)
        if (strcasecmp(key, up->headers[i].name) == 0)
            return h2api__conf_error(r, key_line, "duplicate header");
    name = h2api__conf_strdup(key);
    for (char *c = name; *c != '\0'; ++c)
        *c = (char)tolower((unsigned char)*c);
    h = &up->headers[up->num_headers++];
    h->name = name;
    if ((ret = h2api__conf_read_string(r, 0, &h->value)) != 0)
        return ret;
    if (strpbrk(h->value, "\r\n") != NULL)
        return h2api__conf_error(r, h2api__conf_line(r), "a header value cannot hold CR or LF");
    return 0;
}

static int read_headers(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    return h2api__conf_read_pairs(r, on_header_pair, base);
}

static int read_http2(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_upstream_t *up = base;
    char buf[80];
    const char *s;
    int ret;

    if ((ret = h2api__conf_expect_text(r, "on, off or auto")) != 0)
        return ret;
    /* YAML 1.1 reads bare on/off as booleans; both spellings mean the same here */
    s = h2api__conf_scalar(r);
    if (strcasecmp(s, "on") == 0 || strcasecmp(s, "true") == 0)
        up->http2 = H2API_HTTP2_ON;
    else if (strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0)
        up->http2 = H2API_HTTP2_OFF;
    else if (strcasecmp(s, "auto") == 0)
        up->http2 = H2API_HTTP2_AUTO;
    else
        return h2api__conf_error(r, h2api__conf_line(r), "expected on, off or auto, got %s",
                                 h2api__conf_describe(r, buf, sizeof(buf)));
    return 0;
}

static int on_status_item(h2api__conf_reader_t *r, void *ctx, size_t index)
{
    h2api_conf_upstream_t *up = ctx;
    uint64_t v;
    int ret;

    if (up->retry.num_statuses == H2API_CONF_MAX_RETRY_STATUSES)
        return h2api__conf_error(r, h2api__conf_line(r), "too many statuses (at most %d)", H2API_CONF_MAX_RETRY_STATUSES);
    if ((ret = h2api__conf_read_uint(r, 400, 599, &v)) != 0)
        return ret;
    up->retry.statuses[up->retry.num_statuses++] = (int)v;
    return 0;
}

static int read_retry_statuses(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_upstream_t *up = base;
    up->retry.num_statuses = 0;
    return h2api__conf_read_seq(r, on_status_item, up);
}

static const h2api__conf_key_t rate_limit_keys[] = {
    KEY("requests_per_second", RATE, 0, MAX_RATE, 0, UP(rate_limit.requests_per_second), "token bucket refill; 0 = off"),
    KEY("burst", COUNT, 0, MAX_RATE, 0, UP(rate_limit.burst), "bucket size; 0 = requests_per_second rounded up, at least 1"),
    END,
};

static const h2api__conf_key_t retry_keys[] = {
    KEY("attempts", UNSIGNED, 1, MAX_RETRY_ATTEMPTS, 3, UP(retry.attempts), "tries including the first; 1 = no retry"),
    CUSTOM("statuses", read_retry_statuses, UP(retry.statuses), "statuses that are retried; default [502, 503, 504]"),
    KEY("backoff_base_ms", MS, 0, MAX_DURATION_MS, 100, UP(retry.backoff_base_ms), "wait before the first retry"),
    KEY("backoff_cap_ms", MS, 0, MAX_DURATION_MS, 2000, UP(retry.backoff_cap_ms), "longest wait between tries"),
    END,
};

static const h2api__conf_key_t circuit_breaker_keys[] = {
    KEY("failures", UNSIGNED, 0, MAX_RATE, 5, UP(circuit_breaker.failures), "consecutive failures that open it; 0 = off"),
    KEY("base_open_ms", MS, 1, MAX_DURATION_MS, 1000, UP(circuit_breaker.base_open_ms),
        "first open time, doubled on each trip in a row"),
    KEY("open_ms", MS, 1, MAX_DURATION_MS, 10000, UP(circuit_breaker.open_ms), "longest open time"),
    KEY("half_open_calls", UNSIGNED, 1, MAX_HALF_OPEN_CALLS, 3, UP(circuit_breaker.half_open_calls),
        "trial calls at once when half-open"),
    END,
};

static const h2api__conf_key_t upstream_tls_keys[] = {
    KEY("verify", BOOL, 0, 0, 1, UP(tls.verify), "check the certificate and the host name"),
    KEY("ca_file", STRING_OR_NULL, 0, 0, 0, UP(tls.ca_file), "PEM CA bundle; null = the system store"),
    KEY("sni", STRING_OR_NULL, 0, 0, 0, UP(tls.sni), "server name sent; null = the host"),
    END,
};

static const h2api__conf_key_t upstream_keys[] = {
    CUSTOM("base_url", read_base_url, UP(base_url), "http[s]://host[:port][/prefix]; required"),
    CUSTOM("headers", read_headers, UP(headers), "default request headers"),
    CUSTOM("http2", read_http2, UP(http2), "on, off or auto (default)"),
    KEY("timeout_ms", MS, 1, MAX_DURATION_MS, 10000, UP(timeout_ms), "a whole call, retries included"),
    KEY("connect_timeout_ms", MS, 1, MAX_DURATION_MS, 5000, UP(connect_timeout_ms), "connect and TLS handshake"),
    KEY("first_byte_timeout_ms", MS, 1, MAX_DURATION_MS, 10000, UP(first_byte_timeout_ms),
        "until the response head; default timeout_ms"),
    KEY("io_timeout_ms", MS, 1, MAX_DURATION_MS, 5000, UP(io_timeout_ms), "each read or write"),
    KEY("pool_timeout_ms", MS, 1, MAX_DURATION_MS, 5000, UP(pool_timeout_ms), "longest wait for a free connection"),
    KEY("max_connections", COUNT, 1, MAX_UPSTREAM_CONNECTIONS, 100, UP(max_connections), "open at once, per worker"),
    KEY("max_keepalive_connections", COUNT, 0, MAX_UPSTREAM_CONNECTIONS, 20, UP(max_keepalive_connections),
        "idle ones kept for reuse, per worker"),
    KEY("keepalive_expiry_ms", MS, 1, MAX_DURATION_MS, 5000, UP(keepalive_expiry_ms), "how long an idle connection is kept"),
    KEY("max_concurrent_requests", COUNT, 0, MAX_RATE, 0, UP(max_concurrent_requests),
        "in flight per worker; 0 = no limit beyond max_connections"),
    KEY("max_response_bytes", BYTES, 1, MAX_BUFFER_BYTES, 8 * 1024 * 1024, UP(max_response_bytes), "buffered response body cap"),
    MAP("rate_limit", rate_limit_keys, "a token bucket in front of the upstream"),
    MAP("retry", retry_keys, "of idempotent requests (RFC 9110 section 9.2.2)"),
    MAP("circuit_breaker", circuit_breaker_keys, "stops calling an upstream that keeps failing"),
    MAP("tls", upstream_tls_keys, "for an https base_url"),
    END,
};

/**
 * Fills the defaults that depend on other keys and checks the keys against each other. A value
 * left out yields to one that was written (max_keepalive_connections to max_connections, the
 * backoff base to its cap); two written values that disagree are an error.
 */
static int finish_upstream(h2api__conf_reader_t *r, h2api_conf_upstream_t *up, const h2api__conf_seen_t *seen)
{
    if (h2api__conf_seen_line(seen, &up->base_url) == 0)
        return h2api__conf_error(r, up->line, "base_url is required");
    if (h2api__conf_seen_line(seen, &up->first_byte_timeout_ms) == 0)
        up->first_byte_timeout_ms = up->timeout_ms;
    if (up->rate_limit.requests_per_second > 0 && up->rate_limit.burst == 0) {
        size_t burst = (size_t)up->rate_limit.requests_per_second;
        if ((double)burst < up->rate_limit.requests_per_second)
            ++burst;
        up->rate_limit.burst = burst < 1 ? 1 : burst;
    }
    if (up->max_keepalive_connections > up->max_connections) {
        int line = h2api__conf_seen_line(seen, &up->max_keepalive_connections);
        if (line == 0)
            up->max_keepalive_connections = up->max_connections;
        else
            return h2api__conf_error(r, line, "max_keepalive_connections (%zu) exceeds max_connections (%zu)",
                                     up->max_keepalive_connections, up->max_connections);
    }
    if (up->retry.backoff_cap_ms < up->retry.backoff_base_ms) {
        int cap_line = h2api__conf_seen_line(seen, &up->retry.backoff_cap_ms);
        if (cap_line == 0)
            up->retry.backoff_cap_ms = up->retry.backoff_base_ms;
        else if (h2api__conf_seen_line(seen, &up->retry.backoff_base_ms) == 0)
            up->retry.backoff_base_ms = up->retry.backoff_cap_ms;
        else
            return h2api__conf_error(r, cap_line, "retry.backoff_cap_ms (%llu) is below retry.backoff_base_ms (%llu)",
                                     (unsigned long long)up->retry.backoff_cap_ms, (unsigned long long)up->retry.backoff_base_ms);
    }
    if (up->circuit_breaker.open_ms < up->circuit_breaker.base_open_ms) {
        int open_line = h2api__conf_seen_line(seen, &up->circuit_breaker.open_ms);
        if (open_line == 0)
            up->circuit_breaker.open_ms = up->circuit_breaker.base_open_ms;
        else if (h2api__conf_seen_line(seen, &up->circuit_breaker.base_open_ms) == 0)
            up->circuit_breaker.base_open_ms = up->circuit_breaker.open_ms;
        else
            return h2api__conf_error(r, open_line, "circuit_breaker.open_ms (%llu) is below circuit_breaker.base_open_ms (%llu)",
                                     (unsigned long long)up->circuit_breaker.open_ms,
                                     (unsigned long long)up->circuit_breaker.base_open_ms);
    }
    return 0;
}

static int on_upstream_pair(h2api__conf_reader_t *r, void *ctx, const char *name, int key_line)
{
    h2api_conf_t *conf = ctx;
    h2api__conf_seen_t seen = {NULL};
    h2api_conf_upstream_t *up;
    int ret;

    if (conf->num_upstreams == H2API_CONF_MAX_UPSTREAMS)
        return h2api__conf_error(r, key_line, "too many upstreams (at most %d)", H2API_CONF_MAX_UPSTREAMS);
    if (strlen(name) > MAX_UPSTREAM_NAME_LEN)
        return h2api__conf_error(r, key_line, "upstream name longer than %d characters", MAX_UPSTREAM_NAME_LEN);
    for (const char *c = name; *c != '\0'; ++c)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
            return h2api__conf_error(r, key_line, "an upstream name may hold only letters, digits, '-', '_' and '.'");
    for (size_t i = 0; i != conf->num_upstreams; ++i)
        if (strcmp(conf->upstreams[i].name, name) == 0)
            return h2api__conf_error(r, key_line, "duplicate upstream (first on line %d)", conf->upstreams[i].line);
    up = &conf->upstreams[conf->num_upstreams++];
    memset(up, 0, sizeof(*up));
    h2api__conf_set_defaults(upstream_keys, up);
    /* the defaults of the CUSTOM rows http2 and retry.statuses */
    up->http2 = H2API_HTTP2_AUTO;
    up->retry.statuses[0] = 502;
    up->retry.statuses[1] = 503;
    up->retry.statuses[2] = 504;
    up->retry.num_statuses = 3;
    up->name = h2api__conf_strdup(name);
    up->line = key_line;
    if ((ret = h2api__conf_read_map(r, upstream_keys, up, &seen)) == 0)
        ret = finish_upstream(r, up, &seen);
    h2api__conf_seen_dispose(&seen);
    return ret;
}

static int read_upstreams(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    return h2api__conf_read_pairs(r, on_upstream_pair, base);
}

/* ---- the top level ---- */

static int read_workers(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_t *conf = base;
    const char *s;
    char msg[256];
    int ret;

    if ((ret = h2api__conf_expect_text(r, "auto or an integer")) != 0)
        return ret;
    s = h2api__conf_scalar(r);
    if (!h2api__conf_is_plain(r) && strcmp(s, "auto") != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "expected auto or an integer from 1 to %d, got \"%s\"", MAX_WORKERS, s);
    if (h2api__conf_parse_workers(s, &conf->workers, msg, sizeof(msg)) != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "%s", msg);
    return 0;
}

static int read_log_level(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_t *conf = base;
    char msg[256];
    int ret;

    if ((ret = h2api__conf_expect_text(r, "error, warn, info or debug")) != 0)
        return ret;
    if (h2api__conf_parse_log_level(h2api__conf_scalar(r), &conf->log.level, msg, sizeof(msg)) != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "%s", msg);
    return 0;
}

static int read_demo_listen(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line)
{
    h2api_conf_t *conf = base;
    conf->demo_upstream.listen.line = h2api__conf_line(r);
    return read_address(r, &conf->demo_upstream.listen);
}

static const h2api__conf_key_t limits_keys[] = {
    KEY("max_body_bytes", BYTES, 0, MAX_BUFFER_BYTES, 1024 * 1024, TOP(limits.max_body_bytes), "request body; 413 beyond"),
    KEY("max_header_bytes", BYTES, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, 8192, TOP(limits.max_header_bytes),
        "request head; 431 beyond"),
    KEY("request_header_timeout_ms", MS, 1, MAX_DURATION_MS, 10000, TOP(limits.request_header_timeout_ms),
        "HTTP/1.1 head and keep-alive idle"),
    KEY("idle_timeout_ms", MS, 1, MAX_DURATION_MS, 10000, TOP(limits.idle_timeout_ms), "HTTP/2 idle connection"),
    KEY("max_connections_per_worker", COUNT, 1, MAX_CONNECTIONS_PER_WORKER, 4096, TOP(limits.max_connections_per_worker),
        "open client connections"),
    KEY("http2_max_concurrent_streams", COUNT, 1, MAX_HTTP2_STREAMS, 100, TOP(limits.http2_max_concurrent_streams),
        "open streams per HTTP/2 connection"),
    KEY("max_url_bytes", BYTES, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, 4096, TOP(limits.max_url_bytes),
        "request target; 414 beyond"),
    KEY("http2_max_streams_per_second", COUNT, 1, MAX_HTTP2_STREAMS, 100000, TOP(limits.http2_max_streams_per_second),
        "streams opened per second, per connection"),
    KEY("http2_max_cancelled_streams", COUNT, 1, MAX_HTTP2_STREAMS, 1000, TOP(limits.http2_max_cancelled_streams),
        "reset before their answer, per 10 s (CVE-2023-44487)"),
    KEY("http2_max_control_frames", COUNT, 1, MAX_HTTP2_STREAMS, 1000, TOP(limits.http2_max_control_frames),
        "SETTINGS and PING per 10 s (CVE-2019-9512, CVE-2019-9515)"),
    KEY("http2_max_continuation_frames", COUNT, 0, MAX_HTTP2_STREAMS, 8, TOP(limits.http2_max_continuation_frames),
        "CONTINUATION frames after one HEADERS frame"),
    KEY("max_header_field_bytes", BYTES, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, 8192, TOP(limits.max_header_field_bytes),
        "one header field; 431 beyond"),
    KEY("max_header_count", COUNT, 1, H2API_CONF_MAX_HEADER_COUNT_LIMIT, 100, TOP(limits.max_header_count),
        "header fields; 431 beyond"),
    KEY("send_timeout_ms", MS, 1, MAX_DURATION_MS, 60000, TOP(limits.send_timeout_ms),
        "an answer left unread this long closes the connection"),
    END,
};

static const h2api__conf_key_t log_keys[] = {
    CUSTOM("level", read_log_level, TOP(log.level), "error, warn, info (default) or debug"),
    KEY("access_log", BOOL, 0, 0, 1, TOP(log.access_log), "one line per request on stdout"),
    END,
};

static const h2api__conf_key_t demo_upstream_keys[] = {
    KEY("enabled", BOOL, 0, 0, 0, TOP(demo_upstream.enabled), "serve the built-in jsonplaceholder data"),
    CUSTOM("listen", read_demo_listen, TOP(demo_upstream.listen), "host:port; default 127.0.0.1:8081"),
    END,
};

static const h2api__conf_key_t app_keys[] = {
    KEY("bulk_concurrency", COUNT, 1, MAX_BULK_CONCURRENCY, 5, TOP(app.bulk_concurrency), "POST /v1/todos/bulk calls in flight"),
    END,
};

static const h2api__conf_key_t top_keys[] = {
    CUSTOM("listen", read_listens, TOP(listens), "host:port entries, or mappings with address and tls; required"),
    CUSTOM("workers", read_workers, TOP(workers), "auto (default: the number of CPUs) or 1 to 1024"),
    MAP("limits", limits_keys, "what one client may ask for"),
    KEY("shutdown_timeout_ms", MS, 0, MAX_DURATION_MS, 10000, TOP(shutdown_timeout_ms), "drain deadline after SIGTERM"),
    MAP("log", log_keys, "logging"),
    KEY("default_upstream", STRING_OR_NULL, 0, 0, 0, TOP(default_upstream), "default: the first upstream"),
    CUSTOM("upstreams", read_upstreams, TOP(upstreams), "named upstreams, each with its own pool"),
    MAP("demo_upstream", demo_upstream_keys, "the built-in upstream for the shipped config"),
    MAP("app", app_keys, "settings of the example routes"),
    END,
};

/** The checks that span sections, once the whole document is read. */
static int finish_document(h2api__conf_reader_t *r, void *base, const h2api__conf_seen_t *seen)
{
    h2api_conf_t *conf = base;
    int listen_line = h2api__conf_seen_line(seen, conf->listens);

    if (conf->num_listens == 0)
        return h2api__conf_error(r, listen_line != 0 ? listen_line : 1, "listen: at least one address is required");
    if (conf->default_upstream != NULL) {
        if (h2api_conf_find_upstream(conf, conf->default_upstream) == NULL)
            return h2api__conf_error(r, h2api__conf_seen_line(seen, &conf->default_upstream),
                                     "default_upstream: unknown upstream \"%s\"", conf->default_upstream);
    } else if (conf->num_upstreams != 0) {
        conf->default_upstream = h2api__conf_strdup(conf->upstreams[0].name);
    }
    return 0;
}

/* ---- the interface ---- */

h2api_conf_t *h2api_conf_load_string(const char *name, const char *yaml, size_t len, char *errbuf, size_t errlen)
{
    h2api_conf_t *conf = h2api__conf_alloc(1, sizeof(*conf));

    h2api__conf_set_msg(errbuf, errlen, "%s", "");
    h2api__conf_set_defaults(top_keys, conf);
    /* the defaults of the CUSTOM rows log.level and demo_upstream.listen */
    conf->log.level = H2API_LOG_INFO;
    conf->demo_upstream.listen.host = h2api__conf_strdup("127.0.0.1");
    conf->demo_upstream.listen.port = 8081;
    conf->path = h2api__conf_strdup(name);
    if (h2api__conf_read_yaml(name, yaml, len, top_keys, conf, finish_document, errbuf, errlen) != 0) {
        h2api_conf_free(conf);
        return NULL;
    }
    return conf;
}

h2api_conf_t *h2api_conf_load(const char *path, char *errbuf, size_t errlen)
{
    h2api_conf_t *conf;
    FILE *fp;
    char *text;
    size_t len;

    if (path == NULL)
        return h2api_conf_load_string("<embedded>", h2api_conf_default_yaml, strlen(h2api_conf_default_yaml), errbuf, errlen);
    if ((fp = fopen(path, "r")) == NULL) {
        h2api__conf_set_msg(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    text = h2api__conf_alloc(1, MAX_FILE_BYTES + 1);
    len = fread(text, 1, MAX_FILE_BYTES + 1, fp);
    if (ferror(fp)) {
        h2api__conf_set_msg(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
        conf = NULL;
    } else if (len > MAX_FILE_BYTES) {
        h2api__conf_set_msg(errbuf, errlen, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
        conf = NULL;
    } else {
        conf = h2api_conf_load_string(path, text, len, errbuf, errlen);
    }
    fclose(fp);
    free(text);
    return conf;
}

void h2api_conf_free(h2api_conf_t *conf)
{
    if (conf == NULL)
        return;
    free(conf->path);
    for (size_t i = 0; i != conf->num_listens; ++i)
        h2api__conf_free_listen(&conf->listens[i]);
    for (size_t i = 0; i != conf->num_upstreams; ++i)
        free_upstream(&conf->upstreams[i]);
    free(conf->default_upstream);
    h2api__conf_free_listen(&conf->demo_upstream.listen);
    free(conf);
}

const h2api_conf_upstream_t *h2api_conf_find_upstream(const h2api_conf_t *conf, const char *name)
{
    if (conf == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i != conf->num_upstreams; ++i)
        if (strcmp(conf->upstreams[i].name, name) == 0)
            return &conf->upstreams[i];
    return NULL;
}
