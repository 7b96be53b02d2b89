/*
 * Configuration loader: one YAML file (libyaml event API) into an h2api_conf_t, with FILE:LINE
 * in every message.
 *
 * The reader walks the event stream by recursive descent. Each `read_*` function starts with the
 * first event of its value current and returns with the last one current (the scalar itself, or
 * the matching MAPPING_END / SEQUENCE_END), so a caller never sees a half-read value. Every error
 * is fatal: the first one fills errbuf and unwinds, so no value ever needs skipping.
 *
 * libyaml does not resolve scalar types, so this file does: a plain, untagged scalar may be a
 * number, a boolean or null; a quoted one (or `!!str`) is always a string. Numbers are decimal
 * digits only (no sign, no `0x`, no `1_000`), which refuses YAML 1.1's octal and sexagesimal
 * surprises instead of guessing.
 *
 * Strings in the config are heap copies owned by the config (h2api_conf_free); out of memory
 * aborts, as in the rest of h2api.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "conf.h"

/* Bounds that catch typos; documented in config/h2api.yaml. */
#define MAX_DURATION_MS 86400000ULL              /* one day */
#define MAX_BUFFER_BYTES (1024ULL * 1024 * 1024) /* max_body_bytes, max_response_bytes: 1 GiB */
#define MAX_WORKERS 1024
#define MAX_CONNECTIONS_PER_WORKER 1048576
#define MAX_HTTP2_STREAMS 2147483647ULL /* RFC 9113 SETTINGS_MAX_CONCURRENT_STREAMS is 31 bits */
#define MAX_UPSTREAM_CONNECTIONS 100000
#define MAX_RATE 1000000
#define MAX_RETRY_ATTEMPTS 10
#define MAX_BULK_CONCURRENCY 1000
#define MAX_UPSTREAM_NAME_LEN 64
#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_KEYS 32 /* the most keys any one mapping of the schema has */

/* ---- memory ---- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrndup(const char *s, size_t len)
{
    char *p = strndup(s, len);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static void replace_str(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

/** Writes a message into `buf` (NUL-terminated, truncated to `len`); a NULL or empty buffer is ignored. */
__attribute__((format(printf, 3, 4))) static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- text parsers shared by the YAML reader and the environment ---- */

/**
 * Parses decimal digits into `*out`, within [min, max].
 * @return 0, or -EINVAL with a message in `msg` (not a number, negative, out of range).
 */
