/*
 * libFuzzer target: the router (src/router.c) and the percent-decoder.
 *
 * Input: "METHOD PATH" — the bytes before the first space are the method token, the rest is the
 * raw request path (percent-encoded as a client sends it, query included if any: the router's
 * contract is arbitrary bytes). Without a space the whole input is the path and the method GET.
 * The whole input is also fed to h2api_percent_decode in both modes.
 *
 * Each input is matched against three route tables:
 *   - the app's: the patterns of routes/root.c, posts.c, users.c, todos.c, proxy.c, in the order
 *     routes/routes.c registers them (copied here: the route tables are static in those files);
 *   - the demo upstream's: the patterns of src/demo/demo.c, in its order;
 *   - a shape table that the shipped routes lack (str parameters, a trailing slash, eight
 *     parameters, a path parameter after an int one), so that those code paths are fuzzed too.
 * Keep the first two in step with the sources when routes change.
 *
 * Invariants checked for every match:
 *   - the status is one of the five; OK has a route that answers the method; 405 has `allowed`
 *     without the method; BAD_PARAM names a parameter and a decoded value;
 *   - every parameter's value lies in match->buf and value_len == strlen(value);
 *   - no parameter but a {x:path} one contains '/';
 *   - on OK, no str/int parameter is "." or "..", and no {x:path} value has a "." or ".." segment;
 *   - the whole result equals that of a small reference matcher written here from the contract
 *     in router.h (status, route, parameters, allowed methods, bad parameter and value).
 * And for the decoder: its result equals a reference decoder's (fuzz_common.h), in place and
 * out of place, in both modes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"
#include "fuzz_common.h"

typedef struct st_table_route_t {
    unsigned methods;
    const char *pattern;
} table_route_t;

/* routes/root.c, posts.c, users.c, todos.c, proxy.c, in the order of routes/routes.c */
static const table_route_t app_table[] = {
    {H2API_METHOD_GET, "/"},
    {H2API_METHOD_GET, "/v1/posts"},
    {H2API_METHOD_POST, "/v1/posts"},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}"},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}/details"},
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/posts"},
    {H2API_METHOD_GET, "/v1/users/{user_id:int}/overview"},
    {H2API_METHOD_POST, "/v1/todos/bulk"},
    {H2API_METHOD_ALL, "/proxy/{path:path}"},
};

/* src/demo/demo.c: DEMO_RESOURCE_ROUTES for each resource, then the nested lists */
#define DEMO_RESOURCE(name)                                                                                                        \
    {H2API_METHOD_GET, "/" name}, {H2API_METHOD_POST, "/" name}, {H2API_METHOD_GET, "/" name "/{id:int}"},                         \
        {H2API_METHOD_PUT, "/" name "/{id:int}"}, {H2API_METHOD_PATCH, "/" name "/{id:int}"},                                      \
    {                                                                                                                              \
        H2API_METHOD_DELETE, "/" name "/{id:int}"                                                                                  \
    }
static const table_route_t demo_table[] = {
    DEMO_RESOURCE("users"),
    DEMO_RESOURCE("posts"),
    DEMO_RESOURCE("comments"),
    DEMO_RESOURCE("albums"),
    DEMO_RESOURCE("photos"),
    DEMO_RESOURCE("todos"),
    {H2API_METHOD_GET, "/posts/{id:int}/comments"},
    {H2API_METHOD_GET, "/users/{id:int}/posts"},
    {H2API_METHOD_GET, "/users/{id:int}/todos"},
    {H2API_METHOD_GET, "/users/{id:int}/albums"},
    {H2API_METHOD_GET, "/albums/{id:int}/photos"},
};

