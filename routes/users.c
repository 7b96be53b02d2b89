/* /v1/users — per-user views over the upstream, including the 4-way aggregate. */
#include <inttypes.h>
#include <stdio.h>
#include "json.h"
#include "routes.h"

/* ---- GET /v1/users/{user_id}/posts ---- */

static void users_posts_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    if (res->status == 200 && h2api_json_is_empty_array(res->body)) {
        h2api_send_error(r, 404, "No posts found for this user");
        return;
    }
    routes_send_upstream(r, 200, res);
}

static int users_posts(h2api_request_t *r)
{
    char path[48];
    int len = snprintf(path, sizeof(path), "/posts?userId=%" PRId64, h2api_request_param(r, "user_id")->int_value);
    routes_upstream_get(r, h2o_iovec_init(path, len), users_posts_done);
    return 0;
}

/* ---- GET /v1/users/{user_id}/overview: user (required) + posts, todos, albums (optional) ---- */

static const char *const overview_parts[] = {"user", "posts", "todos", "albums"};
#define OVERVIEW_NUM_PARTS (sizeof(overview_parts) / sizeof(overview_parts[0]))

static void users_overview_done(h2api_gather_t *gather, void *data)
{
    h2api_request_t *r = data;
    h2o_mem_pool_t *pool = &r->req->pool;
    const char *detail;
    int status;

    if ((status = routes_child_failure(h2api_gather_result(gather, 0), &detail, pool)) != 0) {
        routes_send_failure(r, status, status == 404 ? "User not found" : detail);
        return;
    }

    /* {"user":…,"posts":…,"todos":…,"albums":…[,"errors":{…}]}: upstream bytes spliced as they came */
    h2o_iovec_t parts[OVERVIEW_NUM_PARTS * 4 + 4 * OVERVIEW_NUM_PARTS + 4];
    size_t n = 0, num_errors = 0;
    h2o_iovec_t errors[OVERVIEW_NUM_PARTS * 5];
    size_t num_error_parts = 0;
    for (size_t i = 0; i != OVERVIEW_NUM_PARTS; ++i) {
        parts[n++] = h2o_concat(pool, h2o_iovec_init(i == 0 ? "{\"" : ",\"", 2), h2o_iovec_init(overview_parts[i], strlen(overview_parts[i])),
                                h2o_iovec_init(H2O_STRLIT("\":")));
        if (i == 0 || (status = routes_child_failure(h2api_gather_result(gather, i), &detail, pool)) == 0) {
            parts[n++] = h2api_gather_result(gather, i)->res.body;
            continue;
        }
        parts[n++] = h2o_iovec_init(H2O_STRLIT("null"));
        char *head = h2o_mem_alloc_pool(pool, 64);
        int len = snprintf(head, 64, "%s\"%s\":{\"status\":%d,\"detail\":", num_errors++ == 0 ? "" : ",", overview_parts[i], status);
        errors[num_error_parts++] = h2o_iovec_init(head, len);
        errors[num_error_parts++] = h2api_json_quote(pool, detail, strlen(detail));
        errors[num_error_parts++] = h2o_iovec_init(H2O_STRLIT("}"));
    }
    if (num_errors != 0) {
        parts[n++] = h2o_iovec_init(H2O_STRLIT(",\"errors\":{"));
        parts[n++] = h2o_concat_list(pool, errors, num_error_parts);
        parts[n++] = h2o_iovec_init(H2O_STRLIT("}"));
    }
    parts[n++] = h2o_iovec_init(H2O_STRLIT("}"));

    h2o_add_header_by_str(pool, &r->req->res.headers, H2O_STRLIT("x-aggregate-completed"), 0, NULL,
                          num_errors == 0 ? "true" : "false", num_errors == 0 ? 4 : 5);
    h2api_send_json_nocopy(r, 200, h2o_concat_list(pool, parts, n));
}

static int users_overview(h2api_request_t *r)
{
    h2api_upstream_t *up = routes_upstream(r);
    if (up == NULL)
        return 0;
    int64_t id = h2api_request_param(r, "user_id")->int_value;
    h2api_gather_t *gather = h2api_gather_create(&r->req->pool, OVERVIEW_NUM_PARTS, 0, 0, users_overview_done, r);
    for (size_t i = 0; i != OVERVIEW_NUM_PARTS; ++i) {
        char path[64];
        int len = i == 0 ? snprintf(path, sizeof(path), "/users/%" PRId64, id)
                         : snprintf(path, sizeof(path), "/%s?userId=%" PRId64, overview_parts[i], id);
        h2api_gather_set(gather, i, up, routes_call_req(r, "GET", h2o_iovec_init(path, len), h2o_iovec_init(NULL, 0)));
    }
    h2api_gather_start(gather);
    return 0;
}

static const h2api_route_t users_routes[] = {
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/posts", users_posts, "List the posts of one user", NULL},
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/overview", users_overview,
     "A user with their posts, todos and albums, fetched in parallel (partial failure reported)", NULL},
};

int routes_users_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, users_routes, sizeof(users_routes) / sizeof(users_routes[0]));
}
