/*
 * The route table and its matcher: method + path pattern with typed parameters.
 *
 * Pure C with no h2o dependency so that it is unit tested on its own. Patterns are compiled
 * once at start into segments; a match walks the request path's segments once per candidate
 * route, with no regex and no heap allocation (parameter values point into a caller buffer).
 * Pattern syntax follows FastAPI/Starlette path converters:
 *   "/v1/posts/{post_id:int}"  integer segment (optional '-', digits, fits int64)
 *   "/users/{name}"            any non-empty segment (str)
 *   "/proxy/{path:path}"       the rest of the path, possibly empty, must be last
 */
#ifndef h2api__router_h
#define h2api__router_h

#include <stddef.h>
#include <stdint.h>
#include "../include/h2api.h"

#define H2API_ROUTER_MAX_SEGMENTS 16
#define H2API_ROUTER_MAX_PARAMS 8
#define H2API_ROUTER_MAX_PATH_BYTES 4096
/* Room for the Allow text of every method ("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") and its NUL. */
#define H2API_METHODS_ALLOW_BUF_BYTES 48

/* The H2API_METHOD_* bits are public (include/h2api.h): route rows use them. */

typedef enum en_h2api_param_type_t { H2API_PARAM_STR = 0, H2API_PARAM_INT, H2API_PARAM_PATH } h2api_param_type_t;

typedef struct st_h2api_param_t {
    const char *name; /* from the pattern; owned by the router, valid until h2api_router_dispose */
    h2api_param_type_t type;
    const char *value; /* percent-decoded, NUL-terminated, in the match's buffer */
    size_t value_len;
    int64_t int_value; /* valid for H2API_PARAM_INT */
} h2api_param_t;

typedef struct st_h2api_router_segment_t {
    const char *literal; /* NULL for a parameter */
    size_t literal_len;
    const char *param_name;
    h2api_param_type_t param_type;
} h2api_router_segment_t;

typedef struct st_h2api_router_route_t {
    unsigned methods; /* H2API_METHOD_* bits */
    const char *pattern;
    void *data; /* the caller's (the app's route record) */
    h2api_router_segment_t segments[H2API_ROUTER_MAX_SEGMENTS];
    size_t num_segments;
    int ends_with_path; /* last segment is {x:path} */
    int trailing_slash; /* pattern ends with '/' (and is not "/") */
} h2api_router_route_t;

typedef struct st_h2api_router_t {
    h2api_router_route_t *routes;
    size_t num_routes;
    size_t capacity;
} h2api_router_t;

typedef enum en_h2api_match_status_t {
    H2API_MATCH_OK = 0,
    H2API_MATCH_NOT_FOUND,          /* 404 {"detail":"Not Found"} */
    H2API_MATCH_METHOD_NOT_ALLOWED, /* 405, `allowed` holds the union of methods of path matches */
    H2API_MATCH_BAD_PARAM,          /* 422: `bad_param` names the parameter, `bad_value` its input */
    H2API_MATCH_BAD_PATH            /* 400: a dot segment ("." / "..", also percent-encoded), bad %-escape, NUL, too long */
} h2api_match_status_t;

typedef struct st_h2api_match_t {
    h2api_match_status_t status;
    const h2api_router_route_t *route; /* H2API_MATCH_OK; for H2API_MATCH_BAD_PARAM the route whose param failed */
    h2api_param_t params[H2API_ROUTER_MAX_PARAMS];
    size_t num_params;
    unsigned allowed;                                                  /* H2API_MATCH_METHOD_NOT_ALLOWED */
    const char *bad_param;                                             /* H2API_MATCH_BAD_PARAM */
    const char *bad_value;                                             /* decoded input of the bad parameter, NUL-terminated */
    char buf[H2API_ROUTER_MAX_PATH_BYTES + H2API_ROUTER_MAX_SEGMENTS]; /* decoded values live here */
} h2api_match_t;

/** Initialises an empty router. */
void h2api_router_init(h2api_router_t *router);

/** Frees the route array (patterns and data stay the caller's). */
void h2api_router_dispose(h2api_router_t *router);