static int parse_uint_text(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen)
{
    uint64_t v = 0;
    const char *p;

    if (s[0] == '-' && isdigit((unsigned char)s[1])) {
        set_msg(msg, msglen, "must not be negative, got %s", s);
        return -EINVAL;
    }
    if (*s == '\0') {
        set_msg(msg, msglen, "expected an integer, got nothing");
        return -EINVAL;
    }
    for (p = s; *p != '\0'; ++p) {
        if (!isdigit((unsigned char)*p)) {
            set_msg(msg, msglen, "expected an integer, got %s", s);
            return -EINVAL;
        }
        if (v > (UINT64_MAX - 9) / 10) {
            v = UINT64_MAX; /* saturate; the range check below refuses it */
            continue;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min || v > max) {
        set_msg(msg, msglen, "must be from %llu to %llu, got %s", (unsigned long long)min, (unsigned long long)max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/**
 * Parses a size: decimal digits, optionally followed by a binary suffix k|K|KiB, m|M|MiB, g|G|GiB.
 * @return 0, or -EINVAL with a message in `msg`.
 */
static int parse_size_text(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } suffixes[] = {{"", 0},   {"k", 10},   {"K", 10}, {"KiB", 10}, {"m", 20},
                    {"M", 20}, {"MiB", 20}, {"g", 30}, {"G", 30},   {"GiB", 30}};
    const char *p = s;
    uint64_t v = 0;
    size_t i;

    if (s[0] == '-' && isdigit((unsigned char)s[1])) {
        set_msg(msg, msglen, "must not be negative, got %s", s);
        return -EINVAL;
    }
    for (; isdigit((unsigned char)*p); ++p)
        v = v > UINT64_MAX / 20 ? UINT64_MAX / 2 : v * 10 + (uint64_t)(*p - '0');
    for (i = 0; i != sizeof(suffixes) / sizeof(suffixes[0]); ++i)
        if (strcmp(p, suffixes[i].suffix) == 0)
            break;
    if (p == s || i == sizeof(suffixes) / sizeof(suffixes[0])) {
        set_msg(msg, msglen, "expected a size such as 8192, 64k, 1m or 8MiB, got %s", s);
        return -EINVAL;
    }
    v = v > (UINT64_MAX >> suffixes[i].shift) ? UINT64_MAX : v << suffixes[i].shift;
    if (v < min || v > max) {
        set_msg(msg, msglen, "must be from %llu to %llu bytes, got %s", (unsigned long long)min, (unsigned long long)max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/** Parses `auto` (0) or 1..MAX_WORKERS. */
static int parse_workers_text(const char *s, unsigned *out, char *msg, size_t msglen)
{
    uint64_t v;
    if (strcmp(s, "auto") == 0) {
        *out = 0;
        return 0;
    }
    if (parse_uint_text(s, 1, MAX_WORKERS, &v, msg, msglen) != 0) {
        set_msg(msg, msglen, "expected auto or an integer from 1 to %d, got %s", MAX_WORKERS, s);
        return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

/** Parses error|warn|warning|info|debug, in any case. */
static int parse_log_level_text(const char *s, h2api_log_level_t *out, char *msg, size_t msglen)
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
        set_msg(msg, msglen, "expected error, warn, info or debug, got %s", s);
        return -EINVAL;
    }
    return 0;
}

/**
 * Parses a listen address: "host:port" or "[v6]:port"; host is a numeric address or localhost
 * (127.0.0.1), port 0..65535.
 * @return 0 with `*host` a new heap string, or -EINVAL with a message in `msg`.
 */
static int parse_listen_text(const char *s, char **host, uint16_t *port, char *msg, size_t msglen)
{
    const char *host_start, *host_end, *port_start;
    char addr[INET6_ADDRSTRLEN + 1], buf[sizeof(struct in6_addr)];
    int family;
    uint64_t v;

    if (s[0] == '[') {
        host_start = s + 1;
        if ((host_end = strchr(host_start, ']')) == NULL) {
            set_msg(msg, msglen, "missing ']' in \"%s\"", s);
            return -EINVAL;
        }
        if (host_end[1] != ':') {
            set_msg(msg, msglen, "expected [address]:port, got \"%s\"", s);
            return -EINVAL;
        }
        port_start = host_end + 2;
        family = AF_INET6;
    } else {
        host_start = s;
        if ((host_end = strrchr(s, ':')) == NULL) {
            set_msg(msg, msglen, "expected host:port, got \"%s\"", s);
            return -EINVAL;
        }
        if (strchr(s, ':') != host_end) {
            set_msg(msg, msglen, "an IPv6 address needs brackets, as in \"[::1]:8000\", got \"%s\"", s);
            return -EINVAL;
        }
        port_start = host_end + 1;
        family = AF_INET;
    }
    if (host_end == host_start) {
        set_msg(msg, msglen, "empty host in \"%s\" (0.0.0.0 listens on every IPv4 address)", s);
        return -EINVAL;
    }
    if (*port_start == '\0' || strlen(port_start) > 5 || parse_uint_text(port_start, 0, 65535, &v, NULL, 0) != 0) {
        set_msg(msg, msglen, "bad port in \"%s\" (expected 0..65535)", s);
        return -EINVAL;
    }
    if ((size_t)(host_end - host_start) >= sizeof(addr)) {
        set_msg(msg, msglen, "host in \"%s\" must be a numeric IPv4 or IPv6 address or localhost", s);
        return -EINVAL;
    }
    memcpy(addr, host_start, host_end - host_start);
    addr[host_end - host_start] = '\0';
    if (family == AF_INET && strcasecmp(addr, "localhost") == 0) {
        strcpy(addr, "127.0.0.1");
    } else if (inet_pton(family, addr, buf) != 1) {
        set_msg(msg, msglen, "host in \"%s\" must be a numeric IPv4 or IPv6 address or localhost", s);
        return -EINVAL;
    }
    *host = xstrdup(addr);
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
        set_msg(errbuf, errlen, "empty url (expected http[s]://host[:port][/prefix])");
        return -EINVAL;
    }
    if (strncasecmp(url, "http://", 7) == 0) {
        is_tls = 0;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        is_tls = 1;
        p = url + 8;
    } else if ((q = strstr(url, "://")) != NULL) {
        set_msg(errbuf, errlen, "unsupported scheme \"%.*s\" in \"%s\" (use http or https)", (int)(q - url), url, url);
        return -EINVAL;
    } else {
        set_msg(errbuf, errlen, "expected http[s]://host[:port][/prefix], got \"%s\"", url);
        return -EINVAL;
    }
    end = p + strcspn(p, "/?#");
    if (memchr(p, '@', end - p) != NULL) {
        set_msg(errbuf, errlen, "user information (user@host) is not supported in \"%s\"", url);
        return -EINVAL;
    }

    /* host: [v6] or name / IPv4 */
    if (*p == '[') {
        host_start = p + 1;
        if ((host_end = memchr(host_start, ']', end - host_start)) == NULL) {
            set_msg(errbuf, errlen, "missing ']' after the IPv6 address in \"%s\"", url);
            return -EINVAL;
        }
        q = host_end + 1;
        if ((size_t)(host_end - host_start) >= sizeof(addr)) {
            set_msg(errbuf, errlen, "bad IPv6 address in \"%s\"", url);
            return -EINVAL;
        }
        memcpy(addr, host_start, host_end - host_start);
        addr[host_end - host_start] = '\0';
        if (host_end != host_start && inet_pton(AF_INET6, addr, buf) != 1) {
            set_msg(errbuf, errlen, "bad IPv6 address in \"%s\"", url);
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
                set_msg(errbuf, errlen, "bad character '%c' in the host of \"%s\"", *c, url);
                return -EINVAL;
            }
        }
    }
    if (host_end == host_start) {
        set_msg(errbuf, errlen, "empty host in \"%s\"", url);
        return -EINVAL;
    }

    /* port */
    if (q == end) {
        port = is_tls ? 443 : 80;
    } else {
        char digits[8];
        if (*q != ':') {
            set_msg(errbuf, errlen, "expected ':' or '/' after the host in \"%s\"", url);
            return -EINVAL;
        }
        ++q;
        if (end - q == 0 || end - q >= (ptrdiff_t)sizeof(digits)) {
            set_msg(errbuf, errlen, "bad port in \"%s\" (expected 1..65535)", url);
            return -EINVAL;
        }
        memcpy(digits, q, end - q);
        digits[end - q] = '\0';
        if (parse_uint_text(digits, 1, 65535, &port, NULL, 0) != 0) {
            set_msg(errbuf, errlen, "bad port in \"%s\" (expected 1..65535)", url);
            return -EINVAL;
        }
    }

    /* path prefix */
    path = end;
    if (strpbrk(path, "?#") != NULL) {
        set_msg(errbuf, errlen, "a query or fragment is not allowed in \"%s\"", url);
        return -EINVAL;
    }
    for (const char *c = path; *c != '\0'; ++c) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            set_msg(errbuf, errlen, "bad character in the path of \"%s\"", url);
            return -EINVAL;
        }
    }
    path_len = strlen(path);
    while (path_len != 0 && path[path_len - 1] == '/')
        --path_len;

    host = xstrndup(host_start, host_end - host_start);
    for (char *c = host; *c != '\0'; ++c)
        *c = (char)tolower((unsigned char)*c);
    replace_str(&up->host, host);
    replace_str(&up->path_prefix, xstrndup(path, path_len));
    up->is_tls = is_tls;
    up->port = (uint16_t)port;
    return 0;
}

/* ---- the YAML reader ---- */

typedef struct st_conf_reader_t {
    yaml_parser_t parser;
    yaml_event_t event; /* the current event, valid when has_event */
    int has_event;
    const char *name; /* file name for messages */
    const char *text; /* the whole input, to find the line of a reader (encoding) error */
    size_t len;
    char path[256]; /* dotted key path of the current value, e.g. "upstreams.api.retry.attempts" */
    char *errbuf;
    size_t errlen;
} conf_reader_t;

typedef int (*pair_cb)(conf_reader_t *r, void *ctx, const char *key, int key_line);
typedef int (*key_cb)(conf_reader_t *r, void *ctx, size_t key, int key_line);
typedef int (*item_cb)(conf_reader_t *r, void *ctx, size_t index);

static int event_line(conf_reader_t *r)
{
    return (int)r->event.start_mark.line + 1;
}

/** Reports "NAME:LINE: PATH: message" (PATH left out at the top level). @return -EINVAL. */
__attribute__((format(printf, 3, 4))) static int error_at(conf_reader_t *r, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->path[0] != '\0')
        set_msg(r->errbuf, r->errlen, "%s:%d: %s: %s", r->name, line, r->path, msg);
    else
        set_msg(r->errbuf, r->errlen, "%s:%d: %s", r->name, line, msg);
    return -EINVAL;
}

static int syntax_error(conf_reader_t *r)
{
    size_t line = 1;

    switch (r->parser.error) {
    case YAML_MEMORY_ERROR:
        abort();
    case YAML_READER_ERROR: /* bad encoding: only a byte offset is known */
        for (size_t i = 0; i != r->parser.problem_offset && i < r->len; ++i)
            if (r->text[i] == '\n')
                ++line;
        break;
    default:
        line = r->parser.problem_mark.line + 1;
        break;
    }
    if (r->parser.context != NULL)
        set_msg(r->errbuf, r->errlen, "%s:%zu: YAML syntax error: %s (%s at line %zu)", r->name, line, r->parser.problem,
                r->parser.context, r->parser.context_mark.line + 1);
    else
        set_msg(r->errbuf, r->errlen, "%s:%zu: YAML syntax error: %s", r->name, line,
                r->parser.problem != NULL ? r->parser.problem : "unknown error");
    return -EINVAL;
}

/** Moves to the next event; aliases are refused (each value is written once). */
static int next_event(conf_reader_t *r)
{
    if (r->has_event) {
        yaml_event_delete(&r->event);
        r->has_event = 0;
    }
    if (!yaml_parser_parse(&r->parser, &r->event))
        return syntax_error(r);
    r->has_event = 1;
    if (r->event.type == YAML_ALIAS_EVENT)
        return error_at(r, event_line(r), "aliases (*%s) are not supported", (const char *)r->event.data.alias.anchor);
    return 0;
}

static size_t path_push(conf_reader_t *r, const char *fmt, const char *key, size_t index)
{
    size_t len = strlen(r->path);
    if (key != NULL)
        snprintf(r->path + len, sizeof(r->path) - len, fmt, len == 0 ? "" : ".", key);
    else
        snprintf(r->path + len, sizeof(r->path) - len, fmt, index);
    return len;
}

static void path_pop(conf_reader_t *r, size_t mark)
{
    r->path[mark] = '\0';
}

static const char *scalar(conf_reader_t *r)
{
    return (const char *)r->event.data.scalar.value;
}

/** A plain, untagged scalar (or one with an explicit non-string tag): the kind YAML types by its text. */
static int scalar_is_plain(conf_reader_t *r)
{
    const char *tag = (const char *)r->event.data.scalar.tag;
    if (tag == NULL)
        return r->event.data.scalar.plain_implicit;
    return strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0;
}

static int is_null(conf_reader_t *r)
{
    const char *s;
    if (r->event.type != YAML_SCALAR_EVENT || !scalar_is_plain(r))
        return 0;
    s = scalar(r);
    return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/** Names the current value for "got ..." in messages: plain scalars bare, quoted ones in quotes. */
static const char *describe(conf_reader_t *r, char *buf, size_t len)
{
    switch (r->event.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_SCALAR_EVENT:
        if (is_null(r))
            return "nothing";
        snprintf(buf, len, scalar_is_plain(r) ? "%.60s" : "\"%.60s\"", scalar(r));
        return buf;
    default:
        return "something else";
    }
}

/** Checks that the current value is a typed (plain) scalar; `what` names the expected type. */
static int expect_plain(conf_reader_t *r, const char *what)
{
    char buf[80];
    if (r->event.type != YAML_SCALAR_EVENT || !scalar_is_plain(r) || is_null(r))
        return error_at(r, event_line(r), "expected %s, got %s", what, describe(r, buf, sizeof(buf)));
    return 0;
}

/** Checks that the current value is a non-null scalar (quoted or plain). */
static int expect_text(conf_reader_t *r, const char *what)
{
    char buf[80];
    if (r->event.type != YAML_SCALAR_EVENT || is_null(r))
        return error_at(r, event_line(r), "expected %s, got %s", what, describe(r, buf, sizeof(buf)));
    return 0;
}

static int read_uint(conf_reader_t *r, uint64_t min, uint64_t max, uint64_t *out)
{
    char msg[256];
    int ret;
    if ((ret = expect_plain(r, "an integer")) != 0)
        return ret;
    if (parse_uint_text(scalar(r), min, max, out, msg, sizeof(msg)) != 0)
        return error_at(r, event_line(r), "%s", msg);
    return 0;
}

static int read_ms(conf_reader_t *r, uint64_t min, uint64_t *out)
{
    return read_uint(r, min, MAX_DURATION_MS, out);
}

static int read_count(conf_reader_t *r, uint64_t min, uint64_t max, size_t *out)
{
    uint64_t v;
    int ret;
    if ((ret = read_uint(r, min, max, &v)) != 0)
        return ret;
    *out = (size_t)v;
    return 0;
}

static int read_unsigned(conf_reader_t *r, uint64_t min, uint64_t max, unsigned *out)
{
    uint64_t v;
    int ret;
    if ((ret = read_uint(r, min, max, &v)) != 0)
        return ret;
    *out = (unsigned)v;
    return 0;
}

static int read_bytes(conf_reader_t *r, uint64_t min, uint64_t max, size_t *out)
{
    char msg[256];
    uint64_t v;
    int ret;
    if ((ret = expect_plain(r, "a size")) != 0)
        return ret;
    if (parse_size_text(scalar(r), min, max, &v, msg, sizeof(msg)) != 0)
        return error_at(r, event_line(r), "%s", msg);
    *out = (size_t)v;
    return 0;
}

/** A rate: digits with an optional fraction ("0.5", "20"), 0..MAX_RATE. */
static int read_rate(conf_reader_t *r, double *out)
{
    const char *s, *p;
    char buf[80];
    double v;
    int ret;

    if ((ret = expect_plain(r, "a number")) != 0)
        return ret;
    s = scalar(r);
    if (s[0] == '-')
        return error_at(r, event_line(r), "must not be negative, got %s", s);
    for (p = s; isdigit((unsigned char)*p); ++p)
        ;
    if (p != s && *p == '.')
        for (++p; isdigit((unsigned char)*p); ++p)
            ;
    if (p == s || *p != '\0')
        return error_at(r, event_line(r), "expected a number such as 10 or 0.5, got %s", describe(r, buf, sizeof(buf)));
    v = strtod(s, NULL);
    if (v > MAX_RATE)
        return error_at(r, event_line(r), "must be from 0 to %d, got %s", MAX_RATE, s);
    *out = v;
    return 0;
}

static int read_bool(conf_reader_t *r, int *out)
{
    char buf[80];
    const char *s = r->event.type == YAML_SCALAR_EVENT ? scalar(r) : "";
    if (r->event.type == YAML_SCALAR_EVENT && scalar_is_plain(r)) {
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
            *out = 0;
            return 0;
        }
    }
    return error_at(r, event_line(r), "expected true or false, got %s", describe(r, buf, sizeof(buf)));
}

/** Reads a string into `*out` (replacing it); null gives NULL when `nullable`, else an error. */
static int read_string(conf_reader_t *r, int nullable, char **out)
{
    int ret;
    if (nullable && is_null(r)) {
        replace_str(out, NULL);
        return 0;
    }
    if ((ret = expect_text(r, "a string")) != 0)
        return ret;
    replace_str(out, xstrdup(scalar(r)));
    return 0;
}

/** Reads a mapping with any keys, calling `cb` with each value current. Null counts as empty. */
static int read_pairs(conf_reader_t *r, pair_cb cb, void *ctx)
{
    char buf[80];
    int ret;

    if (is_null(r))
        return 0;
    if (r->event.type != YAML_MAPPING_START_EVENT)
        return error_at(r, event_line(r), "expected a mapping, got %s", describe(r, buf, sizeof(buf)));
    for (;;) {
        char *key;
        int key_line;
        size_t mark;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (r->event.type != YAML_SCALAR_EVENT || is_null(r))
            return error_at(r, event_line(r), "expected a key, got %s", describe(r, buf, sizeof(buf)));
        key = xstrdup(scalar(r));
        key_line = event_line(r);
        mark = path_push(r, "%s%s", key, 0);
        if ((ret = next_event(r)) == 0)
            ret = cb(r, ctx, key, key_line);
        path_pop(r, mark);
        free(key);
        if (ret != 0)
            return ret;
    }
}

struct st_map_ctx_t {
    const char *const *keys;
    size_t num_keys;
    int *lines;
    key_cb cb;
    void *ctx;
};

static int on_map_pair(conf_reader_t *r, void *_m, const char *key, int key_line)
{
    struct st_map_ctx_t *m = _m;
    size_t i;

    for (i = 0; i != m->num_keys; ++i)
        if (strcmp(m->keys[i], key) == 0)
            break;
    if (i == m->num_keys) {
        char known[512];
        size_t len = 0;
        for (size_t j = 0; j != m->num_keys && len < sizeof(known); ++j)
            len += snprintf(known + len, sizeof(known) - len, "%s%s", j == 0 ? "" : ", ", m->keys[j]);
        return error_at(r, key_line, "unknown key (known keys: %s)", known);
    }
    if (m->lines[i] != 0)
        return error_at(r, key_line, "duplicate key (first on line %d)", m->lines[i]);
    m->lines[i] = key_line;
    return m->cb(r, m->ctx, i, key_line);
}

/**
 * Reads a mapping whose keys come from `keys`; unknown and repeated keys are errors. `lines`
 * (num_keys entries, zeroed by the caller, or NULL) receives the line of each key found, 0 for
 * keys left out. Null counts as an empty mapping.
 */
static int read_map(conf_reader_t *r, const char *const *keys, size_t num_keys, int *lines, key_cb cb, void *ctx)
{
    int local_lines[MAX_KEYS] = {0};
    struct st_map_ctx_t m = {keys, num_keys, lines != NULL ? lines : local_lines, cb, ctx};
    return read_pairs(r, on_map_pair, &m);
}

/** Reads a sequence, calling `cb` with each item current; null is empty, and so is [] . */
static int read_seq(conf_reader_t *r, item_cb cb, void *ctx)
{
    char buf[80];
    int ret;

    if (is_null(r))
        return 0;
    if (r->event.type != YAML_SEQUENCE_START_EVENT)
        return error_at(r, event_line(r), "expected a sequence, got %s", describe(r, buf, sizeof(buf)));
    for (size_t i = 0;; ++i) {
        size_t mark;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        mark = path_push(r, "[%zu]", NULL, i);
        ret = cb(r, ctx, i);
        path_pop(r, mark);
        if (ret != 0)
            return ret;
    }
}

/* ---- the schema ---- */

static void set_upstream_defaults(h2api_conf_upstream_t *up)
{
    memset(up, 0, sizeof(*up));
    up->http2 = H2API_HTTP2_AUTO;
    up->timeout_ms = 10000;
    up->connect_timeout_ms = 5000;
    up->first_byte_timeout_ms = 10000;
    up->io_timeout_ms = 5000;
    up->pool_timeout_ms = 5000;
    up->max_connections = 100;
    up->max_keepalive_connections = 20;
    up->keepalive_expiry_ms = 5000;
    up->max_concurrent_requests = 0;
    up->max_response_bytes = 8 * 1024 * 1024;
    up->retry.attempts = 3;
    up->retry.statuses[0] = 502;
    up->retry.statuses[1] = 503;
    up->retry.statuses[2] = 504;
    up->retry.num_statuses = 3;
    up->retry.backoff_base_ms = 100;
    up->retry.backoff_cap_ms = 2000;
    up->circuit_breaker.failures = 5;
    up->circuit_breaker.base_open_ms = 1000;
    up->circuit_breaker.open_ms = 10000;
    up->circuit_breaker.half_open_calls = 3;
    up->tls.verify = 1;
}

static void set_defaults(h2api_conf_t *conf)
{
    conf->workers = 0;
    conf->limits.max_body_bytes = 1024 * 1024;
    conf->limits.max_header_bytes = 8192;
    conf->limits.request_header_timeout_ms = 10000;
    conf->limits.idle_timeout_ms = 10000;
    conf->limits.send_timeout_ms = 60000;
    conf->limits.max_connections_per_worker = 4096;
    conf->limits.http2_max_concurrent_streams = 100;
    conf->limits.max_url_bytes = 4096;
    conf->limits.max_header_field_bytes = 8192;
    conf->limits.max_header_count = 100;
    conf->limits.http2_max_streams_per_second = 100000;
    conf->limits.http2_max_cancelled_streams = 1000;
    conf->limits.http2_max_control_frames = 1000;
    conf->limits.http2_max_continuation_frames = 8;
    conf->shutdown_timeout_ms = 10000;
    conf->log.level = H2API_LOG_INFO;
    conf->log.access_log = 1;
    conf->demo_upstream.enabled = 0;
    conf->demo_upstream.listen.host = xstrdup("127.0.0.1");
    conf->demo_upstream.listen.port = 8081;
    conf->app.bulk_concurrency = 5;
}

static void free_listen(h2api_conf_listen_t *l)
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

/* listen: "host:port" or {address, tls: {cert, key}} */

static int read_address(conf_reader_t *r, h2api_conf_listen_t *l)
{
    char msg[256], *host;
    int ret;
    if ((ret = expect_text(r, "\"host:port\"")) != 0)
        return ret;
    if (parse_listen_text(scalar(r), &host, &l->port, msg, sizeof(msg)) != 0)
        return error_at(r, event_line(r), "%s", msg);
    replace_str(&l->host, host);
    return 0;
}

enum { LISTEN_TLS_CERT, LISTEN_TLS_KEY, LISTEN_TLS_NUM };
static const char *const listen_tls_keys[LISTEN_TLS_NUM] = {[LISTEN_TLS_CERT] = "cert", [LISTEN_TLS_KEY] = "key"};

static int on_listen_tls(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_listen_t *l = ctx;
    return read_string(r, 0, key == LISTEN_TLS_CERT ? &l->tls_cert_file : &l->tls_key_file);
}

enum { LISTEN_ADDRESS, LISTEN_TLS, LISTEN_NUM };
static const char *const listen_keys[LISTEN_NUM] = {[LISTEN_ADDRESS] = "address", [LISTEN_TLS] = "tls"};

static int on_listen_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_listen_t *l = ctx;
    int ret;

    switch (key) {
    case LISTEN_ADDRESS:
        return read_address(r, l);
    case LISTEN_TLS:
        if ((ret = read_map(r, listen_tls_keys, LISTEN_TLS_NUM, NULL, on_listen_tls, l)) != 0)
            return ret;
        if (l->tls_cert_file == NULL || l->tls_key_file == NULL)
            return error_at(r, key_line, "%s",
                            l->tls_cert_file != NULL  ? "cert is set but key is missing"
                            : l->tls_key_file != NULL ? "key is set but cert is missing"
                                                      : "needs cert and key");
        return 0;
    }
    return 0;
}

