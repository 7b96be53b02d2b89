/*
 * Listeners, worker threads and the drain.
 *
 * Every listening socket is created on the main thread before the workers start (so a bad
 * address fails at once, and port 0 resolves to one port shared by all workers): one socket per
 * worker per listen entry, each with SO_REUSEPORT so that the kernel spreads connections over
 * the workers (libuv 1.44 has no UV_TCP_REUSEPORT; a single shared fd left one thread with all
 * the load). Each worker hands its sockets to its own loop with uv_tcp_open.
 *
 * Drain (SIGTERM / SIGINT): the main thread wakes every worker; a worker closes its listeners,
 * marks itself draining (/readyz answers 503), asks h2o to shut down (HTTP/2 GOAWAY; HTTP/1.1
 * answers carry Connection: close) and polls until no dispatched request is left or
 * shutdown_timeout_ms passed. Then it runs its shutdown hooks and stops its loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <h2o.h>
#include <h2o/http2.h>
#include "server.h"
#include "tcp_info.h"
#include "worker.h"

#define H2API_MAX_LISTENERS (H2API_CONF_MAX_LISTENS + 1)
#define H2API_DRAIN_POLL_MS 20
#define H2API_DRAIN_IDLE_GRACE_MS 1000
#define H2API_SEND_SWEEP_MS 1000

typedef struct st_h2api_listener_conf_t {
    h2api_conf_listen_t listen;
    uint16_t bound_port;
    SSL_CTX *ssl_ctx;
    h2o_hostconf_t *hosts[2]; /* NULL-terminated for h2o_accept_ctx_t */
    const char *label;        /* what it serves, for the log */
    int is_internal_upstream; /* stays open during the drain */
} h2api_listener_conf_t;

typedef struct st_h2api_listener_t {
    uv_tcp_t handle;
    h2o_accept_ctx_t accept_ctx;
    h2api_worker_t *worker;
    int fd;
    int is_internal_upstream;
} h2api_listener_t;

typedef struct st_h2api_worker_state_t {
    h2api_worker_t w;
    h2api_listener_t listeners[H2API_MAX_LISTENERS];
    uv_async_t wake;
    uv_timer_t drain_timer;
    uv_timer_t send_sweep_timer;
    uint64_t drain_deadline;
    int startup_ret;
    char startup_err[256];
} h2api_worker_state_t;

struct st_h2api_server_t {
    const h2api_conf_t *conf;
    h2api_app_t *app;
    h2o_globalconf_t globalconf;
    h2api_listener_conf_t listeners[H2API_MAX_LISTENERS];
    size_t num_listeners;
    h2api_worker_state_t *workers;
    unsigned num_workers;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned num_started; /* workers that finished their startup (either way) */
    unsigned num_stopped; /* workers whose loop returned (atomic) */
    uv_async_t worker_stopped; /* on the main loop */
    int stop_requested;
};

/* ---- TLS ---- */

static SSL_CTX *create_server_ssl_ctx(const h2api_conf_listen_t *listen, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all AEAD) */
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!RC4:!3DES");
    if (SSL_CTX_use_certificate_chain_file(ctx, listen->tls_cert_file) != 1) {
        snprintf(errbuf, errlen, "listen %s:%u: cannot load the certificate chain %s", listen->host, listen->port,
                 listen->tls_cert_file);
        goto Error;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, listen->tls_key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(errbuf, errlen, "listen %s:%u: cannot load the private key %s (or it does not match the certificate)",
                 listen->host, listen->port, listen->tls_key_file);
        goto Error;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_alpn_protocols); /* h2, then http/1.1 */
    return ctx;
Error:
    SSL_CTX_free(ctx);
    return NULL;
}

/* ---- server object ---- */

