/*
 * libFuzzer target: the JSON body validators (src/validate.c).
 *
 * Input: a request body, as POST /v1/posts and POST /v1/todos/bulk receive it. Each input goes
 * through h2api_validate_parse, then (when it parses) through h2api_validate_object with the
 * PostCreate and TodoCreate models and h2api_validate_list with TodoCreate (1..100 items, as
 * routes/todos.c asks), each with a fresh error list, and the errors are rendered with
 * h2api_validate_render into an h2o_mem_pool_t as the routes do.
 *
 * The two models are copied from routes/posts.c and routes/todos.c (static there); keep them in
 * step.
 *
 * Invariants:
 *   - every call returns NULL if and only if it appended errors;
 *   - each error is {"type": str, "loc": ["body", ...], "msg": str, "input": any[, "ctx": obj]};
 *   - the rendered text is valid JSON (json_loads), {"detail": errors} equal to the errors list;
 *   - the borrowed `loc` and the input are left as they were;
 *   - a validated object holds exactly the model's fields, of the model's types and bounds
 *     (title has >= 1 character, userId >= 1, completed present as a boolean); a validated list
 *     has as many items as the input, 1..100;
 *   - h2api_json_render of a validated value loads back equal to it.
 * No leak (LeakSanitizer runs at exit of each input batch): every json_t is released.
 */
#include <stdint.h>
#include <string.h>
#include <jansson.h>
#include <h2o.h>
#include "validate.h"
#include "fuzz_common.h"

/* routes/posts.c */
static const h2api_field_t post_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "body", .type = H2API_FIELD_STR, .required = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
};
static const h2api_model_t post_create = {"PostCreate", post_create_fields,
                                          sizeof(post_create_fields) / sizeof(post_create_fields[0])};

/* routes/todos.c */
#define BULK_MAX_ITEMS 100
static const h2api_field_t todo_create_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
    {.name = "completed", .type = H2API_FIELD_BOOL, .required = 0, .default_json = "false"},
};
static const h2api_model_t todo_create = {"TodoCreate", todo_create_fields,
                                          sizeof(todo_create_fields) / sizeof(todo_create_fields[0])};

static const uint8_t *cur_data;
static size_t cur_size;

#define CHECK(cond, ...) FUZZ_CHECK_DO(cond, fuzz_print_bytes("body", (const char *)cur_data, cur_size), __VA_ARGS__)

/* Characters of a UTF-8 string (jansson only hands out valid UTF-8). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i != len; ++i)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static void check_error_shapes(const json_t *errors, size_t from, const char *what)
{
    for (size_t i = from; i < json_array_size(errors); ++i) {
        const json_t *e = json_array_get(errors, i), *loc = json_object_get(e, "loc");
        CHECK(json_is_object(e), "%s: error %zu is an object", what, i);
        CHECK(json_is_string(json_object_get(e, "type")) && json_string_length(json_object_get(e, "type")) != 0,
              "%s: error %zu has a type", what, i);
        CHECK(json_is_string(json_object_get(e, "msg")), "%s: error %zu has a msg", what, i);
        CHECK(json_object_get(e, "input") != NULL, "%s: error %zu has an input", what, i);
        CHECK(json_is_array(loc) && json_array_size(loc) >= 1 && json_is_string(json_array_get(loc, 0)) &&
                  strcmp(json_string_value(json_array_get(loc, 0)), "body") == 0,
              "%s: error %zu has loc [\"body\", ...]", what, i);
        CHECK(json_object_get(e, "ctx") == NULL || json_is_object(json_object_get(e, "ctx")), "%s: error %zu ctx is an object",
              what, i);
    }
}

/* Renders {"detail": errors} into a pool as the routes do and loads it back. */
static void check_render(const json_t *errors, const char *what)
{
    h2o_mem_pool_t pool;
    json_error_t err;

    h2o_mem_init_pool(&pool);
    h2o_iovec_t out = h2api_validate_render(&pool, (json_t *)errors);
    CHECK(out.base != NULL && out.len != 0 && strlen(out.base) == out.len, "%s: rendered text is one C string", what);
    json_t *back = json_loadb(out.base, out.len, JSON_ALLOW_NUL, &err);
    FUZZ_CHECK_DO(back != NULL,
                  (fuzz_print_bytes("body", (const char *)cur_data, cur_size), fuzz_print_bytes("rendered", out.base, out.len)),
                  "%s: rendered errors are valid JSON (%s at %d)", what, err.text, err.position);
    CHECK(json_is_object(back) && json_object_size(back) == 1 && json_equal(json_object_get(back, "detail"), (json_t *)errors),
          "%s: rendered JSON is {\"detail\": errors}", what);
    json_decref(back);
    h2o_mem_clear_pool(&pool);
}

/* h2api_json_render of a validated value loads back equal. */
static void check_value_render(json_t *value, const char *what)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_iovec_t out = h2api_json_render(&pool, value);
    json_t *back = json_loadb(out.base, out.len, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    CHECK(back != NULL && json_equal(back, value), "%s: h2api_json_render loads back equal", what);
    json_decref(back);
    h2o_mem_clear_pool(&pool);
}

