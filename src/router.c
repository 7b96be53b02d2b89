/*
 * The route table and its matcher (see router.h for the pattern syntax and the contract).
 *
 * A match runs in two steps. First the whole raw path is checked once (leading '/', length,
 * percent-escapes, NUL bytes, dot segments): a path that fails is answered 400 before any route
 * is looked at. Then each route walks the path's segments from the left; literal segments are
 * decoded into the match's buffer and compared, parameters are decoded into the same buffer and
 * kept. Nothing is allocated: every decoded byte comes from a distinct byte of the path, so the
 * buffer (path bytes + one NUL per segment) always has room.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"

/* Every parameter adds one NUL to its decoded bytes, and one more NUL ends a scratch decode. */
_Static_assert(H2API_ROUTER_MAX_PARAMS + 1 <= H2API_ROUTER_MAX_SEGMENTS, "match->buf too small for the NULs of the params");

/* In H2API_METHOD_* bit order; the Allow text and h2api_method_from_string use this table. */
static const struct {
    const char *name;
    size_t len;
} method_names[] = {{"GET", 3}, {"HEAD", 4}, {"POST", 4}, {"PUT", 3}, {"PATCH", 5}, {"DELETE", 6}, {"OPTIONS", 7}};

/* What one route made of the path. */
typedef enum en_try_result_t { TRY_NO_MATCH = 0, TRY_MATCH, TRY_BAD_PARAM } try_result_t;

/* The first int parameter of a route that failed to parse: its name and its raw (encoded) input. */
typedef struct st_bad_param_t {
    const char *name;
    const char *raw;
    size_t raw_len;
} bad_param_t;

