/*
 * libFuzzer target: which paths /proxy/{path:path} accepts and forwards (routes/proxy.c).
 *
 * Input: the bytes a client puts after "/proxy/" in the request target (query included, if any).
 * The target builds the request path "/proxy/" + input, takes the part before the first '?' as
 * src/dispatch.c does (h2o's query_at), matches it with the router holding the route
 * "/proxy/{path:path}" (all methods), and, on a match, applies the acceptance check of
 * proxy_any(). An accepted request is forwarded with the path as the client encoded it: the part
 * of the request target after "/proxy", i.e. "/" + input (routes/proxy.c).
 *
 * The acceptance check is h2api_path_is_forwardable (src/router.c), which proxy_any() calls.
 *
 * Invariant, for every accepted input: the forwarded path's path part (before the first '?'),
 * percent-decoded once as an upstream does, then resolved per RFC 3986 §5.2.4 (remove_dot_segments)
 *   - does not start with the segment ".." ("/.." alone or "/../..."),
 *   - contains no "//" and no '\',
 *   - stays under a base path: resolving "/base" + it gives "/base/..." ;
 * and, stronger (the router refuses dot segments, RFC 3986 §3.3), resolving changes nothing.
 *
 * Raw bytes. The whole forwarded target ("/" + input, query included) goes into the upstream's
 * request line as it is, so every forwarded byte must be one RFC 3986 allows in a path and query
 * (pchar, '/', '?', '%'). libh2o 2.2.5 lets HTAB, '#' and bytes >= 0x80 through in an HTTP/2
 * :path; h2api_path_is_forwardable refuses them (reproducers: fuzz/known/fuzz_proxy_path/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"
#include "fuzz_common.h"

static h2api_router_t router;

/*
 * The acceptance check of proxy_any() in routes/proxy.c, on the decoded {path} parameter
 * (NUL-terminated, as the router gives it): 1 if the request is forwarded, 0 if it gets 400
 * "Invalid proxy path". Copied as it is:
 *
 *     if (param->value[0] == '/' || strstr(param->value, "//") != NULL || strchr(param->value, '\\') != NULL) {
 *         h2api_send_error(r, 400, "Invalid proxy path: it must stay under the upstream's base path");
 */

/*
 * RFC 3986 §5.2.4 remove_dot_segments, on `len` bytes of `in` (no NUL inside), into `out` (room
 * for len + 1); NUL-terminates. @return the output length.
 */
static size_t remove_dot_segments(const char *in, size_t len, char *out)
{
    const char *p = in, *end = in + len;
    size_t n = 0;

#define STARTS(s) ((size_t)(end - p) >= sizeof(s) - 1 && memcmp(p, s, sizeof(s) - 1) == 0)
#define IS(s) ((size_t)(end - p) == sizeof(s) - 1 && memcmp(p, s, sizeof(s) - 1) == 0)
    while (p < end) {
        if (STARTS("../")) { /* A */
            p += 3;
        } else if (STARTS("./")) {
            p += 2;
        } else if (STARTS("/./")) { /* B: "/./" -> "/" */
            p += 2;
        } else if (IS("/.")) { /* B: "/." at the end -> "/" */
            p += 1;
            out[n++] = '/';
            break;
        } else if (STARTS("/../") || IS("/..")) { /* C: drop the last output segment */
            int at_end = IS("/..");
            p += 3;
            while (n > 0 && out[n - 1] != '/')
                --n;
            if (n > 0)
                --n; /* and its '/' */
            if (at_end) {
                out[n++] = '/';
                break;
            }
        } else if (IS(".") || IS("..")) { /* D */
            break;
        } else {                         /* E: move "/seg" or "seg" to the output */
            const char *seg_end = p + 1; /* past a leading '/', or past the segment's first byte */
            while (seg_end < end && *seg_end != '/')
                ++seg_end;
            memcpy(out + n, p, seg_end - p);
            n += seg_end - p;
            p = seg_end;
        }
    }
#undef STARTS
#undef IS
    out[n] = '\0';
    return n;
}

static void print_context(const uint8_t *data, size_t size, const char *decoded, long dn)
{
    fuzz_print_bytes("after /proxy/", (const char *)data, size);
    if (dn >= 0)
        fuzz_print_bytes("decoded forwarded path", decoded, (size_t)dn);
}

/* 1 if RFC 3986 allows `c` raw in a path or query: unreserved, sub-delims, ':', '@', '/', '?', '%' (of an escape). */
__attribute__((unused)) static int is_uri_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    h2api_router_init(&router);
    if (h2api_router_add(&router, H2API_METHOD_ALL, "/proxy/{path:path}", NULL) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "/proxy/";
    size_t target_len = sizeof(prefix) - 1 + size, path_len;
    char *target = malloc(target_len), *q;
    h2api_match_t *m = malloc(sizeof(*m));

    memcpy(target, prefix, sizeof(prefix) - 1);
    memcpy(target + sizeof(prefix) - 1, data, size);
    path_len = (q = memchr(target, '?', target_len)) != NULL ? (size_t)(q - target) : target_len;

    h2api_router_match(&router, H2API_METHOD_GET, target, path_len, m);
    if (m->status == H2API_MATCH_OK) {
        FUZZ_CHECK(m->num_params == 1 && strcmp(m->params[0].name, "path") == 0, "the proxy route has its one {path} param");
        if (h2api_path_is_forwardable(m->params[0].value, target + sizeof("/proxy") - 1, target_len - (sizeof("/proxy") - 1))) {
            /* what goes upstream: the target after "/proxy", and of that the path part */
            const char *fwd = target + sizeof("/proxy") - 1;
            size_t fwd_len = path_len - (sizeof("/proxy") - 1);
            char *decoded = malloc(fwd_len + 1), *resolved = malloc(fwd_len + 2);
            char *based = malloc(fwd_len + 6), *based_resolved = malloc(fwd_len + 7);
            long dn = fuzz_ref_percent_decode(fwd, fwd_len, decoded, 0);
            size_t rn;

#define CHECK(cond, what) FUZZ_CHECK_DO(cond, print_context(data, size, decoded, dn), "%s", what)

            CHECK(dn >= 0, "an accepted path percent-decodes");
            rn = remove_dot_segments(decoded, (size_t)dn, resolved);
            CHECK(rn >= 1 && resolved[0] == '/', "the resolved path is absolute");
            CHECK(!(rn >= 3 && memcmp(resolved, "/..", 3) == 0 && (rn == 3 || resolved[3] == '/')),
                  "the resolved path does not start with the segment \"..\"");
            CHECK(strstr(resolved, "//") == NULL, "the resolved path has no \"//\"");
            CHECK(strchr(resolved, '\\') == NULL, "the resolved path has no backslash");
            memcpy(based, "/base", 5);
            memcpy(based + 5, decoded, (size_t)dn + 1);
            remove_dot_segments(based, (size_t)dn + 5, based_resolved);
            CHECK(strncmp(based_resolved, "/base/", 6) == 0, "under a base path \"/base\" it stays under \"/base/\"");
            CHECK(rn == (size_t)dn && memcmp(resolved, decoded, rn) == 0, "resolving the dot segments changes nothing");
            for (size_t i = 0; i != size; ++i)
                CHECK(is_uri_char(data[i]), "every forwarded byte is one RFC 3986 allows in a path and query");
#undef CHECK
            free(decoded);
            free(resolved);
            free(based);
            free(based_resolved);
        }
    } else {
        FUZZ_CHECK(m->status == H2API_MATCH_BAD_PATH, "a path under /proxy/ either matches the all-methods route or is a bad path");
    }
    free(m);
    free(target);
    return 0;
}
