/* /v1/posts — posts of the upstream (jsonplaceholder's /posts), their details, and new posts. */
#include <inttypes.h>
#include "routes.h"

static const h2api_path_param_t post_id = H2API_PATH_INT("post_id");
static const h2api_leg_t posts_leg = {0}, comments_leg = {0}, author_leg = {.name = "the author"};
static const h2api_leg_t post_leg = {.on_status = {{404, 404, "Post not found"}}};

static int posts_list(h2api_request_t *r)
{
    return h2api_relay(r, &posts_leg, 200, "GET", H2API_NO_BODY, "/posts");
}

static int posts_get(h2api_request_t *r)
{
    return h2api_relay(r, &post_leg, 200, "GET", H2API_NO_BODY, "/posts/%" PRId64, h2api_path_int(r, &post_id));
}

/* ---- GET /v1/posts/{post_id}/details: the post and its comments, then its author ---- */

static void details_author_done(h2api_request_t *r, h2api_stage_t *author, void *data)
{
    h2api_stage_t *first = data;
    h2api_jsonb_t *jb = h2api_jsonb(r);
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_raw(jb, "post", h2api_slot_body(first, 0));
    h2api_jsonb_raw(jb, "comments", h2api_slot_body(first, 1));
    h2api_jsonb_raw(jb, "author", h2api_slot_body(author, 0));
    h2api_jsonb_end(jb);
    h2api_send_jsonb(r, 200, jb);
}

static void details_post_done(h2api_request_t *r, h2api_stage_t *first, void *data)
{
    int64_t user_id;
    if (h2api_slot_int(first, 0, "userId", &user_id) != 0) {
        h2api_send_error(r, 502, "Upstream post has no integer userId");
        return;
    }
    h2api_stage_t *author = h2api_stage(r, H2API_FAIL_FAST, details_author_done, first);
    h2api_stage_get(author, &author_leg, "/users/%" PRId64, user_id);
    h2api_stage_start(author);
}

static int posts_details(h2api_request_t *r)
{
    int64_t id = h2api_path_int(r, &post_id);
    h2api_stage_t *first = h2api_stage(r, H2API_FAIL_FAST, details_post_done, NULL);
    h2api_stage_get(first, &post_leg, "/posts/%" PRId64, id);
    h2api_stage_get(first, &comments_leg, "/posts/%" PRId64 "/comments", id);
    h2api_stage_start(first);
    return 0;
}

/* ---- POST /v1/posts ---- */

static const h2api_field_t post_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "body", .type = H2API_FIELD_STR, .required = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
};
static const h2api_model_t post_create = {"PostCreate", post_create_fields, H2API_LEN(post_create_fields)};

static int posts_create(h2api_request_t *r)
{
    const h2api_str_t *post = h2api_body(r, NULL);
    return post != NULL ? h2api_relay(r, &posts_leg, 201, "POST", *post, "/posts") : 0;
}

static const h2api_route_t posts_routes[] = {
    {H2API_METHOD_GET, "/v1/posts", posts_list, "List all posts", .tags = {"posts"}},
    {H2API_METHOD_POST, "/v1/posts", posts_create, "Create a post (validated, then created upstream)", .tags = {"posts"},
     .body = {&post_create}, .responses = {{201, "The post as the upstream created it"}, {422, "Validation error"}}},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}", posts_get, "Get one post by id", .tags = {"posts"}, .params = {&post_id},
     .responses = {{200, "The post"}, {404, "Post not found"}}},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}/details", posts_details, "A post with its comments and its author",
     .tags = {"posts"}, .params = {&post_id}, .responses = {{200, "{post, comments, author}"}, {404, "Post not found"}}},
};

int routes_posts_register(h2api_app_t *app)
{
    return H2API_ADD_ROUTES(app, posts_routes);
}
