/*
 * Internals shared by the three parts of the configuration loader:
 *   conf_yaml.c  the YAML reader: libyaml events, FILE:LINE messages, the typed readers, and the
 *                walk of a schema table (one row per key) over a mapping;
 *   conf.c       the schema: one table per mapping, the custom readers, the checks across keys,
 *                and the public functions of conf.h;
 *   conf_env.c   the environment overrides (h2api_conf_apply_env).
 * Nothing outside these files includes this header.
 */
#ifndef h2api__conf_internal_h
#define h2api__conf_internal_h

#include <stddef.h>
#include <stdint.h>
#include "conf.h"

/* ---- memory and messages (conf_yaml.c); out of memory aborts, as in the rest of h2api ---- */

/** calloc that aborts on failure. */
void *h2api__conf_alloc(size_t n, size_t size);
/** strndup / strdup that abort on failure. */
char *h2api__conf_strndup(const char *s, size_t len);
char *h2api__conf_strdup(const char *s);
/** Frees `*slot` and stores `value` (which may be NULL) in it. */
void h2api__conf_replace_str(char **slot, char *value);
/** Writes a message into `buf` (NUL-terminated, truncated to `len`); a NULL or empty buffer is ignored. */
__attribute__((format(printf, 3, 4))) void h2api__conf_set_msg(char *buf, size_t len, const char *fmt, ...);

/* ---- text parsers, shared by the YAML readers and the environment ---- */

/**
 * Parses decimal digits into `*out`, within [min, max] (conf_yaml.c).
 * @return 0, or -EINVAL with a message in `msg` (not a number, negative, out of range); `msg` may be NULL.
 */
int h2api__conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msglen);
/**
 * Parses a listen address (conf.c): "host:port" or "[v6]:port"; host is a numeric address or
 * localhost (127.0.0.1), port 0..65535.
 * @return 0 with `*host` a new heap string, or -EINVAL with a message in `msg`.
 */
int h2api__conf_parse_listen(const char *s, char **host, uint16_t *port, char *msg, size_t msglen);
/** Parses `auto` (0) or 1..1024 worker threads (conf.c). @return 0, or -EINVAL with a message in `msg`. */
int h2api__conf_parse_workers(const char *s, unsigned *out, char *msg, size_t msglen);
/** Parses error|warn|warning|info|debug, in any case (conf.c). @return 0, or -EINVAL with a message in `msg`. */
int h2api__conf_parse_log_level(const char *s, h2api_log_level_t *out, char *msg, size_t msglen);
/** Frees the strings of a listen entry and zeroes it (conf.c). */
void h2api__conf_free_listen(h2api_conf_listen_t *l);

/* ---- the schema: one row per key (the tables are in conf.c, their walk in conf_yaml.c) ---- */

typedef struct st_h2api__conf_reader_t h2api__conf_reader_t;
typedef struct st_h2api__conf_key_t h2api__conf_key_t;

/**
 * Where the keys of one part of the config were found (key line by field address), for the checks
 * across keys: a key left out has line 0, so that its default can yield to a key that was written.
 */
typedef struct st_h2api__conf_seen_t {
    struct st_h2api__conf_seen_entry_t *entries;
    size_t num, capacity;
} h2api__conf_seen_t;
struct st_h2api__conf_seen_entry_t {
    const void *field;
    int line;
};

/** The line of the key that wrote `field`, or 0 if it was left out. */
int h2api__conf_seen_line(const h2api__conf_seen_t *seen, const void *field);
/** Frees what `seen` holds (not `seen` itself). */
void h2api__conf_seen_dispose(h2api__conf_seen_t *seen);

/** How a row's value is read, and the C type of its field. */
typedef enum en_h2api__conf_kind_t {
    H2API__CONF_MS,             /* uint64_t milliseconds, an integer from min to max */
    H2API__CONF_COUNT,          /* size_t, an integer from min to max */
    H2API__CONF_UNSIGNED,       /* unsigned, an integer from min to max */
    H2API__CONF_BYTES,          /* size_t, a size such as 8192, 64k or 8MiB, from min to max bytes */
    H2API__CONF_RATE,           /* double, such as 10 or 0.5, from 0 to max */
    H2API__CONF_BOOL,           /* int, true or false */
    H2API__CONF_STRING,         /* char * on the heap (owned by the config); null is refused */
    H2API__CONF_STRING_OR_NULL, /* the same; null gives NULL */
    H2API__CONF_MAP,            /* a nested mapping read with the table `map`, into the same base */
    H2API__CONF_CUSTOM          /* read by `read` */
} h2api__conf_kind_t;

/**
 * Reads the value of a CUSTOM row (the value's first event current, its last one current on
 * return) into the struct `base` that the row's table describes; `key_line` is the key's line.
 * @return 0, or -EINVAL after h2api__conf_error.
 */
