/* /v1/todos/bulk — create many todos upstream with bounded concurrency, partial failure kept. */
#include "routes.h"

static const h2api_field_t todo_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
    {.name = "completed", .type = H2API_FIELD_BOOL, .required = 0, .default_json = "false"},
};
static const h2api_model_t todo_create = {"TodoCreate", todo_create_fields, H2API_LEN(todo_create_fields)};
static const h2api_leg_t todo_leg = {.on_status = {{404, 404, "Not Found"}}};

/* {"successful":[…],"failed":[{"index":i,"item":{…},"error":{"status":s,"detail":"…"}}]} */
static void todos_bulk_done(h2api_request_t *r, h2api_stage_t *stage, void *data)
{
    const h2api_str_t *items = data;
    const char *detail;
    h2api_jsonb_t *jb = h2api_jsonb(r);
    h2api_jsonb_object(jb, NULL);
    h2api_jsonb_array(jb, "successful");
    for (size_t i = 0; i != h2api_stage_size(stage); ++i)
        if (h2api_slot_failure(stage, i, &detail) == 0)
            h2api_jsonb_raw(jb, NULL, h2api_slot_body(stage, i));
    h2api_jsonb_end(jb);
    h2api_jsonb_array(jb, "failed");
    for (size_t i = 0; i != h2api_stage_size(stage); ++i) {
        int status = h2api_slot_failure(stage, i, &detail);
        if (status == 0)
            continue;
        h2api_jsonb_object(jb, NULL);
        h2api_jsonb_int(jb, "index", i);
        h2api_jsonb_raw(jb, "item", items[i]);
        h2api_jsonb_object(jb, "error");
        h2api_jsonb_int(jb, "status", status);
        h2api_jsonb_str(jb, "detail", detail);
        h2api_jsonb_end(jb);
        h2api_jsonb_end(jb);
    }
    h2api_jsonb_end(jb);
    h2api_jsonb_end(jb);
    h2api_send_jsonb(r, 200, jb);
}

/* like asyncio.gather(*(create(t) for t in todos), return_exceptions=True) under a Semaphore(bulk_concurrency) */
static int todos_bulk(h2api_request_t *r)
{
    size_t n;
    const h2api_str_t *items = h2api_body(r, &n);
    if (items == NULL)
        return 0;
    h2api_stage_t *stage = h2api_stage(r, H2API_RETURN_EXCEPTIONS | H2API_BOUNDED, todos_bulk_done, (void *)items);
    for (size_t i = 0; i != n; ++i)
        h2api_stage_call(stage, &todo_leg, "POST", items[i], "/todos");
    h2api_stage_start(stage);
    return 0;
}

static const h2api_route_t todos_routes[] = {
    {H2API_METHOD_POST, "/v1/todos/bulk", todos_bulk,
     "Create 1..100 todos upstream, bulk_concurrency at a time; answers which succeeded and which failed", .tags = {"todos"},
     .body = {&todo_create, H2API_BODY_LIST, 1, 100}, .responses = {{200, "{successful, failed}"}, {422, "Validation error"}}},
};

int routes_todos_register(h2api_app_t *app)
{
    return H2API_ADD_ROUTES(app, todos_routes);
}
