/*
 * Stages over the gather (gather.h): the slots are collected first, then one gather runs them;
 * its continuation maps each slot's outcome through the slot's leg (h2api_leg_t) and either
 * answers the first failure (H2API_FAIL_FAST) or hands every outcome to the route's
 * continuation (H2API_RETURN_EXCEPTIONS). Everything lives in the request's pool, so the
 * gather's cancel-on-dispose covers a client that goes away.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "api.h"
#include "app.h"
#include "gather.h"
#include "json.h"

typedef struct st_h2api_stage_slot_t {
    const h2api_leg_t *leg;
    h2api_call_req_t creq;
    json_t **doc; /* parsed by h2api_slot_int, released when the pool goes */
    int mapped;   /* `status` and `detail` hold the outcome through the leg (once the slot is over) */
    int status;
    const char *detail;
} h2api_stage_slot_t;

struct st_h2api_stage_t {
    h2o_mem_pool_t *pool;
    h2api_client_t *client;
    h2api_request_t *r;
    unsigned flags;
    size_t max_in_flight;
    h2api_stage_cb cb;
    void *data;
    H2O_VECTOR(h2api_stage_slot_t) slots;
    h2api_gather_t *gather;
    int answered_status;
    const char *answered_detail;
};

/* h2api_relay's private flag: a 2xx answer passes whatever its Content-Type (it is sent on unchanged, never spliced) */
#define STAGE_ANY_BODY (1u << 31)

static h2o_iovec_t request_id_name = {H2O_STRLIT("x-request-id")};
static h2o_iovec_t content_type_name = {H2O_STRLIT("content-type")};

h2o_iovec_t h2api__pool_vprintf(h2o_mem_pool_t *pool, const char *fmt, va_list args)
{
    char small[256]; /* one pass for the usual path or detail; a second only for longer text */
    va_list copy;
    va_copy(copy, args);
    int len = vsnprintf(small, sizeof(small), fmt, copy);
    va_end(copy);
    char *buf = h2o_mem_alloc_pool(pool, len + 1);
    if ((size_t)len < sizeof(small)) {
        memcpy(buf, small, len + 1);
    } else {
        vsnprintf(buf, len + 1, fmt, args);
    }
    return h2o_iovec_init(buf, len);
}

h2o_iovec_t h2api__pool_printf(h2o_mem_pool_t *pool, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    h2o_iovec_t s = h2api__pool_vprintf(pool, fmt, args);
    va_end(args);
    return s;
}

h2api_stage_t *h2api__stage_create(h2o_mem_pool_t *pool, h2api_client_t *client, h2api_request_t *r, unsigned flags,
                                   size_t max_in_flight, h2api_stage_cb cb, void *data)
{
    h2api_stage_t *stage = h2o_mem_alloc_pool(pool, sizeof(*stage));
    *stage = (h2api_stage_t){
        .pool = pool, .client = client, .r = r, .flags = flags, .max_in_flight = max_in_flight, .cb = cb, .data = data};
    return stage;
}

h2api_stage_t *h2api_stage(h2api_request_t *r, unsigned flags, h2api_stage_cb cb, void *data)
{
    return h2api__stage_create(&r->req->pool, h2api_worker_resource(r->worker, "client"), r, flags,
                               h2api_app_conf(h2api_worker_app(r->worker))->app.bulk_concurrency, cb, data);
}

static void stage_vcall(h2api_stage_t *stage, const h2api_leg_t *leg, const char *method, h2api_str_t body, const char *fmt,
                        va_list args)
{
    h2o_mem_pool_t *pool = stage->pool;
    h2o_header_t *headers = h2o_mem_alloc_pool(pool, sizeof(*headers) * 2);
    size_t num_headers = 0;
    if (stage->r != NULL)
        headers[num_headers++] = (h2o_header_t){.name = &request_id_name, .value = stage->r->request_id};
    if (body.base != NULL)
        headers[num_headers++] =
            (h2o_header_t){.name = &content_type_name, .value = h2o_iovec_init(H2O_STRLIT("application/json"))};
    h2o_vector_reserve(pool, &stage->slots, stage->slots.size + 1);
    stage->slots.entries[stage->slots.size++] = (h2api_stage_slot_t){.leg = leg,
                                                                     .creq = {.method = h2o_iovec_init(method, strlen(method)),
                                                                              .path = h2api__pool_vprintf(pool, fmt, args),
                                                                              .headers = headers,
                                                                              .num_headers = num_headers,
                                                                              .body = h2o_iovec_init(body.base, body.len)}};
}