static int on_listen_item(conf_reader_t *r, void *ctx, size_t index)
{
    h2api_conf_t *conf = ctx;
    h2api_conf_listen_t *l;
    int line = event_line(r), ret;
    char buf[80];

    if (conf->num_listens == H2API_CONF_MAX_LISTENS)
        return error_at(r, line, "too many listen entries (at most %d)", H2API_CONF_MAX_LISTENS);
    l = &conf->listens[conf->num_listens++];
    l->line = line;
    if (r->event.type == YAML_MAPPING_START_EVENT) {
        if ((ret = read_map(r, listen_keys, LISTEN_NUM, NULL, on_listen_entry, l)) != 0)
            return ret;
        if (l->host == NULL)
            return error_at(r, line, "address is required");
    } else if (r->event.type == YAML_SCALAR_EVENT) {
        if ((ret = read_address(r, l)) != 0)
            return ret;
    } else {
        return error_at(r, line,
                        "expected \"host:port\" or a mapping with address and tls, got %s (IPv6 needs quotes: \"[::1]:8000\")",
                        describe(r, buf, sizeof(buf)));
    }
    for (size_t i = 0; i + 1 < conf->num_listens; ++i)
        if (l->port != 0 && l->port == conf->listens[i].port && strcmp(l->host, conf->listens[i].host) == 0)
            return error_at(r, line, "duplicate listen address (first on line %d)", conf->listens[i].line);
    return 0;
}