static void add_listener(h2api_server_t *server, h2api_app_t *app, const h2api_conf_listen_t *listen, SSL_CTX *ssl_ctx,
                         const char *host_name)
{
    h2api_listener_conf_t *lc = server->listeners + server->num_listeners++;
    *lc = (h2api_listener_conf_t){.listen = *listen, .ssl_ctx = ssl_ctx, .label = host_name};
    /* each listener gets a host of its own, so that requests reach exactly one app whatever their Host header */
    char name[64];
    snprintf(name, sizeof(name), "%s-%zu", host_name, server->num_listeners);
    lc->hosts[0] = h2o_config_register_host(&server->globalconf, h2o_iovec_init(name, strlen(name)), 65535);
    h2api_app_register_host(app, lc->hosts[0]);
}

h2api_server_t *h2api_server_create(const h2api_conf_t *conf, h2api_app_t *app, char *errbuf, size_t errlen)
{
    h2api_server_t *server = h2o_mem_alloc(sizeof(*server));
    *server = (h2api_server_t){.conf = conf, .app = app};
    pthread_mutex_init(&server->mutex, NULL);
    pthread_cond_init(&server->cond, NULL);

    h2o_config_init(&server->globalconf);
    h2o_globalconf_t *g = &server->globalconf;
    g->server_name = h2o_iovec_init(H2O_STRLIT("h2api"));
    g->max_request_entity_size = conf->limits.max_body_bytes;
    g->http1.req_timeout = conf->limits.request_header_timeout_ms;
    g->http2.idle_timeout = conf->limits.idle_timeout_ms;
    g->http2.max_concurrent_requests_per_connection = conf->limits.http2_max_concurrent_streams;
    g->http2.graceful_shutdown_timeout = conf->shutdown_timeout_ms;

    for (size_t i = 0; i != conf->num_listens; ++i) {
        SSL_CTX *ssl_ctx = NULL;
        if (conf->listens[i].tls_cert_file != NULL &&
            (ssl_ctx = create_server_ssl_ctx(conf->listens + i, errbuf, errlen)) == NULL) {
            h2api_server_destroy(server);
            return NULL;
        }
        add_listener(server, app, conf->listens + i, ssl_ctx, "app");
    }
    return server;
}

void h2api_server_add_app_listener(h2api_server_t *server, h2api_app_t *app, const h2api_conf_listen_t *listen)
{
    h2api_app_mark_internal_upstream(app);
    add_listener(server, app, listen, NULL, "demo upstream");
    server->listeners[server->num_listeners - 1].is_internal_upstream = 1;
}

void h2api_server_destroy(h2api_server_t *server)
{
    for (size_t i = 0; i != server->num_listeners; ++i)
        if (server->listeners[i].ssl_ctx != NULL)
            SSL_CTX_free(server->listeners[i].ssl_ctx);
    h2o_config_dispose(&server->globalconf);
    free(server->workers);
    pthread_cond_destroy(&server->cond);
    pthread_mutex_destroy(&server->mutex);
    free(server);
}

/* ---- sockets ---- */

static int open_listen_socket(const h2api_conf_listen_t *lconf, uint16_t port, uint16_t *bound_port, char *errbuf,
                              size_t errlen)
{
    struct sockaddr_storage ss = {0};
    socklen_t sslen;
    int family, fd = -1, on = 1;
    if (strchr(lconf->host, ':') != NULL) {
        struct sockaddr_in6 *sin6 = (void *)&ss;
        sin6->sin6_family = family = AF_INET6;
        sin6->sin6_port = htons(port);
        inet_pton(AF_INET6, lconf->host, &sin6->sin6_addr);
        sslen = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (void *)&ss;
        sin->sin_family = family = AF_INET;
        sin->sin_port = htons(port);
        inet_pton(AF_INET, lconf->host, &sin->sin_addr);
        sslen = sizeof(*sin);
    }
    if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        goto Error;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        goto Error;
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, SOMAXCONN) != 0)
        goto Error;
    sslen = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sslen);
    *bound_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
