/*
 * The demo upstream's routes: jsonplaceholder's API over the prebuilt dataset of data.c.
 *
 * Every route is one entry of a static table that also names its resource, so that the six
 * handlers serve all six resources: a handler finds its entry from r->route (the app passes the
 * registered route, which is not copied). GETs send prebuilt bytes; only ?id= wraps one
 * prebuilt object in "[...]". POST, PUT and PATCH echo a JSON object as jsonplaceholder does
 * and store nothing.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "demo/demo.h"
#include "demo/internal.h"

typedef struct st_demo_route_t {
    h2api_route_t route; /* first: r->route points here */
    size_t resource;     /* H2API__DEMO_* */
    int nested;          /* the {id} parameter is the parent's id (GET /posts/{id}/comments) */
} demo_route_t;

static const demo_route_t *demo_route(h2api_request_t *r)
{
    return (const demo_route_t *)((const char *)r->route - offsetof(demo_route_t, route));
}

static const h2api__demo_resource_t *demo_resource(h2api_request_t *r)
{
    return h2api__demo_data_get(demo_route(r)->resource);
}

/* the {id:int} path parameter; the router has already refused anything but an integer */
static int64_t path_id(h2api_request_t *r)
{
    const h2api_param_t *param = h2api_request_param(r, "id");
    return param != NULL ? param->int_value : 0;
}

static int id_exists(const h2api__demo_resource_t *res, int64_t id)
{
    return id >= 1 && (uint64_t)id <= res->count;
}

/*
 * Reads query parameter `name` as a filter value: -1 when absent, else the id it names, or 0
 * (which matches nothing) when it is not the decimal form of an id. jsonplaceholder compares
 * the text with the field's, so "01", "+1" and "1.0" match nothing and answer [].
 */
static int64_t query_filter(h2api_request_t *r, const char *name)
{
    h2o_iovec_t value;
    int ret = h2api_request_query(r, name, &value);
    if (ret == 0)
        return -1;
    if (ret < 0 || value.len == 0 || value.len > 9 || value.base[0] == '0')
        return 0;
    int64_t id = 0;
    for (size_t i = 0; i != value.len; ++i) {
        if (value.base[i] < '0' || value.base[i] > '9')
            return 0;
        id = id * 10 + (value.base[i] - '0');
    }
    return id;
}

/* prebuilt texts live until h2api_demo_destroy, after every request: sent without a copy */
static void send_text(h2api_request_t *r, int status, h2api__demo_text_t text)
{
    h2api_send_json_nocopy(r, status, h2o_iovec_init(text.base, text.len));
}

static void send_empty_list(h2api_request_t *r)
{
    h2api_send_json_nocopy(r, 200, h2o_iovec_init(H2O_STRLIT("[]")));
}

static void send_not_found(h2api_request_t *r)
{
    h2api_send_json_nocopy(r, 404, h2o_iovec_init(H2O_STRLIT("{}")));
}

/* renders `obj` compactly into req->pool and sends it */
static void send_object(h2api_request_t *r, int status, const json_t *obj)
{
    size_t len = json_dumpb(obj, NULL, 0, H2API__DEMO_JSON_FLAGS);
    char *buf = h2o_mem_alloc_pool(&r->req->pool, len);
    json_dumpb(obj, buf, len, H2API__DEMO_JSON_FLAGS);
    h2api_send_json_nocopy(r, status, h2o_iovec_init(buf, len));
}

/* parses the request body; answers 400 and returns NULL unless it is a JSON object */
static json_t *load_body_object(h2api_request_t *r)
{
    h2o_iovec_t body = h2api_request_body(r);
    json_error_t error;
    json_t *obj = body.len != 0 ? json_loadb(body.base, body.len, JSON_DECODE_ANY, &error) : NULL;
    if (obj == NULL) {
        h2api_send_error(r, 400, "Request body is not valid JSON");
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        h2api_send_error(r, 400, "Request body must be a JSON object");
        return NULL;
    }
    return obj;
}

