/*
 * The JSON builder: one growing buffer in a memory pool and a stack of open containers, each
 * remembering whether it has a member yet (the comma). Upstream documents are copied in once;
 * nothing is parsed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "app.h"
#include "json.h"

#define JSONB_MAX_DEPTH 32

struct st_h2api_jsonb_t {
    h2o_mem_pool_t *pool;
    char *buf;
    size_t len, capacity;
    size_t depth;
    char closers[JSONB_MAX_DEPTH]; /* '}' or ']' of each open container */
    int has_member[JSONB_MAX_DEPTH];
    int has_top; /* a top-level value was written */
};

static void misuse(const char *what)
{
    fprintf(stderr, "h2api: JSON builder misuse: %s\n", what);
    abort();
}

static void append(h2api_jsonb_t *jb, const char *s, size_t len)
{
    if (jb->len + len > jb->capacity) {
        size_t capacity = jb->capacity * 2 > jb->len + len ? jb->capacity * 2 : jb->len + len + 256;
        char *buf = h2o_mem_alloc_pool(jb->pool, capacity);
        memcpy(buf, jb->buf, jb->len);
        jb->buf = buf;
        jb->capacity = capacity;
    }
    memcpy(jb->buf + jb->len, s, len);
    jb->len += len;
}

static void append_quoted(h2api_jsonb_t *jb, const char *s)
{
    h2o_iovec_t quoted = h2api_json_quote(jb->pool, s, strlen(s));
    append(jb, quoted.base, quoted.len);
}

/* the comma and the key before a value */
static void begin_value(h2api_jsonb_t *jb, const char *key)
{
    if (jb->depth == 0) {
        if (key != NULL || jb->has_top)
            misuse(key != NULL ? "a key outside any object" : "a second top-level value");
        jb->has_top = 1;
        return;
    }
    int in_object = jb->closers[jb->depth - 1] == '}';
    if (in_object != (key != NULL))
        misuse(in_object ? "an object member without a key" : "a key inside an array");
    if (jb->has_member[jb->depth - 1])
        append(jb, ",", 1);
    jb->has_member[jb->depth - 1] = 1;
    if (key != NULL) {
        append_quoted(jb, key);
        append(jb, ":", 1);
    }
}

static void open_container(h2api_jsonb_t *jb, const char *key, char opener, char closer)
{
    begin_value(jb, key);
    if (jb->depth == JSONB_MAX_DEPTH)
        misuse("more than 32 nested containers");
    append(jb, &opener, 1);
    jb->closers[jb->depth] = closer;
    jb->has_member[jb->depth++] = 0;
}

h2api_jsonb_t *h2api__jsonb_create(h2o_mem_pool_t *pool)
{
    h2api_jsonb_t *jb = h2o_mem_alloc_pool(pool, sizeof(*jb));
    *jb = (h2api_jsonb_t){.pool = pool};
    return jb;
}

h2api_jsonb_t *h2api_jsonb(h2api_request_t *r)
{
    return h2api__jsonb_create(&r->req->pool);
}

void h2api_jsonb_object(h2api_jsonb_t *jb, const char *key)
{
    open_container(jb, key, '{', '}');
}

void h2api_jsonb_array(h2api_jsonb_t *jb, const char *key)
{
    open_container(jb, key, '[', ']');
}

void h2api_jsonb_end(h2api_jsonb_t *jb)
{
    if (jb->depth == 0)
        misuse("an end with no open container");
    --jb->depth;
    append(jb, jb->closers + jb->depth, 1);
}

void h2api_jsonb_raw(h2api_jsonb_t *jb, const char *key, h2api_str_t json)
{
    begin_value(jb, key);
    append(jb, json.base, json.len);
}

void h2api_jsonb_str(h2api_jsonb_t *jb, const char *key, const char *value)
{
    begin_value(jb, key);
    append_quoted(jb, value);
}

void h2api_jsonb_int(h2api_jsonb_t *jb, const char *key, int64_t value)
{
    char buf[sizeof("-9223372036854775808")];
    int len = snprintf(buf, sizeof(buf), "%" PRId64, value);
    begin_value(jb, key);
    append(jb, buf, len);
}

h2api_str_t h2api_jsonb_text(h2api_jsonb_t *jb)
{
    return (h2api_str_t){jb->buf != NULL ? jb->buf : "", jb->len};
}

void h2api_send_jsonb(h2api_request_t *r, int status, h2api_jsonb_t *jb)
{
    if (jb->depth != 0)
        misuse("sent with a container still open");
    h2api_send_json_nocopy(r, status, h2o_iovec_init(jb->buf, jb->len));
}
