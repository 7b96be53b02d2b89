/* /v1/users — per-user views over the upstream. */
#include <inttypes.h>
#include <stdio.h>
#include "json.h"
#include "routes.h"

static void users_posts_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    if (res->status == 200 && h2api_json_is_empty_array(res->body)) {
        h2api_send_error(r, 404, "No posts found for this user");
        return;
    }
    routes_send_upstream(r, res);
}

static int users_posts(h2api_request_t *r)
{
    char path[48];
    int len = snprintf(path, sizeof(path), "/posts?userId=%" PRId64, h2api_request_param(r, "user_id")->int_value);
    routes_upstream_get(r, h2o_iovec_init(path, len), users_posts_done);
    return 0;
}

static const h2api_route_t users_routes[] = {
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/posts", users_posts, "List the posts of one user", NULL},
};

int routes_users_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, users_routes, sizeof(users_routes) / sizeof(users_routes[0]));
}