typedef int (*h2api__conf_read_cb)(h2api__conf_reader_t *r, void *base, const h2api__conf_key_t *key, int key_line);

/**
 * One config key. A table is an array of these ended by a row with a NULL name; its order is the
 * order of the "known keys" in the message for an unknown key.
 */
struct st_h2api__conf_key_t {
    const char *name;
    h2api__conf_kind_t kind;
    uint64_t min, max;            /* bounds of MS, COUNT, UNSIGNED, BYTES (RATE: max only) */
    uint64_t def;                 /* default of MS, COUNT, UNSIGNED, BYTES, RATE and BOOL rows (the others start zeroed) */
    size_t offset;                /* of the field in the table's struct (offsetof) */
    const h2api__conf_key_t *map; /* MAP: the nested mapping's table */
    h2api__conf_read_cb read;     /* CUSTOM: its reader */
    const char *doc;              /* what the key means; config/h2api.yaml says more */
};

/** Stores the defaults of the numeric and boolean rows of `keys` (and of nested MAP tables) into `base`. */
void h2api__conf_set_defaults(const h2api__conf_key_t *keys, void *base);

/* ---- the YAML reader (conf_yaml.c) ---- */

/**
 * Runs the checks across the keys of the whole document, with the reader still open for messages.
 * @return 0, or -EINVAL after h2api__conf_error.
 */
typedef int (*h2api__conf_finish_cb)(h2api__conf_reader_t *r, void *base, const h2api__conf_seen_t *seen);

/**
 * Reads the one YAML document in `text` (`len` bytes; `name` is the file name in messages) with
 * the top-level table `keys` into `base`, then calls `finish` (also for an empty document).
 * @return 0, or -EINVAL with "NAME:LINE: message" in errbuf.
 */
int h2api__conf_read_yaml(const char *name, const char *text, size_t len, const h2api__conf_key_t *keys, void *base,
                          h2api__conf_finish_cb finish, char *errbuf, size_t errlen);

/** Reports "NAME:LINE: PATH: message" (PATH, the dotted key path, left out at the top level). @return -EINVAL. */
__attribute__((format(printf, 3, 4))) int h2api__conf_error(h2api__conf_reader_t *r, int line, const char *fmt, ...);
/** The line of the current value. */
int h2api__conf_line(const h2api__conf_reader_t *r);
/** Whether the current value is a mapping, or a scalar (null included). */
int h2api__conf_is_mapping(const h2api__conf_reader_t *r);
int h2api__conf_is_scalar(const h2api__conf_reader_t *r);
/** Whether the current value is null (a plain ~, null or nothing). */
int h2api__conf_is_null(const h2api__conf_reader_t *r);
/** Whether the current scalar is plain and untagged (or has a non-string tag): YAML types it by its text. */
int h2api__conf_is_plain(const h2api__conf_reader_t *r);
/** The text of the current scalar. */
const char *h2api__conf_scalar(const h2api__conf_reader_t *r);
/** Names the current value for "got ..." in messages: plain scalars bare, quoted ones in quotes. */
const char *h2api__conf_describe(const h2api__conf_reader_t *r, char *buf, size_t len);
/** Checks that the current value is a non-null scalar (quoted or plain); `what` names what was expected. */
int h2api__conf_expect_text(h2api__conf_reader_t *r, const char *what);
/** Reads an integer from min to max. */
int h2api__conf_read_uint(h2api__conf_reader_t *r, uint64_t min, uint64_t max, uint64_t *out);
/** Reads a string into `*out` (replacing it); null gives NULL when `nullable`, else an error. */
int h2api__conf_read_string(h2api__conf_reader_t *r, int nullable, char **out);

typedef int (*h2api__conf_pair_cb)(h2api__conf_reader_t *r, void *ctx, const char *key, int key_line);
typedef int (*h2api__conf_item_cb)(h2api__conf_reader_t *r, void *ctx, size_t index);

/** Reads a mapping with any keys, calling `cb` with each value current. Null counts as empty. */
int h2api__conf_read_pairs(h2api__conf_reader_t *r, h2api__conf_pair_cb cb, void *ctx);
/** Reads a sequence, calling `cb` with each item current; null is empty, and so is []. */
int h2api__conf_read_seq(h2api__conf_reader_t *r, h2api__conf_item_cb cb, void *ctx);
/**
 * Reads a mapping whose keys are the rows of `keys` into `base`; unknown and repeated keys are
 * errors, null counts as an empty mapping. The line of each key found (but MAP rows) goes into
 * `seen` (may be NULL), nested MAP tables included.
 */
int h2api__conf_read_map(h2api__conf_reader_t *r, const h2api__conf_key_t *keys, void *base, h2api__conf_seen_t *seen);

#endif
