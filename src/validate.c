#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "validate.h"

/* Appends one pydantic-shaped error; steals the references to `loc`, `input` (incref'd by the caller) and `ctx`. */
static void add_error(json_t *errors, const char *type, json_t *loc, const char *msg, json_t *input, json_t *ctx)
{
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "loc", loc);
    json_object_set_new(e, "msg", json_string(msg));
    json_object_set_new(e, "input", input != NULL ? input : json_null());
    if (ctx != NULL)
        json_object_set_new(e, "ctx", ctx);
    json_array_append_new(errors, e);
}

static json_t *loc_with(json_t *loc, json_t *key)
{
    json_t *l = json_copy(loc);
    json_array_append_new(l, key);
    return l;
}

/*
 * Where Python's json module says decoding stopped (JSONDecodeError.pos, which FastAPI reports):
 * the end of the input when it ran out, else the first byte of the offending token. jansson's
 * position counts the whole offending token as read, so step back over it.
 */
static size_t python_error_offset(h2o_iovec_t body, const json_error_t *err)
{
    if (json_error_code(err) == json_error_premature_end_of_input)
        return body.len;
    size_t read = err->position > 0 ? (size_t)err->position : 0, p = read > 0 ? read - 1 : 0;
    if (p >= body.len)
        return body.len;
    if (isalnum((unsigned char)body.base[p])) {
        while (p > 0 && isalnum((unsigned char)body.base[p - 1]))
            --p;
    } else if (body.base[p] == '"' && p > 0) {
        /* a whole string was read: back to its opening quote */
        size_t q = p - 1;
        while (q > 0 && !(body.base[q] == '"' && body.base[q - 1] != '\\'))
            --q;
        if (body.base[q] == '"')
            p = q;
    }
    return p;
}

json_t *h2api_validate_parse(h2o_iovec_t body, json_t *errors)
{
    if (body.len == 0) {
        /* FastAPI treats no body at all as a missing required field */
        add_error(errors, "missing", json_pack("[s]", "body"), "Field required", json_null(), NULL);
        return NULL;
    }
    json_error_t err;
    json_t *value = json_loadb(body.base, body.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (value == NULL) {
        json_t *ctx = json_object();
        json_object_set_new(ctx, "error", json_string(err.text));
        add_error(errors, "json_invalid", json_pack("[s,I]", "body", (json_int_t)python_error_offset(body, &err)),
                  "JSON decode error", json_object(), ctx);
    } else if (json_is_null(value)) {
        json_decref(value);
        add_error(errors, "missing", json_pack("[s]", "body"), "Field required", json_null(), NULL);
        value = NULL;
    }
    return value;
}

/* pydantic's lax int: integers, floats without a fraction, decimal strings (also "5.0") */
static int coerce_int(json_t *in, long long *out, const char **type, const char **msg)
{
    switch (json_typeof(in)) {
    case JSON_INTEGER:
        *out = json_integer_value(in);
        return 1;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = json_is_true(in);
        return 1;
    case JSON_REAL: {
        double d = json_real_value(in);
        if (d == floor(d) && fabs(d) < 9.2e18) {
            *out = (long long)d;
            return 1;
        }
        *type = "int_from_float";
        *msg = "Input should be a valid integer, got a number with a fractional part";
        return 0;
    }
    case JSON_STRING: {
        /* like int(str.strip()), or digits with a zero fraction ("5.00"; not "5." nor "1e3") */
        const char *s = json_string_value(in);
        if (strlen(s) != json_string_length(in)) {
            *type = "int_parsing";
            *msg = "Input should be a valid integer, unable to parse string as an integer";
            return 0; /* a NUL inside: not a number */
        }
        char *end;
        while (isspace((unsigned char)*s))
            ++s;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end != s && errno == 0 && *end == '.' && end[1] == '0') {
            char *zeros = end + 1;
            while (*zeros == '0')
                ++zeros;
            end = zeros;
        }
        while (isspace((unsigned char)*end))
            ++end;
        if (end != s && errno == 0 && *end == '\0') {
            *out = v;
            return 1;
        }
        *type = "int_parsing";
        *msg = "Input should be a valid integer, unable to parse string as an integer";
        return 0;
    }
    default:
        *type = "int_type";
        *msg = "Input should be a valid integer";
        return 0;
    }
}

/* pydantic's lax bool */
static int coerce_bool(json_t *in, int *out, const char **type, const char **msg)
{
    static const char *const truthy[] = {"true", "yes", "on", "1", "t", "y"}, *const falsy[] = {"false", "no", "off", "0", "f", "n"};
    *type = "bool_parsing";
    *msg = "Input should be a valid boolean, unable to interpret input";
    switch (json_typeof(in)) {
    case JSON_TRUE:
    case JSON_FALSE:
        *out = json_is_true(in);
        return 1;
    case JSON_INTEGER:
        if (json_integer_value(in) == 0 || json_integer_value(in) == 1) {
            *out = json_integer_value(in) == 1;
            return 1;
        }
        return 0;
    case JSON_REAL:
        if (json_real_value(in) == 0.0 || json_real_value(in) == 1.0) {
            *out = json_real_value(in) == 1.0;
            return 1;
        }
        return 0;
    case JSON_STRING:
        if (strlen(json_string_value(in)) != json_string_length(in))
            return 0; /* a NUL inside: not a word */
        for (size_t i = 0; i != sizeof(truthy) / sizeof(truthy[0]); ++i) {
            if (strcasecmp(json_string_value(in), truthy[i]) == 0)
                return *out = 1, 1;
            if (strcasecmp(json_string_value(in), falsy[i]) == 0)
                return *out = 0, 1;
        }
        return 0;
    default:
        *type = "bool_type";
        *msg = "Input should be a valid boolean";
        return 0;
    }
}