/* limits */

enum {
    LIMITS_MAX_BODY_BYTES,
    LIMITS_MAX_HEADER_BYTES,
    LIMITS_REQUEST_HEADER_TIMEOUT_MS,
    LIMITS_IDLE_TIMEOUT_MS,
    LIMITS_MAX_CONNECTIONS_PER_WORKER,
    LIMITS_HTTP2_MAX_CONCURRENT_STREAMS,
    LIMITS_MAX_URL_BYTES,
    LIMITS_HTTP2_MAX_STREAMS_PER_SECOND,
    LIMITS_HTTP2_MAX_CANCELLED_STREAMS,
    LIMITS_HTTP2_MAX_CONTROL_FRAMES,
    LIMITS_HTTP2_MAX_CONTINUATION_FRAMES,
    LIMITS_MAX_HEADER_FIELD_BYTES,
    LIMITS_MAX_HEADER_COUNT,
    LIMITS_SEND_TIMEOUT_MS,
    LIMITS_NUM
};
static const char *const limits_keys[LIMITS_NUM] = {
    [LIMITS_MAX_BODY_BYTES] = "max_body_bytes",
    [LIMITS_MAX_HEADER_BYTES] = "max_header_bytes",
    [LIMITS_REQUEST_HEADER_TIMEOUT_MS] = "request_header_timeout_ms",
    [LIMITS_IDLE_TIMEOUT_MS] = "idle_timeout_ms",
    [LIMITS_MAX_CONNECTIONS_PER_WORKER] = "max_connections_per_worker",
    [LIMITS_HTTP2_MAX_CONCURRENT_STREAMS] = "http2_max_concurrent_streams",
    [LIMITS_MAX_URL_BYTES] = "max_url_bytes",
    [LIMITS_HTTP2_MAX_STREAMS_PER_SECOND] = "http2_max_streams_per_second",
    [LIMITS_HTTP2_MAX_CANCELLED_STREAMS] = "http2_max_cancelled_streams",
    [LIMITS_HTTP2_MAX_CONTROL_FRAMES] = "http2_max_control_frames",
    [LIMITS_HTTP2_MAX_CONTINUATION_FRAMES] = "http2_max_continuation_frames",
    [LIMITS_MAX_HEADER_FIELD_BYTES] = "max_header_field_bytes",
    [LIMITS_MAX_HEADER_COUNT] = "max_header_count",
    [LIMITS_SEND_TIMEOUT_MS] = "send_timeout_ms",
};

