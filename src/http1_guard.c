/*
 * Request smuggling guard for HTTP/1.1 (RFC 9112 §6.3), in front of libh2o 2.2.5's parser.
 *
 * libh2o answers a request that carries both Content-Length and Transfer-Encoding (it frames
 * the body by the last Transfer-Encoding and reads what follows as the next request), and it
 * frames by the first of several Content-Length values. Both let a request hide inside another
 * one. h2api does not patch the library: libh2o parses every HTTP/1.1 request head with
 * picohttpparser's phr_parse_request, which it calls through its PLT, so this executable's
 * definition of that symbol is the one it uses (ELF symbol interposition). The wrapper calls the
 * library's own parser (dlsym RTLD_NEXT) and then inspects the framing headers:
 *
 *   - Content-Length together with Transfer-Encoding, several Transfer-Encoding headers, or a
 *     Transfer-Encoding other than exactly "chunked": the Transfer-Encoding value handed to
 *     libh2o is replaced by one it does not know, so it answers 400 through
 *     h2o_send_error_generic ("unknown transfer-encoding", made JSON by the app's error filter)
 *     and closes the connection: nothing after this head is read as a request.
 *   - Several Content-Length values that differ, or one that is not all digits: the first value
 *     is replaced by one libh2o cannot parse, with the same 400 and close ("broken
 *     content-length header").
 *
 * Only header value pointers of the parser's output change; the request bytes are untouched.
 * If the symbol cannot be interposed (a static libh2o), the guard is simply not in the path:
 * h2api__http1_guard_active reports it and the integration test checks it.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "http1_guard.h"

/* picohttpparser's ABI (deps/picohttpparser/picohttpparser.h in h2o 2.2.5); Debian ships no header */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

typedef int (*phr_parse_request_fn)(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                                    size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                                    size_t last_len);

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers, size_t *num_headers, size_t last_len);

static const char refused_te[] = "x-h2api-refused-framing";
static const char refused_cl[] = "x-h2api-refused-framing";
static unsigned long num_refused;
static int guard_used;

static int name_is(const struct phr_header *h, const char *name, size_t len)
{
    return h->name_len == len && strncasecmp(h->name, name, len) == 0;
}

static int all_digits(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i != len; ++i)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Returns 1 if the head's framing was refused (and the headers were rewritten to make libh2o refuse it). */
static int guard_framing(struct phr_header *headers, size_t num_headers)
{
    struct phr_header *first_cl = NULL, *last_te = NULL;
    size_t num_te = 0;
    int cl_conflict = 0, te_bad = 0;

    for (size_t i = 0; i != num_headers; ++i) {
        struct phr_header *h = headers + i;
        if (h->name == NULL)
            continue; /* a continuation line */
        if (name_is(h, "content-length", 14)) {
            if (!all_digits(h->value, h->value_len))
                cl_conflict = 1;
            else if (first_cl == NULL)
                first_cl = h;
            else if (first_cl->value_len != h->value_len || memcmp(first_cl->value, h->value, h->value_len) != 0)
                cl_conflict = 1;
            if (first_cl == NULL)
                first_cl = h;
        } else if (name_is(h, "transfer-encoding", 17)) {
            ++num_te;
            last_te = h;
            if (!(h->value_len == 7 && strncasecmp(h->value, "chunked", 7) == 0))
                te_bad = 1;
        }
    }
    if (last_te != NULL && (first_cl != NULL || num_te > 1 || te_bad)) {
        last_te->value = refused_te;
        last_te->value_len = sizeof(refused_te) - 1;
        return 1;
    }
    if (cl_conflict) {
        first_cl->value = refused_cl;
        first_cl->value_len = sizeof(refused_cl) - 1;
        return 1;
    }
    return 0;
}

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers, size_t *num_headers, size_t last_len)
{
    static phr_parse_request_fn real;
    phr_parse_request_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        fn = (phr_parse_request_fn)dlsym(RTLD_NEXT, "phr_parse_request");
        __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&guard_used, 1, __ATOMIC_RELAXED);
    int ret = fn(buf, len, method, method_len, path, path_len, minor_version, headers, num_headers, last_len);
    if (ret > 0 && guard_framing(headers, *num_headers))
        __atomic_add_fetch(&num_refused, 1, __ATOMIC_RELAXED);
    return ret;
}

int h2api__http1_guard_active(void)
{
    return __atomic_load_n(&guard_used, __ATOMIC_RELAXED);
}

unsigned long h2api__http1_guard_refused(void)
{
    return __atomic_load_n(&num_refused, __ATOMIC_RELAXED);
}
