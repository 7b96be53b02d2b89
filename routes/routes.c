#include <stdio.h>
#include <string.h>
#include "json.h"
#include "routes.h"

int h2api_routes_register(h2api_app_t *app)
{
    int (*const registers[])(h2api_app_t *) = {
        routes_root_register, routes_posts_register, routes_users_register, routes_todos_register, routes_proxy_register,
    };
    for (size_t i = 0; i != sizeof(registers) / sizeof(registers[0]); ++i) {
        int ret;
        if ((ret = registers[i](app)) != 0)
            return ret;
    }
    return 0;
}

h2api_upstream_t *routes_upstream(h2api_request_t *r)
{
    h2api_client_t *client = h2api_worker_resource(r->worker, "client");
    h2api_upstream_t *up = client != NULL ? h2api_client_upstream(client, NULL) : NULL;
    if (up == NULL)
        h2api_send_error(r, 503, "No upstream is configured");
    return up;
}

static h2o_iovec_t request_id_name = {H2O_STRLIT("x-request-id")};
static h2o_iovec_t content_type_name = {H2O_STRLIT("content-type")};

const h2api_call_req_t *routes_call_req(h2api_request_t *r, const char *method, h2o_iovec_t path, h2o_iovec_t body)
{
    h2o_mem_pool_t *pool = &r->req->pool;
    h2o_header_t *headers = h2o_mem_alloc_pool(pool, sizeof(*headers) * 2);
    size_t num_headers = 0;
    headers[num_headers++] = (h2o_header_t){.name = &request_id_name, .value = r->request_id};
    if (body.base != NULL)
        headers[num_headers++] = (h2o_header_t){.name = &content_type_name, .value = h2o_iovec_init(H2O_STRLIT("application/json"))};
    h2api_call_req_t *creq = h2o_mem_alloc_pool(pool, sizeof(*creq));
    *creq = (h2api_call_req_t){.method = h2o_iovec_init(method, strlen(method)),
                               .path = h2o_strdup(pool, path.base, path.len),
                               .headers = headers,
                               .num_headers = num_headers,
                               .body = body};
    return creq;
}

void routes_send_failure(h2api_request_t *r, int status, const char *detail)
{
    if (status == 503)
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    h2api_send_error(r, status, detail);
}

void routes_send_call_error(h2api_request_t *r, const char *errstr)
{
    routes_send_failure(r, h2api_client_error_status(errstr), h2api_client_error_detail(errstr));
}

typedef struct st_routes_get_t {
    h2api_request_t *r;
    routes_upstream_ok_cb on_ok;
} routes_get_t;

static void on_upstream_done(void *data, const char *errstr, const h2api_call_res_t *res)
{
    routes_get_t *get = data;
    if (errstr != NULL) {
        routes_send_call_error(get->r, errstr);
        return;
    }
    get->on_ok(get->r, res);
}

void routes_upstream_get(h2api_request_t *r, h2o_iovec_t path, routes_upstream_ok_cb on_ok)
{
    h2api_upstream_t *up = routes_upstream(r);
    if (up == NULL)
        return;
    routes_get_t *get = h2o_mem_alloc_pool(&r->req->pool, sizeof(*get));
    *get = (routes_get_t){r, on_ok};
    h2api_upstream_call(up, &r->req->pool, routes_call_req(r, "GET", path, h2o_iovec_init(NULL, 0)), on_upstream_done, get, NULL);
}

void routes_send_upstream(h2api_request_t *r, int status, const h2api_call_res_t *res)
{
    if (res->status < 200 || res->status > 299) {
        char detail[64];
        snprintf(detail, sizeof(detail), "Upstream answered %d", res->status);
        h2api_send_error(r, 502, detail);
        return;
    }
    h2api_send_json_nocopy(r, status, res->body); /* the body is already in req->pool */
}

int routes_child_failure(const h2api_gather_result_t *result, const char **detail, h2o_mem_pool_t *pool)
{
    switch (result->state) {
    case H2API_GATHER_DONE:
        if (result->res.status >= 200 && result->res.status <= 299) {
            if (routes_is_json(&result->res))
                return 0;
            *detail = "Upstream answered with no JSON";
            return 502;
        }
        if (result->res.status == 404) {
            *detail = "Not Found";
            return 404;
        }
        char *buf = h2o_mem_alloc_pool(pool, 40);
        snprintf(buf, 40, "Upstream answered %d", result->res.status);
        *detail = buf;
        return 502;
    case H2API_GATHER_FAILED:
        *detail = h2api_client_error_detail(result->errstr);
        return h2api_client_error_status(result->errstr);
    default:
        *detail = "Cancelled";
        return 503;
    }
}

int routes_is_json(const h2api_call_res_t *res)
{
    for (size_t i = 0; i != res->num_headers; ++i) {
        if (res->headers[i].name == &H2O_TOKEN_CONTENT_TYPE->buf) {
            h2o_iovec_t v = res->headers[i].value;
            return h2o_strstr(v.base, v.len, H2O_STRLIT("json")) != SIZE_MAX;
        }
    }
    return 0;
}