static int on_limits_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_t *conf = ctx;
    switch (key) {
    case LIMITS_MAX_BODY_BYTES:
        return read_bytes(r, 0, MAX_BUFFER_BYTES, &conf->limits.max_body_bytes);
    case LIMITS_MAX_HEADER_BYTES:
        return read_bytes(r, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, &conf->limits.max_header_bytes);
    case LIMITS_REQUEST_HEADER_TIMEOUT_MS:
        return read_ms(r, 1, &conf->limits.request_header_timeout_ms);
    case LIMITS_IDLE_TIMEOUT_MS:
        return read_ms(r, 1, &conf->limits.idle_timeout_ms);
    case LIMITS_MAX_CONNECTIONS_PER_WORKER:
        return read_count(r, 1, MAX_CONNECTIONS_PER_WORKER, &conf->limits.max_connections_per_worker);
    case LIMITS_HTTP2_MAX_CONCURRENT_STREAMS:
        return read_count(r, 1, MAX_HTTP2_STREAMS, &conf->limits.http2_max_concurrent_streams);
    case LIMITS_MAX_URL_BYTES:
        return read_bytes(r, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, &conf->limits.max_url_bytes);
    case LIMITS_HTTP2_MAX_STREAMS_PER_SECOND:
        return read_count(r, 1, MAX_HTTP2_STREAMS, &conf->limits.http2_max_streams_per_second);
    case LIMITS_HTTP2_MAX_CANCELLED_STREAMS:
        return read_count(r, 1, MAX_HTTP2_STREAMS, &conf->limits.http2_max_cancelled_streams);
    case LIMITS_HTTP2_MAX_CONTROL_FRAMES:
        return read_count(r, 1, MAX_HTTP2_STREAMS, &conf->limits.http2_max_control_frames);
    case LIMITS_HTTP2_MAX_CONTINUATION_FRAMES:
        return read_count(r, 0, MAX_HTTP2_STREAMS, &conf->limits.http2_max_continuation_frames);
    case LIMITS_MAX_HEADER_FIELD_BYTES:
        return read_bytes(r, 1, H2API_CONF_MAX_HEADER_BYTES_LIMIT, &conf->limits.max_header_field_bytes);
    case LIMITS_MAX_HEADER_COUNT:
        return read_count(r, 1, H2API_CONF_MAX_HEADER_COUNT_LIMIT, &conf->limits.max_header_count);
    case LIMITS_SEND_TIMEOUT_MS:
        return read_ms(r, 1, &conf->limits.send_timeout_ms);
    }
    return 0;
}

/* log */

enum { LOG_LEVEL, LOG_ACCESS_LOG, LOG_NUM };
static const char *const log_keys[LOG_NUM] = {[LOG_LEVEL] = "level", [LOG_ACCESS_LOG] = "access_log"};

static int on_log_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_t *conf = ctx;
    char msg[256];
    int ret;

    switch (key) {
    case LOG_LEVEL:
        if ((ret = expect_text(r, "error, warn, info or debug")) != 0)
            return ret;
        if (parse_log_level_text(scalar(r), &conf->log.level, msg, sizeof(msg)) != 0)
            return error_at(r, event_line(r), "%s", msg);
        return 0;
    case LOG_ACCESS_LOG:
        return read_bool(r, &conf->log.access_log);
    }
    return 0;
}

/* upstreams.NAME */

struct st_upstream_ctx_t {
    h2api_conf_upstream_t *up;
    int lines[MAX_KEYS];       /* of the upstream's own keys */
    int retry_lines[MAX_KEYS]; /* of retry's keys */
    int breaker_lines[MAX_KEYS]; /* of circuit_breaker's keys */
};

static int on_header_pair(conf_reader_t *r, void *ctx, const char *key, int key_line)
{
    static const char *const refused[] = {"connection", "keep-alive",        "proxy-connection", "te",
                                          "trailer",    "transfer-encoding", "upgrade",          "content-length"};
    h2api_conf_upstream_t *up = ctx;
    h2api_conf_header_t *h;
    char *name;
    int ret;

    if (up->num_headers == H2API_CONF_MAX_HEADERS)
        return error_at(r, key_line, "too many headers (at most %d)", H2API_CONF_MAX_HEADERS);
    for (const char *c = key; *c != '\0'; ++c)
        if (!(isalnum((unsigned char)*c) || strchr("!#$%&'*+-.^_`|~", *c) != NULL))
            return error_at(r, key_line, "bad character '%c' in a header name", *c);
    for (size_t i = 0; i != sizeof(refused) / sizeof(refused[0]); ++i)
        if (strcasecmp(key, refused[i]) == 0)
            return error_at(r, key_line, "%s is a hop-by-hop or framing header; the client sets it", refused[i]);
    for (size_t i = 0; i != up->num_headers; ++i)
        if (strcasecmp(key, up->headers[i].name) == 0)
            return error_at(r, key_line, "duplicate header");
    name = xstrdup(key);
    for (char *c = name; *c != '\0'; ++c)
        *c = (char)tolower((unsigned char)*c);
    h = &up->headers[up->num_headers++];
    h->name = name;
    if ((ret = read_string(r, 0, &h->value)) != 0)
        return ret;
    if (strpbrk(h->value, "\r\n") != NULL)
        return error_at(r, event_line(r), "a header value cannot hold CR or LF");
    return 0;
}

static int read_http2(conf_reader_t *r, h2api_http2_mode_t *out)
{
    char buf[80];
    const char *s;
    int ret;

    if ((ret = expect_text(r, "on, off or auto")) != 0)
        return ret;
    /* YAML 1.1 reads bare on/off as booleans; both spellings mean the same here */
    s = scalar(r);
    if (strcasecmp(s, "on") == 0 || strcasecmp(s, "true") == 0)
        *out = H2API_HTTP2_ON;
    else if (strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0)
        *out = H2API_HTTP2_OFF;
    else if (strcasecmp(s, "auto") == 0)
        *out = H2API_HTTP2_AUTO;
    else
        return error_at(r, event_line(r), "expected on, off or auto, got %s", describe(r, buf, sizeof(buf)));
    return 0;
}

enum { RATE_REQUESTS_PER_SECOND, RATE_BURST, RATE_NUM };
static const char *const rate_keys[RATE_NUM] = {[RATE_REQUESTS_PER_SECOND] = "requests_per_second", [RATE_BURST] = "burst"};

static int on_rate_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_upstream_t *up = ctx;
    switch (key) {
    case RATE_REQUESTS_PER_SECOND:
        return read_rate(r, &up->rate_limit.requests_per_second);
    case RATE_BURST:
        return read_count(r, 0, MAX_RATE, &up->rate_limit.burst);
    }
    return 0;
}

static int on_status_item(conf_reader_t *r, void *ctx, size_t index)
{
    h2api_conf_upstream_t *up = ctx;
    uint64_t v;
    int ret;

    if (up->retry.num_statuses == H2API_CONF_MAX_RETRY_STATUSES)
        return error_at(r, event_line(r), "too many statuses (at most %d)", H2API_CONF_MAX_RETRY_STATUSES);
    if ((ret = read_uint(r, 400, 599, &v)) != 0)
        return ret;
    up->retry.statuses[up->retry.num_statuses++] = (int)v;
    return 0;
}