void h2api_stage_call(h2api_stage_t *stage, const h2api_leg_t *leg, const char *method, h2api_str_t body, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    stage_vcall(stage, leg, method, body, fmt, args);
    va_end(args);
}

/* The answer a stage gives by itself; a 503 (our own limits: pool, rate limit, breaker) says when to come back. */
static void answer(h2api_stage_t *stage, int status, const char *detail)
{
    stage->answered_status = status;
    stage->answered_detail = detail;
    if (stage->r != NULL)
        h2api_send_error(stage->r, status, detail);
}

static int is_json(const h2api_call_res_t *res)
{
    for (size_t i = 0; i != res->num_headers; ++i) {
        if (res->headers[i].name == &H2O_TOKEN_CONTENT_TYPE->buf) {
            h2o_iovec_t v = res->headers[i].value;
            return h2o_strstr(v.base, v.len, H2O_STRLIT("json")) != SIZE_MAX;
        }
    }
    return 0;
}

static const h2api_on_status_t *find_rule(const h2api_leg_t *leg, int upstream_status)
{
    for (size_t i = 0; i != H2API_LEN(leg->on_status) && leg->on_status[i].upstream_status != 0; ++i)
        if (leg->on_status[i].upstream_status == upstream_status)
            return leg->on_status + i;
    return NULL;
}

static int map_outcome(h2api_stage_t *stage, size_t slot, const char **detail)
{
    const h2api_leg_t *leg = stage->slots.entries[slot].leg;
    const h2api_gather_result_t *result = h2api_gather_result(stage->gather, slot);
    const char *for_name = leg->name != NULL ? " for " : "", *name = leg->name != NULL ? leg->name : "";
    const h2api_on_status_t *rule;

    switch (result->state) {
    case H2API_GATHER_DONE:
        break;
    case H2API_GATHER_FAILED:
        *detail = h2api_client_error_detail(result->errstr);
        return h2api_client_error_status(result->errstr);
    default: /* cancelled by a sibling's failure under H2API_FAIL_FAST */
        *detail = "Cancelled";
        return 503;
    }
    int upstream_status = result->res.status;
    if ((rule = find_rule(leg, upstream_status)) != NULL) {
        *detail = rule->detail;
        return rule->status;
    }
    if (upstream_status < 200 || upstream_status > 299) {
        *detail = h2api__pool_printf(stage->pool, "Upstream answered %d%s%s", upstream_status, for_name, name).base;
        return 502;
    }
    if ((stage->flags & STAGE_ANY_BODY) == 0 && !is_json(&result->res)) {
        *detail = h2api__pool_printf(stage->pool, "Upstream answered with no JSON%s%s", for_name, name).base;
        return 502;
    }
    if ((rule = find_rule(leg, H2API_EMPTY_LIST)) != NULL && h2api_json_is_empty_array(result->res.body)) {
        *detail = rule->detail;
        return rule->status;
    }
    return 0;
}

int h2api_slot_failure(h2api_stage_t *stage, size_t slot, const char **detail)
{
    h2api_stage_slot_t *s = stage->slots.entries + slot;
    if (!s->mapped) {
        s->status = map_outcome(stage, slot, &s->detail);
        s->mapped = h2api_gather_result(stage->gather, slot)->state != H2API_GATHER_PENDING;
    }
    *detail = s->detail;
    return s->status;
}