/* GET /{resource} and GET /{parent}/{id}/{resource}: the whole list, or a filtered one */
static int demo_list(h2api_request_t *r)
{
    const demo_route_t *route = demo_route(r);
    const h2api__demo_resource_t *res = demo_resource(r);
    int64_t parent_id = -1, id = query_filter(r, "id");

    if (route->nested)
        parent_id = path_id(r) > 0 ? path_id(r) : 0;
    else if (res->parent_key != NULL)
        parent_id = query_filter(r, res->parent_key);

    if (id == -1) {
        if (parent_id == -1)
            send_text(r, 200, res->list);
        else if (parent_id >= 1 && (uint64_t)parent_id <= res->num_parents)
            send_text(r, 200, res->by_parent[parent_id - 1]);
        else
            send_empty_list(r);
        return 0;
    }
    if (!id_exists(res, id) || (parent_id != -1 && res->parent_ids[id - 1] != parent_id)) {
        send_empty_list(r);
        return 0;
    }
    h2api__demo_text_t obj = res->objects[id - 1];
    char *buf = h2o_mem_alloc_pool(&r->req->pool, obj.len + 2);
    buf[0] = '[';
    memcpy(buf + 1, obj.base, obj.len);
    buf[obj.len + 1] = ']';
    h2api_send_json(r, 200, buf, obj.len + 2);
    return 0;
}

/* GET /{resource}/{id} */
static int demo_get(h2api_request_t *r)
{
    const h2api__demo_resource_t *res = demo_resource(r);
    int64_t id = path_id(r);

    if (id_exists(res, id))
        send_text(r, 200, res->objects[id - 1]);
    else
        send_not_found(r);
    return 0;
}

/* POST /{resource}: the body object plus "id": count + 1, appended as json-server does */
static int demo_create(h2api_request_t *r)
{
    const h2api__demo_resource_t *res = demo_resource(r);
    json_t *obj = load_body_object(r);

    if (obj == NULL)
        return 0;
    json_object_set_new(obj, "id", json_integer((json_int_t)res->count + 1));
    send_object(r, 201, obj);
    json_decref(obj);
    return 0;
}

/* PUT /{resource}/{id}: the body object with "id" first, as jsonplaceholder answers */
static int demo_replace(h2api_request_t *r)
{
    const h2api__demo_resource_t *res = demo_resource(r);
    int64_t id = path_id(r);
    json_t *body, *obj;

    if (!id_exists(res, id)) {
        send_not_found(r);
        return 0;
    }
    if ((body = load_body_object(r)) == NULL)
        return 0;
    obj = json_object();
    json_object_set_new(obj, "id", json_integer(id));
    json_object_update(obj, body);
    json_object_set_new(obj, "id", json_integer(id)); /* the path decides, whatever the body says */
    send_object(r, 200, obj);
    json_decref(obj);
    json_decref(body);
    return 0;
}

/*
 * PATCH /{resource}/{id}: the stored object with the body's members merged over it (shallow,
 * as json-server's Object.assign). The stored object is parsed from its prebuilt bytes: the
 * dataset keeps no jansson values that threads could share.
 */
static int demo_update(h2api_request_t *r)
{
    const h2api__demo_resource_t *res = demo_resource(r);
    int64_t id = path_id(r);
    json_t *body, *obj;

    if (!id_exists(res, id)) {
        send_not_found(r);
        return 0;
    }
    if ((body = load_body_object(r)) == NULL)
        return 0;
    if ((obj = json_loadb(res->objects[id - 1].base, res->objects[id - 1].len, 0, NULL)) == NULL)
        abort(); /* our own rendering (or out of memory) */
    json_object_update(obj, body);
    json_object_set_new(obj, "id", json_integer(id));
    send_object(r, 200, obj);
    json_decref(obj);
    json_decref(body);
    return 0;
}

/* DELETE /{resource}/{id}: {} (nothing is deleted) */
static int demo_delete(h2api_request_t *r)
{
    const h2api__demo_resource_t *res = demo_resource(r);

    if (id_exists(res, path_id(r)))
        h2api_send_json(r, 200, "{}", 2);
    else
        send_not_found(r);
    return 0;
}

