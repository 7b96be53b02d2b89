/*
 * The little JSON we write by hand on hot paths: escaped strings and error bodies. Parsing and
 * validation use jansson (Debian libjansson-dev) where a body must be inspected.
 */
#ifndef h2api__json_h
#define h2api__json_h

#include <h2o.h>

/**
 * Returns `s` (`len` bytes, UTF-8 expected) as a JSON string literal, quotes included,
 * allocated in `pool`. Control characters, '"' and '\\' are escaped (RFC 8259 §7); bytes >= 0x80
 * are copied as they are.
 */
h2o_iovec_t h2api_json_quote(h2o_mem_pool_t *pool, const char *s, size_t len);

/** Returns `{"detail":<quoted detail>}` allocated in `pool` (FastAPI's HTTPException shape). */
h2o_iovec_t h2api_json_detail(h2o_mem_pool_t *pool, const char *detail);

/**
 * 1 if `body` is a JSON array with no element (`[]` with optional whitespace), 0 otherwise.
 * Looks only at the first and last non-space bytes: the caller trusts the upstream's
 * application/json content for the rest.
 */
int h2api_json_is_empty_array(h2o_iovec_t body);

#endif