Error:
    snprintf(errbuf, errlen, "listen %s%s%s:%u: %s", family == AF_INET6 ? "[" : "", lconf->host, family == AF_INET6 ? "]" : "",
             port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* ---- connections ---- */

static void on_conn_close(uv_handle_t *handle)
{
    h2api_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2api_conn_t, handle, (uv_tcp_t *)handle);
    --conn->worker->num_connections;
    if (conn->evicted)
        --conn->worker->num_closing;
    if (h2o_linklist_is_linked(&conn->link))
        h2o_linklist_unlink(&conn->link);
    free(conn);
}

/*
 * At max_connections_per_worker, a new client still gets in: the oldest connection with no
 * request in flight (an idle keep-alive, or one that never sent a request) is shut down at the
 * socket, and libh2o closes it when it reads the end of stream. Only when every connection is
 * busy is the new one refused.
 */
static int evict(h2api_conn_t *conn)
{
    int fd;
    if (conn->num_active != 0 || conn->closing || conn->evicted || uv_fileno((uv_handle_t *)&conn->handle, &fd) != 0)
        return 0;
    conn->evicted = 1;
    shutdown(fd, SHUT_RDWR);
    return 1;
}

void h2api__conn_cut(h2api_conn_t *conn, const char *why, h2api_cut_t how)
{
    int fd;
    if (conn->closing)
        return;
    conn->closing = 1;
    if (how != H2API_CUT_LEAVE_SOCKET && uv_fileno((uv_handle_t *)&conn->handle, &fd) == 0) {
        if (how == H2API_CUT_RESET)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){.l_onoff = 1, .l_linger = 0}, sizeof(struct linger));
        shutdown(fd, SHUT_RDWR);
    }
    h2api_log(H2API_LOG_WARN, "closing a connection: %s", why);
}

/*
 * Clients that stop reading their answers (limits.send_timeout_ms, as nginx's send_timeout).
 * libh2o 2.2.5 has no write timeout: a client that leaves an answer unread would hold its
 * connection, and the request and its upstream work with it, for ever. Every H2API_SEND_SWEEP_MS
 * each connection with a request in flight is looked at in the kernel: the bytes in its send
 * queue (SIOCOUTQ: sent and not yet acknowledged, or not yet sent) and the bytes the client has
 * acknowledged so far (TCP_INFO tcpi_bytes_acked, Linux 4.1+). A connection whose queue stayed
 * non-empty while its acknowledged count did not move for send_timeout_ms is shut down
 * (shutdown(2)): libh2o's pending write fails, it closes the connection and disposes of its
 * requests, which cancels their upstream calls. The close is a reset (H2API_CUT_RESET): a plain
 * close leaves the kernel the queued answer (up to tcp_wmem's 4 MB on loopback) to deliver as
 * an orphaned socket, and a client that starts reading again then receives megabytes, for
 * seconds, of an answer that has already been abandoned. A slow client that acknowledges
 * anything in that time keeps its connection.
 */
static void check_send_progress(h2api_conn_t *conn, uint64_t now_ms, uint64_t timeout_ms)
{
    int fd, queued;
    uint64_t acked;
    if (conn->num_active == 0 || conn->closing || conn->evicted || uv_fileno((uv_handle_t *)&conn->handle, &fd) != 0 ||
        h2api__tcp_send_progress(fd, &acked, &queued) != 0) {
        conn->send_stalled_since_ms = 0;
        return;
    }
    if (queued == 0 || acked != conn->bytes_acked) {
        conn->bytes_acked = acked;
        conn->send_stalled_since_ms = 0;
        return;
    }
    if (conn->send_stalled_since_ms == 0) {
        conn->send_stalled_since_ms = now_ms;
    } else if (now_ms - conn->send_stalled_since_ms >= timeout_ms) {
        h2api__conn_cut(conn, "its client acknowledged none of the pending answer for limits.send_timeout_ms", H2API_CUT_RESET);
    }
}

