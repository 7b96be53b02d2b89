/*
 * h2api configuration model: one YAML file, validated at start, read-only afterwards.
 *
 * The loader (conf.c, with its YAML reader in conf_yaml.c) parses YAML with libyaml's event API
 * (Debian libyaml-dev) so that every error can name FILE:LINE. Unknown keys, wrong types and
 * impossible values are refused; the caller prints the message and exits with status 2 (as
 * `nginx -t` does for a bad file).
 */
#ifndef h2api__conf_h
#define h2api__conf_h

#include <stddef.h>
#include <stdint.h>
#include "log.h" /* h2api_log_level_t */

#define H2API_CONF_MAX_LISTENS 16
#define H2API_CONF_MAX_UPSTREAMS 16
#define H2API_CONF_MAX_HEADERS 16
#define H2API_CONF_MAX_RETRY_STATUSES 16
/* libh2o 2.2.5 reads an HTTP/1.1 request head into a fixed H2O_MAX_REQLEN (8192) buffer */
#define H2API_CONF_MAX_HEADER_BYTES_LIMIT 8192
/* libh2o 2.2.5 parses at most H2O_MAX_HEADERS (100) header fields of an HTTP/1.1 request */
#define H2API_CONF_MAX_HEADER_COUNT_LIMIT 100

typedef enum en_h2api_http2_mode_t {
    H2API_HTTP2_OFF = 0, /* HTTP/1.1 only */
    H2API_HTTP2_ON,      /* h2 over TLS, or h2c with prior knowledge on cleartext */
    H2API_HTTP2_AUTO     /* ALPN on TLS, HTTP/1.1 on cleartext */
} h2api_http2_mode_t;

/** One `listen` entry: `host:port` (IPv6 as `[::1]:8000`), optionally TLS. */
typedef struct st_h2api_conf_listen_t {
    char *host;          /* numeric address, e.g. "127.0.0.1", "::1", "0.0.0.0" (brackets removed) */
    uint16_t port;       /* 0 asks the kernel for a free port (tests) */
    char *tls_cert_file; /* PEM certificate chain; NULL for cleartext (HTTP/1.1 + h2c) */
    char *tls_key_file;  /* PEM private key; NULL for cleartext */
    int line;            /* line of the entry in the config file, for messages */
} h2api_conf_listen_t;

typedef struct st_h2api_conf_header_t {
    char *name; /* lower-cased */
    char *value;
} h2api_conf_header_t;

/** One named upstream: the equivalent of one httpx.AsyncClient(base_url=..., limits=..., timeout=...). */
typedef struct st_h2api_conf_upstream_t {
    char *name;     /* key under `upstreams:` */
    char *base_url; /* as written, e.g. "http://127.0.0.1:8081" or "https://api.example.com/v2" */
    /* base_url split by the loader */
    int is_tls;        /* 1 for https */
    char *host;        /* host name or numeric address, brackets removed for IPv6 */
    uint16_t port;     /* explicit port, else 80 / 443 */
    char *path_prefix; /* "" or "/v2" (never ends with '/') */

    h2api_conf_header_t headers[H2API_CONF_MAX_HEADERS]; /* default request headers */
    size_t num_headers;
    h2api_http2_mode_t http2; /* default AUTO */

    uint64_t timeout_ms;            /* whole call deadline; default 10000 (httpx default 5 s, the example uses 10) */
    uint64_t connect_timeout_ms;    /* default 5000 */
    uint64_t first_byte_timeout_ms; /* until the response head is complete; default = timeout_ms */
    uint64_t io_timeout_ms;         /* each read or write; default 5000 */
    uint64_t pool_timeout_ms;       /* longest wait for a free connection; default 5000 */
    size_t max_connections;         /* default 100 (httpx) */
    size_t max_keepalive_connections; /* default 20 (httpx) */
    uint64_t keepalive_expiry_ms;     /* default 5000 (httpx) */
    size_t max_concurrent_requests;   /* 0 = no limit beyond max_connections (default) */
    size_t max_response_bytes;        /* buffered response body cap; default 8 MiB */

    struct {
        double requests_per_second; /* 0 = off (default) */
        size_t burst;               /* bucket size; default max(1, requests_per_second) */
    } rate_limit;
    struct {
        unsigned attempts; /* total tries including the first; default 3; 1 = no retry */
        int statuses[H2API_CONF_MAX_RETRY_STATUSES];
        size_t num_statuses; /* default {502, 503, 504} */
        uint64_t backoff_base_ms; /* default 100 */
        uint64_t backoff_cap_ms;  /* default 2000 */
    } retry;
    struct {
        unsigned failures;        /* consecutive failures that open it; 0 = off; default 5 */
        uint64_t base_open_ms;    /* the first open time, doubled on each trip in a row; default 1000 */
        uint64_t open_ms;         /* the longest open time (the doubling's cap); default 10000 */
        unsigned half_open_calls; /* trial calls admitted at once when half-open; default 3 */
    } circuit_breaker;
    struct {
        int verify;    /* default 1 */
        char *ca_file; /* NULL = system store */
        char *sni;     /* NULL = host */
    } tls;
    int line;
} h2api_conf_upstream_t;