enum { RETRY_ATTEMPTS, RETRY_STATUSES, RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_CAP_MS, RETRY_NUM };
static const char *const retry_keys[RETRY_NUM] = {[RETRY_ATTEMPTS] = "attempts",
                                                  [RETRY_STATUSES] = "statuses",
                                                  [RETRY_BACKOFF_BASE_MS] = "backoff_base_ms",
                                                  [RETRY_BACKOFF_CAP_MS] = "backoff_cap_ms"};

static int on_retry_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_upstream_t *up = ctx;
    switch (key) {
    case RETRY_ATTEMPTS:
        return read_unsigned(r, 1, MAX_RETRY_ATTEMPTS, &up->retry.attempts);
    case RETRY_STATUSES:
        up->retry.num_statuses = 0;
        return read_seq(r, on_status_item, up);
    case RETRY_BACKOFF_BASE_MS:
        return read_ms(r, 0, &up->retry.backoff_base_ms);
    case RETRY_BACKOFF_CAP_MS:
        return read_ms(r, 0, &up->retry.backoff_cap_ms);
    }
    return 0;
}

enum { BREAKER_FAILURES, BREAKER_BASE_OPEN_MS, BREAKER_OPEN_MS, BREAKER_HALF_OPEN_CALLS, BREAKER_NUM };
static const char *const breaker_keys[BREAKER_NUM] = {[BREAKER_FAILURES] = "failures",
                                                      [BREAKER_BASE_OPEN_MS] = "base_open_ms",
                                                      [BREAKER_OPEN_MS] = "open_ms",
                                                      [BREAKER_HALF_OPEN_CALLS] = "half_open_calls"};

static int on_breaker_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_upstream_t *up = ctx;
    switch (key) {
    case BREAKER_FAILURES:
        return read_unsigned(r, 0, MAX_RATE, &up->circuit_breaker.failures);
    case BREAKER_BASE_OPEN_MS:
        return read_ms(r, 1, &up->circuit_breaker.base_open_ms);
    case BREAKER_OPEN_MS:
        return read_ms(r, 1, &up->circuit_breaker.open_ms);
    case BREAKER_HALF_OPEN_CALLS:
        return read_unsigned(r, 1, 1000, &up->circuit_breaker.half_open_calls);
    }
    return 0;
}

enum { UPSTREAM_TLS_VERIFY, UPSTREAM_TLS_CA_FILE, UPSTREAM_TLS_SNI, UPSTREAM_TLS_NUM };
static const char *const upstream_tls_keys[UPSTREAM_TLS_NUM] = {
    [UPSTREAM_TLS_VERIFY] = "verify", [UPSTREAM_TLS_CA_FILE] = "ca_file", [UPSTREAM_TLS_SNI] = "sni"};

static int on_upstream_tls_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_upstream_t *up = ctx;
    switch (key) {
    case UPSTREAM_TLS_VERIFY:
        return read_bool(r, &up->tls.verify);
    case UPSTREAM_TLS_CA_FILE:
        return read_string(r, 1, &up->tls.ca_file);
    case UPSTREAM_TLS_SNI:
        return read_string(r, 1, &up->tls.sni);
    }
    return 0;
}

enum {
    UP_BASE_URL,
    UP_HEADERS,
    UP_HTTP2,
    UP_TIMEOUT_MS,
    UP_CONNECT_TIMEOUT_MS,
    UP_FIRST_BYTE_TIMEOUT_MS,
    UP_IO_TIMEOUT_MS,
    UP_POOL_TIMEOUT_MS,
    UP_MAX_CONNECTIONS,
    UP_MAX_KEEPALIVE_CONNECTIONS,
    UP_KEEPALIVE_EXPIRY_MS,
    UP_MAX_CONCURRENT_REQUESTS,
    UP_MAX_RESPONSE_BYTES,
    UP_RATE_LIMIT,
    UP_RETRY,
    UP_CIRCUIT_BREAKER,
    UP_TLS,
    UP_NUM
};
static const char *const upstream_keys[UP_NUM] = {
    [UP_BASE_URL] = "base_url",
    [UP_HEADERS] = "headers",
    [UP_HTTP2] = "http2",
    [UP_TIMEOUT_MS] = "timeout_ms",
    [UP_CONNECT_TIMEOUT_MS] = "connect_timeout_ms",
    [UP_FIRST_BYTE_TIMEOUT_MS] = "first_byte_timeout_ms",
    [UP_IO_TIMEOUT_MS] = "io_timeout_ms",
    [UP_POOL_TIMEOUT_MS] = "pool_timeout_ms",
    [UP_MAX_CONNECTIONS] = "max_connections",
    [UP_MAX_KEEPALIVE_CONNECTIONS] = "max_keepalive_connections",
    [UP_KEEPALIVE_EXPIRY_MS] = "keepalive_expiry_ms",
    [UP_MAX_CONCURRENT_REQUESTS] = "max_concurrent_requests",
    [UP_MAX_RESPONSE_BYTES] = "max_response_bytes",
    [UP_RATE_LIMIT] = "rate_limit",
    [UP_RETRY] = "retry",
    [UP_CIRCUIT_BREAKER] = "circuit_breaker",
    [UP_TLS] = "tls",
};

static int on_upstream_entry(conf_reader_t *r, void *_ctx, size_t key, int key_line)
{
    struct st_upstream_ctx_t *ctx = _ctx;
    h2api_conf_upstream_t *up = ctx->up;
    char msg[256];
    int ret;

    switch (key) {
    case UP_BASE_URL:
        if ((ret = read_string(r, 0, &up->base_url)) != 0)
            return ret;
        if (h2api_conf_parse_base_url(up, up->base_url, msg, sizeof(msg)) != 0)
            return error_at(r, event_line(r), "%s", msg);
        return 0;
    case UP_HEADERS:
        return read_pairs(r, on_header_pair, up);
    case UP_HTTP2:
        return read_http2(r, &up->http2);
    case UP_TIMEOUT_MS:
        return read_ms(r, 1, &up->timeout_ms);
    case UP_CONNECT_TIMEOUT_MS:
        return read_ms(r, 1, &up->connect_timeout_ms);
    case UP_FIRST_BYTE_TIMEOUT_MS:
        return read_ms(r, 1, &up->first_byte_timeout_ms);
    case UP_IO_TIMEOUT_MS:
        return read_ms(r, 1, &up->io_timeout_ms);
    case UP_POOL_TIMEOUT_MS:
        return read_ms(r, 1, &up->pool_timeout_ms);
    case UP_MAX_CONNECTIONS:
        return read_count(r, 1, MAX_UPSTREAM_CONNECTIONS, &up->max_connections);
    case UP_MAX_KEEPALIVE_CONNECTIONS:
        return read_count(r, 0, MAX_UPSTREAM_CONNECTIONS, &up->max_keepalive_connections);
    case UP_KEEPALIVE_EXPIRY_MS:
        return read_ms(r, 1, &up->keepalive_expiry_ms);
    case UP_MAX_CONCURRENT_REQUESTS:
        return read_count(r, 0, MAX_RATE, &up->max_concurrent_requests);
    case UP_MAX_RESPONSE_BYTES:
        return read_bytes(r, 1, MAX_BUFFER_BYTES, &up->max_response_bytes);
    case UP_RATE_LIMIT:
        return read_map(r, rate_keys, RATE_NUM, NULL, on_rate_entry, up);
    case UP_RETRY:
        return read_map(r, retry_keys, RETRY_NUM, ctx->retry_lines, on_retry_entry, up);
    case UP_CIRCUIT_BREAKER:
        return read_map(r, breaker_keys, BREAKER_NUM, ctx->breaker_lines, on_breaker_entry, up);
    case UP_TLS:
        return read_map(r, upstream_tls_keys, UPSTREAM_TLS_NUM, NULL, on_upstream_tls_entry, up);
    }
    return 0;
}

