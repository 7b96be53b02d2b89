/*
 * /proxy/{path:path} (every method): a streaming pass-through to the default upstream's
 * /{path}?{query}.
 *
 * - Never an open proxy: the target is always the configured default upstream; the path only
 *   chooses a resource under its base path. Dot segments (also percent-encoded) are refused by
 *   the router (400); here a path that would start a new authority or escape with `//` or `\`
 *   is refused too.
 * - Hop-by-hop headers (RFC 9110 §7.6.1: Connection and what it names, Keep-Alive,
 *   Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) are not forwarded either way;
 *   X-Forwarded-For/-Proto/-Host and Via (RFC 9110 §7.6.3) are added; X-Request-ID is forwarded.
 * - The response streams: head first, then each chunk as it arrives; the next chunk is read
 *   from the upstream only after h2o has sent the previous one (h2o's generator `proceed`),
 *   so a slow client never makes the server buffer an unbounded body. The request body is the
 *   one libh2o 2.2.5 has already read whole (capped by limits.max_body_bytes).
 */
#include <string.h>
#include "app.h"
#include "client/upstream.h"
#include "router.h"
#include "routes.h"

/* A streaming handler: it uses h2o and the outbound client directly, beside the public API. */

static const h2api_path_param_t path_param = H2API_PATH_PATH("path");

typedef struct st_proxy_t {
    h2o_generator_t super; /* first: h2o hands it back to proceed / stop */
    h2api_request_t *r;
    h2api_call_t *call;
    h2o_buffer_t *chunk; /* the chunk h2o is sending (h2o_send needs it until proceed) */
    int finished;        /* the upstream call is over */
    int sending;         /* a non-final h2o_send is out: no other h2o_send until h2o calls on_proceed */
    int broken;          /* the upstream broke off while `sending`: the error goes out from on_proceed */
} proxy_t;

static h2o_iovec_t via_name = {H2O_STRLIT("via")};
static h2o_iovec_t xff_name = {H2O_STRLIT("x-forwarded-for")};
static h2o_iovec_t xfp_name = {H2O_STRLIT("x-forwarded-proto")};
static h2o_iovec_t xfh_name = {H2O_STRLIT("x-forwarded-host")};
static h2o_iovec_t request_id_name = {H2O_STRLIT("x-request-id")};

/* 1 if `name` must not cross the proxy: hop-by-hop, or listed in the message's Connection header. */
static int is_hop_by_hop(const h2o_iovec_t *name, h2o_iovec_t connection)
{
    static const char *const hop[] = {"connection", "keep-alive",        "proxy-connection", "te",
                                      "trailer",    "transfer-encoding", "upgrade"};
    for (size_t i = 0; i != sizeof(hop) / sizeof(hop[0]); ++i)
        if (h2o_memis(name->base, name->len, hop[i], strlen(hop[i])))
            return 1;
    if (connection.base != NULL) {
        /* Connection: close, x-foo — each token names a header that is hop-by-hop for this message */
        h2o_iovec_t iter = connection;
        size_t token_len;
        const char *token;
        while ((token = h2o_next_token(&iter, ',', &token_len, NULL)) != NULL)
            if (h2o_lcstris(token, token_len, name->base, name->len)) /* lower-cases its first argument */
                return 1;
    }
    return 0;
}

static h2o_iovec_t find_header(const h2o_header_t *headers, size_t num, const h2o_token_t *token)
{
    for (size_t i = 0; i != num; ++i)
        if (headers[i].name == &token->buf)
            return headers[i].value;
    return h2o_iovec_init(NULL, 0);
}

static void on_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    proxy_t *p = (void *)self;
    p->sending = 0;
    if (p->chunk != NULL)
        h2o_buffer_consume(&p->chunk, p->chunk->size);
    if (p->broken) {
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
    } else if (!p->finished) {
        h2api_call_proceed(p->call);
    }
}

