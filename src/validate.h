/*
 * Request body validation with FastAPI / pydantic v2 error shapes, over jansson values.
 *
 * A route declares its body model as a table of fields; the validator checks a parsed body
 * against it and collects every error (not just the first) as pydantic does, each
 * `{"type", "loc", "msg", "input"[, "ctx"]}`, where `loc` starts with "body". Coercion follows
 * pydantic's lax mode for the JSON inputs a client is likely to send: an int field takes 5,
 * 5.0 and "5"; a bool field takes true/false, 0/1 and "true"/"false"/"yes"/"no"/"on"/"off"/"1"/"0".
 * Unknown fields are ignored (pydantic's default `extra="ignore"`).
 *
 * Ownership: every json_t returned is a new reference the caller must json_decref.
 */
#ifndef h2api__validate_h
#define h2api__validate_h

#include <stddef.h>
#include <jansson.h>
#include <h2o.h>
#include "../include/h2api.h"

/* h2api_field_t and h2api_model_t, the body models routes declare, are public (include/h2api.h). */

/**
 * Parses `body` as JSON (RFC 8259, any value at the top). On a syntax error appends pydantic's
 * `json_invalid` error (loc ["body", byte offset], ctx.error = jansson's message) to `errors` and
 * returns NULL. An empty body is invalid JSON too.
 */
json_t *h2api_validate_parse(h2o_iovec_t body, json_t *errors);

/**
 * Validates `input` against `model`. `loc` is the location of `input` (e.g. ["body"] or
 * ["body", 3]); it is borrowed. Errors are appended to `errors`.
 * @return a new object holding only the model's fields, coerced (absent optional fields take
 *         their default), or NULL if `input` had any error.
 */
json_t *h2api_validate_object(const h2api_model_t *model, json_t *input, json_t *loc, json_t *errors);

/**
 * Validates that `input` is a list of `min_items`..`max_items` objects of `model`
 * (pydantic's `List[Model]` with Field(min_length, max_length): too_short / too_long errors).
 * @return a new list of validated objects, or NULL if there was any error.
 */
json_t *h2api_validate_list(const h2api_model_t *model, json_t *input, size_t min_items, size_t max_items, json_t *errors);

/** Renders `{"detail": errors}` into `pool`. */
h2o_iovec_t h2api_validate_render(h2o_mem_pool_t *pool, json_t *errors);

/** Renders any JSON value compactly (key order kept) into `pool`. */
h2o_iovec_t h2api_json_render(h2o_mem_pool_t *pool, json_t *value);

#endif
