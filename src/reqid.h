/*
 * Request ids (X-Request-ID): checking a client's id and making our own.
 *
 * Pure C with no h2o dependency so that it is unit tested on its own; app.h includes it.
 */
#ifndef h2api__reqid_h
#define h2api__reqid_h

#include <stddef.h>
#include <stdint.h>

#define H2API_REQUEST_ID_MAX_LEN 128
/* A generated id: 32 lower-case hex digits. */
#define H2API_REQUEST_ID_GENERATED_LEN 32

/**
 * 1 if `id` is a sane client-supplied X-Request-ID: 1..H2API_REQUEST_ID_MAX_LEN bytes of
 * [A-Za-z0-9._:-]; 0 otherwise (empty, too long, any other byte such as a space, a quote, a
 * control character or a non-ASCII byte). `id` need not be NUL-terminated and may be NULL when
 * `len` is 0. Anything else is replaced by a generated id, so that a log line never carries
 * what a client chose to inject.
 */
int h2api_request_id_is_sane(const char *id, size_t len);

/**
 * Writes a new request id, H2API_REQUEST_ID_GENERATED_LEN lower-case hex digits (128 bits from
 * two steps of an xorshift128+ generator), into `buf` (at least 33 bytes, NUL-terminated).
 * `state` is a per-worker generator state that the caller seeds from getrandom(2); if both of
 * its words are 0 it is seeded here. It must not be shared between threads.
 * Not a cryptographic id: it is predictable from earlier ids, and is only meant to be unique
 * enough to correlate log lines; never use it as a secret or a token.
 */
void h2api_request_id_generate(uint64_t state[2], char *buf);

#endif