static void on_send_sweep(uv_timer_t *timer)
{
    h2api_worker_t *w = timer->data;
    uint64_t now_ms = uv_now(&w->loop), timeout_ms = w->server->conf->limits.send_timeout_ms;
    for (h2o_linklist_t *node = w->conns.next; node != &w->conns; node = node->next)
        check_send_progress(H2O_STRUCT_FROM_MEMBER(h2api_conn_t, link, node), now_ms, timeout_ms);
}

static int make_room(h2api_worker_t *worker)
{
    for (h2o_linklist_t *node = worker->conns.next; node != &worker->conns; node = node->next)
        if (evict(H2O_STRUCT_FROM_MEMBER(h2api_conn_t, link, node)))
            return 1;
    return 0;
}

static void on_accept(uv_stream_t *_listener, int status)
{
    h2api_listener_t *listener = (void *)_listener;
    h2api_worker_t *worker = listener->worker;
    if (status != 0)
        return;
    h2api_conn_t *conn = h2o_mem_alloc(sizeof(*conn));
    *conn = (h2api_conn_t){.worker = worker};
    uv_tcp_init(_listener->loop, &conn->handle);
    if (uv_accept(_listener, (uv_stream_t *)&conn->handle) != 0) {
        uv_close((uv_handle_t *)&conn->handle, (uv_close_cb)free);
        return;
    }
    ++worker->num_connections;
    if (worker->num_connections - worker->num_closing > worker->server->conf->limits.max_connections_per_worker) {
        if (make_room(worker)) {
            ++worker->num_closing;
        } else {
            /* every connection is busy: refuse this one rather than let the kernel queue grow unseen */
            uv_close((uv_handle_t *)&conn->handle, on_conn_close);
            return;
        }
    }
    conn->is_internal_upstream = listener->is_internal_upstream;
    conn->last_active_ms = uv_now(_listener->loop);
    h2o_linklist_insert(&worker->conns, &conn->link);
    uv_tcp_nodelay(&conn->handle, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&conn->handle, on_conn_close);
    sock->on_close.data = conn;
    h2o_accept(&listener->accept_ctx, sock);
}

/* ---- workers ---- */

static void stop_worker_loop(h2api_worker_state_t *ws)
{
    h2api_worker_t *w = &ws->w;
    /* Per-worker shutdown hooks destroy what requests use (the client pool): they run only
     * when no request is left. After the drain deadline the process exits with them still
     * in flight, and their connections close with it. */
    if (w->num_requests_in_flight == 0)
        h2api_app_worker_shutdown(w->app, w);
    uv_stop(&w->loop);
}

/*
 * One drain step. HTTP/1.1 connections idle for H2API_DRAIN_IDLE_GRACE_MS are closed; a busy
 * client sends its next request within that time and gets Connection: close on the answer
 * (h2o, after h2o_context_request_shutdown), so no request is caught on a closing connection.
 * HTTP/2 connections got GOAWAY and are left to h2o, which closes each when its last stream is
 * done. The worker stops when no request and no client connection is left, or at the deadline.
 */
static int drain_step(h2api_worker_t *w)
{
    size_t left = 0;
    for (h2o_linklist_t *node = w->conns.next; node != &w->conns; node = node->next) {
        h2api_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2api_conn_t, link, node);
        if (conn->is_internal_upstream)
            continue;
        ++left;
        if (!conn->is_h2 && uv_now(&w->loop) - conn->last_active_ms >= H2API_DRAIN_IDLE_GRACE_MS)
            evict(conn);
    }
    return w->num_requests_in_flight == 0 && left == 0;
}

static void on_drain_timer(uv_timer_t *timer)
{
    h2api_worker_state_t *ws = timer->data;
    h2api_worker_t *w = &ws->w;
    if (!drain_step(w) && uv_now(&w->loop) < ws->drain_deadline)
        return;
    if (w->num_requests_in_flight != 0)
        h2api_log(H2API_LOG_WARN, "worker %u: drain deadline passed with %zu requests in flight", w->index,
                  w->num_requests_in_flight);
    uv_timer_stop(timer);
    stop_worker_loop(ws);
}