static void on_stop(h2o_generator_t *self, h2o_req_t *req)
{
    proxy_t *p = (void *)self;
    if (!p->finished) {
        p->finished = 1;
        h2api_call_cancel(p->call);
    }
}

static void on_upstream_head(void *data, h2api_call_t *call, const char *errstr, const h2api_call_res_t *res)
{
    proxy_t *p = data;
    h2o_req_t *req = p->r->req;
    if (p->r->client_gone)
        return; /* answered 499 already: the call is cancelled when the request is disposed of */
    if (errstr != NULL) {
        p->finished = 1;
        h2api_send_error(p->r, h2api_client_error_status(errstr), h2api_client_error_detail(errstr));
        return;
    }
    req->res.status = res->status;
    req->res.reason = h2api_status_reason(res->status);
    h2o_iovec_t connection = find_header(res->headers, res->num_headers, H2O_TOKEN_CONNECTION);
    for (size_t i = 0; i != res->num_headers; ++i) {
        const h2o_header_t *h = res->headers + i;
        if (is_hop_by_hop(h->name, connection) || h->name == &H2O_TOKEN_CONTENT_LENGTH->buf || h->name == &H2O_TOKEN_DATE->buf ||
            h->name == &H2O_TOKEN_SERVER->buf || h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-request-id")))
            continue;
        if (h2o_iovec_is_token(h->name)) {
            h2o_add_header(&req->pool, &req->res.headers, (const h2o_token_t *)h->name, NULL, h->value.base, h->value.len);
        } else {
            h2o_add_header_by_str(&req->pool, &req->res.headers, h->name->base, h->name->len, 0, NULL, h->value.base, h->value.len);
        }
    }
    h2o_iovec_t cl = find_header(res->headers, res->num_headers, H2O_TOKEN_CONTENT_LENGTH);
    if (cl.base != NULL)
        req->res.content_length = h2o_strtosize(cl.base, cl.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VIA, NULL, H2O_STRLIT("1.1 h2api"));
    h2o_start_response(req, &p->super);
}

static void on_upstream_body(void *data, h2api_call_t *call, const char *errstr, h2o_iovec_t chunk, int is_final)
{
    proxy_t *p = data;
    h2o_req_t *req = p->r->req;
    if (p->r->client_gone)
        return;
    if (errstr != NULL) {
        /* The head is out: all that is left is to break the response off (h1: close; h2:
         * RST_STREAM). The error can come while h2o still holds the last chunk (an upstream
         * reset or a dead upstream connection is seen while we are paused); h2o allows one
         * h2o_send at a time, so it then waits for on_proceed. */
        p->finished = 1;
        if (p->sending) {
            p->broken = 1;
        } else {
            h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        }
        return;
    }
    if (is_final)
        p->finished = 1;
    else
        p->sending = 1;
    h2o_iovec_t out = h2o_iovec_init(NULL, 0);
    if (chunk.len != 0) {
        if (p->chunk == NULL)
            h2o_buffer_init(&p->chunk, &h2o_socket_buffer_prototype);
        out = h2o_buffer_reserve(&p->chunk, chunk.len);
        memcpy(out.base, chunk.base, chunk.len);
        p->chunk->size += chunk.len;
        out.len = chunk.len;
    }
    h2o_send(req, &out, out.len != 0 ? 1 : 0, is_final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static const h2api_stream_cbs_t proxy_cbs = {on_upstream_head, on_upstream_body};

static void on_proxy_dispose(void *_p)
{
    proxy_t *p = _p;
    if (p->chunk != NULL)
        h2o_buffer_dispose(&p->chunk);
}

/* The request headers to send upstream: the client's end-to-end ones, then the forwarding ones. */
static size_t build_request_headers(h2api_request_t *r, h2o_header_t **out)
{
    h2o_req_t *req = r->req;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_header_t *headers = h2o_mem_alloc_pool(pool, sizeof(*headers) * (req->headers.size + 6));
    size_t n = 0;
    ssize_t ci = h2o_find_header(&req->headers, H2O_TOKEN_CONNECTION, -1);
    h2o_iovec_t connection = ci >= 0 ? req->headers.entries[ci].value : h2o_iovec_init(NULL, 0);
    h2o_iovec_t xff_prev = h2o_iovec_init(NULL, 0);

    for (size_t i = 0; i != req->headers.size; ++i) {
        const h2o_header_t *h = req->headers.entries + i;
        if (is_hop_by_hop(h->name, connection) || h->name == &H2O_TOKEN_HOST->buf || h->name == &H2O_TOKEN_CONTENT_LENGTH->buf ||
            h->name == &H2O_TOKEN_EXPECT->buf || h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-request-id")) ||
            h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-proto")) ||
            h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-host")) ||
            h2o_memis(h->name->base, h->name->len, H2O_STRLIT("via")))
            continue;
        if (h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for"))) {
            xff_prev = h->value;
            continue;
        }
        headers[n++] = (h2o_header_t){.name = h->name, .value = h->value};
    }

    /* X-Forwarded-For: the chain so far, then the peer that connected to us */
    h2o_iovec_t peer_iov = h2api_request_peer_address(r);
    headers[n++] = (h2o_header_t){
        .name = &xff_name,
        .value = xff_prev.base != NULL ? h2o_concat(pool, xff_prev, h2o_iovec_init(H2O_STRLIT(", ")), peer_iov) : peer_iov};
    headers[n++] = (h2o_header_t){.name = &xfp_name, .value = req->scheme->name};
    headers[n++] = (h2o_header_t){.name = &xfh_name, .value = req->authority};
    headers[n++] = (h2o_header_t){.name = &via_name,
                                  .value = req->version >= 0x200 ? h2o_iovec_init(H2O_STRLIT("2 h2api"))
                                                                 : h2o_iovec_init(H2O_STRLIT("1.1 h2api"))};
    headers[n++] = (h2o_header_t){.name = &request_id_name, .value = r->request_id};
    *out = headers;
    return n;
}

static int proxy_any(h2api_request_t *r)
{
    h2o_req_t *req = r->req;
    /* forward the path as the client encoded it: the part after "/proxy", with the query */
    static const size_t prefix_len = sizeof("/proxy") - 1;
    h2o_iovec_t path = h2o_iovec_init(req->path.base + prefix_len, req->path.len - prefix_len);
    if (!h2api_path_is_forwardable(h2api_path_str(r, &path_param).base, path.base, path.len)) {
        h2api_send_error(r, 400, "Invalid proxy path: it must stay under the upstream's base path, in RFC 3986 characters");
        return 0;
    }
    h2api_client_t *client = h2api_worker_resource(r->worker, "client");
    h2api_upstream_t *up = client != NULL ? h2api_client_upstream(client, NULL) : NULL;
    if (up == NULL) {
        h2api_send_error(r, 503, "No upstream is configured");
        return 0;
    }

    proxy_t *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_proxy_dispose);
    *p = (proxy_t){.super = {on_proceed, on_stop}, .r = r};
    h2api_call_req_t *creq = h2o_mem_alloc_pool(&req->pool, sizeof(*creq));
    h2o_header_t *headers;
    size_t num_headers = build_request_headers(r, &headers);
    *creq = (h2api_call_req_t){.method = req->method, .path = path, .headers = headers, .num_headers = num_headers};
    if (req->entity.base != NULL)
        creq->body = req->entity;
    h2api_upstream_call_stream(up, &req->pool, creq, &proxy_cbs, p, &p->call);
    return 0;
}

static const h2api_route_t proxy_routes[] = {
    {H2API_METHOD_ALL, "/proxy/{path:path}", proxy_any, "Streaming pass-through to the default upstream", .tags = {"proxy"},
     .params = {&path_param}},
};

int routes_proxy_register(h2api_app_t *app)
{
    return H2API_ADD_ROUTES(app, proxy_routes);
}