/**
 * Adds a route. `pattern` must stay valid for the router's life (a string literal); the
 * parameter names are copied and owned by the router.
 * A parameter is a whole segment ("/a/{x}", not "/a/x{y}"); its name is [A-Za-z_][A-Za-z0-9_]*.
 * A pattern that ends with '/' (other than "/") only matches paths that end with '/'.
 * @param methods  one or more H2API_METHOD_* bits
 * @return 0; -EINVAL if `methods` is 0 or has unknown bits, or if the pattern is malformed (does
 *         not start with '/', empty segment "//", unterminated or stray brace, empty or bad
 *         name, unknown converter such as {x:float}, {x:path} not last, a "." or ".." literal,
 *         more than H2API_ROUTER_MAX_SEGMENTS segments or H2API_ROUTER_MAX_PARAMS params,
 *         duplicate param name); -EEXIST if the same pattern text was already added with one of
 *         these methods (a GET route counts as having HEAD). The router is unchanged on error.
 *         Out of memory aborts.
 */
int h2api_router_add(h2api_router_t *router, unsigned methods, const char *pattern, void *data);

/** Maps a method token ("GET", 3) to its H2API_METHOD_* bit; 0 if unknown. */
unsigned h2api_method_from_string(const char *method, size_t len);

/**
 * Writes "GET, HEAD, POST" style text for an Allow header into buf, in H2API_METHOD_* bit order,
 * NUL-terminated. HEAD is only listed if its bit is set (h2api_router_match sets it for GET
 * routes). H2API_METHODS_ALLOW_BUF_BYTES always suffices; a smaller buffer gets the methods that
 * fit whole.
 * @return the length written, without the NUL (0 if `buflen` is 0).
 */
size_t h2api_methods_to_allow(unsigned methods, char *buf, size_t buflen);

/**
 * Matches a request. `path` is the raw request path without the query (`path_len` bytes,
 * percent-encoded as received). Literal segments are compared after decoding; parameters are
 * decoded into match->buf. Routes are tried in registration order; the first that matches
 * both path and method wins. HEAD is served by GET routes. Dot segments are refused (400)
 * rather than resolved, so a parameter can never step outside its route; this includes
 * components made with an encoded slash ("a%2F..%2Fb").
 * An empty segment ("//") matches no literal, str or int segment but stays as it is inside a
 * {x:path} value. An int segment that does not parse still matches the path (FastAPI's 422):
 * the result is, in this order, OK (first route matching path and method), BAD_PARAM (first
 * route matching the path and the method whose int failed), METHOD_NOT_ALLOWED (`allowed` is the
 * union of the methods of the routes matching the path, with HEAD for GET), NOT_FOUND.
 * Always fills match->status. Allocates nothing: decoded values live in match->buf, names in the router.
 */
void h2api_router_match(const h2api_router_t *router, unsigned method, const char *path, size_t path_len, h2api_match_t *match);

/**
 * Percent-decodes `len` bytes of `src` into `dst` (room for len + 1), NUL-terminating it.
 * `dst` may be `src` (decoding in place). Hex digits may be of either case.
 * @param plus_is_space  1 for query strings (application/x-www-form-urlencoded), 0 for paths
 * @return decoded length, or -1 on a malformed escape ("%zz", a truncated "%4") or a NUL byte
 *         (raw or "%00"); `dst` then holds an unspecified prefix.
 */
long h2api_percent_decode(const char *src, size_t len, char *dst, int plus_is_space);

/**
 * 1 if a `{x:path}` capture may be forwarded to an upstream under its base path (the /proxy
 * route): `decoded` (the capture, percent-decoded, NUL-terminated) must not start a new
 * authority or escape ("/" first, "//" or "\\" anywhere; dot segments were already refused by
 * h2api_router_match), and every byte of `raw` (`raw_len` bytes of the target as the client sent
 * it, query included) must be one RFC 3986 §3.3-3.4 allows in a path or query, so that nothing
 * else reaches the upstream's request line.
 */
int h2api_path_is_forwardable(const char *decoded, const char *raw, size_t raw_len);

#endif