/* shapes the shipped tables lack (not routes of the app) */
static const table_route_t shape_table[] = {
    {H2API_METHOD_GET, "/users/{name}"},
    {H2API_METHOD_GET, "/users/me"},
    {H2API_METHOD_GET, "/users/{name}/posts/{n:int}"},
    {H2API_METHOD_PUT, "/items/{id:int}"},
    {H2API_METHOD_GET, "/items/{slug:str}"},
    {H2API_METHOD_HEAD, "/dir/"},
    {H2API_METHOD_GET | H2API_METHOD_OPTIONS, "/dir/"},
    {H2API_METHOD_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}"},
    {H2API_METHOD_POST | H2API_METHOD_PATCH, "/files/{n:int}/{rest:path}"},
    {H2API_METHOD_DELETE, "/{all:path}"},
};

/*
 * Encoded slashes. The router splits segments on raw '/' only, so "/users/a%2Fb" gives the str
 * parameter {name} the value "a/b" (dot segments made with %2F are refused, other %2F are not).
 * The shipped tables have no str parameter, and an int value never holds '/', so for them the
 * rule "only a {x:path} value contains '/'" is checked strictly. For the shape table, a str value
 * with a '/' is tolerated by default (it can only come from %2F, and the differential below
 * checks that it is exactly the decoded segment). The router now refuses a '/' decoded inside a str
 * segment (no match, as Starlette), so the rule is checked for every table (reproducer:
 * fuzz/known/fuzz_router/).
 */
#define H2API_FUZZ_ENCODED_SLASH_OK 0

/* ---- the reference matcher: written from router.h, independently of router.c ---- */

#define REF_MAX_SEGS 16

typedef struct st_ref_seg_t {
    const char *literal; /* NULL for a parameter */
    size_t literal_len;
    char name[32];
    h2api_param_type_t type;
} ref_seg_t;

typedef struct st_ref_route_t {
    unsigned methods; /* with HEAD added for GET */
    ref_seg_t segs[REF_MAX_SEGS];
    size_t num_segs;
    int trailing_slash, ends_with_path;
} ref_route_t;

typedef struct st_ref_table_t {
    const char *label;
    const table_route_t *table;
    size_t num;
    int encoded_slash_ok; /* see "Encoded slashes" above */
    h2api_router_t router;
    ref_route_t *ref;
} ref_table_t;

static ref_table_t tables[] = {
    {"app", app_table, sizeof(app_table) / sizeof(app_table[0]), 0},
    {"demo", demo_table, sizeof(demo_table) / sizeof(demo_table[0]), 0},
    {"shape", shape_table, sizeof(shape_table) / sizeof(shape_table[0]), H2API_FUZZ_ENCODED_SLASH_OK},
};

/* The (well-formed) patterns above, split by hand. */
static void ref_compile(ref_route_t *r, const table_route_t *t)
{
    const char *p = t->pattern + 1, *end = t->pattern + strlen(t->pattern);

    memset(r, 0, sizeof(*r));
    r->methods = (t->methods & H2API_METHOD_GET) != 0 ? t->methods | H2API_METHOD_HEAD : t->methods;
    while (p < end) {
        const char *seg_end = memchr(p, '/', end - p);
        ref_seg_t *s = &r->segs[r->num_segs++];
        if (seg_end == NULL)
            seg_end = end;
        if (*p == '{') {
            const char *colon = memchr(p, ':', seg_end - p), *name_end = colon != NULL ? colon : seg_end - 1;
            snprintf(s->name, sizeof(s->name), "%.*s", (int)(name_end - p - 1), p + 1);
            s->type = H2API_PARAM_STR;
            if (colon != NULL && strncmp(colon + 1, "int}", 4) == 0)
                s->type = H2API_PARAM_INT;
            if (colon != NULL && strncmp(colon + 1, "path}", 5) == 0) {
                s->type = H2API_PARAM_PATH;
                r->ends_with_path = 1;
            }
        } else {
            s->literal = p;
            s->literal_len = seg_end - p;
        }
        if (seg_end + 1 == end)
            r->trailing_slash = 1;
        p = seg_end + 1;
    }
}

typedef struct st_ref_param_t {
    const char *name;
    h2api_param_type_t type;
    char *value;
    size_t value_len;
    int64_t int_value;
} ref_param_t;

