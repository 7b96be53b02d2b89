/*
 * The YAML reader of the configuration loader: libyaml's event API, with FILE:LINE in every
 * message, and the walk of a schema table (conf_internal.h) over a mapping.
 *
 * The reader walks the event stream by recursive descent. Each `read_*` function starts with the
 * first event of its value current and returns with the last one current (the scalar itself, or
 * the matching MAPPING_END / SEQUENCE_END), so a caller never sees a half-read value. Every error
 * is fatal: the first one fills errbuf and unwinds, so no value ever needs skipping.
 *
 * libyaml does not resolve scalar types, so this file does: a plain, untagged scalar may be a
 * number, a boolean or null; a quoted one (or `!!str`) is always a string. Numbers are decimal
 * digits only (no sign, no `0x`, no `1_000`), which refuses YAML 1.1's octal and sexagesimal
 * surprises instead of guessing.
 *
 * Strings in the config are heap copies owned by the config (h2api_conf_free); out of memory
 * aborts, as in the rest of h2api.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "conf_internal.h"

/* ---- memory and messages ---- */

void *h2api__conf_alloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

char *h2api__conf_strndup(const char *s, size_t len)
{
    char *p = strndup(s, len);
    if (p == NULL)
        abort();
    return p;
}

char *h2api__conf_strdup(const char *s)
{
    return h2api__conf_strndup(s, strlen(s));
}