/**
 * Fills the defaults that depend on other keys and checks the keys against each other. A value
 * left out yields to one that was written (max_keepalive_connections to max_connections, the
 * backoff base to its cap); two written values that disagree are an error.
 */
static int finish_upstream(conf_reader_t *r, struct st_upstream_ctx_t *ctx)
{
    h2api_conf_upstream_t *up = ctx->up;
    int *lines = ctx->lines, *retry_lines = ctx->retry_lines, *breaker_lines = ctx->breaker_lines;

    if (lines[UP_BASE_URL] == 0)
        return error_at(r, up->line, "base_url is required");
    if (lines[UP_FIRST_BYTE_TIMEOUT_MS] == 0)
        up->first_byte_timeout_ms = up->timeout_ms;
    if (up->rate_limit.requests_per_second > 0 && up->rate_limit.burst == 0) {
        size_t burst = (size_t)up->rate_limit.requests_per_second;
        if ((double)burst < up->rate_limit.requests_per_second)
            ++burst;
        up->rate_limit.burst = burst < 1 ? 1 : burst;
    }
    if (up->max_keepalive_connections > up->max_connections) {
        if (lines[UP_MAX_KEEPALIVE_CONNECTIONS] == 0)
            up->max_keepalive_connections = up->max_connections;
        else
            return error_at(r, lines[UP_MAX_KEEPALIVE_CONNECTIONS], "max_keepalive_connections (%zu) exceeds max_connections (%zu)",
                            up->max_keepalive_connections, up->max_connections);
    }
    if (up->retry.backoff_cap_ms < up->retry.backoff_base_ms) {
        if (retry_lines[RETRY_BACKOFF_CAP_MS] == 0)
            up->retry.backoff_cap_ms = up->retry.backoff_base_ms;
        else if (retry_lines[RETRY_BACKOFF_BASE_MS] == 0)
            up->retry.backoff_base_ms = up->retry.backoff_cap_ms;
        else
            return error_at(r, retry_lines[RETRY_BACKOFF_CAP_MS],
                            "retry.backoff_cap_ms (%llu) is below retry.backoff_base_ms (%llu)",
                            (unsigned long long)up->retry.backoff_cap_ms, (unsigned long long)up->retry.backoff_base_ms);
    }
    if (up->circuit_breaker.open_ms < up->circuit_breaker.base_open_ms) {
        if (breaker_lines[BREAKER_OPEN_MS] == 0)
            up->circuit_breaker.open_ms = up->circuit_breaker.base_open_ms;
        else if (breaker_lines[BREAKER_BASE_OPEN_MS] == 0)
            up->circuit_breaker.base_open_ms = up->circuit_breaker.open_ms;
        else
            return error_at(r, breaker_lines[BREAKER_OPEN_MS],
                            "circuit_breaker.open_ms (%llu) is below circuit_breaker.base_open_ms (%llu)",
                            (unsigned long long)up->circuit_breaker.open_ms, (unsigned long long)up->circuit_breaker.base_open_ms);
    }
    return 0;
}

static int on_upstream_pair(conf_reader_t *r, void *ctx, const char *name, int key_line)
{
    h2api_conf_t *conf = ctx;
    struct st_upstream_ctx_t up_ctx = {NULL};
    int ret;

    if (conf->num_upstreams == H2API_CONF_MAX_UPSTREAMS)
        return error_at(r, key_line, "too many upstreams (at most %d)", H2API_CONF_MAX_UPSTREAMS);
    if (strlen(name) > MAX_UPSTREAM_NAME_LEN)
        return error_at(r, key_line, "upstream name longer than %d characters", MAX_UPSTREAM_NAME_LEN);
    for (const char *c = name; *c != '\0'; ++c)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
            return error_at(r, key_line, "an upstream name may hold only letters, digits, '-', '_' and '.'");
    for (size_t i = 0; i != conf->num_upstreams; ++i)
        if (strcmp(conf->upstreams[i].name, name) == 0)
            return error_at(r, key_line, "duplicate upstream (first on line %d)", conf->upstreams[i].line);
    up_ctx.up = &conf->upstreams[conf->num_upstreams++];
    set_upstream_defaults(up_ctx.up);
    up_ctx.up->name = xstrdup(name);
    up_ctx.up->line = key_line;
    if ((ret = read_map(r, upstream_keys, UP_NUM, up_ctx.lines, on_upstream_entry, &up_ctx)) != 0)
        return ret;
    return finish_upstream(r, &up_ctx);
}

/* demo_upstream, app */

enum { DEMO_ENABLED, DEMO_LISTEN, DEMO_NUM };
static const char *const demo_keys[DEMO_NUM] = {[DEMO_ENABLED] = "enabled", [DEMO_LISTEN] = "listen"};

static int on_demo_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_t *conf = ctx;
    switch (key) {
    case DEMO_ENABLED:
        return read_bool(r, &conf->demo_upstream.enabled);
    case DEMO_LISTEN:
        conf->demo_upstream.listen.line = event_line(r);
        return read_address(r, &conf->demo_upstream.listen);
    }
    return 0;
}

enum { APP_BULK_CONCURRENCY, APP_NUM };
static const char *const app_keys[APP_NUM] = {[APP_BULK_CONCURRENCY] = "bulk_concurrency"};

static int on_app_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_t *conf = ctx;
    return read_count(r, 1, MAX_BULK_CONCURRENCY, &conf->app.bulk_concurrency);
}

/* the top level */

enum {
    TOP_LISTEN,
    TOP_WORKERS,
    TOP_LIMITS,
    TOP_SHUTDOWN_TIMEOUT_MS,
    TOP_LOG,
    TOP_DEFAULT_UPSTREAM,
    TOP_UPSTREAMS,
    TOP_DEMO_UPSTREAM,
    TOP_APP,
    TOP_NUM
};
static const char *const top_keys[TOP_NUM] = {
    [TOP_LISTEN] = "listen",
    [TOP_WORKERS] = "workers",
    [TOP_LIMITS] = "limits",
    [TOP_SHUTDOWN_TIMEOUT_MS] = "shutdown_timeout_ms",
    [TOP_LOG] = "log",
    [TOP_DEFAULT_UPSTREAM] = "default_upstream",
    [TOP_UPSTREAMS] = "upstreams",
    [TOP_DEMO_UPSTREAM] = "demo_upstream",
    [TOP_APP] = "app",
};

static int on_top_entry(conf_reader_t *r, void *ctx, size_t key, int key_line)
{
    h2api_conf_t *conf = ctx;
    char msg[256];
    int ret;

    switch (key) {
    case TOP_LISTEN:
        if (r->event.type == YAML_SCALAR_EVENT && !is_null(r)) /* one address without the list */
            return on_listen_item(r, conf, 0);
        return read_seq(r, on_listen_item, conf);
    case TOP_WORKERS:
        if ((ret = expect_text(r, "auto or an integer")) != 0)
            return ret;
        if (!scalar_is_plain(r) && strcmp(scalar(r), "auto") != 0)
            return error_at(r, event_line(r), "expected auto or an integer from 1 to %d, got \"%s\"", MAX_WORKERS, scalar(r));
        if (parse_workers_text(scalar(r), &conf->workers, msg, sizeof(msg)) != 0)
            return error_at(r, event_line(r), "%s", msg);
        return 0;
    case TOP_LIMITS:
        return read_map(r, limits_keys, LIMITS_NUM, NULL, on_limits_entry, conf);
    case TOP_SHUTDOWN_TIMEOUT_MS:
        return read_ms(r, 0, &conf->shutdown_timeout_ms);
    case TOP_LOG:
        return read_map(r, log_keys, LOG_NUM, NULL, on_log_entry, conf);
    case TOP_DEFAULT_UPSTREAM:
        return read_string(r, 1, &conf->default_upstream);
    case TOP_UPSTREAMS:
        return read_pairs(r, on_upstream_pair, conf);
    case TOP_DEMO_UPSTREAM:
        return read_map(r, demo_keys, DEMO_NUM, NULL, on_demo_entry, conf);
    case TOP_APP:
        return read_map(r, app_keys, APP_NUM, NULL, on_app_entry, conf);
    }
    return 0;
}