static void on_wake(uv_async_t *async)
{
    h2api_worker_state_t *ws = async->data;
    h2api_worker_t *w = &ws->w;
    if (w->draining)
        return;
    w->draining = 1;
    for (size_t i = 0; i != w->server->num_listeners; ++i)
        if (!w->server->listeners[i].is_internal_upstream)
            uv_close((uv_handle_t *)&ws->listeners[i].handle, NULL);
    h2o_context_request_shutdown(&w->ctx);
    ws->drain_deadline = uv_now(&w->loop) + w->server->conf->shutdown_timeout_ms;
    uv_timer_init(&w->loop, &ws->drain_timer);
    ws->drain_timer.data = ws;
    uv_timer_start(&ws->drain_timer, on_drain_timer, 0, H2API_DRAIN_POLL_MS);
}

static void *worker_main(void *_ws)
{
    h2api_worker_state_t *ws = _ws;
    h2api_worker_t *w = &ws->w;
    h2api_server_t *server = w->server;

    uv_loop_init(&w->loop);
    h2o_linklist_init_anchor(&w->conns);
    h2o_context_init(&w->ctx, &w->loop, &server->globalconf);
    uv_async_init(&w->loop, &ws->wake, on_wake);
    ws->wake.data = ws;
    h2api__worker_init_dispatch(w);
    uv_timer_init(&w->loop, &ws->send_sweep_timer);
    ws->send_sweep_timer.data = w;
    uv_timer_start(&ws->send_sweep_timer, on_send_sweep, H2API_SEND_SWEEP_MS, H2API_SEND_SWEEP_MS);
    uv_unref((uv_handle_t *)&ws->send_sweep_timer);

    ws->startup_ret = h2api_app_worker_startup(w->app, w, ws->startup_err, sizeof(ws->startup_err));
    if (ws->startup_ret == 0) {
        for (size_t i = 0; i != server->num_listeners; ++i) {
            h2api_listener_t *l = ws->listeners + i;
            l->worker = w;
            l->is_internal_upstream = server->listeners[i].is_internal_upstream;
            l->accept_ctx = (h2o_accept_ctx_t){.ctx = &w->ctx, .hosts = server->listeners[i].hosts,
                                               .ssl_ctx = server->listeners[i].ssl_ctx};
            uv_tcp_init(&w->loop, &l->handle);
            int r;
            if ((r = uv_tcp_open(&l->handle, l->fd)) != 0 || (r = uv_listen((uv_stream_t *)&l->handle, SOMAXCONN, on_accept)) != 0) {
                snprintf(ws->startup_err, sizeof(ws->startup_err), "listen: %s", uv_strerror(r));
                ws->startup_ret = r;
                break;
            }
        }
    }
    w->ready = ws->startup_ret == 0;

    pthread_mutex_lock(&server->mutex);
    ++server->num_started;
    pthread_cond_broadcast(&server->cond);
    pthread_mutex_unlock(&server->mutex);

    if (ws->startup_ret == 0)
        uv_run(&w->loop, UV_RUN_DEFAULT);
    __atomic_add_fetch(&server->num_stopped, 1, __ATOMIC_RELEASE);
    uv_async_send(&server->worker_stopped);
    /* Open keep-alive connections still hold handles: the loop is left as is and the process exits. */
    return NULL;
}

/* ---- signals (main thread) ---- */

static void on_worker_stopped(uv_async_t *async)
{
    h2api_server_t *server = async->data;
    if (__atomic_load_n(&server->num_stopped, __ATOMIC_ACQUIRE) == server->num_workers)
        uv_stop(async->loop);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    h2api_server_t *server = handle->data;
    if (server->stop_requested) {
        h2api_log(H2API_LOG_WARN, "second signal (%s): exiting at once", strsignal(signum));
        _exit(1);
    }
    server->stop_requested = 1;
    h2api_log(H2API_LOG_INFO, "%s: draining (up to %llu ms)", strsignal(signum),
              (unsigned long long)server->conf->shutdown_timeout_ms);
    for (unsigned i = 0; i != server->num_workers; ++i)
        uv_async_send(&server->workers[i].wake);
}

