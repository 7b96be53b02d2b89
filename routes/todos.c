/* /v1/todos/bulk — create many todos upstream with bounded concurrency, partial failure kept. */
#include <stdio.h>
#include "json.h"
#include "routes.h"
#include "validate.h"

#define BULK_MAX_ITEMS 100

static const h2api_field_t todo_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
    {.name = "completed", .type = H2API_FIELD_BOOL, .required = 0, .default_json = "false"},
};
static const h2api_model_t todo_create = {"TodoCreate", todo_create_fields, sizeof(todo_create_fields) / sizeof(todo_create_fields[0])};

typedef struct st_todos_bulk_t {
    h2api_request_t *r;
    h2o_iovec_t *items; /* each validated item, rendered */
} todos_bulk_t;

/* {"successful":[…],"failed":[{"index":i,"item":{…},"error":{"status":s,"detail":"…"}}]} */
static void todos_bulk_done(h2api_gather_t *gather, void *data)
{
    todos_bulk_t *b = data;
    h2o_mem_pool_t *pool = &b->r->req->pool;
    size_t n = h2api_gather_size(gather), num_ok = 0, num_failed = 0;
    h2o_iovec_t *ok = h2o_mem_alloc_pool(pool, sizeof(*ok) * n * 2), *failed = h2o_mem_alloc_pool(pool, sizeof(*failed) * n * 5);
    size_t ok_parts = 0, failed_parts = 0;

    for (size_t i = 0; i != n; ++i) {
        const h2api_gather_result_t *result = h2api_gather_result(gather, i);
        const char *detail;
        int status = routes_child_failure(result, &detail, pool);
        if (status == 0) {
            if (num_ok++ != 0)
                ok[ok_parts++] = h2o_iovec_init(H2O_STRLIT(","));
            ok[ok_parts++] = result->res.body;
            continue;
        }
        char *head = h2o_mem_alloc_pool(pool, 48);
        int len = snprintf(head, 48, "%s{\"index\":%zu,\"item\":", num_failed++ == 0 ? "" : ",", i);
        failed[failed_parts++] = h2o_iovec_init(head, len);
        failed[failed_parts++] = b->items[i];
        char *mid = h2o_mem_alloc_pool(pool, 48);
        len = snprintf(mid, 48, ",\"error\":{\"status\":%d,\"detail\":", status);
        failed[failed_parts++] = h2o_iovec_init(mid, len);
        failed[failed_parts++] = h2api_json_quote(pool, detail, strlen(detail));
        failed[failed_parts++] = h2o_iovec_init(H2O_STRLIT("}}"));
    }
    h2o_iovec_t body = h2o_concat(pool, h2o_iovec_init(H2O_STRLIT("{\"successful\":[")), h2o_concat_list(pool, ok, ok_parts),
                                  h2o_iovec_init(H2O_STRLIT("],\"failed\":[")), h2o_concat_list(pool, failed, failed_parts),
                                  h2o_iovec_init(H2O_STRLIT("]}")));
    h2api_send_json_nocopy(b->r, 200, body);
}

static int todos_bulk(h2api_request_t *r)
{
    json_t *errors = json_array(), *input, *items = NULL;
    if ((input = h2api_validate_parse(h2api_request_body(r), errors)) != NULL)
        items = h2api_validate_list(&todo_create, input, 1, BULK_MAX_ITEMS, errors);
    if (items == NULL) {
        h2api_send_json_nocopy(r, 422, h2api_validate_render(&r->req->pool, errors));
        goto Exit;
    }
    h2api_upstream_t *up = routes_upstream(r);
    if (up == NULL)
        goto Exit;

    size_t n = json_array_size(items);
    todos_bulk_t *b = h2o_mem_alloc_pool(&r->req->pool, sizeof(*b));
    b->r = r;
    b->items = h2o_mem_alloc_pool(&r->req->pool, sizeof(*b->items) * n);
    /* like asyncio.gather(*(create(t) for t in todos), return_exceptions=True) under a Semaphore(bulk_concurrency) */
    h2api_gather_t *gather = h2api_gather_create(&r->req->pool, n, 0, h2api_app_conf(h2api_worker_app(r->worker))->app.bulk_concurrency,
                                                 todos_bulk_done, b);
    for (size_t i = 0; i != n; ++i) {
        b->items[i] = h2api_json_render(&r->req->pool, json_array_get(items, i));
        h2api_gather_set(gather, i, up, routes_call_req(r, "POST", h2o_iovec_init(H2O_STRLIT("/todos")), b->items[i]));
    }
    h2api_gather_start(gather);
Exit:
    json_decref(items);
    json_decref(input);
    json_decref(errors);
    return 0;
}

static const h2api_route_t todos_routes[] = {
    {H2API_METHOD_POST, "/v1/todos/bulk", todos_bulk,
     "Create 1..100 todos upstream, bulk_concurrency at a time; answers which succeeded and which failed",
     "[{\"title\":\"string (min 1)\",\"userId\":\"integer >= 1\",\"completed\":\"boolean = false\"}]"},
};

int routes_todos_register(h2api_app_t *app)
{
    return h2api_app_add_routes(app, todos_routes, sizeof(todos_routes) / sizeof(todos_routes[0]));
}
