/*
 * The HTTP/1.1 transport: h2o's http1client over h2o's socket pool (keep-alive reuse), one
 * connection per attempt (no pipelining). The pool's own capacity is ignored by libh2o 2.2.5,
 * so capacity is attempts in flight against max_connections (has_capacity). Idle connections
 * expire after keepalive_expiry_ms (h2o_socketpool_set_timeout).
 *
 * A connection that the socket pool hands back at once (synchronously, inside
 * h2o_http1client_connect_with_pool) is a reused keep-alive connection; if it fails before any
 * byte of the response, the upstream closed it as we wrote: an idempotent request goes again
 * once on a fresh connection without counting as a retry (see ../shared NOTES on the packaged pool).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client/internal.h"

/*
 * While a streaming consumer holds a chunk, reading stops. libh2o re-arms the client's read
 * timer after each body callback from client->ctx->io_timeout; a paused client is switched to
 * a copy of the context whose timeout is this long, so that a slow downstream does not look
 * like a stalled upstream (the consumer's own timeouts bound it). On proceed the normal context
 * is back and the next read re-arms io_timeout_ms.
 */
#define H2API_H1_PAUSED_IO_TIMEOUT_MS (10 * 60 * 1000)

typedef struct st_h1_attempt_t {
    h2o_http1client_t *client;
    h2o_iovec_t reqbufs[2];
    int reused;
    int paused;
    int in_callback; /* inside one of libh2o's callbacks: the client must not be freed now */
    int cancelled;   /* cancelled meanwhile: the callback returns so that libh2o closes it */
    h2o_socket_cb saved_read_cb; /* the http1client's reader, restored on proceed */
} h1_attempt_t;

/* the call inside h2o_http1client_connect_with_pool on this thread: a connection handed over
 * before it returns is a reused one */
static __thread h2api_call_t *starting;

/*
 * The packaged socket pool keeps every connection a finished request returns. To honour
 * max_keepalive_connections, a connection that would exceed it is taken from the client at the
 * end of its response and closed (closing a pool-owned socket also uncounts it) -- but only
 * connections beyond the recent peak of attempts in flight: under a steady load the number in
 * flight swings below its peak between answers, and closing the connections it will need again
 * a moment later would open a new one per request. The peak is forgotten after
 * keepalive_expiry_ms, as the socket pool forgets idle connections.
 */
static int over_keepalive_limit(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    if (up->conf->max_keepalive_connections == 0)
        return 1; /* keep-alive off: every connection closes after its answer */
    uint64_t now = h2o_now(up->loop);
    if (now - up->h1.recent_peak_at > up->conf->keepalive_expiry_ms) {
        up->h1.recent_peak = up->in_flight;
        up->h1.recent_peak_at = now;
    }
    size_t open = __sync_add_and_fetch(&up->h1.sockpool._shared.count, 0);
    return up->num_waiting == 0 && open > up->h1.recent_peak && open >= up->in_flight &&
           open - (up->in_flight - 1) > up->conf->max_keepalive_connections;
}

static void drop_connection(h2o_http1client_t *client)
{
    if (client->sock != NULL)
        h2o_socket_close(h2o_http1client_steal_socket(client));
}

static const char *map_error(const char *errstr)
{
    if (strcmp(errstr, "I/O timeout") == 0)
        return h2api_err_io_timeout;
    if (strcmp(errstr, "connection timeout") == 0)
        return h2api_err_connect_timeout;
    return h2api_err_protocol;
}