int h2api_server_run(h2api_server_t *server, char *errbuf, size_t errlen)
{
    const h2api_conf_t *conf = server->conf;
    int ret = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    server->num_workers = conf->workers != 0 ? conf->workers : (ncpu > 0 ? (unsigned)ncpu : 1);
    server->workers = h2o_mem_alloc(sizeof(*server->workers) * server->num_workers);
    memset(server->workers, 0, sizeof(*server->workers) * server->num_workers);

    /* sockets first, all of them, so that a bad address fails before anything runs */
    for (size_t li = 0; li != server->num_listeners; ++li) {
        h2api_listener_conf_t *lc = server->listeners + li;
        uint16_t port = lc->listen.port;
        for (unsigned wi = 0; wi != server->num_workers; ++wi) {
            int fd = open_listen_socket(&lc->listen, port, &lc->bound_port, errbuf, errlen);
            if (fd < 0)
                return -EADDRINUSE;
            server->workers[wi].listeners[li].fd = fd;
            port = lc->bound_port;
        }
        h2api_log(H2API_LOG_INFO, "listening on %s://%s%s%s:%u (%s)", lc->ssl_ctx ? "https" : "http",
                  strchr(lc->listen.host, ':') ? "[" : "", lc->listen.host, strchr(lc->listen.host, ':') ? "]" : "",
                  lc->bound_port, lc->label);
    }

    uv_loop_t main_loop;
    uv_loop_init(&main_loop);
    uv_signal_t sigterm, sigint;
    uv_signal_init(&main_loop, &sigterm);
    uv_signal_init(&main_loop, &sigint);
    sigterm.data = sigint.data = server;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_async_init(&main_loop, &server->worker_stopped, on_worker_stopped);
    server->worker_stopped.data = server;

    for (unsigned i = 0; i != server->num_workers; ++i) {
        h2api_worker_state_t *ws = server->workers + i;
        ws->w.index = i;
        ws->w.num_workers = server->num_workers;
        ws->w.server = server;
        ws->w.app = server->app;
        if (getrandom(ws->w.rng, sizeof(ws->w.rng), 0) != sizeof(ws->w.rng))
            ws->w.rng[0] = (uint64_t)time(NULL) ^ i, ws->w.rng[1] = (uint64_t)(uintptr_t)ws;
        pthread_create(&ws->w.thread, NULL, worker_main, ws);
    }

    pthread_mutex_lock(&server->mutex);
    while (server->num_started != server->num_workers)
        pthread_cond_wait(&server->cond, &server->mutex);
    pthread_mutex_unlock(&server->mutex);
    for (unsigned i = 0; i != server->num_workers; ++i) {
        if (server->workers[i].startup_ret != 0) {
            snprintf(errbuf, errlen, "worker %u: startup failed: %s", i, server->workers[i].startup_err);
            ret = server->workers[i].startup_ret < 0 ? server->workers[i].startup_ret : -EINVAL;
            break;
        }
    }

    if (ret == 0) {
        h2api_log(H2API_LOG_INFO, "%u workers ready", server->num_workers);
        /* runs until every worker drained; signals keep being seen meanwhile (a second one exits) */
        uv_run(&main_loop, UV_RUN_DEFAULT);
    } else {
        server->stop_requested = 1;
        for (unsigned i = 0; i != server->num_workers; ++i)
            if (server->workers[i].startup_ret == 0)
                uv_async_send(&server->workers[i].wake);
    }
    for (unsigned i = 0; i != server->num_workers; ++i)
        pthread_join(server->workers[i].w.thread, NULL);
    if (ret == 0)
        h2api_log(H2API_LOG_INFO, "drained; all workers stopped");
    return ret;
}