/** Reads the one document of the stream into `conf` and runs the checks that span sections. */
static int read_document(conf_reader_t *r, h2api_conf_t *conf)
{
    int lines[TOP_NUM] = {0}, ret;
    char buf[80];

    if ((ret = next_event(r)) != 0) /* STREAM_START */
        return ret;
    if ((ret = next_event(r)) != 0)
        return ret;
    if (r->event.type == YAML_DOCUMENT_START_EVENT) {
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_MAPPING_START_EVENT) {
            if ((ret = read_map(r, top_keys, TOP_NUM, lines, on_top_entry, conf)) != 0)
                return ret;
        } else if (!is_null(r)) {
            return error_at(r, event_line(r), "expected a mapping of settings at the top level, got %s",
                            describe(r, buf, sizeof(buf)));
        }
        if ((ret = next_event(r)) != 0) /* DOCUMENT_END */
            return ret;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type != YAML_STREAM_END_EVENT)
            return error_at(r, event_line(r), "only one YAML document is allowed");
    }

    if (conf->num_listens == 0)
        return error_at(r, lines[TOP_LISTEN] != 0 ? lines[TOP_LISTEN] : 1, "listen: at least one address is required");
    if (conf->default_upstream != NULL) {
        if (h2api_conf_find_upstream(conf, conf->default_upstream) == NULL)
            return error_at(r, lines[TOP_DEFAULT_UPSTREAM], "default_upstream: unknown upstream \"%s\"", conf->default_upstream);
    } else if (conf->num_upstreams != 0) {
        conf->default_upstream = xstrdup(conf->upstreams[0].name);
    }
    return 0;
}

h2api_conf_t *h2api_conf_load_string(const char *name, const char *yaml, size_t len, char *errbuf, size_t errlen)
{
    conf_reader_t r = {.name = name, .text = yaml, .len = len, .errbuf = errbuf, .errlen = errlen};
    h2api_conf_t *conf = xcalloc(1, sizeof(*conf));
    int ret;

    set_msg(errbuf, errlen, "%s", "");
    set_defaults(conf);
    conf->path = xstrdup(name);
    if (!yaml_parser_initialize(&r.parser))
        abort();
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)yaml, len);
    ret = read_document(&r, conf);
    if (r.has_event)
        yaml_event_delete(&r.event);
    yaml_parser_delete(&r.parser);
    if (ret != 0) {
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
        set_msg(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    text = xcalloc(1, MAX_FILE_BYTES + 1);
    len = fread(text, 1, MAX_FILE_BYTES + 1, fp);
    if (ferror(fp)) {
        set_msg(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
        conf = NULL;
    } else if (len > MAX_FILE_BYTES) {
        set_msg(errbuf, errlen, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
        conf = NULL;
    } else {
        conf = h2api_conf_load_string(path, text, len, errbuf, errlen);
    }
    fclose(fp);
    free(text);
    return conf;
}

/* ---- environment ---- */

/** getenv, with an empty value counting as unset (as compose files leave them). */
static const char *get_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/** Parses "host:port[,host:port...]" into `listens`; spaces around each address are ignored. */
static int parse_listen_list(const char *s, h2api_conf_listen_t *listens, size_t *num, char *msg, size_t msglen)
{
    const char *p = s;
    *num = 0;
    for (;;) {
        const char *start, *end, *comma = strchr(p, ',');
        char item[128];
        h2api_conf_listen_t *l;

        end = comma != NULL ? comma : p + strlen(p);
        for (start = p; start != end && isspace((unsigned char)*start); ++start)
            ;
        while (end != start && isspace((unsigned char)end[-1]))
            --end;
        if (start == end) {
            set_msg(msg, msglen, "empty address in \"%s\"", s);
            return -EINVAL;
        }
        if (*num == H2API_CONF_MAX_LISTENS) {
            set_msg(msg, msglen, "too many addresses (at most %d)", H2API_CONF_MAX_LISTENS);
            return -EINVAL;
        }
        snprintf(item, sizeof(item), "%.*s", (int)(end - start), start);
        l = &listens[(*num)++];
        if (parse_listen_text(item, &l->host, &l->port, msg, msglen) != 0) {
            --*num;
            return -EINVAL;
        }
        for (size_t i = 0; i + 1 < *num; ++i) {
            if (l->port != 0 && l->port == listens[i].port && strcmp(l->host, listens[i].host) == 0) {
                set_msg(msg, msglen, "duplicate address \"%s\"", item);
                return -EINVAL;
            }
        }
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int h2api_conf_apply_env(h2api_conf_t *conf, char *errbuf, size_t errlen)
{
    const char *listen = get_env("H2API_LISTEN"), *workers = get_env("H2API_WORKERS"), *level = get_env("H2API_LOG_LEVEL"),
               *url = get_env("H2API_UPSTREAM_URL");
    h2api_conf_listen_t listens[H2API_CONF_MAX_LISTENS] = {{NULL}};
    h2api_conf_upstream_t url_parts = {NULL}, *up = NULL;
    h2api_log_level_t new_level = conf->log.level;
    unsigned new_workers = conf->workers;
    size_t num_listens = 0;
    const char *failed = NULL;
    char msg[256];

    /* parse everything first, so that a bad variable leaves conf as it was */
    if (listen != NULL && parse_listen_list(listen, listens, &num_listens, msg, sizeof(msg)) != 0) {
        failed = "H2API_LISTEN";
    } else if (workers != NULL && parse_workers_text(workers, &new_workers, msg, sizeof(msg)) != 0) {
        failed = "H2API_WORKERS";
    } else if (level != NULL && parse_log_level_text(level, &new_level, msg, sizeof(msg)) != 0) {
        failed = "H2API_LOG_LEVEL";
    } else if (url != NULL) {
        if (conf->default_upstream == NULL ||
            (up = (h2api_conf_upstream_t *)h2api_conf_find_upstream(conf, conf->default_upstream)) == NULL) {
            set_msg(msg, sizeof(msg), "no upstream is configured to take it");
            failed = "H2API_UPSTREAM_URL";
        } else if (h2api_conf_parse_base_url(&url_parts, url, msg, sizeof(msg)) != 0) {
            failed = "H2API_UPSTREAM_URL";
        }
    }
    if (failed != NULL) {
        for (size_t i = 0; i != num_listens; ++i)
            free_listen(&listens[i]);
        free(url_parts.host);
        free(url_parts.path_prefix);
        set_msg(errbuf, errlen, "ENV %s: %s", failed, msg);
        return -EINVAL;
    }

    if (listen != NULL) {
        for (size_t i = 0; i != conf->num_listens; ++i)
            free_listen(&conf->listens[i]);
        memcpy(conf->listens, listens, sizeof(listens));
        conf->num_listens = num_listens;
    }
    conf->workers = new_workers;
    conf->log.level = new_level;
    if (up != NULL) {
        replace_str(&up->base_url, xstrdup(url));
        replace_str(&up->host, url_parts.host);
        replace_str(&up->path_prefix, url_parts.path_prefix);
        up->is_tls = url_parts.is_tls;
        up->port = url_parts.port;
    }
    return 0;
}

/* ---- the rest of the interface ---- */

void h2api_conf_free(h2api_conf_t *conf)
{
    if (conf == NULL)
        return;
    free(conf->path);
    for (size_t i = 0; i != conf->num_listens; ++i)
        free_listen(&conf->listens[i]);
    for (size_t i = 0; i != conf->num_upstreams; ++i)
        free_upstream(&conf->upstreams[i]);
    free(conf->default_upstream);
    free_listen(&conf->demo_upstream.listen);
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
