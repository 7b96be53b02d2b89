/* /v1/posts — posts of the upstream (jsonplaceholder's /posts), their details, and new posts. */
#include <inttypes.h>
#include <stdio.h>
#include "routes.h"
#include "validate.h"

/* ---- GET /v1/posts ---- */

static void posts_list_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    routes_send_upstream(r, 200, res);
}

static int posts_list(h2api_request_t *r)
{
    routes_upstream_get(r, h2o_iovec_init(H2O_STRLIT("/posts")), posts_list_done);
    return 0;
}

/* ---- GET /v1/posts/{post_id} ---- */

static void posts_get_done(h2api_request_t *r, const h2api_call_res_t *res)
{
    if (res->status == 404) {
        h2api_send_error(r, 404, "Post not found");
        return;
    }
    routes_send_upstream(r, 200, res);
}

static int posts_get(h2api_request_t *r)
{
    char path[48];
    int len = snprintf(path, sizeof(path), "/posts/%" PRId64, h2api_request_param(r, "post_id")->int_value);
    routes_upstream_get(r, h2o_iovec_init(path, len), posts_get_done);
    return 0;
}

/* ---- GET /v1/posts/{post_id}/details: two stages ---- */

typedef struct st_posts_details_t {
    h2api_request_t *r;
    h2api_gather_t *stage1; /* the post and its comments */
} posts_details_t;

static void details_author_done(void *data, const char *errstr, const h2api_call_res_t *author)
{
    posts_details_t *d = data;
    h2api_request_t *r = d->r;
    if (errstr != NULL) {
        routes_send_call_error(r, errstr);
        return;
    }
    if (author->status < 200 || author->status > 299 || !routes_is_json(author)) {
        char detail[64];
        snprintf(detail, sizeof(detail), "Upstream answered %d for the author", author->status);
        h2api_send_error(r, 502, detail);
        return;
    }
    /* splice the three upstream documents unparsed */
    h2o_iovec_t parts[] = {
        h2o_iovec_init(H2O_STRLIT("{\"post\":")),
        h2api_gather_result(d->stage1, 0)->res.body,
        h2o_iovec_init(H2O_STRLIT(",\"comments\":")),
        h2api_gather_result(d->stage1, 1)->res.body,
        h2o_iovec_init(H2O_STRLIT(",\"author\":")),
        author->body,
        h2o_iovec_init(H2O_STRLIT("}")),
    };
    h2api_send_json_nocopy(r, 200, h2o_concat_list(&r->req->pool, parts, sizeof(parts) / sizeof(parts[0])));
}

static void details_stage1_done(h2api_gather_t *gather, void *data)
{
    posts_details_t *d = data;
    h2api_request_t *r = d->r;
    const char *detail;
    int status;

    if ((status = routes_child_failure(h2api_gather_result(gather, 0), &detail, &r->req->pool)) != 0) {
        routes_send_failure(r, status, status == 404 ? "Post not found" : detail);
        return;
    }
    if ((status = routes_child_failure(h2api_gather_result(gather, 1), &detail, &r->req->pool)) != 0) {
        routes_send_failure(r, status == 404 ? 502 : status, detail);
        return;
    }
    /* the one field the next stage needs: parse the post (small) rather than splice it blind */
    h2o_iovec_t post = h2api_gather_result(gather, 0)->res.body;
    json_t *doc = json_loadb(post.base, post.len, 0, NULL);
    json_t *user_id = doc != NULL ? json_object_get(doc, "userId") : NULL;
    if (!json_is_integer(user_id)) {
        json_decref(doc);
        h2api_send_error(r, 502, "Upstream post has no integer userId");
        return;
    }
    char path[48];
    int len = snprintf(path, sizeof(path), "/users/%" JSON_INTEGER_FORMAT, json_integer_value(user_id));
    json_decref(doc);

    h2api_upstream_t *up = routes_upstream(r);
    if (up == NULL)
        return;
    h2api_upstream_call(up, &r->req->pool, routes_call_req(r, "GET", h2o_iovec_init(path, len), h2o_iovec_init(NULL, 0)),
                        details_author_done, d, NULL);
}

static int posts_details(h2api_request_t *r)
{
    h2api_upstream_t *up = routes_upstream(r);
    if (up == NULL)
        return 0;
    int64_t id = h2api_request_param(r, "post_id")->int_value;
    char path[64];
    posts_details_t *d = h2o_mem_alloc_pool(&r->req->pool, sizeof(*d));
    d->r = r;
    d->stage1 = h2api_gather_create(&r->req->pool, 2, 0, 0, details_stage1_done, d);
    int len = snprintf(path, sizeof(path), "/posts/%" PRId64, id);
    h2api_gather_set(d->stage1, 0, up, routes_call_req(r, "GET", h2o_iovec_init(path, len), h2o_iovec_init(NULL, 0)));
    len = snprintf(path, sizeof(path), "/posts/%" PRId64 "/comments", id);
    h2api_gather_set(d->stage1, 1, up, routes_call_req(r, "GET", h2o_iovec_init(path, len), h2o_iovec_init(NULL, 0)));
    h2api_gather_start(d->stage1);
    return 0;
}

/* ---- POST /v1/posts ---- */

static const h2api_field_t post_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "body", .type = H2API_FIELD_STR, .required = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
};
static const h2api_model_t post_create = {"PostCreate", post_create_fields, sizeof(post_create_fields) / sizeof(post_create_fields[0])};

static void posts_create_call_done(void *data, const char *errstr, const h2api_call_res_t *res)
{
    h2api_request_t *r = data;
    if (errstr != NULL) {
        routes_send_call_error(r, errstr);
        return;
    }
    routes_send_upstream(r, 201, res);
}

static int posts_create(h2api_request_t *r)
{
    json_t *errors = json_array(), *input, *post = NULL, *loc = json_pack("[s]", "body");
    if ((input = h2api_validate_parse(h2api_request_body(r), errors)) != NULL)
        post = h2api_validate_object(&post_create, input, loc, errors);
    if (post == NULL) {
        h2api_send_json_nocopy(r, 422, h2api_validate_render(&r->req->pool, errors));
    } else {
        h2api_upstream_t *up = routes_upstream(r);
        if (up != NULL)
            h2api_upstream_call(up, &r->req->pool,
                                routes_call_req(r, "POST", h2o_iovec_init(H2O_STRLIT("/posts")), h2api_json_render(&r->req->pool, post)),
                                posts_create_call_done, r, NULL);
    }
    json_decref(post);
    json_decref(input);
    json_decref(loc);
    json_decref(errors);
    return 0;
}

static const h2api_route_t posts_routes[] = {
    {H2API_METHOD_GET, "/v1/posts", posts_list, "List all posts", NULL},
    {H2API_METHOD_POST, "/v1/posts", posts_create, "Create a post (validated, then created upstream)",
     "{\"title\":\"string (min 1)\",\"body\":\"string\",\"userId\":\"integer >= 1\"}"},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}", posts_get, "Get one post by id", NULL},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}/details", posts_details, "A post with its comments and its author", NULL},
};

int routes_posts_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, posts_routes, sizeof(posts_routes) / sizeof(posts_routes[0]));
}