static void on_gather_done(h2api_gather_t *gather, void *_stage)
{
    h2api_stage_t *stage = _stage;
    if (stage->r != NULL && stage->r->client_gone)
        return; /* answered 499; the pool's disposal cancels what is left */
    if ((stage->flags & H2API_RETURN_EXCEPTIONS) == 0) {
        for (size_t i = 0; i != stage->slots.size; ++i) {
            const char *detail;
            int status;
            if (h2api_gather_result(gather, i)->state == H2API_GATHER_CANCELLED)
                continue; /* the failure that cancelled it is in another slot */
            if ((status = h2api_slot_failure(stage, i, &detail)) != 0) {
                answer(stage, status, detail);
                return;
            }
        }
    }
    stage->cb(stage->r, stage, stage->data);
}

void h2api_stage_start(h2api_stage_t *stage)
{
    size_t n = stage->slots.size;
    assert(n != 0);
    h2api_upstream_t **ups = h2o_mem_alloc_pool(stage->pool, sizeof(*ups) * n);
    for (size_t i = 0; i != n; ++i) {
        if (stage->client == NULL ||
            (ups[i] = h2api_client_upstream(stage->client, stage->slots.entries[i].leg->upstream)) == NULL) {
            answer(stage, 503, "No upstream is configured");
            return;
        }
    }
    stage->gather = h2api_gather_create(stage->pool, n, (stage->flags & H2API_RETURN_EXCEPTIONS) == 0,
                                        (stage->flags & H2API_BOUNDED) != 0 ? stage->max_in_flight : 0, on_gather_done, stage);
    for (size_t i = 0; i != n; ++i)
        h2api_gather_set(stage->gather, i, ups[i], &stage->slots.entries[i].creq);
    h2api_gather_start(stage->gather);
}

size_t h2api_stage_size(h2api_stage_t *stage)
{
    return stage->slots.size;
}

h2api_str_t h2api_slot_body(h2api_stage_t *stage, size_t slot)
{
    const char *detail;
    if (h2api_slot_failure(stage, slot, &detail) != 0)
        return (h2api_str_t){NULL, 0};
    h2o_iovec_t body = h2api_gather_result(stage->gather, slot)->res.body;
    return (h2api_str_t){body.base, body.len};
}

static void on_doc_dispose(void *_doc)
{
    json_t **doc = _doc;
    json_decref(*doc);
}

int h2api_slot_int(h2api_stage_t *stage, size_t slot, const char *field, int64_t *value)
{
    h2api_stage_slot_t *s = stage->slots.entries + slot;
    if (s->doc == NULL) {
        h2api_str_t body = h2api_slot_body(stage, slot);
        if (body.base == NULL)
            return -ENOENT;
        s->doc = h2o_mem_alloc_shared(stage->pool, sizeof(*s->doc), on_doc_dispose);
        *s->doc = json_loadb(body.base, body.len, 0, NULL);
    }
    json_t *member = json_object_get(*s->doc, field); /* NULL for a document that is not an object */
    if (!json_is_integer(member))
        return -ENOENT;
    *value = json_integer_value(member);
    return 0;
}

int h2api__stage_answered(h2api_stage_t *stage, const char **detail)
{
    *detail = stage->answered_detail;
    return stage->answered_status;
}

/* h2api_relay: the continuation of its one-slot stage; `data` carries the status to answer with */
static void relay_done(h2api_request_t *r, h2api_stage_t *stage, void *data)
{
    h2api_str_t body = h2api_slot_body(stage, 0);
    h2api_send_json_nocopy(r, (int)(intptr_t)data, h2o_iovec_init(body.base, body.len)); /* the body is in the request's pool */
}

int h2api_relay(h2api_request_t *r, const h2api_leg_t *leg, int status, const char *method, h2api_str_t body, const char *fmt, ...)
{
    h2api_stage_t *stage = h2api_stage(r, H2API_FAIL_FAST | STAGE_ANY_BODY, relay_done, (void *)(intptr_t)status);
    va_list args;
    va_start(args, fmt);
    stage_vcall(stage, leg, method, body, fmt, args);
    va_end(args);
    h2api_stage_start(stage);
    return 0;
}