typedef struct st_ref_result_t {
    h2api_match_status_t status;
    size_t route; /* index into the table: OK and BAD_PARAM */
    ref_param_t params[REF_MAX_SEGS];
    size_t num_params;
    unsigned allowed;
    const char *bad_param;
    char *bad_value;
} ref_result_t;

/* Raw path segments: path + 1 split on raw '/'. Sized for the longest routable path. */
static const char *seg_start[H2API_ROUTER_MAX_PATH_BYTES + 1];
static size_t seg_len[H2API_ROUTER_MAX_PATH_BYTES + 1];

/* Decoding arena for the reference's values (each route try starts over). */
static char arena[2 * (H2API_ROUTER_MAX_PATH_BYTES + 64)];

static int ref_parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = len != 0 && s[0] == '-' ? 1 : 0, digits = len - i;
    char buf[32];

    if (digits < 1 || digits > 19)
        return 0;
    for (size_t j = i; j != len; ++j)
        if (s[j] < '0' || s[j] > '9')
            return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

typedef enum { REF_NO = 0, REF_MATCH, REF_BAD } ref_try_t;

/* Tries one route over the path's `nsegs` raw segments; fills res->params or *bad_seg. */
static ref_try_t ref_try(const ref_route_t *r, const char *path, size_t path_len, size_t nsegs, ref_result_t *res, size_t *bad_seg,
                         size_t *arena_off)
{
    size_t fixed = r->ends_with_path ? r->num_segs - 1 : r->num_segs, bad = SIZE_MAX;

    res->num_params = 0;
    if (r->ends_with_path) {
        if (nsegs < r->num_segs)
            return REF_NO;
    } else if (r->trailing_slash) {
        if (nsegs != r->num_segs + 1 || seg_len[nsegs - 1] != 0)
            return REF_NO;
    } else if (r->num_segs == 0) {
        if (path_len != 1)
            return REF_NO;
    } else if (nsegs != r->num_segs) {
        return REF_NO;
    }
    for (size_t i = 0; i != fixed; ++i) {
        const ref_seg_t *s = &r->segs[i];
        char *dst = arena + *arena_off;
        long n;
        if (seg_len[i] == 0)
            return REF_NO;
        n = fuzz_ref_percent_decode(seg_start[i], seg_len[i], dst, 0);
        FUZZ_CHECK(n >= 0, "a routable path has a segment that does not decode");
        if (s->literal != NULL) {
            if ((size_t)n != s->literal_len || memcmp(dst, s->literal, n) != 0)
                return REF_NO;
            continue;
        }
        if (s->type == H2API_PARAM_STR && memchr(dst, '/', n) != NULL)
            return REF_NO; /* a str parameter is one segment: a decoded '/' does not match it */
        int64_t v = 0;
        if (s->type == H2API_PARAM_INT && !ref_parse_int(dst, n, &v)) {
            if (bad == SIZE_MAX)
                bad = i;
            continue;
        }
        res->params[res->num_params++] = (ref_param_t){s->name, s->type, dst, (size_t)n, v};
        *arena_off += n + 1;
    }
    if (r->ends_with_path) {
        /* the rest after the '/' that ended the last fixed segment (or the leading '/') */
        const char *rest = fixed == 0 ? path + 1 : seg_start[fixed];
        char *dst = arena + *arena_off;
        long n = fuzz_ref_percent_decode(rest, path + path_len - rest, dst, 0);
        FUZZ_CHECK(n >= 0, "a routable path's rest does not decode");
        res->params[res->num_params++] = (ref_param_t){r->segs[fixed].name, H2API_PARAM_PATH, dst, (size_t)n, 0};
        *arena_off += n + 1;
    }
    if (bad != SIZE_MAX) {
        *bad_seg = bad;
        return REF_BAD;
    }
    return REF_MATCH;
}

static int ref_is_dot(const char *s, size_t len)
{
    return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* 1 if some '/'-separated component of s[0..len) is "." or "..". */
static int has_dot_component(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; ++i) {
        if (i == len || s[i] == '/') {
            if (ref_is_dot(s + start, i - start))
                return 1;
            start = i + 1;
        }
    }
    return 0;
}