/* Out of memory aborts, as h2o does. */
static void *xrealloc(void *p, size_t size)
{
    if ((p = realloc(p, size)) == NULL) {
        fprintf(stderr, "h2api: out of memory\n");
        abort();
    }
    return p;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The methods a route answers: its own, plus HEAD when it answers GET. */
static unsigned implied_methods(unsigned methods)
{
    return (methods & H2API_METHOD_GET) != 0 ? methods | H2API_METHOD_HEAD : methods;
}

static int is_name_char(int c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static int is_dot_segment(const char *s, size_t len)
{
    return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/*
 * Compiles `pattern` into route->segments. Parameter names are only located here (into
 * `names`); they are copied by the caller once the whole pattern is known to be good.
 * @return 0, or -EINVAL for a malformed pattern (see h2api_router_add).
 */
static int compile_pattern(h2api_router_route_t *route, const char *pattern, const char **names, size_t *name_lens)
{
    const char *end = pattern + strlen(pattern), *p = pattern + 1;
    size_t num_params = 0;

    if (pattern[0] != '/')
        return -EINVAL;
    if (p == end) /* "/" */
        return 0;

    for (;;) {
        const char *seg_end = memchr(p, '/', end - p);
        h2api_router_segment_t *seg;

        if (seg_end == NULL)
            seg_end = end;
        /* nothing may follow {x:path}, not even a trailing slash */
        if (route->ends_with_path)
            return -EINVAL;
        if (p == seg_end) {
            /* an empty segment is only allowed as the trailing slash ("/v1/posts/") */
            if (seg_end != end)
                return -EINVAL;
            route->trailing_slash = 1;
            return 0;
        }
        if (route->num_segments == H2API_ROUTER_MAX_SEGMENTS)
            return -EINVAL;
        seg = route->segments + route->num_segments++;

        if (*p == '{') {
            /* a parameter is a whole segment: "{name}" or "{name:converter}" */
            const char *inner = p + 1, *inner_end = seg_end - 1, *colon, *name_end;
            size_t name_len, i;

            if (seg_end - p < 3 || *inner_end != '}' || memchr(inner, '{', inner_end - inner) != NULL ||
                memchr(inner, '}', inner_end - inner) != NULL)
                return -EINVAL;
            colon = memchr(inner, ':', inner_end - inner);
            name_end = colon != NULL ? colon : inner_end;
            name_len = name_end - inner;
            if (name_len == 0 || !is_name_char((unsigned char)inner[0], 1))
                return -EINVAL;
            for (i = 1; i < name_len; ++i)
                if (!is_name_char((unsigned char)inner[i], 0))
                    return -EINVAL;
            for (i = 0; i < num_params; ++i)
                if (name_lens[i] == name_len && memcmp(names[i], inner, name_len) == 0)
                    return -EINVAL;
            if (num_params == H2API_ROUTER_MAX_PARAMS)
                return -EINVAL;
            names[num_params] = inner;
            name_lens[num_params] = name_len;
            ++num_params;

            seg->literal = NULL;
            seg->literal_len = 0;
            seg->param_name = NULL; /* set by h2api_router_add */
            if (colon == NULL) {
                seg->param_type = H2API_PARAM_STR;
            } else {
                const char *conv = colon + 1;
                size_t conv_len = inner_end - conv;
                if (conv_len == 3 && memcmp(conv, "str", 3) == 0) {
                    seg->param_type = H2API_PARAM_STR;
                } else if (conv_len == 3 && memcmp(conv, "int", 3) == 0) {
                    seg->param_type = H2API_PARAM_INT;
                } else if (conv_len == 4 && memcmp(conv, "path", 4) == 0) {
                    seg->param_type = H2API_PARAM_PATH;
                    route->ends_with_path = 1;
                } else {
                    return -EINVAL;
                }
            }
        } else {
            /* a literal; braces inside it are a typo ("/a{x}"), a dot segment could never match */
            if (memchr(p, '{', seg_end - p) != NULL || memchr(p, '}', seg_end - p) != NULL || is_dot_segment(p, seg_end - p))
                return -EINVAL;
            seg->literal = p;
            seg->literal_len = seg_end - p;
            seg->param_name = NULL;
            seg->param_type = H2API_PARAM_STR;
        }

        if (seg_end == end)
            return 0;
        p = seg_end + 1;
    }
}

void h2api_router_init(h2api_router_t *router)
{
    router->routes = NULL;
    router->num_routes = 0;
    router->capacity = 0;
}

void h2api_router_dispose(h2api_router_t *router)
{
    size_t i, j;

    for (i = 0; i < router->num_routes; ++i) {
        h2api_router_route_t *route = router->routes + i;
        for (j = 0; j < route->num_segments; ++j)
            free((char *)route->segments[j].param_name);
    }
    free(router->routes);
    h2api_router_init(router);
}

int h2api_router_add(h2api_router_t *router, unsigned methods, const char *pattern, void *data)
{
    const char *names[H2API_ROUTER_MAX_PARAMS];
    size_t name_lens[H2API_ROUTER_MAX_PARAMS], num_names = 0, i;
    h2api_router_route_t route;
    int ret;

    if (methods == 0 || (methods & ~(unsigned)H2API_METHOD_ALL) != 0)
        return -EINVAL;
    memset(&route, 0, sizeof(route));
    route.methods = methods;
    route.pattern = pattern;
    route.data = data;
    if ((ret = compile_pattern(&route, pattern, names, name_lens)) != 0)
        return ret;

    /*
     * The same pattern may be added again for other methods. A GET route also answers HEAD, so
     * a HEAD route added after a GET route of the same pattern could never be reached; a HEAD
     * route added before a GET route takes HEAD over from it, which is allowed.
     */
    for (i = 0; i < router->num_routes; ++i)
        if (strcmp(router->routes[i].pattern, pattern) == 0 && (implied_methods(router->routes[i].methods) & methods) != 0)
            return -EEXIST;

    /* the pattern is good: copy the parameter names (NUL-terminated, owned by the router) */
    for (i = 0; i < route.num_segments; ++i) {
        h2api_router_segment_t *seg = route.segments + i;
        if (seg->literal == NULL) {
            char *name = xrealloc(NULL, name_lens[num_names] + 1);
            memcpy(name, names[num_names], name_lens[num_names]);
            name[name_lens[num_names]] = '\0';
            seg->param_name = name;
            ++num_names;
        }
    }

    if (router->num_routes == router->capacity) {
        router->capacity = router->capacity == 0 ? 16 : router->capacity * 2;
        router->routes = xrealloc(router->routes, router->capacity * sizeof(*router->routes));
    }
    router->routes[router->num_routes++] = route;
    return 0;
}

unsigned h2api_method_from_string(const char *method, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(method_names) / sizeof(method_names[0]); ++i)
        if (method_names[i].len == len && memcmp(method_names[i].name, method, len) == 0)
            return 1u << i;
    return 0;
}

size_t h2api_methods_to_allow(unsigned methods, char *buf, size_t buflen)
{
    size_t len = 0, i;

    if (buflen == 0)
        return 0;
    for (i = 0; i < sizeof(method_names) / sizeof(method_names[0]); ++i) {
        size_t sep_len = len != 0 ? 2 : 0;
        if ((methods & (1u << i)) == 0)
            continue;
        if (len + sep_len + method_names[i].len >= buflen)
            break; /* truncated after the last whole method that fits */
        memcpy(buf + len, ", ", sep_len);
        len += sep_len;
        memcpy(buf + len, method_names[i].name, method_names[i].len);
        len += method_names[i].len;
    }
    buf[len] = '\0';
    return len;
}

long h2api_percent_decode(const char *src, size_t len, char *dst, int plus_is_space)
{
    size_t i, n = 0;

    for (i = 0; i < len; ++i) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = hex_value((unsigned char)src[i + 1])) < 0 || (lo = hex_value((unsigned char)src[i + 2])) < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            return -1;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return (long)n;
}

/* 1 if a component of `len` bytes, `dots` of them '.', is "." or "..". */
static int is_dot_component(size_t len, size_t dots)
{
    return (len == 1 || len == 2) && dots == len;
}

/*
 * 1 if the raw path may be routed: it starts with '/', fits H2API_ROUTER_MAX_PATH_BYTES, every
 * escape is well formed, no byte decodes to NUL, and no component is "." or "..". Components
 * are split on raw '/' and on decoded "%2F" alike, so "a%2F..%2Fb" is refused too: once decoded,
 * a parameter value could otherwise carry a step outside its route to whoever uses it.
 */
static int path_is_routable(const char *path, size_t path_len)
{
    size_t i, comp_len = 0, comp_dots = 0;

    if (path_len == 0 || path[0] != '/' || path_len > H2API_ROUTER_MAX_PATH_BYTES)
        return 0;
    for (i = 1; i < path_len; ++i) {
        int c = (unsigned char)path[i];
        if (c == '%') {
            int hi, lo;
            if (path_len - i < 3 || (hi = hex_value((unsigned char)path[i + 1])) < 0 ||
                (lo = hex_value((unsigned char)path[i + 2])) < 0)
                return 0;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == '\0')
            return 0;
        if (c == '/') {
            if (is_dot_component(comp_len, comp_dots))
                return 0;
            comp_len = comp_dots = 0;
        } else {
            ++comp_len;
            if (c == '.')
                ++comp_dots;
        }
    }
    return !is_dot_component(comp_len, comp_dots);
}

/* Parses a decoded int segment: an optional '-', then 1 to 19 digits, within int64. */
static int parse_int64(const char *s, size_t len, int64_t *value)
{
    size_t i = 0;
    uint64_t v = 0, limit;
    int negative = 0;

    if (len != 0 && s[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (len - i < 1 || len - i > 19)
        return 0;
    for (; i < len; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits stay below 2^64 */
    }
    limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (v > limit)
        return 0;
    if (!negative)
        *value = (int64_t)v;
    else
        *value = v == limit ? INT64_MIN : -(int64_t)v;
    return 1;
}

/* Decodes `len` bytes of a path that path_is_routable() accepted; it cannot fail. */
static size_t decode_path_bytes(const char *src, size_t len, char *dst)
{
    long n = h2api_percent_decode(src, len, dst, 0);
    assert(n >= 0);
    return (size_t)n;
}

static void add_param(h2api_match_t *match, const h2api_router_segment_t *seg, char *value, size_t value_len, int64_t int_value)
{
    h2api_param_t *param = match->params + match->num_params++;

    param->name = seg->param_name;
    param->type = seg->param_type;
    param->value = value;
    param->value_len = value_len;
    param->int_value = int_value;
}

/*
 * Walks `route`'s segments over the path. On TRY_MATCH the route's parameters are in
 * match->params (decoded into match->buf); on TRY_BAD_PARAM every literal and str parameter
 * matched but an int parameter did not parse, and *bad names the first such parameter.
 */
static try_result_t try_route(const h2api_router_route_t *route, const char *path, size_t path_len, h2api_match_t *match,
                              bad_param_t *bad)
{
    const char *cur = path + 1, *end = path + path_len;
    size_t buf_off = 0, i;
    int at_end = 0, is_bad = 0;

    match->num_params = 0;
    for (i = 0; i < route->num_segments; ++i) {
        const h2api_router_segment_t *seg = route->segments + i;
        char *dst = match->buf + buf_off;
        const char *seg_end;
        size_t len;

        if (at_end)
            return TRY_NO_MATCH; /* the path has fewer segments than the pattern */
        if (seg->literal == NULL && seg->param_type == H2API_PARAM_PATH) {
            /* the rest of the path after the '/' that ended the previous segment, as it is */
            len = decode_path_bytes(cur, end - cur, dst);
            add_param(match, seg, dst, len, 0);
            return is_bad ? TRY_BAD_PARAM : TRY_MATCH;
        }
        if ((seg_end = memchr(cur, '/', end - cur)) == NULL) {
            seg_end = end;
            at_end = 1;
        }
        if (seg_end == cur)
            return TRY_NO_MATCH; /* an empty segment matches no literal and no str or int */
        len = decode_path_bytes(cur, seg_end - cur, dst);
        if (seg->literal != NULL) {
            if (len != seg->literal_len || memcmp(dst, seg->literal, len) != 0)
                return TRY_NO_MATCH;
        } else if (seg->param_type == H2API_PARAM_INT) {
            int64_t value;
            if (parse_int64(dst, len, &value)) {
                add_param(match, seg, dst, len, value);
                buf_off += len + 1;
            } else if (!is_bad) {
                is_bad = 1;
                bad->name = seg->param_name;
                bad->raw = cur;
                bad->raw_len = seg_end - cur;
            }
        } else {
            /* a str segment is one segment: "%2F" decoding to '/' does not match it (as in
             * Starlette, which decodes before it matches) */
            if (memchr(dst, '/', len) != NULL)
                return TRY_NO_MATCH;
            add_param(match, seg, dst, len, 0);
            buf_off += len + 1;
        }
        if (!at_end)
            cur = seg_end + 1;
    }

    /* all segments matched: what is left must be nothing, or exactly the pattern's trailing slash */
    if (route->trailing_slash || route->num_segments == 0) {
        if (at_end || cur != end)
            return TRY_NO_MATCH;
    } else if (!at_end) {
        return TRY_NO_MATCH;
    }
    return is_bad ? TRY_BAD_PARAM : TRY_MATCH;
}

void h2api_router_match(const h2api_router_t *router, unsigned method, const char *path, size_t path_len, h2api_match_t *match)
{
    const h2api_router_route_t *bad_route = NULL;
    bad_param_t bad = {NULL, NULL, 0};
    unsigned allowed = 0;
    size_t i;

    match->status = H2API_MATCH_NOT_FOUND;
    match->route = NULL;
    match->num_params = 0;
    match->allowed = 0;
    match->bad_param = NULL;
    match->bad_value = NULL;

    if (!path_is_routable(path, path_len)) {
        match->status = H2API_MATCH_BAD_PATH;
        return;
    }

    for (i = 0; i < router->num_routes; ++i) {
        const h2api_router_route_t *route = router->routes + i;
        unsigned route_methods = implied_methods(route->methods);
        bad_param_t route_bad;
        try_result_t result;

        /* a route of the wrong method only adds to `allowed`; skip it if it cannot add anything */
        if ((route_methods & method) == 0 && (route_methods & ~allowed) == 0)
            continue;
        if ((result = try_route(route, path, path_len, match, &route_bad)) == TRY_NO_MATCH)
            continue;
        if ((route_methods & method) == 0) {
            allowed |= route_methods;
            continue;
        }
        if (result == TRY_MATCH) {
            match->status = H2API_MATCH_OK;
            match->route = route;
            return;
        }
        if (bad_route == NULL) {
            bad_route = route;
            bad = route_bad;
        }
    }

    match->num_params = 0;
    if (bad_route != NULL) {
        decode_path_bytes(bad.raw, bad.raw_len, match->buf);
        match->status = H2API_MATCH_BAD_PARAM;
        match->route = bad_route;
        match->bad_param = bad.name;
        match->bad_value = match->buf;
    } else if (allowed != 0) {
        match->status = H2API_MATCH_METHOD_NOT_ALLOWED;
        match->allowed = allowed;
    }
}

static int is_uri_byte(unsigned char c)
{
    /* RFC 3986 §3.3, §3.4: unreserved, sub-delims, ':', '@', '/', '?' and '%' (of pct-encoded) */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

int h2api_path_is_forwardable(const char *decoded, const char *raw, size_t raw_len)
{
    if (decoded[0] == '/' || strstr(decoded, "//") != NULL || strchr(decoded, '\\') != NULL)
        return 0;
    for (size_t i = 0; i != raw_len; ++i)
        if (!is_uri_byte((unsigned char)raw[i]))
            return 0;
    return 1;
}
