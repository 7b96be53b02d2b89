/*
 * Unit tests of the router: pattern compilation, matching (FastAPI/Starlette semantics) and the
 * percent-decoder. Each test gets a fresh route table from the fixture.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_main.h"
#include "router.h"

static h2api_router_t router;
static h2api_match_t m;

/* The table most tests match against; each route's data is its name. */
static const struct {
    unsigned methods;
    const char *pattern;
    const char *name;
} table[] = {
    {H2API_METHOD_GET, "/", "root"},
    {H2API_METHOD_GET, "/v1/posts", "posts_list"},
    {H2API_METHOD_POST, "/v1/posts", "posts_create"},
    {H2API_METHOD_GET, "/v1/posts/{post_id:int}", "posts_get"},
    {H2API_METHOD_DELETE, "/v1/posts/{post_id:int}", "posts_delete"},
    {H2API_METHOD_GET, "/v1/posts/latest", "posts_latest"}, /* after the int route on purpose */
    {H2API_METHOD_GET, "/users/{name}", "users_get"},
    {H2API_METHOD_GET, "/users/me", "users_me"}, /* shadowed by the str route */
    {H2API_METHOD_GET, "/users/{name}/posts/{n:int}", "users_post"},
    {H2API_METHOD_GET | H2API_METHOD_POST, "/proxy/{rest:path}", "proxy"},
    {H2API_METHOD_PUT, "/items/{id:int}", "items_put"},
    {H2API_METHOD_GET, "/items/{slug}", "items_get"},
    {H2API_METHOD_GET, "/dir/", "dir"},
    {H2API_METHOD_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", "eight"},
};

static void setup(void)
{
    size_t i;

    h2api_router_init(&router);
    for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i)
        ck_assert_int_eq(h2api_router_add(&router, table[i].methods, table[i].pattern, (void *)table[i].name), 0);
    memset(&m, 0xa5, sizeof(m)); /* no field may be read unset */
}

static void teardown(void)
{
    h2api_router_dispose(&router);
}

static h2api_match_status_t match(unsigned method, const char *path)
{
    h2api_router_match(&router, method, path, strlen(path), &m);
    return m.status;
}

/* Asserts an OK match of route `name`. */
#define ck_assert_route(method, path, name)                                                                                        \
    do {                                                                                                                           \
        ck_assert_int_eq(match((method), (path)), H2API_MATCH_OK);                                                                 \
        ck_assert_str_eq((const char *)m.route->data, (name));                                                                     \
    } while (0)

#define ck_assert_status(method, path, status) ck_assert_int_eq(match((method), (path)), (status))

/* Asserts param `i` of the last match. */
static void check_param(size_t i, const char *name, h2api_param_type_t type, const char *value)
{
    ck_assert_uint_gt(m.num_params, i);
    ck_assert_str_eq(m.params[i].name, name);
    ck_assert_int_eq(m.params[i].type, type);
    ck_assert_str_eq(m.params[i].value, value);
    ck_assert_uint_eq(m.params[i].value_len, strlen(value));
}

/* Asserts a 422 of parameter `name` with decoded input `value`. */
static void check_bad_param(unsigned method, const char *path, const char *name, const char *value)
{
    ck_assert_int_eq(match(method, path), H2API_MATCH_BAD_PARAM);
    ck_assert_str_eq(m.bad_param, name);
    ck_assert_str_eq(m.bad_value, value);
    ck_assert_ptr_nonnull(m.route);
    ck_assert_uint_eq(m.num_params, 0);
}

