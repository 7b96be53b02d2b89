#include <stdio.h>
#include "routes.h"
#include "json.h"

int h2api_routes_register(h2api_app_t *app)
{
    int (*const registers[])(h2api_app_t *) = {
        routes_root_register,
        routes_posts_register,
        routes_users_register,
    };
    for (size_t i = 0; i != sizeof(registers) / sizeof(registers[0]); ++i) {
        int ret;
        if ((ret = registers[i](app)) != 0)
            return ret;
    }
    return 0;
}

typedef struct st_routes_get_t {
    h2api_request_t *r;
    routes_upstream_ok_cb on_ok;
} routes_get_t;

static void on_upstream_done(void *data, const char *errstr, const h2api_call_res_t *res)
{
    routes_get_t *get = data;
    if (errstr != NULL) {
        int status = h2api_client_error_status(errstr);
        if (status == 503)
            h2o_add_header(&get->r->req->pool, &get->r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        h2api_send_error(get->r, status, h2api_client_error_detail(errstr));
        return;
    }
    get->on_ok(get->r, res);
}

static h2o_iovec_t request_id_name = {H2O_STRLIT("x-request-id")};

void routes_upstream_get(h2api_request_t *r, h2o_iovec_t path, routes_upstream_ok_cb on_ok)
{
    h2api_client_t *client = h2api_worker_resource(r->worker, "client");
    h2api_upstream_t *up = client != NULL ? h2api_client_upstream(client, NULL) : NULL;
    if (up == NULL) {
        h2api_send_error(r, 503, "No upstream is configured");
        return;
    }
    routes_get_t *get = h2o_mem_alloc_pool(&r->req->pool, sizeof(*get));
    *get = (routes_get_t){r, on_ok};
    /* the request id goes upstream too, so that both access logs name the same request */
    h2o_header_t *rid = h2o_mem_alloc_pool(&r->req->pool, sizeof(*rid));
    *rid = (h2o_header_t){.name = &request_id_name, .value = r->request_id};
    h2api_call_req_t creq = {.method = h2o_iovec_init(H2O_STRLIT("GET")),
                             .path = h2o_strdup(&r->req->pool, path.base, path.len),
                             .headers = rid,
                             .num_headers = 1};
    h2api_upstream_call(up, &r->req->pool, &creq, on_upstream_done, get, NULL);
}

void routes_send_upstream(h2api_request_t *r, const h2api_call_res_t *res)
{
    if (res->status < 200 || res->status > 299) {
        char detail[64];
        snprintf(detail, sizeof(detail), "Upstream answered %d", res->status);
        h2api_send_error(r, 502, detail);
        return;
    }
    /* the body is already in req->pool: send it without another copy */
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = r->req;
    h2o_iovec_t body = res->body;
    req->res.status = 200;
    req->res.reason = h2api_status_reason(200);
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}