static size_t utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i != len; ++i)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* Validates one field (takes `loc`); returns the coerced value (new reference) or NULL after adding an error. */
static json_t *validate_field(const h2api_field_t *f, json_t *in, json_t *loc, json_t *errors)
{
    const char *type = NULL, *msg = NULL;
    char buf[128];
    switch (f->type) {
    case H2API_FIELD_STR:
        if (!json_is_string(in)) {
            add_error(errors, "string_type", loc, "Input should be a valid string", json_incref(in), NULL);
            return NULL;
        }
        if (f->min_length != 0 && utf8_length(json_string_value(in), json_string_length(in)) < f->min_length) {
            snprintf(buf, sizeof(buf), "String should have at least %zu character%s", f->min_length, f->min_length == 1 ? "" : "s");
            add_error(errors, "string_too_short", loc, buf, json_incref(in), json_pack("{s:I}", "min_length", (json_int_t)f->min_length));
            return NULL;
        }
        json_decref(loc);
        return json_incref(in);
    case H2API_FIELD_INT: {
        long long v;
        if (!coerce_int(in, &v, &type, &msg)) {
            add_error(errors, type, loc, msg, json_incref(in), NULL);
            return NULL;
        }
        if (f->has_ge && v < f->ge) {
            snprintf(buf, sizeof(buf), "Input should be greater than or equal to %lld", f->ge);
            add_error(errors, "greater_than_equal", loc, buf, json_incref(in), json_pack("{s:I}", "ge", (json_int_t)f->ge));
            return NULL;
        }
        json_decref(loc);
        return json_integer(v);
    }
    case H2API_FIELD_BOOL: {
        int v;
        if (!coerce_bool(in, &v, &type, &msg)) {
            add_error(errors, type, loc, msg, json_incref(in), NULL);
            return NULL;
        }
        json_decref(loc);
        return json_boolean(v);
    }
    }
    json_decref(loc);
    return NULL;
}

json_t *h2api_validate_object(const h2api_model_t *model, json_t *input, json_t *loc, json_t *errors)
{
    if (!json_is_object(input)) {
        /* what FastAPI answers when a body model gets a list, a string or a number */
        add_error(errors, "model_attributes_type", json_copy(loc),
                  "Input should be a valid dictionary or object to extract fields from", json_incref(input), NULL);
        return NULL;
    }
    size_t num_errors = json_array_size(errors);
    json_t *out = json_object();
    for (size_t i = 0; i != model->num_fields; ++i) {
        const h2api_field_t *f = model->fields + i;
        json_t *in = json_object_get(input, f->name);
        if (in == NULL) {
            if (f->required) {
                add_error(errors, "missing", loc_with(loc, json_string(f->name)), "Field required", json_incref(input), NULL);
            } else if (f->default_json != NULL) {
                json_object_set_new(out, f->name, json_loads(f->default_json, JSON_DECODE_ANY, NULL));
            }
            continue;
        }
        json_t *v = validate_field(f, in, loc_with(loc, json_string(f->name)), errors);
        if (v != NULL)
            json_object_set_new(out, f->name, v);
    }
    if (json_array_size(errors) != num_errors) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *h2api_validate_list(const h2api_model_t *model, json_t *input, size_t min_items, size_t max_items, json_t *errors)
{
    char buf[160];
    if (!json_is_array(input)) {
        add_error(errors, "list_type", json_pack("[s]", "body"), "Input should be a valid list", json_incref(input), NULL);
        return NULL;
    }
    size_t n = json_array_size(input);
    if (n < min_items || n > max_items) {
        int too_short = n < min_items;
        snprintf(buf, sizeof(buf), "List should have at %s %zu item%s after validation, not %zu", too_short ? "least" : "most",
                 too_short ? min_items : max_items, (too_short ? min_items : max_items) == 1 ? "" : "s", n);
        add_error(errors, too_short ? "too_short" : "too_long", json_pack("[s]", "body"), buf, json_incref(input),
                  json_pack("{s:s,s:I,s:I}", "field_type", "List", too_short ? "min_length" : "max_length",
                            (json_int_t)(too_short ? min_items : max_items), "actual_length", (json_int_t)n));
        return NULL;
    }
    json_t *out = json_array();
    int ok = 1;
    for (size_t i = 0; i != n; ++i) {
        json_t *loc = json_pack("[s,I]", "body", (json_int_t)i);
        json_t *item = h2api_validate_object(model, json_array_get(input, i), loc, errors);
        json_decref(loc);
        if (item == NULL) {
            ok = 0;
            continue;
        }
        json_array_append_new(out, item);
    }
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

h2o_iovec_t h2api_json_render(h2o_mem_pool_t *pool, json_t *value)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    h2o_iovec_t out = h2o_strdup(pool, s, SIZE_MAX);
    free(s);
    return out;
}

h2o_iovec_t h2api_validate_render(h2o_mem_pool_t *pool, json_t *errors)
{
    json_t *doc = json_pack("{s:O}", "detail", errors);
    h2o_iovec_t out = h2api_json_render(pool, doc);
    json_decref(doc);
    return out;
}