static h2o_iovec_t build_head(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    const h2api_conf_upstream_t *conf = up->conf;
    const h2api_call_req_t *creq = call->req;
    size_t cap = call->method.len + call->path.len + up->authority.len + 64;
    for (size_t i = 0; i != conf->num_headers; ++i)
        cap += strlen(conf->headers[i].name) + strlen(conf->headers[i].value) + 4;
    for (size_t i = 0; i != creq->num_headers; ++i)
        cap += creq->headers[i].name->len + creq->headers[i].value.len + 4;

    char *buf = h2o_mem_alloc_pool(call->pool, cap), *p = buf;
#define APPEND(s, n) (memcpy(p, (s), (n)), p += (n))
#define APPEND_LIT(s) APPEND(s, sizeof(s) - 1)
    APPEND(call->method.base, call->method.len);
    APPEND_LIT(" ");
    APPEND(call->path.base, call->path.len);
    APPEND_LIT(" HTTP/1.1\r\nhost: ");
    APPEND(up->authority.base, up->authority.len);
    APPEND_LIT("\r\n");
    for (size_t i = 0; i != conf->num_headers; ++i) {
        APPEND(conf->headers[i].name, strlen(conf->headers[i].name));
        APPEND_LIT(": ");
        APPEND(conf->headers[i].value, strlen(conf->headers[i].value));
        APPEND_LIT("\r\n");
    }
    for (size_t i = 0; i != creq->num_headers; ++i) {
        APPEND(creq->headers[i].name->base, creq->headers[i].name->len);
        APPEND_LIT(": ");
        APPEND(creq->headers[i].value.base, creq->headers[i].value.len);
        APPEND_LIT("\r\n");
    }
    if (creq->body.base != NULL)
        p += sprintf(p, "content-length: %zu\r\n", creq->body.len);
    APPEND_LIT("\r\n");
#undef APPEND_LIT
#undef APPEND
    return h2o_iovec_init(buf, p - buf);
}