void h2api__conf_replace_str(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

void h2api__conf_set_msg(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- numbers ---- */

int h2api__conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen)
{
    uint64_t v = 0;
    const char *p;

    if (s[0] == '-' && isdigit((unsigned char)s[1])) {
        h2api__conf_set_msg(msg, msglen, "must not be negative, got %s", s);
        return -EINVAL;
    }
    if (*s == '\0') {
        h2api__conf_set_msg(msg, msglen, "expected an integer, got nothing");
        return -EINVAL;
    }
    for (p = s; *p != '\0'; ++p) {
        if (!isdigit((unsigned char)*p)) {
            h2api__conf_set_msg(msg, msglen, "expected an integer, got %s", s);
            return -EINVAL;
        }
        if (v > (UINT64_MAX - 9) / 10) {
            v = UINT64_MAX; /* saturate; the range check below refuses it */
            continue;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min || v > max) {
        h2api__conf_set_msg(msg, msglen, "must be from %llu to %llu, got %s", (unsigned long long)min, (unsigned long long)max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/**
 * Parses a size: decimal digits, optionally followed by a binary suffix k|K|KiB, m|M|MiB, g|G|GiB.
 * @return 0, or -EINVAL with a message in `msg`.
 */
static int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } suffixes[] = {{"", 0},   {"k", 10},   {"K", 10}, {"KiB", 10}, {"m", 20},
                    {"M", 20}, {"MiB", 20}, {"g", 30}, {"G", 30},   {"GiB", 30}};
    const char *p = s;
    uint64_t v = 0;
    size_t i;

    if (s[0] == '-' && isdigit((unsigned char)s[1])) {
        h2api__conf_set_msg(msg, msglen, "must not be negative, got %s", s);
        return -EINVAL;
    }
    for (; isdigit((unsigned char)*p); ++p)
        v = v > UINT64_MAX / 20 ? UINT64_MAX / 2 : v * 10 + (uint64_t)(*p - '0');
    for (i = 0; i != sizeof(suffixes) / sizeof(suffixes[0]); ++i)
        if (strcmp(p, suffixes[i].suffix) == 0)
            break;
    if (p == s || i == sizeof(suffixes) / sizeof(suffixes[0])) {
        h2api__conf_set_msg(msg, msglen, "expected a size such as 8192, 64k, 1m or 8MiB, got %s", s);
        return -EINVAL;
    }
    v = v > (UINT64_MAX >> suffixes[i].shift) ? UINT64_MAX : v << suffixes[i].shift;
    if (v < min || v > max) {
        h2api__conf_set_msg(msg, msglen, "must be from %llu to %llu bytes, got %s", (unsigned long long)min,
                            (unsigned long long)max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* ---- the reader ---- */

struct st_h2api__conf_reader_t {
    yaml_parser_t parser;
    yaml_event_t event; /* the current event, valid when has_event */
    int has_event;
    const char *name; /* file name for messages */
    const char *text; /* the whole input, to find the line of a reader (encoding) error */
    size_t len;
    char path[256]; /* dotted key path of the current value, e.g. "upstreams.api.retry.attempts" */
    char *errbuf;
    size_t errlen;
};

int h2api__conf_line(const h2api__conf_reader_t *r)
{
    return (int)r->event.start_mark.line + 1;
}

int h2api__conf_error(h2api__conf_reader_t *r, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->path[0] != '\0')
        h2api__conf_set_msg(r->errbuf, r->errlen, "%s:%d: %s: %s", r->name, line, r->path, msg);
    else
        h2api__conf_set_msg(r->errbuf, r->errlen, "%s:%d: %s", r->name, line, msg);
    return -EINVAL;
}

static int syntax_error(h2api__conf_reader_t *r)
{
    size_t line = 1;

    switch (r->parser.error) {
    case YAML_MEMORY_ERROR:
        abort();
    case YAML_READER_ERROR: /* bad encoding: only a byte offset is known */
        for (size_t i = 0; i != r->parser.problem_offset && i < r->len; ++i)
            if (r->text[i] == '\n')
                ++line;
        break;
    default:
        line = r->parser.problem_mark.line + 1;
        break;
    }
    if (r->parser.context != NULL)
        h2api__conf_set_msg(r->errbuf, r->errlen, "%s:%zu: YAML syntax error: %s (%s at line %zu)", r->name, line,
                            r->parser.problem, r->parser.context, r->parser.context_mark.line + 1);
    else
        h2api__conf_set_msg(r->errbuf, r->errlen, "%s:%zu: YAML syntax error: %s", r->name, line,
                            r->parser.problem != NULL ? r->parser.problem : "unknown error");
    return -EINVAL;
}

/** Moves to the next event; aliases are refused (each value is written once). */
static int next_event(h2api__conf_reader_t *r)
{
    if (r->has_event) {
        yaml_event_delete(&r->event);
        r->has_event = 0;
    }
    if (!yaml_parser_parse(&r->parser, &r->event))
        return syntax_error(r);
    r->has_event = 1;
    if (r->event.type == YAML_ALIAS_EVENT)
        return h2api__conf_error(r, h2api__conf_line(r), "aliases (*%s) are not supported",
                                 (const char *)r->event.data.alias.anchor);
    return 0;
}

/** Appends ".key" (or "key" at the top level) to the path. @return the mark that path_pop goes back to. */
static size_t path_push_key(h2api__conf_reader_t *r, const char *key)
{
    size_t len = strlen(r->path);
    snprintf(r->path + len, sizeof(r->path) - len, "%s%s", len == 0 ? "" : ".", key);
    return len;
}

/** Appends "[index]" to the path. @return the mark that path_pop goes back to. */
static size_t path_push_index(h2api__conf_reader_t *r, size_t index)
{
    size_t len = strlen(r->path);
    snprintf(r->path + len, sizeof(r->path) - len, "[%zu]", index);
    return len;
}

static void path_pop(h2api__conf_reader_t *r, size_t mark)
{
    r->path[mark] = '\0';
}

int h2api__conf_is_mapping(const h2api__conf_reader_t *r)
{
    return r->event.type == YAML_MAPPING_START_EVENT;
}

int h2api__conf_is_scalar(const h2api__conf_reader_t *r)
{
    return r->event.type == YAML_SCALAR_EVENT;
}

const char *h2api__conf_scalar(const h2api__conf_reader_t *r)
{
    return (const char *)r->event.data.scalar.value;
}

int h2api__conf_is_plain(const h2api__conf_reader_t *r)
{
    const char *tag = (const char *)r->event.data.scalar.tag;
    if (tag == NULL)
        return r->event.data.scalar.plain_implicit;
    return strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0;
}

int h2api__conf_is_null(const h2api__conf_reader_t *r)
{
    const char *s;
    if (r->event.type != YAML_SCALAR_EVENT || !h2api__conf_is_plain(r))
        return 0;
    s = h2api__conf_scalar(r);
    return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *h2api__conf_describe(const h2api__conf_reader_t *r, char *buf, size_t len)
{
    switch (r->event.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_SCALAR_EVENT:
        if (h2api__conf_is_null(r))
            return "nothing";
        snprintf(buf, len, h2api__conf_is_plain(r) ? "%.60s" : "\"%.60s\"", h2api__conf_scalar(r));
        return buf;
    default:
        return "something else";
    }
}

/** Reports "expected WHAT, got ..." for the current value. @return -EINVAL. */
static int expected(h2api__conf_reader_t *r, const char *what)
{
    char buf[80];
    return h2api__conf_error(r, h2api__conf_line(r), "expected %s, got %s", what, h2api__conf_describe(r, buf, sizeof(buf)));
}

/** Checks that the current value is a typed (plain) scalar; `what` names the expected type. */
static int expect_plain(h2api__conf_reader_t *r, const char *what)
{
    if (r->event.type != YAML_SCALAR_EVENT || !h2api__conf_is_plain(r) || h2api__conf_is_null(r))
        return expected(r, what);
    return 0;
}

int h2api__conf_expect_text(h2api__conf_reader_t *r, const char *what)
{
    if (r->event.type != YAML_SCALAR_EVENT || h2api__conf_is_null(r))
        return expected(r, what);
    return 0;
}

/* ---- the typed readers ---- */

/** A text parser of numbers: h2api__conf_parse_uint or parse_size. */
typedef int (*parse_cb)(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen);

/** Reads a plain scalar with `parse`; `what` names it in messages. */
static int read_parsed(h2api__conf_reader_t *r, const char *what, parse_cb parse, uint64_t min, uint64_t max, uint64_t *out)
{
    char msg[256];
    int ret;
    if ((ret = expect_plain(r, what)) != 0)
        return ret;
    if (parse(h2api__conf_scalar(r), min, max, out, msg, sizeof(msg)) != 0)
        return h2api__conf_error(r, h2api__conf_line(r), "%s", msg);
    return 0;
}

int h2api__conf_read_uint(h2api__conf_reader_t *r, uint64_t min, uint64_t max, uint64_t *out)
{
    return read_parsed(r, "an integer", h2api__conf_parse_uint, min, max, out);
}

/** A rate: digits with an optional fraction ("0.5", "20"), 0..max. */
static int read_rate(h2api__conf_reader_t *r, uint64_t max, double *out)
{
    const char *s, *p;
    double v;
    int ret;

    if ((ret = expect_plain(r, "a number")) != 0)
        return ret;
    s = h2api__conf_scalar(r);
    if (s[0] == '-')
        return h2api__conf_error(r, h2api__conf_line(r), "must not be negative, got %s", s);
    for (p = s; isdigit((unsigned char)*p); ++p)
        ;
    if (p != s && *p == '.')
        for (++p; isdigit((unsigned char)*p); ++p)
            ;
    if (p == s || *p != '\0')
        return expected(r, "a number such as 10 or 0.5");
    v = strtod(s, NULL);
    if (v > (double)max)
        return h2api__conf_error(r, h2api__conf_line(r), "must be from 0 to %llu, got %s", (unsigned long long)max, s);
    *out = v;
    return 0;
}

static int read_bool(h2api__conf_reader_t *r, uint64_t *out)
{
    const char *s = r->event.type == YAML_SCALAR_EVENT ? h2api__conf_scalar(r) : "";
    if (r->event.type == YAML_SCALAR_EVENT && h2api__conf_is_plain(r)) {
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
            *out = 0;
            return 0;
        }
    }
    return expected(r, "true or false");
}

int h2api__conf_read_string(h2api__conf_reader_t *r, int nullable, char **out)
{
    int ret;
    if (nullable && h2api__conf_is_null(r)) {
        h2api__conf_replace_str(out, NULL);
        return 0;
    }
    if ((ret = h2api__conf_expect_text(r, "a string")) != 0)
        return ret;
    h2api__conf_replace_str(out, h2api__conf_strdup(h2api__conf_scalar(r)));
    return 0;
}

/* ---- mappings and sequences ---- */

/**
 * Checks that the current value opens a collection (`start` names its kind; `what` says it in
 * messages). @return 1 to read it, 0 for null (an empty one), or -EINVAL.
 */
static int enter(h2api__conf_reader_t *r, yaml_event_type_t start, const char *what)
{
    if (h2api__conf_is_null(r))
        return 0;
    if (r->event.type != start)
        return expected(r, what);
    return 1;
}

int h2api__conf_read_pairs(h2api__conf_reader_t *r, h2api__conf_pair_cb cb, void *ctx)
{
    int ret;

    if ((ret = enter(r, YAML_MAPPING_START_EVENT, "a mapping")) <= 0)
        return ret;
    for (;;) {
        char *key;
        int key_line;
        size_t mark;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (r->event.type != YAML_SCALAR_EVENT || h2api__conf_is_null(r))
            return expected(r, "a key");
        key = h2api__conf_strdup(h2api__conf_scalar(r));
        key_line = h2api__conf_line(r);
        mark = path_push_key(r, key);
        if ((ret = next_event(r)) == 0)
            ret = cb(r, ctx, key, key_line);
        path_pop(r, mark);
        free(key);
        if (ret != 0)
            return ret;
    }
}

int h2api__conf_read_seq(h2api__conf_reader_t *r, h2api__conf_item_cb cb, void *ctx)
{
    int ret;

    if ((ret = enter(r, YAML_SEQUENCE_START_EVENT, "a sequence")) <= 0)
        return ret;
    for (size_t i = 0;; ++i) {
        size_t mark;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        mark = path_push_index(r, i);
        ret = cb(r, ctx, i);
        path_pop(r, mark);
        if (ret != 0)
            return ret;
    }
}

/* ---- the schema walk ---- */

int h2api__conf_seen_line(const h2api__conf_seen_t *seen, const void *field)
{
    for (size_t i = 0; i != seen->num; ++i)
        if (seen->entries[i].field == field)
            return seen->entries[i].line;
    return 0;
}

void h2api__conf_seen_dispose(h2api__conf_seen_t *seen)
{
    free(seen->entries);
    *seen = (h2api__conf_seen_t){NULL};
}

static void seen_add(h2api__conf_seen_t *seen, const void *field, int line)
{
    if (seen->num == seen->capacity) {
        seen->capacity = seen->capacity == 0 ? 32 : seen->capacity * 2;
        if ((seen->entries = realloc(seen->entries, seen->capacity * sizeof(seen->entries[0]))) == NULL)
            abort();
    }
    seen->entries[seen->num++] = (struct st_h2api__conf_seen_entry_t){field, line};
}

/** Stores `v` into `field`, in the C type of a numeric or boolean row of kind `kind`. */
static void store(h2api__conf_kind_t kind, void *field, uint64_t v)
{
    switch (kind) {
    case H2API__CONF_MS:
        *(uint64_t *)field = v;
        break;
    case H2API__CONF_COUNT:
    case H2API__CONF_BYTES:
        *(size_t *)field = (size_t)v;
        break;
    case H2API__CONF_UNSIGNED:
        *(unsigned *)field = (unsigned)v;
        break;
    case H2API__CONF_RATE:
        *(double *)field = (double)v;
        break;
    case H2API__CONF_BOOL:
        *(int *)field = (int)v;
        break;
    case H2API__CONF_STRING:
    case H2API__CONF_STRING_OR_NULL:
    case H2API__CONF_MAP:
    case H2API__CONF_CUSTOM:
        break;
    }
}

void h2api__conf_set_defaults(const h2api__conf_key_t *keys, void *base)
{
    for (const h2api__conf_key_t *k = keys; k->name != NULL; ++k) {
        if (k->kind == H2API__CONF_MAP)
            h2api__conf_set_defaults(k->map, base);
        else
            store(k->kind, (char *)base + k->offset, k->def);
    }
}

/** Reads the value of a row that store() writes (MS, COUNT, UNSIGNED, BYTES or BOOL) into `*v`. */
static int read_number(h2api__conf_reader_t *r, const h2api__conf_key_t *k, uint64_t *v)
{
    switch (k->kind) {
    case H2API__CONF_BYTES:
        return read_parsed(r, "a size", parse_size, k->min, k->max, v);
    case H2API__CONF_BOOL:
        return read_bool(r, v);
    default:
        return h2api__conf_read_uint(r, k->min, k->max, v);
    }
}

/** Reads the value of the row `k` into its field of `base`. */
static int read_value(h2api__conf_reader_t *r, const h2api__conf_key_t *k, void *base, h2api__conf_seen_t *seen, int key_line)
{
    void *field = (char *)base + k->offset;
    uint64_t v;
    int ret;

    switch (k->kind) {
    case H2API__CONF_RATE:
        return read_rate(r, k->max, field);
    case H2API__CONF_STRING:
    case H2API__CONF_STRING_OR_NULL:
        return h2api__conf_read_string(r, k->kind == H2API__CONF_STRING_OR_NULL, field);
    case H2API__CONF_MAP:
        return h2api__conf_read_map(r, k->map, base, seen);
    case H2API__CONF_CUSTOM:
        return k->read(r, base, k, key_line);
    case H2API__CONF_MS:
    case H2API__CONF_COUNT:
    case H2API__CONF_UNSIGNED:
    case H2API__CONF_BYTES:
    case H2API__CONF_BOOL:
        break;
    }
    if ((ret = read_number(r, k, &v)) == 0)
        store(k->kind, field, v);
    return ret;
}

struct st_map_ctx_t {
    const h2api__conf_key_t *keys;
    size_t num_keys;
    int *lines; /* of each row's key in this mapping, 0 while not found */
    void *base;
    h2api__conf_seen_t *seen;
};

static int on_map_pair(h2api__conf_reader_t *r, void *_m, const char *key, int key_line)
{
    struct st_map_ctx_t *m = _m;
    const h2api__conf_key_t *k;
    size_t i;

    for (i = 0; i != m->num_keys; ++i)
        if (strcmp(m->keys[i].name, key) == 0)
            break;
    if (i == m->num_keys) {
        char known[512];
        size_t len = 0;
        for (size_t j = 0; j != m->num_keys && len < sizeof(known); ++j)
            len += snprintf(known + len, sizeof(known) - len, "%s%s", j == 0 ? "" : ", ", m->keys[j].name);
        return h2api__conf_error(r, key_line, "unknown key (known keys: %s)", known);
    }
    if (m->lines[i] != 0)
        return h2api__conf_error(r, key_line, "duplicate key (first on line %d)", m->lines[i]);
    m->lines[i] = key_line;
    k = &m->keys[i];
    if (m->seen != NULL && k->kind != H2API__CONF_MAP) /* a mapping's address is that of its first field */
        seen_add(m->seen, (char *)m->base + k->offset, key_line);
    return read_value(r, k, m->base, m->seen, key_line);
}

int h2api__conf_read_map(h2api__conf_reader_t *r, const h2api__conf_key_t *keys, void *base, h2api__conf_seen_t *seen)
{
    struct st_map_ctx_t m = {keys, 0, NULL, base, seen};
    int ret;

    while (keys[m.num_keys].name != NULL)
        ++m.num_keys;
    m.lines = h2api__conf_alloc(m.num_keys, sizeof(m.lines[0]));
    ret = h2api__conf_read_pairs(r, on_map_pair, &m);
    free(m.lines);
    return ret;
}

/* ---- the document ---- */

/** Reads the one document of the stream with the top-level table, then runs `finish`. */
static int read_document(h2api__conf_reader_t *r, const h2api__conf_key_t *keys, void *base, h2api__conf_seen_t *seen,
                         h2api__conf_finish_cb finish)
{
    int ret;

    if ((ret = next_event(r)) != 0) /* STREAM_START */
        return ret;
    if ((ret = next_event(r)) != 0)
        return ret;
    if (r->event.type == YAML_DOCUMENT_START_EVENT) {
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type == YAML_MAPPING_START_EVENT) {
            if ((ret = h2api__conf_read_map(r, keys, base, seen)) != 0)
                return ret;
        } else if (!h2api__conf_is_null(r)) {
            return expected(r, "a mapping of settings at the top level");
        }
        if ((ret = next_event(r)) != 0) /* DOCUMENT_END */
            return ret;
        if ((ret = next_event(r)) != 0)
            return ret;
        if (r->event.type != YAML_STREAM_END_EVENT)
            return h2api__conf_error(r, h2api__conf_line(r), "only one YAML document is allowed");
    }
    return finish(r, base, seen);
}

int h2api__conf_read_yaml(const char *name, const char *text, size_t len, const h2api__conf_key_t *keys, void *base,
                          h2api__conf_finish_cb finish, char *errbuf, size_t errlen)
{
    h2api__conf_reader_t r = {.name = name, .text = text, .len = len, .errbuf = errbuf, .errlen = errlen};
    h2api__conf_seen_t seen = {NULL};
    int ret;

    if (!yaml_parser_initialize(&r.parser))
        abort();
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    ret = read_document(&r, keys, base, &seen, finish);
    if (r.has_event)
        yaml_event_delete(&r.event);
    yaml_parser_delete(&r.parser);
    h2api__conf_seen_dispose(&seen);
    return ret;
}
