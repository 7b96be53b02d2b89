/*
 * The ceiling for h2api's own overhead: the least a libh2o 2.2.5 (libuv) server can do to answer
 * GET / with h2api's welcome document. One thread, one uv loop, one listener on 127.0.0.1; HTTP/1.1
 * and h2c (prior knowledge or Upgrade) as libh2o gives them. No router, no request id, no access
 * log, no config: every cost h2api adds on top of this shows up as the gap between the two.
 *
 *   raw_h2o PORT
 *
 * Built by bench/run:
 *   gcc -O2 -std=gnu11 raw_h2o.c $(pkg-config --cflags --libs libh2o libuv libssl libcrypto)
 * Stopped by SIGTERM (default action).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <h2o.h>

static const char welcome[] = "{\"message\":\"Welcome to the API Wrapper Example\",\"versions\":{\"v1\":\"/v1\"}}";

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

/* Answers GET / with the welcome JSON; anything else falls through to libh2o's 404. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    static h2o_generator_t generator = {NULL, NULL};
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        !h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/")))
        return -1;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    req->res.content_length = sizeof(welcome) - 1;
    h2o_start_response(req, &generator);
    h2o_iovec_t body = h2o_iovec_init(welcome, sizeof(welcome) - 1);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

/* Hands each accepted TCP connection to libh2o; the uv handle is freed when libh2o closes it. */
static void on_accept(uv_stream_t *listener, int status)
{
    if (status != 0)
        return;
    uv_tcp_t *conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(conn, 1); /* as h2api, h2o and nginx do: a response is not held back for an ACK */
    h2o_accept(&accept_ctx, h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&config);
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;

    uv_loop_t *loop = uv_default_loop();
    h2o_context_init(&ctx, loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;

    static uv_tcp_t listener;
    struct sockaddr_in addr;
    int ret;
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
    if ((ret = uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (ret = uv_listen((uv_stream_t *)&listener, 4096, on_accept)) != 0) {
        fprintf(stderr, "raw_h2o: cannot listen on 127.0.0.1:%s: %s\n", argv[1], uv_strerror(ret));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