typedef struct st_h2api_conf_t {
    char *path; /* file it came from, or "<embedded>" */

    h2api_conf_listen_t listens[H2API_CONF_MAX_LISTENS];
    size_t num_listens;
    unsigned workers; /* 0 = auto (number of CPUs) */

    struct {
        size_t max_body_bytes;               /* 413 beyond; default 1 MiB (as nginx) */
        size_t max_header_bytes;             /* 431 beyond; default 8192, at most H2API_CONF_MAX_HEADER_BYTES_LIMIT */
        uint64_t request_header_timeout_ms;  /* HTTP/1.1 request head (and keep-alive idle) timeout; default 10000 */
        uint64_t idle_timeout_ms;            /* HTTP/2 idle connection timeout; default 10000 */
        uint64_t send_timeout_ms;            /* a client that acknowledges none of a pending answer for
                                                this long is disconnected; default 60000 (nginx) */
        size_t max_connections_per_worker;   /* default 4096 */
        size_t http2_max_concurrent_streams; /* default 100 */
        size_t max_url_bytes;                /* request target (path and query); 414 beyond; default 4096 */
        size_t max_header_field_bytes;       /* one header field, name and value; 431 beyond; default 8192 */
        size_t max_header_count;             /* header fields in a request; 431 beyond; default 100, at most
                                                H2API_CONF_MAX_HEADER_COUNT_LIMIT */
        size_t http2_max_streams_per_second; /* per HTTP/2 connection; beyond, it is closed; default 100000 */
        size_t http2_max_cancelled_streams;  /* per HTTP/2 connection and 10 s, reset before their answer
                                                (CVE-2023-44487 Rapid Reset); beyond, it is closed; default 1000 */
        size_t http2_max_control_frames;     /* per HTTP/2 connection and 10 s, SETTINGS and PING frames that
                                                libh2o acknowledges (CVE-2019-9512 / -9515 floods); beyond, it
                                                is closed; default 1000 */
        size_t http2_max_continuation_frames; /* after one HEADERS frame; beyond, the connection is
                                                 closed; default 8 (as nghttp2 1.61) */
    } limits;
    uint64_t shutdown_timeout_ms; /* drain deadline after SIGTERM; default 10000 */

    struct {
        h2api_log_level_t level; /* default INFO */
        int access_log;          /* default 1: one line per request on stdout */
    } log;

    h2api_conf_upstream_t upstreams[H2API_CONF_MAX_UPSTREAMS];
    size_t num_upstreams;
    char *default_upstream; /* name; default: the only or the first upstream */

    struct {
        int enabled;
        h2api_conf_listen_t listen; /* default 127.0.0.1:8081 */
    } demo_upstream;

    struct {
        size_t bulk_concurrency; /* POST /v1/todos/bulk calls in flight; default 5 */
    } app;
} h2api_conf_t;

/**
 * Loads and validates the YAML file at `path` into a newly allocated config.
 * @param path    file to read; NULL loads the embedded default (h2api_conf_default_yaml)
 * @param errbuf  receives "FILE:LINE: message" on failure (NUL-terminated, truncated to errlen)
 * @return the config (free with h2api_conf_free), or NULL on any error (I/O, YAML syntax, unknown
 *         key, wrong type, impossible value), with errbuf filled.
 * Environment overrides are not applied here; see h2api_conf_apply_env.
 */
h2api_conf_t *h2api_conf_load(const char *path, char *errbuf, size_t errlen);

/**
 * Loads a config from a YAML string `yaml` of `len` bytes; `name` stands for the file name in
 * messages. Same contract as h2api_conf_load.
 */
h2api_conf_t *h2api_conf_load_string(const char *name, const char *yaml, size_t len, char *errbuf, size_t errlen);

/**
 * Applies the environment overrides a container needs, in place:
 * H2API_LISTEN ("host:port[,host:port...]", replaces all listens with cleartext ones),
 * H2API_WORKERS ("auto" or N), H2API_LOG_LEVEL (error|warn|info|debug),
 * H2API_UPSTREAM_URL (base_url of the default upstream).
 * @return 0, or -EINVAL with "ENV NAME: message" in errbuf.
 */
int h2api_conf_apply_env(h2api_conf_t *conf, char *errbuf, size_t errlen);

/** Frees a config returned by h2api_conf_load*. NULL is a no-op. */
void h2api_conf_free(h2api_conf_t *conf);

/** Returns the upstream named `name`, or NULL. */
const h2api_conf_upstream_t *h2api_conf_find_upstream(const h2api_conf_t *conf, const char *name);

/**
 * Splits `url` ("http[s]://host[:port][/prefix]") into the upstream's is_tls/host/port/path_prefix.
 * @return 0, or -EINVAL with a message in errbuf (unsupported scheme, empty host, bad port, query or fragment).
 */
int h2api_conf_parse_base_url(h2api_conf_upstream_t *up, const char *url, char *errbuf, size_t errlen);

/** The shipped default configuration (config/h2api.yaml), embedded at build time. */
extern const char h2api_conf_default_yaml[];

#endif