START_TEST(literals)
{
    ck_assert_route(H2API_METHOD_GET, "/", "root");
    ck_assert_uint_eq(m.num_params, 0);
    ck_assert_route(H2API_METHOD_GET, "/v1/posts", "posts_list");
    ck_assert_uint_eq(m.num_params, 0);
    ck_assert_route(H2API_METHOD_POST, "/v1/posts", "posts_create");
    ck_assert_status(H2API_METHOD_GET, "/v1", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/post", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/postsx", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/V1/posts", H2API_MATCH_NOT_FOUND); /* case-sensitive */
    ck_assert_status(H2API_METHOD_GET, "/v2/posts", H2API_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(str_params)
{
    ck_assert_route(H2API_METHOD_GET, "/users/alice", "users_get");
    ck_assert_uint_eq(m.num_params, 1);
    check_param(0, "name", H2API_PARAM_STR, "alice");
    ck_assert_route(H2API_METHOD_GET, "/users/123", "users_get");
    check_param(0, "name", H2API_PARAM_STR, "123");
    ck_assert_route(H2API_METHOD_GET, "/users/...", "users_get"); /* not a dot segment */
    check_param(0, "name", H2API_PARAM_STR, "...");
    ck_assert_route(H2API_METHOD_GET, "/users/a..b", "users_get");
    ck_assert_route(H2API_METHOD_GET, "/users/.hidden", "users_get");
    check_param(0, "name", H2API_PARAM_STR, ".hidden");

    ck_assert_route(H2API_METHOD_GET, "/users/bob/posts/7", "users_post");
    ck_assert_uint_eq(m.num_params, 2);
    check_param(0, "name", H2API_PARAM_STR, "bob");
    check_param(1, "n", H2API_PARAM_INT, "7");
    ck_assert_int_eq(m.params[1].int_value, 7);

    ck_assert_route(H2API_METHOD_GET, "/a/b/c/d/e/f/g/h", "eight");
    ck_assert_uint_eq(m.num_params, 8);
    check_param(0, "a", H2API_PARAM_STR, "a");
    check_param(7, "h", H2API_PARAM_STR, "h");
    ck_assert_status(H2API_METHOD_GET, "/a/b/c/d/e/f/g", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/a/b/c/d/e/f/g/h/i", H2API_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(int_params)
{
    static const struct {
        const char *path, *value;
        int64_t int_value;
    } cases[] = {
        {"/v1/posts/42", "42", 42},
        {"/v1/posts/0", "0", 0},
        {"/v1/posts/-7", "-7", -7},
        {"/v1/posts/-0", "-0", 0},
        {"/v1/posts/007", "007", 7},
        {"/v1/posts/%34%32", "42", 42},
        {"/v1/posts/9223372036854775807", "9223372036854775807", INT64_MAX},
        {"/v1/posts/-9223372036854775808", "-9223372036854775808", INT64_MIN},
        {"/v1/posts/0000000000000000001", "0000000000000000001", 1}, /* 19 digits */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        ck_assert_route(H2API_METHOD_GET, cases[i].path, "posts_get");
        ck_assert_uint_eq(m.num_params, 1);
        check_param(0, "post_id", H2API_PARAM_INT, cases[i].value);
        ck_assert_int_eq(m.params[0].int_value, cases[i].int_value);
    }
}
END_TEST

START_TEST(int_params_bad)
{
    static const struct {
        const char *path, *value;
    } cases[] = {
        {"/v1/posts/9223372036854775808", "9223372036854775808"},   /* INT64_MAX + 1 */
        {"/v1/posts/-9223372036854775809", "-9223372036854775809"}, /* INT64_MIN - 1 */
        {"/v1/posts/9999999999999999999", "9999999999999999999"},   /* 19 digits, too big */
        {"/v1/posts/00000000000000000001", "00000000000000000001"}, /* 20 digits */
        {"/v1/posts/12a", "12a"},
        {"/v1/posts/abc", "abc"},
        {"/v1/posts/-", "-"},
        {"/v1/posts/--1", "--1"},
        {"/v1/posts/+5", "+5"},
        {"/v1/posts/1.5", "1.5"},
        {"/v1/posts/1e3", "1e3"},
        {"/v1/posts/%201", " 1"},
        {"/v1/posts/1%2F2", "1/2"},
        {"/v1/posts/%31x", "1x"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        check_bad_param(H2API_METHOD_GET, cases[i].path, "post_id", cases[i].value);
        ck_assert_str_eq((const char *)m.route->data, "posts_get");
    }
    check_bad_param(H2API_METHOD_DELETE, "/v1/posts/x", "post_id", "x");
    ck_assert_str_eq((const char *)m.route->data, "posts_delete");
    /* the first bad int of the route is reported, after the str before it matched */
    check_bad_param(H2API_METHOD_GET, "/users/bob/posts/seven", "n", "seven");
    ck_assert_str_eq((const char *)m.route->data, "users_post");
    /* an empty segment is no int at all: the path does not match */
    ck_assert_status(H2API_METHOD_GET, "/users/bob/posts/", H2API_MATCH_NOT_FOUND);
    /* the literals after a bad int must still match */
    ck_assert_status(H2API_METHOD_GET, "/v1/posts/x/y", H2API_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(path_params)
{
    ck_assert_route(H2API_METHOD_GET, "/proxy/a/b/c", "proxy");
    ck_assert_uint_eq(m.num_params, 1);
    check_param(0, "rest", H2API_PARAM_PATH, "a/b/c");
    ck_assert_route(H2API_METHOD_POST, "/proxy/a", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "a");
    ck_assert_route(H2API_METHOD_GET, "/proxy/", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "");
    ck_assert_route(H2API_METHOD_GET, "/proxy/a/b/", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "a/b/");
    ck_assert_route(H2API_METHOD_GET, "/proxy/a%20b/c%2Fd", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "a b/c/d");
    ck_assert_route(H2API_METHOD_GET, "/proxy/...", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "...");
    ck_assert_status(H2API_METHOD_GET, "/proxy", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/proxyx/a", H2API_MATCH_NOT_FOUND);

    /* a path parameter right at the root takes every path, "/" included */
    h2api_router_t r;
    h2api_router_init(&r);
    ck_assert_int_eq(h2api_router_add(&r, H2API_METHOD_GET, "/{all:path}", "all"), 0);
    h2api_router_match(&r, H2API_METHOD_GET, "/", 1, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_str_eq(m.params[0].value, "");
    h2api_router_match(&r, H2API_METHOD_GET, "/x/y", 4, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_str_eq(m.params[0].value, "x/y");
    h2api_router_dispose(&r);
}
END_TEST

START_TEST(not_found)
{
    ck_assert_status(H2API_METHOD_GET, "/nothing", H2API_MATCH_NOT_FOUND);
    ck_assert_ptr_null(m.route);
    ck_assert_uint_eq(m.num_params, 0);
    ck_assert_uint_eq(m.allowed, 0);
    ck_assert_status(H2API_METHOD_GET, "/users", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/users/a/b", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/posts/1/2", H2API_MATCH_NOT_FOUND);

    h2api_router_t empty;
    h2api_router_init(&empty);
    h2api_router_match(&empty, H2API_METHOD_GET, "/", 1, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_NOT_FOUND);
    h2api_router_dispose(&empty);
}
END_TEST

START_TEST(method_not_allowed)
{
    char allow[H2API_METHODS_ALLOW_BUF_BYTES];

    ck_assert_status(H2API_METHOD_DELETE, "/v1/posts", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_GET | H2API_METHOD_HEAD | H2API_METHOD_POST);
    ck_assert_ptr_null(m.route);
    ck_assert_uint_eq(h2api_methods_to_allow(m.allowed, allow, sizeof(allow)), strlen("GET, HEAD, POST"));
    ck_assert_str_eq(allow, "GET, HEAD, POST");

    ck_assert_status(H2API_METHOD_POST, "/v1/posts/1", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_GET | H2API_METHOD_HEAD | H2API_METHOD_DELETE);
    h2api_methods_to_allow(m.allowed, allow, sizeof(allow));
    ck_assert_str_eq(allow, "GET, HEAD, DELETE");

    ck_assert_status(H2API_METHOD_PUT, "/proxy/x", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_GET | H2API_METHOD_HEAD | H2API_METHOD_POST);

    /* an unknown method (0) on a known path is a 405 too */
    ck_assert_status(0, "/", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_GET | H2API_METHOD_HEAD);

    /* a bad int of a route of another method still counts as a path match (FastAPI checks the method first) */
    ck_assert_status(H2API_METHOD_POST, "/v1/posts/abc", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_GET | H2API_METHOD_HEAD | H2API_METHOD_DELETE);
    ck_assert_ptr_null(m.bad_param);
}
END_TEST

START_TEST(allow_text)
{
    char allow[H2API_METHODS_ALLOW_BUF_BYTES], small[12];

    ck_assert_uint_eq(h2api_methods_to_allow(H2API_METHOD_ALL, allow, sizeof(allow)),
                      strlen("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
    ck_assert_str_eq(allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    ck_assert_uint_eq(h2api_methods_to_allow(H2API_METHOD_OPTIONS | H2API_METHOD_GET, allow, sizeof(allow)), 12);
    ck_assert_str_eq(allow, "GET, OPTIONS");
    ck_assert_uint_eq(h2api_methods_to_allow(H2API_METHOD_PATCH, allow, sizeof(allow)), 5);
    ck_assert_str_eq(allow, "PATCH");
    ck_assert_uint_eq(h2api_methods_to_allow(0, allow, sizeof(allow)), 0);
    ck_assert_str_eq(allow, "");
    /* a short buffer keeps the methods that fit whole, NUL-terminated */
    ck_assert_uint_eq(h2api_methods_to_allow(H2API_METHOD_ALL, small, sizeof(small)), strlen("GET, HEAD"));
    ck_assert_str_eq(small, "GET, HEAD");
    ck_assert_uint_eq(h2api_methods_to_allow(H2API_METHOD_ALL, small, 0), 0);
}
END_TEST

START_TEST(methods_from_string)
{
    ck_assert_uint_eq(h2api_method_from_string("GET", 3), H2API_METHOD_GET);
    ck_assert_uint_eq(h2api_method_from_string("HEAD", 4), H2API_METHOD_HEAD);
    ck_assert_uint_eq(h2api_method_from_string("POST", 4), H2API_METHOD_POST);
    ck_assert_uint_eq(h2api_method_from_string("PUT", 3), H2API_METHOD_PUT);
    ck_assert_uint_eq(h2api_method_from_string("PATCH", 5), H2API_METHOD_PATCH);
    ck_assert_uint_eq(h2api_method_from_string("DELETE", 6), H2API_METHOD_DELETE);
    ck_assert_uint_eq(h2api_method_from_string("OPTIONS", 7), H2API_METHOD_OPTIONS);
    ck_assert_uint_eq(h2api_method_from_string("get", 3), 0);
    ck_assert_uint_eq(h2api_method_from_string("GETX", 4), 0);
    ck_assert_uint_eq(h2api_method_from_string("GETX", 3), H2API_METHOD_GET); /* len bytes only */
    ck_assert_uint_eq(h2api_method_from_string("GE", 2), 0);
    ck_assert_uint_eq(h2api_method_from_string("TRACE", 5), 0);
    ck_assert_uint_eq(h2api_method_from_string("", 0), 0);
}
END_TEST

START_TEST(head_via_get)
{
    ck_assert_route(H2API_METHOD_HEAD, "/v1/posts", "posts_list");
    ck_assert_route(H2API_METHOD_HEAD, "/v1/posts/5", "posts_get");
    ck_assert_int_eq(m.params[0].int_value, 5);
    ck_assert_route(H2API_METHOD_HEAD, "/proxy/a", "proxy");
    check_bad_param(H2API_METHOD_HEAD, "/v1/posts/x", "post_id", "x");
    ck_assert_status(H2API_METHOD_HEAD, "/items/1", H2API_MATCH_OK); /* PUT int route, then GET str route */
    ck_assert_str_eq((const char *)m.route->data, "items_get");

    /* a HEAD route added before the GET route of the same pattern takes HEAD */
    h2api_router_t r;
    h2api_router_init(&r);
    ck_assert_int_eq(h2api_router_add(&r, H2API_METHOD_HEAD, "/x", "head"), 0);
    ck_assert_int_eq(h2api_router_add(&r, H2API_METHOD_GET, "/x", "get"), 0);
    h2api_router_match(&r, H2API_METHOD_HEAD, "/x", 2, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_str_eq((const char *)m.route->data, "head");
    h2api_router_match(&r, H2API_METHOD_GET, "/x", 2, &m);
    ck_assert_str_eq((const char *)m.route->data, "get");
    h2api_router_dispose(&r);
}
END_TEST

START_TEST(precedence)
{
    /* OK beats an earlier route's BAD_PARAM: "latest" fails the int route, then matches a literal */
    ck_assert_route(H2API_METHOD_GET, "/v1/posts/latest", "posts_latest");
    ck_assert_uint_eq(m.num_params, 0);
    ck_assert_ptr_null(m.bad_param);
    /* registration order: the str route shadows the literal added after it */
    ck_assert_route(H2API_METHOD_GET, "/users/me", "users_get");
    check_param(0, "name", H2API_PARAM_STR, "me");
    /* BAD_PARAM (method matches) beats METHOD_NOT_ALLOWED from another route */
    check_bad_param(H2API_METHOD_PUT, "/items/abc", "id", "abc");
    ck_assert_str_eq((const char *)m.route->data, "items_put");
    /* a route of another method whose int fails does not stop a later full match */
    ck_assert_route(H2API_METHOD_GET, "/items/abc", "items_get");
    check_param(0, "slug", H2API_PARAM_STR, "abc");
    /* METHOD_NOT_ALLOWED, with both routes' methods, beats NOT_FOUND */
    ck_assert_status(H2API_METHOD_POST, "/items/abc", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_PUT | H2API_METHOD_GET | H2API_METHOD_HEAD);
    ck_assert_status(H2API_METHOD_POST, "/items/7", H2API_MATCH_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allowed, H2API_METHOD_PUT | H2API_METHOD_GET | H2API_METHOD_HEAD);
    ck_assert_route(H2API_METHOD_PUT, "/items/7", "items_put");

    /* with two BAD_PARAM candidates the first registered is reported */
    h2api_router_t r;
    h2api_router_init(&r);
    ck_assert_int_eq(h2api_router_add(&r, H2API_METHOD_GET, "/a/{x:int}", "first"), 0);
    ck_assert_int_eq(h2api_router_add(&r, H2API_METHOD_GET, "/a/{y:int}", "second"), 0);
    h2api_router_match(&r, H2API_METHOD_GET, "/a/z", 4, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_BAD_PARAM);
    ck_assert_str_eq(m.bad_param, "x");
    ck_assert_str_eq((const char *)m.route->data, "first");
    h2api_router_dispose(&r);
}
END_TEST

START_TEST(percent_decoding_in_match)
{
    ck_assert_route(H2API_METHOD_GET, "/v1/po%73ts", "posts_list");
    ck_assert_route(H2API_METHOD_GET, "/%76%31/%70%6F%73%74%73", "posts_list");
    ck_assert_route(H2API_METHOD_GET, "/users/al%20ice", "users_get");
    check_param(0, "name", H2API_PARAM_STR, "al ice");
    ck_assert_route(H2API_METHOD_GET, "/users/a+b", "users_get"); /* '+' is not a space in a path */
    check_param(0, "name", H2API_PARAM_STR, "a+b");
    ck_assert_route(H2API_METHOD_GET, "/users/caf%C3%A9", "users_get");
    check_param(0, "name", H2API_PARAM_STR, "caf\xc3\xa9");
    /* %2F decodes to '/', which no str parameter holds (as Starlette, which decodes first) */
    ck_assert_status(H2API_METHOD_GET, "/users/a%2Fb", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/users/a%2fb/posts/3", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1%2Fposts", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/posts%2F1", H2API_MATCH_NOT_FOUND);
    /* the values live in the match: no pointer into the request path */
    ck_assert_route(H2API_METHOD_GET, "/users/x/posts/9", "users_post");
    ck_assert_ptr_eq(m.params[0].value, m.buf);
}
END_TEST

START_TEST(dot_segments)
{
    static const char *const bad[] = {
        "/.",
        "/..",
        "/./v1/posts",
        "/v1/../v1/posts",
        "/v1/posts/.",
        "/v1/posts/..",
        "/v1/posts/./",
        "/%2e",
        "/%2e%2e",
        "/%2E%2E/x",
        "/.%2e/x",
        "/%2E./x",
        "/users/%2e%2E",
        "/proxy/..",
        "/proxy/a/../b",
        "/proxy/a/./b",
        "/proxy/a/%2e%2e/b",
        "/proxy/a/..%2Fb",       /* decoded component ".." */
        "/users/a%2F..%2Fb",     /* inside a str param, split by an encoded slash */
        "/users/%2F..",          /* same */
        "/nothing/../routes/..", /* refused even where nothing would match */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(match(H2API_METHOD_GET, bad[i]) == H2API_MATCH_BAD_PATH, "%s: status %d", bad[i], m.status);
        ck_assert_ptr_null(m.route);
    }
    ck_assert_route(H2API_METHOD_GET, "/proxy/a/.../b", "proxy");
    ck_assert_route(H2API_METHOD_GET, "/proxy/a/..b/.c", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "a/..b/.c");
    ck_assert_route(H2API_METHOD_GET, "/users/%2e%2e%2e", "users_get");
    check_param(0, "name", H2API_PARAM_STR, "...");
}
END_TEST

START_TEST(empty_segments)
{
    ck_assert_status(H2API_METHOD_GET, "//", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "//v1/posts", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1//posts", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/posts//", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/users//posts/1", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/posts//1", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/a/b/c/d//f/g/h", H2API_MATCH_NOT_FOUND);
    /* kept as they are inside a path capture */
    ck_assert_route(H2API_METHOD_GET, "/proxy//a", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "/a");
    ck_assert_route(H2API_METHOD_GET, "/proxy/a//b//", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "a//b//");
    ck_assert_route(H2API_METHOD_GET, "/proxy//", "proxy");
    check_param(0, "rest", H2API_PARAM_PATH, "/");
}
END_TEST

START_TEST(trailing_slash)
{
    ck_assert_status(H2API_METHOD_GET, "/v1/posts/", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/v1/posts/1/", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/users/bob/", H2API_MATCH_NOT_FOUND);
    ck_assert_route(H2API_METHOD_GET, "/dir/", "dir");
    ck_assert_status(H2API_METHOD_GET, "/dir", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/dir//", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_GET, "/dir/x", H2API_MATCH_NOT_FOUND);
    ck_assert_status(H2API_METHOD_POST, "/dir/", H2API_MATCH_METHOD_NOT_ALLOWED);
    /* the root pattern matches "/" only */
    ck_assert_route(H2API_METHOD_GET, "/", "root");
    ck_assert_status(H2API_METHOD_POST, "/", H2API_MATCH_METHOD_NOT_ALLOWED);
}
END_TEST

START_TEST(bad_paths)
{
    static const char *const bad[] = {"/%zz",       "/%4",    "/%", "/users/%", "/users/a%2", "/%g0",       "/%0g",
                                      "/users/%00", "/%00/x", "",   "v1/posts", "*",          "%2Fv1/posts"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        ck_assert_msg(match(H2API_METHOD_GET, bad[i]) == H2API_MATCH_BAD_PATH, "\"%s\": status %d", bad[i], m.status);
        ck_assert_ptr_null(m.route);
    }
    /* a raw NUL byte */
    h2api_router_match(&router, H2API_METHOD_GET, "/users/a\0b", 10, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_BAD_PATH);
    /* only `path_len` bytes count: an escape cut by the length is truncated */
    h2api_router_match(&router, H2API_METHOD_GET, "/users/%41", 9, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_BAD_PATH);
    h2api_router_match(&router, H2API_METHOD_GET, "/users/%41", 10, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    check_param(0, "name", H2API_PARAM_STR, "A");
}
END_TEST

START_TEST(long_paths)
{
    static char path[H2API_ROUTER_MAX_PATH_BYTES + 2];
    size_t i, n;

    /* exactly H2API_ROUTER_MAX_PATH_BYTES: accepted */
    memcpy(path, "/proxy/", 7);
    memset(path + 7, 'x', H2API_ROUTER_MAX_PATH_BYTES - 7);
    h2api_router_match(&router, H2API_METHOD_GET, path, H2API_ROUTER_MAX_PATH_BYTES, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_uint_eq(m.params[0].value_len, H2API_ROUTER_MAX_PATH_BYTES - 7);
    ck_assert_int_eq(m.params[0].value[m.params[0].value_len], '\0');
    /* one byte more: refused */
    path[H2API_ROUTER_MAX_PATH_BYTES] = 'x';
    h2api_router_match(&router, H2API_METHOD_GET, path, H2API_ROUTER_MAX_PATH_BYTES + 1, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_BAD_PATH);

    /* eight long str params filling the whole path: the match buffer holds them all */
    n = 0;
    for (i = 0; i < 8; ++i) {
        size_t seg_len = (H2API_ROUTER_MAX_PATH_BYTES / 8) - 1;
        path[n++] = '/';
        memset(path + n, 'a' + (char)i, seg_len);
        n += seg_len;
    }
    ck_assert_uint_eq(n, H2API_ROUTER_MAX_PATH_BYTES);
    h2api_router_match(&router, H2API_METHOD_GET, path, n, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_str_eq((const char *)m.route->data, "eight");
    for (i = 0; i < 8; ++i) {
        ck_assert_uint_eq(m.params[i].value_len, (H2API_ROUTER_MAX_PATH_BYTES / 8) - 1);
        ck_assert_int_eq(m.params[i].value[0], 'a' + (int)i);
        ck_assert_int_eq(m.params[i].value[m.params[i].value_len], '\0');
    }

    /* a long bad int value comes back whole */
    memcpy(path, "/v1/posts/", 10);
    memset(path + 10, '9', H2API_ROUTER_MAX_PATH_BYTES - 10);
    h2api_router_match(&router, H2API_METHOD_GET, path, H2API_ROUTER_MAX_PATH_BYTES, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_BAD_PARAM);
    ck_assert_uint_eq(strlen(m.bad_value), H2API_ROUTER_MAX_PATH_BYTES - 10);
}
END_TEST

START_TEST(add_errors)
{
    static const char *const malformed[] = {
        "",
        "v1/posts",
        "{x}",
        "//",
        "/a//b",
        "/a/{x",
        "/a/x}",
        "/a/{x}y",
        "/a/y{x}",
        "/a/{{x}}",
        "/a/{x/y}",
        "/a/{}",
        "/a/{:int}",
        "/a/{x:}",
        "/a/{x:float}",
        "/a/{x:uuid}",
        "/a/{x:INT}",
        "/a/{1x}",
        "/a/{x-y}",
        "/a/{x y}",
        "/a/{x:path}/b",
        "/a/{x:path}/",
        "/a/{x:path}/{y}",
        "/a/{x}/{x}",
        "/a/{x}/{x:int}",
        "/a/.",
        "/../a",
        "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",   /* 17 segments */
        "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", /* 9 params */
    };
    size_t i, before = router.num_routes;

    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); ++i)
        ck_assert_msg(h2api_router_add(&router, H2API_METHOD_GET, malformed[i], NULL) == -EINVAL, "%s", malformed[i]);
    ck_assert_int_eq(h2api_router_add(&router, 0, "/ok", NULL), -EINVAL);
    ck_assert_int_eq(h2api_router_add(&router, 1u << 7, "/ok", NULL), -EINVAL);
    /* the limits themselves are fine; "/.." in a literal is fine when it is not the whole segment */
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", NULL), 0);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/x/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h:path}", NULL), 0);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/a/..b/{_x1:str}", NULL), 0);
    ck_assert_uint_eq(router.num_routes, before + 3);

    /* the same pattern with overlapping methods */
    before = router.num_routes;
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/v1/posts", NULL), -EEXIST);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_PUT | H2API_METHOD_POST, "/v1/posts", NULL), -EEXIST);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_HEAD, "/v1/posts", NULL), -EEXIST); /* GET has it */
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_ALL, "/", NULL), -EEXIST);
    ck_assert_uint_eq(router.num_routes, before);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_PUT, "/v1/posts", NULL), 0);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_OPTIONS, "/", NULL), 0);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_HEAD, "/users/{name}/x", NULL), 0);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/users/{name}/x", NULL), 0);
    /* errors leave the table as it was */
    ck_assert_route(H2API_METHOD_POST, "/v1/posts", "posts_create");
}
END_TEST

START_TEST(add_grows)
{
    static char patterns[200][24];
    char path[24];
    size_t i;

    for (i = 0; i < 200; ++i) {
        snprintf(patterns[i], sizeof(patterns[i]), "/r%zu/{id:int}", i);
        ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, patterns[i], patterns[i]), 0);
    }
    for (i = 0; i < 200; ++i) {
        snprintf(path, sizeof(path), "/r%zu/%zu", i, i * 3);
        ck_assert_int_eq(match(H2API_METHOD_GET, path), H2API_MATCH_OK);
        ck_assert_str_eq((const char *)m.route->data, patterns[i]);
        ck_assert_int_eq(m.params[0].int_value, (int64_t)(i * 3));
        ck_assert_str_eq(m.params[0].name, "id");
    }
    /* matches stay right after every realloc */
    ck_assert_route(H2API_METHOD_GET, "/users/bob/posts/7", "users_post");
    check_param(0, "name", H2API_PARAM_STR, "bob");
}
END_TEST

START_TEST(percent_decode)
{
    char dst[64];
    char in_place[] = "a%20b%2Fc";

    ck_assert_int_eq(h2api_percent_decode("a%20b", 5, dst, 0), 3);
    ck_assert_str_eq(dst, "a b");
    ck_assert_int_eq(h2api_percent_decode("a+b", 3, dst, 0), 3);
    ck_assert_str_eq(dst, "a+b");
    ck_assert_int_eq(h2api_percent_decode("a+b", 3, dst, 1), 3);
    ck_assert_str_eq(dst, "a b");
    ck_assert_int_eq(h2api_percent_decode("a%2Bb", 5, dst, 1), 3); /* an encoded '+' stays a '+' */
    ck_assert_str_eq(dst, "a+b");
    ck_assert_int_eq(h2api_percent_decode("%e2%82%AC", 9, dst, 0), 3);
    ck_assert_str_eq(dst, "\xe2\x82\xac");
    ck_assert_int_eq(h2api_percent_decode("", 0, dst, 1), 0);
    ck_assert_str_eq(dst, "");
    ck_assert_int_eq(h2api_percent_decode("abcdef", 3, dst, 0), 3); /* len bytes only */
    ck_assert_str_eq(dst, "abc");
    ck_assert_int_eq(h2api_percent_decode(in_place, strlen(in_place), in_place, 0), 5);
    ck_assert_str_eq(in_place, "a b/c");

    ck_assert_int_eq(h2api_percent_decode("%zz", 3, dst, 0), -1);
    ck_assert_int_eq(h2api_percent_decode("%4", 2, dst, 0), -1);
    ck_assert_int_eq(h2api_percent_decode("%41", 2, dst, 0), -1); /* cut by len */
    ck_assert_int_eq(h2api_percent_decode("a%", 2, dst, 1), -1);
    ck_assert_int_eq(h2api_percent_decode("%00", 3, dst, 0), -1);
    ck_assert_int_eq(h2api_percent_decode("a\0b", 3, dst, 0), -1);
    ck_assert_int_eq(h2api_percent_decode("%+1", 3, dst, 1), -1);
}
END_TEST

/* h2api_path_is_forwardable: what /proxy may send to an upstream, under its base path */
START_TEST(path_forwardable)
{
    ck_assert_int_eq(h2api_path_is_forwardable("posts/1", "/posts/1", 8), 1);
    ck_assert_int_eq(h2api_path_is_forwardable("posts", "/posts?userId=1&x=a%20b", 23), 1);
    ck_assert_int_eq(h2api_path_is_forwardable("a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~", 21), 1);
    /* a new authority or an escape, in the decoded capture */
    ck_assert_int_eq(h2api_path_is_forwardable("/evil.example/x", "//evil.example/x", 16), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a//b", "/a//b", 5), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a\\b", "/a%5cb", 6), 0);
    /* bytes RFC 3986 does not allow raw in a path or query reach no request line */
    ck_assert_int_eq(h2api_path_is_forwardable("a\tb", "/a\tb", 4), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a", "/a#frag", 7), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a\xff" "b", "/a\xff" "b", 4), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a b", "/a b", 4), 0);
    ck_assert_int_eq(h2api_path_is_forwardable("a", "/a\"", 3), 0);
}
END_TEST

/* A str parameter is one segment: %2F decoding to '/' does not match it (Starlette decodes first). */
START_TEST(encoded_slash_in_str)
{
    h2api_router_t router;
    h2api_match_t m;
    h2api_router_init(&router);
    ck_assert_int_eq(h2api_router_add(&router, H2API_METHOD_GET, "/users/{name}", NULL), 0);
    h2api_router_match(&router, H2API_METHOD_GET, "/users/a%2Fb", 12, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_NOT_FOUND);
    h2api_router_match(&router, H2API_METHOD_GET, "/users/a%20b", 12, &m);
    ck_assert_int_eq(m.status, H2API_MATCH_OK);
    ck_assert_str_eq(m.params[0].value, "a b");
    h2api_router_dispose(&router);
}
END_TEST

/* One TCase per behaviour, each with a fresh route table. */
Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_CASE(literals),
        UNIT_CASE(str_params),
        UNIT_CASE(int_params),
        UNIT_CASE(int_params_bad),
        UNIT_CASE(path_params),
        UNIT_CASE(not_found),
        UNIT_CASE(method_not_allowed),
        UNIT_CASE(allow_text),
        UNIT_CASE(methods_from_string),
        UNIT_CASE(head_via_get),
        UNIT_CASE(precedence),
        UNIT_CASE(percent_decoding_in_match),
        UNIT_CASE(dot_segments),
        UNIT_CASE(empty_segments),
        UNIT_CASE(trailing_slash),
        UNIT_CASE(bad_paths),
        UNIT_CASE(long_paths),
        UNIT_CASE(add_errors),
        UNIT_CASE(add_grows),
        UNIT_CASE(percent_decode),
        UNIT_CASE(path_forwardable),
        UNIT_CASE(encoded_slash_in_str),
    };
    return unit_suite_create("router", setup, teardown, 0, cases, UNIT_LEN(cases));
}
