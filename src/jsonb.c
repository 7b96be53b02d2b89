/*
 * The JSON builder: a list of pieces in a memory pool and a stack of open containers, each
 * remembering whether it has a member yet (the comma). Spliced documents are referenced, not
 * copied, and the pieces are joined once, into one allocation, when the text is asked for (as
 * h2o_concat_list does): one copy of every upstream byte, no growing buffer.
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
    H2O_VECTOR(h2o_iovec_t) pieces;
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

/* `s` must live as long as the pool (a literal, or pool memory) */
static void append(h2api_jsonb_t *jb, const char *s, size_t len)
{
    h2o_vector_reserve(jb->pool, &jb->pieces, jb->pieces.size + 1);
    jb->pieces.entries[jb->pieces.size++] = h2o_iovec_init(s, len);
}

static void append_quoted(h2api_jsonb_t *jb, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = s[i];
        if (c < 0x20 || c == '"' || c == '\\') { /* rare in keys and details: escape through json.c */
            h2o_iovec_t quoted = h2api_json_quote(jb->pool, s, len);
            append(jb, quoted.base, quoted.len);
            return;
        }
    }
    append(jb, "\"", 1);
    append(jb, h2o_strdup(jb->pool, s, len).base, len);
    append(jb, "\"", 1);
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
    append(jb, opener == '{' ? "{" : "[", 1);
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
    append(jb, jb->closers[jb->depth] == '}' ? "}" : "]", 1);
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
    char *buf = h2o_mem_alloc_pool(jb->pool, sizeof("-9223372036854775808"));
    int len = snprintf(buf, sizeof("-9223372036854775808"), "%" PRId64, value);
    begin_value(jb, key);
    append(jb, buf, len);
}

h2api_str_t h2api_jsonb_text(h2api_jsonb_t *jb)
{
    if (jb->pieces.size > 1) { /* joined once; later writes append to the joined piece */
        h2o_iovec_t joined = h2o_concat_list(jb->pool, jb->pieces.entries, jb->pieces.size);
        jb->pieces.entries[0] = joined;
        jb->pieces.size = 1;
    }
    return jb->pieces.size != 0 ? (h2api_str_t){jb->pieces.entries[0].base, jb->pieces.entries[0].len} : (h2api_str_t){"", 0};
}

void h2api_send_jsonb(h2api_request_t *r, int status, h2api_jsonb_t *jb)
{
    if (jb->depth != 0)
        misuse("sent with a container still open");
    h2api_str_t text = h2api_jsonb_text(jb);
    h2api_send_json_nocopy(r, status, h2o_iovec_init(text.base, text.len));
}
