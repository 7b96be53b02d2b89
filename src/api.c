/*
 * The request half of the public API (include/h2api.h): route rows checked against their
 * patterns at registration, typed path parameters through handles, query, headers and the
 * validated JSON body. Stages are in stage.c, the JSON builder in jsonb.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "app.h"
#include "router.h"
#include "validate.h"

static const struct {
    const char *converter;
    h2api_param_type_t type;
} converters[] = {{"int", H2API_PARAM_INT}, {"str", H2API_PARAM_STR}, {"path", H2API_PARAM_PATH}};

static void report(const h2api_route_t *route, const char *fmt, const char *arg)
{
    char methods[H2API_METHODS_ALLOW_BUF_BYTES];
    h2api_methods_to_allow(route->methods, methods, sizeof(methods));
    fprintf(stderr, "h2api: route %s %s: ", methods, route->pattern);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
}

static int check_param(const h2api_route_t *route, const h2api_router_route_t *compiled, const h2api_path_param_t *param)
{
    size_t i;
    for (i = 0; i != H2API_LEN(converters); ++i)
        if (strcmp(converters[i].converter, param->converter) == 0)
            break;
    if (i == H2API_LEN(converters)) {
        report(route, "the handle {%s} has an unknown converter (int, str or path)", param->name);
        return -EINVAL;
    }
    for (size_t s = 0; s != compiled->num_segments; ++s) {
        const h2api_router_segment_t *seg = compiled->segments + s;
        if (seg->literal != NULL || strcmp(seg->param_name, param->name) != 0)
            continue;
        if (seg->param_type != converters[i].type) {
            report(route, "the handler reads {%s} with another converter than the pattern's", param->name);
            return -EINVAL;
        }
        return 0;
    }
    report(route, "the handler reads {%s} which the pattern lacks", param->name);
    return -EINVAL;
}

int h2api__route_check(const h2api_route_t *route)
{
    h2api_router_t router;
    int ret = 0;

    if (route->body.kind == H2API_BODY_LIST && route->body.model == NULL) {
        report(route, "%s", "a list body needs a model");
        return -EINVAL;
    }
    h2api_router_init(&router);
    if ((ret = h2api_router_add(&router, route->methods, route->pattern, NULL)) != 0) {
        report(route, "%s", "bad methods or a malformed pattern (router.h gives the syntax)");
    } else {
        for (size_t i = 0; i != H2API_ROUTE_MAX_PARAMS && route->params[i] != NULL && ret == 0; ++i)
            ret = check_param(route, router.routes, route->params[i]);
    }
    h2api_router_dispose(&router);
    return ret;
}

/* the request's value of `param`; aborts if the route row does not list it (a bug in the route file) */
static const h2api_param_t *find_param(h2api_request_t *r, const h2api_path_param_t *param)
{
    for (size_t i = 0; i != H2API_ROUTE_MAX_PARAMS && r->route->params[i] != NULL; ++i) {
        if (r->route->params[i] != param)
            continue;
        for (size_t j = 0; j != r->num_params; ++j)
            if (strcmp(r->params[j].name, param->name) == 0)
                return r->params + j;
    }
    fprintf(stderr, "h2api: the handler of %s reads {%s}, which its route row does not list in .params\n", r->route->pattern,
            param->name);
    abort();
}

int64_t h2api_path_int(h2api_request_t *r, const h2api_path_param_t *param)
{
    return find_param(r, param)->int_value;
}

h2api_str_t h2api_path_str(h2api_request_t *r, const h2api_path_param_t *param)
{
    const h2api_param_t *p = find_param(r, param);
    return (h2api_str_t){p->value, p->value_len};
}

int h2api_query(h2api_request_t *r, const char *name, h2api_str_t *value)
{
    h2o_iovec_t v;
    int ret = h2api_request_query(r, name, &v);
    if (ret == 1)
        *value = (h2api_str_t){v.base, v.len};
    return ret;
}

h2api_str_t h2api_header(h2api_request_t *r, const char *name)
{
    h2o_iovec_t v = h2api_request_header(r, name);
    return (h2api_str_t){v.base, v.len};
}

void h2api_set_header(h2api_request_t *r, const char *name, const char *value)
{
    h2o_mem_pool_t *pool = &r->req->pool;
    h2o_iovec_t n = h2o_strdup(pool, name, SIZE_MAX), v = h2o_strdup(pool, value, SIZE_MAX);
    h2o_add_header_by_str(pool, &r->req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

const h2api_str_t *h2api_body(h2api_request_t *r, size_t *num_items)
{
    const h2api_body_t *decl = &r->route->body;
    h2o_mem_pool_t *pool = &r->req->pool;
    h2o_iovec_t raw = h2api_request_body(r);
    h2api_str_t *items = h2o_mem_alloc_pool(pool, sizeof(*items));
    size_t n = 0;

    if (decl->model == NULL) {
        items[0] = (h2api_str_t){raw.base, raw.len};
        if (num_items != NULL)
            *num_items = 1;
        return items;
    }
    json_t *errors = json_array(), *input, *valid = NULL, *loc = json_pack("[s]", "body");
    if ((input = h2api_validate_parse(raw, errors)) != NULL)
        valid = decl->kind == H2API_BODY_LIST ? h2api_validate_list(decl->model, input, decl->min_items, decl->max_items, errors)
                                              : h2api_validate_object(decl->model, input, loc, errors);
    if (valid == NULL) {
        h2api_send_json_nocopy(r, 422, h2api_validate_render(pool, errors));
        items = NULL;
    } else {
        size_t count = decl->kind == H2API_BODY_LIST ? json_array_size(valid) : 1;
        if (count > 1)
            items = h2o_mem_alloc_pool(pool, sizeof(*items) * count);
        for (; n != count; ++n) {
            h2o_iovec_t text = h2api_json_render(pool, decl->kind == H2API_BODY_LIST ? json_array_get(valid, n) : valid);
            items[n] = (h2api_str_t){text.base, text.len};
        }
    }
    json_decref(valid);
    json_decref(input);
    json_decref(loc);
    json_decref(errors);
    if (num_items != NULL)
        *num_items = n;
    return items;
}