static void ref_match(const ref_table_t *t, unsigned method, const char *path, size_t path_len, ref_result_t *res)
{
    static char whole[H2API_ROUTER_MAX_PATH_BYTES + 1];
    size_t nsegs = 0, arena_off = 0, bad_route = SIZE_MAX, bad_seg = 0;
    ref_result_t scratch;

    memset(res, 0, sizeof(*res));
    res->status = H2API_MATCH_BAD_PATH;
    if (path_len == 0 || path[0] != '/' || path_len > H2API_ROUTER_MAX_PATH_BYTES)
        return;
    long n = fuzz_ref_percent_decode(path, path_len, whole, 0);
    if (n < 0 || has_dot_component(whole + 1, n - 1))
        return;

    for (size_t start = 1, i = 1;; ++i) {
        if (i == path_len || path[i] == '/') {
            seg_start[nsegs] = path + start;
            seg_len[nsegs++] = i - start;
            start = i + 1;
            if (i == path_len)
                break;
        }
    }

    res->status = H2API_MATCH_NOT_FOUND;
    for (size_t i = 0; i != t->num; ++i) {
        const ref_route_t *r = &t->ref[i];
        size_t off = arena_off, seg = 0;
        ref_try_t tr = ref_try(r, path, path_len, nsegs, &scratch, &seg, &off);
        if (tr == REF_NO)
            continue;
        if ((r->methods & method) == 0) {
            res->allowed |= r->methods;
            continue;
        }
        if (tr == REF_MATCH) {
            res->status = H2API_MATCH_OK;
            res->route = i;
            memcpy(res->params, scratch.params, sizeof(scratch.params));
            res->num_params = scratch.num_params;
            res->allowed = 0;
            return;
        }
        if (bad_route == SIZE_MAX) {
            bad_route = i;
            bad_seg = seg;
        }
    }
    if (bad_route != SIZE_MAX) {
        const ref_route_t *r = &t->ref[bad_route];
        res->status = H2API_MATCH_BAD_PARAM;
        res->route = bad_route;
        res->bad_param = r->segs[bad_seg].name;
        res->bad_value = arena + sizeof(arena) / 2;
        fuzz_ref_percent_decode(seg_start[bad_seg], seg_len[bad_seg], res->bad_value, 0);
        res->allowed = 0;
    } else if (res->allowed != 0) {
        res->status = H2API_MATCH_METHOD_NOT_ALLOWED;
    }
}

/* ---- the target ---- */

static unsigned ref_method(const char *m, size_t len)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i)
        if (strlen(names[i]) == len && memcmp(names[i], m, len) == 0)
            return 1u << i;
    return 0;
}

static void report(const ref_table_t *t, const char *path, size_t path_len, unsigned method, const h2api_match_t *m,
                   const ref_result_t *ref)
{
    fprintf(stderr, "  table %s, method bits 0x%x\n", t->label, method);
    fuzz_print_bytes("path", path, path_len);
    fprintf(stderr, "  router: status %d route %s allowed 0x%x params %zu\n", (int)m->status,
            m->route != NULL ? m->route->pattern : "-", m->allowed, m->num_params);
    fprintf(stderr, "  reference: status %d route %s allowed 0x%x params %zu\n", (int)ref->status,
            ref->status == H2API_MATCH_OK || ref->status == H2API_MATCH_BAD_PARAM ? t->table[ref->route].pattern : "-",
            ref->allowed, ref->num_params);
}