static void check_model_output(const h2api_model_t *model, const json_t *out, const char *what)
{
    CHECK(json_is_object(out), "%s: result is an object", what);
    CHECK(json_object_size(out) == model->num_fields, "%s: result has exactly the model's %zu fields, got %zu", what,
          model->num_fields, json_object_size(out));
    for (size_t i = 0; i != model->num_fields; ++i) {
        const h2api_field_t *f = &model->fields[i];
        const json_t *v = json_object_get(out, f->name);
        CHECK(v != NULL, "%s: field %s present", what, f->name);
        switch (f->type) {
        case H2API_FIELD_STR:
            CHECK(json_is_string(v), "%s: %s is a string", what, f->name);
            CHECK(utf8_chars(json_string_value(v), json_string_length(v)) >= f->min_length, "%s: %s has >= %zu characters", what,
                  f->name, f->min_length);
            break;
        case H2API_FIELD_INT:
            CHECK(json_is_integer(v), "%s: %s is an integer", what, f->name);
            CHECK(!f->has_ge || json_integer_value(v) >= f->ge, "%s: %s >= %lld", what, f->name, f->ge);
            break;
        case H2API_FIELD_BOOL:
            CHECK(json_is_boolean(v), "%s: %s is a boolean", what, f->name);
            break;
        }
    }
}

/*
 * Embedded NULs. validate.c coerces strings through json_string_value(), a C string, so an int or
 * bool field given "5\u0000junk" or "yes\u0000no" is read as 5 or true where pydantic answers 422
 * (int_parsing, bool_parsing). validate.c now refuses such strings; this checks it (reproducer:
 * fuzz/known/fuzz_validate/).
 */
static void check_no_nul_coercion(const h2api_model_t *model, const json_t *input, const char *what)
{
    for (size_t i = 0; i != model->num_fields; ++i) {
        const json_t *in = json_object_get(input, model->fields[i].name);
        if (model->fields[i].type != H2API_FIELD_STR && json_is_string(in))
            CHECK(strlen(json_string_value(in)) == json_string_length(in), "%s: %s was coerced from a string with an embedded NUL",
                  what, model->fields[i].name);
    }
}

static void run_object(const h2api_model_t *model, json_t *input)
{
    json_t *errors = json_array(), *loc = json_pack("[s]", "body"), *loc_before = json_deep_copy(loc);
    json_t *input_before = json_deep_copy(input);
    json_t *out = h2api_validate_object(model, input, loc, errors);

    CHECK((out == NULL) == (json_array_size(errors) != 0), "%s: result NULL iff errors (result %p, %zu errors)", model->name,
          (void *)out, json_array_size(errors));
    CHECK(json_equal(loc, loc_before), "%s: the borrowed loc is unchanged", model->name);
    CHECK(json_equal(input, input_before), "%s: the input is unchanged", model->name);
    check_error_shapes(errors, 0, model->name);
    if (out != NULL) {
        check_model_output(model, out, model->name);
        check_no_nul_coercion(model, input, model->name);
        check_value_render(out, model->name);
    } else {
        check_render(errors, model->name);
    }
    json_decref(out);
    json_decref(loc);
    json_decref(loc_before);
    json_decref(input_before);
    json_decref(errors);
}

static void run_list(json_t *input)
{
    json_t *errors = json_array();
    json_t *out = h2api_validate_list(&todo_create, input, 1, BULK_MAX_ITEMS, errors);

    CHECK((out == NULL) == (json_array_size(errors) != 0), "list: result NULL iff errors (result %p, %zu errors)", (void *)out,
          json_array_size(errors));
    check_error_shapes(errors, 0, "list");
    if (out != NULL) {
        CHECK(json_is_array(out) && json_array_size(out) == json_array_size(input) && json_array_size(out) >= 1 &&
                  json_array_size(out) <= BULK_MAX_ITEMS,
              "list: one validated item per input item, 1..%d", BULK_MAX_ITEMS);
        for (size_t i = 0; i != json_array_size(out); ++i) {
            check_model_output(&todo_create, json_array_get(out, i), "list item");
            check_no_nul_coercion(&todo_create, json_array_get(input, i), "list item");
        }
        check_value_render(out, "list");
    } else {
        check_render(errors, "list");
    }
    json_decref(out);
    json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *errors = json_array(), *input;

    cur_data = data;
    cur_size = size;
    input = h2api_validate_parse(h2o_iovec_init(data, size), errors);
    CHECK((input == NULL) == (json_array_size(errors) != 0), "parse: result NULL iff errors (result %p, %zu errors)", (void *)input,
          json_array_size(errors));
    check_error_shapes(errors, 0, "parse");
    if (input == NULL) {
        CHECK(json_array_size(errors) == 1, "parse: one json_invalid error");
        check_render(errors, "parse");
    } else {
        run_object(&post_create, input);
        run_object(&todo_create, input);
        run_list(input);
    }
    json_decref(input);
    json_decref(errors);
    return 0;
}
