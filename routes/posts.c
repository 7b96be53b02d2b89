/* /v1/posts — posts of the upstream (jsonplaceholder's /posts). */
#include <inttypes.h>
#include <stdio.h>
#include "routes.h"

static void posts_list_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    routes_send_upstream(r, res);
}

static int posts_list(h2api_request_t *r)
{
    routes_upstream_get(r, h2o_iovec_init(H2O_STRLIT("/posts")), posts_list_done);
    return 0;
}

static void posts_get_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    if (res->status == 404) {
        h2api_send_error(r, 404, "Post not found");
        return;
    }
    routes_send_upstream(r, res);
}

static int posts_get(h2api_request_t *r)
{
    char path[48];
    int len = snprintf(path, sizeof(path), "/posts/%" PRId64, h2api_request_param(r, "post_id")->int_value);
    routes_upstream_get(r, h2o_iovec_init(path, len), posts_get_done);
    return 0;
}

static const h2api_route_t posts_routes[] = {
    {H2API_METHOD_GET, "/v1/posts", posts_list, "List all posts", NULL},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}", posts_get, "Get one post by id", NULL},
};

int routes_posts_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, posts_routes, sizeof(posts_routes) / sizeof(posts_routes[0]));
}