/* Ends the attempt on an error before the response; a stale reused connection goes again once. */
static void fail_before_response(h2api_call_t *call, h1_attempt_t *a, const char *errstr, int retryable)
{
    call->transport_data = NULL;
    if (retryable && a->reused && call->idempotent && !call->stale_retry_done) {
        call->stale_retry_done = 1;
        h2api__call_restart(call);
        return;
    }
    h2api__call_on_error(call, errstr, retryable);
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    h2api_call_t *call = client->data;
    h1_attempt_t *a = call->transport_data;
    h2o_buffer_t **input = &client->sock->input;
    int is_final = errstr == h2o_http1client_error_is_eos;

    if (errstr != NULL && !is_final) {
        call->transport_data = NULL;
        h2api__call_on_error(call, map_error(errstr), 0);
        return -1;
    }
    h2o_iovec_t chunk = h2o_iovec_init((*input)->bytes, (*input)->size);
    int drop = 0;
    if (is_final) {
        call->transport_data = NULL;
        drop = over_keepalive_limit(call);
    }
    a->in_callback = 1;
    int ret = h2api__call_on_body(call, chunk.base, chunk.len, is_final);
    a->in_callback = 0;
    if (a->cancelled)
        return -1; /* the consumer cancelled the call from its callback: libh2o closes the connection */
    h2o_buffer_consume(input, chunk.len);
    if (drop)
        drop_connection(client);
    if (ret < 0) {
        if (!is_final)
            call->transport_data = NULL;
        h2api__call_on_error(call, h2api_err_body_too_large, 0);
        return -1;
    }
    if (ret > 0 && !is_final) {
        /* back-pressure: stop reading until the consumer calls proceed */
        a->paused = 1;
        a->saved_read_cb = client->sock->_cb.read;
        h2o_socket_read_stop(client->sock);
        client->ctx = &call->up->h1.paused_ctx;
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    h2api_call_t *call = client->data;
    h1_attempt_t *a = call->transport_data;

    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        int is_parse_error = strstr(errstr, "parse") != NULL;
        fail_before_response(call, a, map_error(errstr), !is_parse_error);
        return NULL;
    }
    a->in_callback = 1;
    h2api__call_on_head(call, status, headers, num_headers);
    a->in_callback = 0;
    if (a->cancelled)
        return NULL; /* cancelled by the consumer's on_head: libh2o closes the connection */
    if (errstr == h2o_http1client_error_is_eos) {
        call->transport_data = NULL;
        int drop = over_keepalive_limit(call);
        h2api__call_on_body(call, NULL, 0, 1);
        if (drop)
            drop_connection(client);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs, size_t *reqbufcnt,
                                          int *method_is_head)
{
    h2api_call_t *call = client->data;
    h1_attempt_t *a = call->transport_data;

    if (errstr != NULL) {
        call->transport_data = NULL;
        h2api__call_on_error(call, strcmp(errstr, "connection timeout") == 0 ? h2api_err_connect_timeout : h2api_err_connect, 1);
        return NULL;
    }
    a->reused = starting == call;
    if (call->head.base == NULL)
        call->head = build_head(call);
    a->reqbufs[0] = call->head;
    *reqbufcnt = 1;
    if (call->req->body.base != NULL && call->req->body.len != 0)
        a->reqbufs[(*reqbufcnt)++] = call->req->body;
    *reqbufs = a->reqbufs;
    *method_is_head = call->is_head;
    h2api__call_on_connected(call);
    return on_head;
}

static void h1_start(h2api_call_t *call)
{
    h2api_upstream_t *up = call->up;
    h1_attempt_t *a = h2o_mem_alloc_pool(call->pool, sizeof(*a));
    *a = (h1_attempt_t){NULL};
    if (up->in_flight >= up->h1.recent_peak) {
        up->h1.recent_peak = up->in_flight;
        up->h1.recent_peak_at = h2o_now(up->loop);
    }
    call->transport_data = a;
    h2api_call_t *saved = starting;
    starting = call;
    h2o_http1client_connect_with_pool(&a->client, call, &up->h1.ctx, &up->h1.sockpool, on_connect);
    starting = saved;
}

static void h1_cancel(h2api_call_t *call)
{
    h1_attempt_t *a = call->transport_data;
    call->transport_data = NULL;
    if (a == NULL || a->client == NULL)
        return;
    if (a->in_callback) {
        a->cancelled = 1; /* freeing the client now would pull it from under libh2o's callback */
        return;
    }
    h2o_http1client_cancel(a->client);
}

static void h1_proceed(h2api_call_t *call)
{
    h1_attempt_t *a = call->transport_data;
    if (a == NULL || !a->paused)
        return;
    a->paused = 0;
    a->client->ctx = &call->up->h1.ctx;
    h2o_socket_read_start(a->client->sock, a->saved_read_cb);
}

static int h1_has_capacity(h2api_upstream_t *up)
{
    return up->in_flight < up->conf->max_connections;
}

static size_t h1_num_connections(h2api_upstream_t *up)
{
    return __sync_add_and_fetch(&up->h1.sockpool._shared.count, 0);
}

const h2api__transport_t h2api__transport_h1 = {
    .name = "http/1.1",
    .has_capacity = h1_has_capacity,
    .start = h1_start,
    .cancel = h1_cancel,
    .proceed = h1_proceed,
    .num_connections = h1_num_connections,
};

void h2api__h1_init(h2api_upstream_t *up)
{
    const h2api_conf_upstream_t *conf = up->conf;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
    char port[8];
    snprintf(port, sizeof(port), "%u", conf->port);
    if (getaddrinfo(conf->host, port, &hints, &ai) == 0) {
        /* a numeric host is used as is (no resolver thread) */
        h2o_socketpool_init_by_address(&up->h1.sockpool, ai->ai_addr, ai->ai_addrlen, conf->is_tls, conf->max_connections);
        freeaddrinfo(ai);
        /* TLS SNI and name checks use peer.host, which is the address text here */
        free(up->h1.sockpool.peer.host.base);
        up->h1.sockpool.peer.host = h2o_strdup(NULL, up->server_name, SIZE_MAX);
    } else {
        /* a name is resolved by h2o's getaddrinfo thread for each new connection */
        h2o_socketpool_init_by_hostport(&up->h1.sockpool, h2o_iovec_init(conf->host, strlen(conf->host)), conf->port,
                                        conf->is_tls, conf->max_connections);
    }
    h2o_socketpool_set_timeout(&up->h1.sockpool, up->loop, conf->keepalive_expiry_ms);
    up->h1.ctx = (h2o_http1client_ctx_t){
        .loop = up->loop, .getaddr_receiver = &up->ctx->receivers.hostinfo_getaddr, .io_timeout = &up->io_timeout,
        .ssl_ctx = up->ssl_ctx};
    h2o_timeout_init(up->loop, &up->h1.paused_io_timeout, H2API_H1_PAUSED_IO_TIMEOUT_MS);
    up->h1.paused_ctx = up->h1.ctx;
    up->h1.paused_ctx.io_timeout = &up->h1.paused_io_timeout;
}

void h2api__h1_dispose(h2api_upstream_t *up)
{
    h2o_socketpool_dispose(&up->h1.sockpool);
    h2o_timeout_dispose(up->loop, &up->h1.paused_io_timeout);
}