static void check_match(const ref_table_t *t, unsigned method, const char *path, size_t path_len)
{
    h2api_match_t *m = malloc(sizeof(*m)); /* on the heap, so that ASan sees a write past match->buf */
    ref_result_t ref;

    memset(m, 0xa5, sizeof(*m)); /* nothing may be read unset */
    h2api_router_match(&t->router, method, path, path_len, m);
    ref_match(t, method, path, path_len, &ref);

#define CHECK(cond, what) FUZZ_CHECK_DO(cond, report(t, path, path_len, method, m, &ref), "%s", what)

    CHECK(m->status >= H2API_MATCH_OK && m->status <= H2API_MATCH_BAD_PATH, "status in range");
    CHECK(m->num_params <= H2API_ROUTER_MAX_PARAMS, "num_params within H2API_ROUTER_MAX_PARAMS");
    for (size_t i = 0; i != m->num_params; ++i) {
        const h2api_param_t *p = &m->params[i];
        CHECK(p->name != NULL, "param has a name");
        CHECK(p->value >= m->buf && p->value + p->value_len < m->buf + sizeof(m->buf), "param value inside match->buf");
        CHECK(p->value_len == strlen(p->value), "value_len == strlen(value)");
        CHECK(p->type == H2API_PARAM_PATH || (p->type == H2API_PARAM_STR && t->encoded_slash_ok) ||
                  memchr(p->value, '/', p->value_len) == NULL,
              "only a {x:path} param contains '/'");
        if (m->status == H2API_MATCH_OK) {
            if (p->type == H2API_PARAM_PATH)
                CHECK(!has_dot_component(p->value, p->value_len), "an OK {x:path} value has no '.' or '..' segment");
            else
                CHECK(p->value_len != 0 && !ref_is_dot(p->value, p->value_len),
                      "an OK str/int value is non-empty, not '.' or '..'");
        }
    }
    switch (m->status) {
    case H2API_MATCH_OK:
        CHECK(m->route != NULL, "OK has a route");
        CHECK(((m->route->methods & H2API_METHOD_GET) != 0 ? m->route->methods | H2API_METHOD_HEAD : m->route->methods) & method,
              "OK route answers the method");
        break;
    case H2API_MATCH_METHOD_NOT_ALLOWED:
        CHECK(m->allowed != 0 && (m->allowed & method) == 0, "405: allowed is non-empty and lacks the method");
        CHECK(m->num_params == 0, "405 has no params");
        break;
    case H2API_MATCH_BAD_PARAM:
        CHECK(m->route != NULL && m->bad_param != NULL && m->bad_value != NULL, "BAD_PARAM names route, param and value");
        CHECK(m->bad_value >= m->buf && m->bad_value < m->buf + sizeof(m->buf) &&
                  memchr(m->bad_value, '\0', m->buf + sizeof(m->buf) - m->bad_value) != NULL,
              "bad_value NUL-terminated in match->buf");
        break;
    default:
        CHECK(m->route == NULL && m->num_params == 0, "404/400 have no route and no params");
        break;
    }

    /* the differential */
    CHECK(m->status == ref.status, "status equals the reference's");
    if (m->status == H2API_MATCH_OK || m->status == H2API_MATCH_BAD_PARAM)
        CHECK(m->route == &t->router.routes[ref.route], "route equals the reference's");
    if (m->status == H2API_MATCH_METHOD_NOT_ALLOWED)
        CHECK(m->allowed == ref.allowed, "allowed equals the reference's");
    if (m->status == H2API_MATCH_OK) {
        CHECK(m->num_params == ref.num_params, "param count equals the reference's");
        for (size_t i = 0; i != m->num_params; ++i) {
            const h2api_param_t *p = &m->params[i];
            const ref_param_t *q = &ref.params[i];
            CHECK(strcmp(p->name, q->name) == 0 && p->type == q->type, "param name and type equal the reference's");
            CHECK(p->value_len == q->value_len && memcmp(p->value, q->value, p->value_len) == 0,
                  "param value equals the reference's");
            CHECK(p->type != H2API_PARAM_INT || p->int_value == q->int_value, "int_value equals the reference's");
        }
    }
    if (m->status == H2API_MATCH_BAD_PARAM) {
        CHECK(strcmp(m->bad_param, ref.bad_param) == 0, "bad_param equals the reference's");
        CHECK(strcmp(m->bad_value, ref.bad_value) == 0, "bad_value equals the reference's");
    }
#undef CHECK
    free(m);
}

