/* /v1/users — per-user views over the upstream, including the 4-way aggregate. */
#include <inttypes.h>
#include "routes.h"

static const h2api_path_param_t user_id = H2API_PATH_INT("user_id");

static const h2api_leg_t user_posts_leg = {.on_status = {{H2API_EMPTY_LIST, 404, "No posts found for this user"}}};

static int users_posts(h2api_request_t *r)
{
    return h2api_relay(r, &user_posts_leg, 200, "GET", H2API_NO_BODY, "/posts?userId=%" PRId64, h2api_path_int(r, &user_id));
}

/* ---- GET /v1/users/{user_id}/overview: user (required) + posts, todos, albums (optional, partial failure reported) ---- */

static const char *const overview_parts[] = {"user", "posts", "todos", "albums"};
static const h2api_leg_t user_leg = {.on_status = {{404, 404, "User not found"}}};
static const h2api_leg_t part_leg = {.on_status = {{404, 404, "Not Found"}}};

/* {"user":…,"posts":…,"todos":…,"albums":…[,"errors":{"todos":{"status":504,"detail":"…"}}]}: upstream bytes spliced */
static void users_overview_done(h2api_request_t *r, h2api_stage_t *stage, void *data)
{
    const char *detail;
    int status, num_errors = 0;
    if ((status = h2api_slot_failure(stage, 0, &detail)) != 0) {
        h2api_send_error(r, status, detail);
        return;
    }
    h2api_jsonb_t *jb = h2api_jsonb(r);
    h2api_jsonb_object(jb, NULL);
    for (size_t i = 0; i != H2API_LEN(overview_parts); ++i) {
        h2api_str_t part = h2api_slot_body(stage, i);
        num_errors += part.base == NULL;
        h2api_jsonb_raw(jb, overview_parts[i], part.base != NULL ? part : H2API_STR("null"));
    }
    if (num_errors != 0) {
        h2api_jsonb_object(jb, "errors");
        for (size_t i = 1; i != H2API_LEN(overview_parts); ++i) {
            if ((status = h2api_slot_failure(stage, i, &detail)) == 0)
                continue;
            h2api_jsonb_object(jb, overview_parts[i]);
            h2api_jsonb_int(jb, "status", status);
            h2api_jsonb_str(jb, "detail", detail);
            h2api_jsonb_end(jb);
        }
        h2api_jsonb_end(jb);
    }
    h2api_jsonb_end(jb);
    h2api_set_header(r, "x-aggregate-completed", num_errors == 0 ? "true" : "false");
    h2api_send_jsonb(r, 200, jb);
}

static int users_overview(h2api_request_t *r)
{
    int64_t id = h2api_path_int(r, &user_id);
    h2api_stage_t *stage = h2api_stage(r, H2API_RETURN_EXCEPTIONS, users_overview_done, NULL);
    h2api_stage_get(stage, &user_leg, "/users/%" PRId64, id);
    for (size_t i = 1; i != H2API_LEN(overview_parts); ++i)
        h2api_stage_get(stage, &part_leg, "/%s?userId=%" PRId64, overview_parts[i], id);
    h2api_stage_start(stage);
    return 0;
}

static const h2api_route_t users_routes[] = {
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/posts", users_posts, "List the posts of one user", .tags = {"users"},
     .params = {&user_id}, .responses = {{200, "The user's posts"}, {404, "No posts found for this user"}}},
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/overview", users_overview,
     "A user with their posts, todos and albums, fetched in parallel (partial failure reported)", .tags = {"users"},
     .params = {&user_id}, .responses = {{200, "{user, posts, todos, albums[, errors]}"}, {404, "User not found"}}},
};

int routes_users_register(h2api_app_t *app)
{
    return H2API_ADD_ROUTES(app, users_routes);
}