#define DEMO_ROUTE(methods, pattern, handler, summary, resource, nested)                                                           \
    {                                                                                                                              \
        {(methods), (pattern), (handler), (summary), NULL}, (resource), (nested)                                                   \
    }

/* the six routes of one resource; `name` is a string literal */
#define DEMO_RESOURCE_ROUTES(resource, name)                                                                                       \
    DEMO_ROUTE(H2API_METHOD_GET, "/" name, demo_list, "List " name " (filters: ?id= and the parent's id)", resource, 0),           \
        DEMO_ROUTE(H2API_METHOD_POST, "/" name, demo_create, "Echo a new object of " name " with id count + 1", resource, 0),      \
        DEMO_ROUTE(H2API_METHOD_GET, "/" name "/{id:int}", demo_get, "One object of " name " ({} with 404 when missing)",          \
                   resource, 0),                                                                                                   \
        DEMO_ROUTE(H2API_METHOD_PUT, "/" name "/{id:int}", demo_replace, "Echo a replacement of one object of " name, resource,    \
                   0),                                                                                                             \
        DEMO_ROUTE(H2API_METHOD_PATCH, "/" name "/{id:int}", demo_update, "Echo one object of " name " merged with the body",      \
                   resource, 0),                                                                                                   \
        DEMO_ROUTE(H2API_METHOD_DELETE, "/" name "/{id:int}", demo_delete, "Pretend to delete one object of " name, resource, 0)

static const demo_route_t demo_routes[] = {
    DEMO_RESOURCE_ROUTES(H2API__DEMO_USERS, "users"),
    DEMO_RESOURCE_ROUTES(H2API__DEMO_POSTS, "posts"),
    DEMO_RESOURCE_ROUTES(H2API__DEMO_COMMENTS, "comments"),
    DEMO_RESOURCE_ROUTES(H2API__DEMO_ALBUMS, "albums"),
    DEMO_RESOURCE_ROUTES(H2API__DEMO_PHOTOS, "photos"),
    DEMO_RESOURCE_ROUTES(H2API__DEMO_TODOS, "todos"),
    DEMO_ROUTE(H2API_METHOD_GET, "/posts/{id:int}/comments", demo_list, "List the comments of one post", H2API__DEMO_COMMENTS, 1),
    DEMO_ROUTE(H2API_METHOD_GET, "/users/{id:int}/posts", demo_list, "List the posts of one user", H2API__DEMO_POSTS, 1),
    DEMO_ROUTE(H2API_METHOD_GET, "/users/{id:int}/todos", demo_list, "List the todos of one user", H2API__DEMO_TODOS, 1),
    DEMO_ROUTE(H2API_METHOD_GET, "/users/{id:int}/albums", demo_list, "List the albums of one user", H2API__DEMO_ALBUMS, 1),
    DEMO_ROUTE(H2API_METHOD_GET, "/albums/{id:int}/photos", demo_list, "List the photos of one album", H2API__DEMO_PHOTOS, 1),
};

h2api_app_t *h2api_demo_create(const h2api_conf_t *conf)
{
    h2api_app_t *app;

    h2api__demo_data_acquire();
    app = h2api_app_create(conf);
    for (size_t i = 0; i != sizeof(demo_routes) / sizeof(demo_routes[0]); ++i) {
        int ret = h2api_app_add_route(app, &demo_routes[i].route);
        if (ret != 0) {
            /* a bad or duplicate pattern in the table above: a bug, not a runtime condition */
            fprintf(stderr, "h2api: demo route %s: %s\n", demo_routes[i].route.pattern, strerror(-ret));
            abort();
        }
    }
    return app;
}

void h2api_demo_destroy(h2api_app_t *demo)
{
    h2api_app_destroy(demo);
    h2api__demo_data_release();
}

const char *h2api_demo_resource_json(const char *resource, size_t *len)
{
    const h2api__demo_resource_t *res = h2api__demo_data_find(resource);

    if (res == NULL)
        return NULL;
    if (len != NULL)
        *len = res->list.len;
    return res->list.base;
}