static void check_decode(const uint8_t *data, size_t size, int plus_is_space)
{
    char *out = malloc(size + 1), *ref = malloc(size + 1), *inplace = malloc(size + 1);
    long n, rn, in;

    n = h2api_percent_decode((const char *)data, size, out, plus_is_space);
    rn = fuzz_ref_percent_decode((const char *)data, size, ref, plus_is_space);
    FUZZ_CHECK_DO(n == rn, fuzz_print_bytes("input", (const char *)data, size),
                  "h2api_percent_decode(plus_is_space=%d) returned %ld, the reference %ld", plus_is_space, n, rn);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n <= size && out[n] == '\0' && strlen(out) == (size_t)n,
                   "decoded text is NUL-terminated, no NUL inside");
        FUZZ_CHECK(memcmp(out, ref, n) == 0, "decoded bytes equal the reference's (plus_is_space=%d)", plus_is_space);
    }
    /* in place: dst == src */
    memcpy(inplace, data, size);
    in = h2api_percent_decode(inplace, size, inplace, plus_is_space);
    FUZZ_CHECK(in == n, "in-place decode returned %ld, out of place %ld", in, n);
    if (n >= 0)
        FUZZ_CHECK(memcmp(inplace, out, n + 1) == 0, "in-place decode equals out of place");
    free(out);
    free(ref);
    free(inplace);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i != sizeof(tables) / sizeof(tables[0]); ++i) {
        ref_table_t *t = &tables[i];
        h2api_router_init(&t->router);
        t->ref = calloc(t->num, sizeof(*t->ref));
        for (size_t j = 0; j != t->num; ++j) {
            int ret = h2api_router_add(&t->router, t->table[j].methods, t->table[j].pattern, (void *)(uintptr_t)(j + 1));
            if (ret != 0) {
                fprintf(stderr, "fuzz_router: table %s: h2api_router_add(\"%s\") = %d\n", t->label, t->table[j].pattern, ret);
                abort();
            }
            ref_compile(&t->ref[j], &t->table[j]);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *sp = memchr(in, ' ', size);
    const char *method_text = "GET", *path = in;
    size_t method_len = 3, path_len = size;
    unsigned method;

    if (sp != NULL) {
        method_text = in;
        method_len = sp - in;
        path = sp + 1;
        path_len = size - method_len - 1;
    }
    method = h2api_method_from_string(method_text, method_len);
    FUZZ_CHECK(method == ref_method(method_text, method_len), "h2api_method_from_string agrees with the method names");

    for (size_t i = 0; i != sizeof(tables) / sizeof(tables[0]); ++i)
        check_match(&tables[i], method, path, path_len);

    check_decode(data, size, 0);
    check_decode(data, size, 1);

    /* the Allow text: any method set, any buffer size up to the documented one */
    if (size >= 2) {
        size_t buflen = data[1] % (H2API_METHODS_ALLOW_BUF_BYTES + 1);
        char *buf = malloc(buflen != 0 ? buflen : 1);
        size_t len = h2api_methods_to_allow(data[0] & H2API_METHOD_ALL, buf, buflen);
        FUZZ_CHECK(buflen == 0 ? len == 0 : len < buflen && strlen(buf) == len, "h2api_methods_to_allow fits and NUL-terminates");
        if (buflen == H2API_METHODS_ALLOW_BUF_BYTES) {
            unsigned back = 0;
            for (char *tok = buf, *comma; *tok != '\0'; tok = comma != NULL ? comma + 2 : tok + strlen(tok)) {
                comma = strstr(tok, ", ");
                back |= h2api_method_from_string(tok, comma != NULL ? (size_t)(comma - tok) : strlen(tok));
            }
            FUZZ_CHECK(back == (unsigned)(data[0] & H2API_METHOD_ALL), "the full Allow text lists exactly the methods");
        }
        free(buf);
    }
    return 0;
}
