/*
 * Body validation against pydantic v2 as FastAPI runs it (TypeAdapter.validate_python on the
 * parsed body, errors without "url", loc prefixed with "body"). Every expectation in the case
 * tables is the compact JSON that pydantic 2.13 produced for the same model and input, rendered
 * as FastAPI's JSONResponse renders it (separators without spaces, non-ASCII kept), and the
 * tests compare the validator's output byte for byte. The parse cases follow FastAPI's own body
 * reading (fastapi/routing.py) with the offsets Python's json module reports.
 *
 * The models mirror these pydantic ones:
 *
 *   class PostCreate(BaseModel):            class TodoCreate(BaseModel):       class Named(BaseModel):
 *       title: str = Field(min_length=1)        title: str = Field(min_length=1)   name: str = Field(min_length=3)
 *       body: str                               userId: int = Field(ge=1)          n: int
 *       userId: int = Field(ge=1)               completed: bool = False
 *
 * and lists are Annotated[List[TodoCreate], Field(min_length=MIN, max_length=MAX)].
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_main.h"
#include "validate.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const h2api_field_t post_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "body", .type = H2API_FIELD_STR, .required = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
};
static const h2api_model_t post_model = {"PostCreate", post_fields, LEN(post_fields)};

static const h2api_field_t todo_fields[] = {
    {.name = "title", .type = H2API_FIELD_STR, .required = 1, .min_length = 1},
    {.name = "userId", .type = H2API_FIELD_INT, .required = 1, .has_ge = 1, .ge = 1},
    {.name = "completed", .type = H2API_FIELD_BOOL, .required = 0, .default_json = "false"},
};
static const h2api_model_t todo_model = {"TodoCreate", todo_fields, LEN(todo_fields)};

static const h2api_field_t named_fields[] = {
    {.name = "name", .type = H2API_FIELD_STR, .required = 1, .min_length = 3},
    {.name = "n", .type = H2API_FIELD_INT, .required = 1},
};
static const h2api_model_t named_model = {"Named", named_fields, LEN(named_fields)};

/* One body validated as a model: `errors` is pydantic's error list, or NULL when it validates to `output`. */
typedef struct st_object_case_t {
    const h2api_model_t *model;
    const char *body;
    const char *errors;
    const char *output;
} object_case_t;

/* One body validated as a list of models of min_items..max_items. */
typedef struct st_list_case_t {
    const h2api_model_t *model;
    size_t min_items, max_items;
    const char *body;
    const char *errors;
    const char *output;
} list_case_t;

static json_t *errors;
static h2o_mem_pool_t pool;

static void setup(void)
{
    errors = json_array();
    h2o_mem_init_pool(&pool);
}

static void teardown(void)
{
    json_decref(errors);
    h2o_mem_clear_pool(&pool);
}

/* Compact JSON in key order (the caller frees). */
static char *dump(json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

/* The decoded body, as json.loads gives it to pydantic (the case tables start after parsing). */
static json_t *load(const char *body)
{
    json_error_t jerr;
    json_t *input = json_loads(body, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(input != NULL, "%s: %s", body, jerr.text);
    return input;
}

/* The body through h2api_validate_parse, which must accept it. */
static json_t *parse(const char *body)
{
    json_t *input = h2api_validate_parse(h2o_iovec_init(body, strlen(body)), errors);
    ck_assert_msg(input != NULL, "%s does not parse", body);
    ck_assert_uint_eq(json_array_size(errors), 0);
    return input;
}

/* Mismatches of the running test, reported together at its end. */
static char report[8192];
static size_t report_len;

/* Records a mismatch of one case: the error list, or the validated value and no errors. */
static void check_outcome(const char *what, json_t *out, const char *expected_errors, const char *expected_output)
{
    char *got_errors = dump(errors), *got_output = out != NULL ? dump(out) : NULL;
    const char *got = expected_errors != NULL ? (out == NULL ? got_errors : got_output) : (out != NULL ? got_output : got_errors);
    const char *expected = expected_errors != NULL ? expected_errors : expected_output;
    int ok = expected_errors != NULL ? out == NULL && strcmp(got_errors, expected_errors) == 0
                                     : out != NULL && json_array_size(errors) == 0 && strcmp(got_output, expected_output) == 0;
    if (!ok && report_len < sizeof(report))
        report_len += snprintf(report + report_len, sizeof(report) - report_len, "\n%s\n  got      %s%s\n  expected %s", what,
                               out != NULL ? "(valid) " : "(errors) ", got, expected);
    free(got_errors);
    free(got_output);
}

static void assert_no_mismatch(void)
{
    ck_assert_msg(report_len == 0, "%s", report);
}

static void run_object_cases(const object_case_t *cases, size_t n)
{
    report_len = 0;
    for (size_t i = 0; i != n; ++i) {
        json_t *input = load(cases[i].body), *loc = json_pack("[s]", "body");
        json_t *out = h2api_validate_object(cases[i].model, input, loc, errors);
        check_outcome(cases[i].body, out, cases[i].errors, cases[i].output);
        json_decref(out);
        json_decref(loc);
        json_decref(input);
        json_array_clear(errors);
    }
    assert_no_mismatch();
}

static void run_list_cases(const list_case_t *cases, size_t n)
{
    report_len = 0;
    for (size_t i = 0; i != n; ++i) {
        json_t *input = load(cases[i].body);
        json_t *out = h2api_validate_list(cases[i].model, input, cases[i].min_items, cases[i].max_items, errors);
        check_outcome(cases[i].body, out, cases[i].errors, cases[i].output);
        json_decref(out);
        json_decref(input);
        json_array_clear(errors);
    }
    assert_no_mismatch();
}

/* ---- one error type each ---- */

static const object_case_t string_type_cases[] = {
    {&post_model, "{\"title\": 5, \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be a valid string\",\"input\":5}]", NULL},
    {&post_model, "{\"title\": null, \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be a valid string\",\"input\":null}]", NULL},
    {&post_model, "{\"title\": [\"t\"], \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be a valid string\",\"input\":[\"t\"]}]",
     NULL},
    {&post_model, "{\"title\": true, \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be a valid string\",\"input\":true}]", NULL},
    {&post_model, "{\"title\": \"t\", \"body\": {\"a\": 1}, \"userId\": 1}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"body\"],\"msg\":\"Input should be a valid string\",\"input\":{\"a\":1}}]",
     NULL},
};

START_TEST(string_type)
{
    run_object_cases(string_type_cases, LEN(string_type_cases));
}
END_TEST

static const object_case_t string_too_short_cases[] = {
    {&post_model, "{\"title\": \"\", \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"title\"],\"msg\":\"String should have at least 1 "
     "character\",\"input\":\"\",\"ctx\":{\"min_length\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"\", \"userId\": 1}", NULL, "{\"title\":\"t\",\"body\":\"\",\"userId\":1}"},
    {&named_model, "{\"name\": \"ab\", \"n\": 1}",
     "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],\"msg\":\"String should have at least 3 "
     "characters\",\"input\":\"ab\",\"ctx\":{\"min_length\":3}}]",
     NULL},
    {&named_model, "{\"name\": \"\", \"n\": 1}",
     "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],\"msg\":\"String should have at least 3 "
     "characters\",\"input\":\"\",\"ctx\":{\"min_length\":3}}]",
     NULL},
    {&named_model, "{\"name\": \"éx\", \"n\": 1}",
     "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],\"msg\":\"String should have at least 3 "
     "characters\",\"input\":\"éx\",\"ctx\":{\"min_length\":3}}]",
     NULL},
    {&named_model, "{\"name\": \"é€x\", \"n\": 1}", NULL, "{\"name\":\"é€x\",\"n\":1}"},
    {&named_model, "{\"name\": \"abc\", \"n\": 1}", NULL, "{\"name\":\"abc\",\"n\":1}"},
};

START_TEST(string_too_short)
{
    run_object_cases(string_too_short_cases, LEN(string_too_short_cases));
}
END_TEST

/* the whole object is the input of a missing field */
static const object_case_t missing_cases[] = {
    {&post_model, "{\"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"missing\",\"loc\":[\"body\",\"title\"],\"msg\":\"Field required\",\"input\":{\"body\":\"b\",\"userId\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\"}",
     "[{\"type\":\"missing\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Field required\",\"input\":{\"title\":\"t\",\"body\":\"b\"}}]",
     NULL},
    {&post_model, "{}",
     "[{\"type\":\"missing\",\"loc\":[\"body\",\"title\"],\"msg\":\"Field "
     "required\",\"input\":{}},{\"type\":\"missing\",\"loc\":[\"body\",\"body\"],\"msg\":\"Field "
     "required\",\"input\":{}},{\"type\":\"missing\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Field required\",\"input\":{}}]",
     NULL},
    {&post_model, "{\"Title\": \"t\", \"body\": \"b\", \"userId\": 1}",
     "[{\"type\":\"missing\",\"loc\":[\"body\",\"title\"],\"msg\":\"Field "
     "required\",\"input\":{\"Title\":\"t\",\"body\":\"b\",\"userId\":1}}]",
     NULL},
};

START_TEST(missing)
{
    run_object_cases(missing_cases, LEN(missing_cases));
}
END_TEST

static const object_case_t int_type_cases[] = {
    {&named_model, "{\"name\": \"abc\", \"n\": [1]}",
     "[{\"type\":\"int_type\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer\",\"input\":[1]}]", NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": null}",
     "[{\"type\":\"int_type\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer\",\"input\":null}]", NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": {\"v\": 1}}",
     "[{\"type\":\"int_type\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer\",\"input\":{\"v\":1}}]", NULL},
};

START_TEST(int_type)
{
    run_object_cases(int_type_cases, LEN(int_type_cases));
}
END_TEST

static const object_case_t int_parsing_cases[] = {
    {&named_model, "{\"name\": \"abc\", \"n\": \"abc\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"abc\"}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": \"5.5\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"5.5\"}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": \"\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"\"}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": \"1e3\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"1e3\"}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": \"0x10\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"0x10\"}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": \"5.\"}",
     "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, unable to parse string as an "
     "integer\",\"input\":\"5.\"}]",
     NULL},
};

START_TEST(int_parsing)
{
    run_object_cases(int_parsing_cases, LEN(int_parsing_cases));
}
END_TEST

static const object_case_t int_from_float_cases[] = {
    {&named_model, "{\"name\": \"abc\", \"n\": 5.5}",
     "[{\"type\":\"int_from_float\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, got a number with a "
     "fractional part\",\"input\":5.5}]",
     NULL},
    {&named_model, "{\"name\": \"abc\", \"n\": -0.25}",
     "[{\"type\":\"int_from_float\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer, got a number with a "
     "fractional part\",\"input\":-0.25}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": 1.5}",
     "[{\"type\":\"int_from_float\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be a valid integer, got a number with a "
     "fractional part\",\"input\":1.5}]",
     NULL},
};

START_TEST(int_from_float)
{
    run_object_cases(int_from_float_cases, LEN(int_from_float_cases));
}
END_TEST

/* ctx.ge; the input is the value as sent (a string, a bool, a float), not the coerced int */
static const object_case_t greater_than_equal_cases[] = {
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": 0}",
     "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be greater than or equal to "
     "1\",\"input\":0,\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": -3}",
     "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be greater than or equal to "
     "1\",\"input\":-3,\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": \"0\"}",
     "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be greater than or equal to "
     "1\",\"input\":\"0\",\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": false}",
     "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be greater than or equal to "
     "1\",\"input\":false,\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": 0.0}",
     "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be greater than or equal to "
     "1\",\"input\":0.0,\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": 1}", NULL, "{\"title\":\"t\",\"body\":\"b\",\"userId\":1}"},
};

START_TEST(greater_than_equal)
{
    run_object_cases(greater_than_equal_cases, LEN(greater_than_equal_cases));
}
END_TEST

static const object_case_t bool_type_cases[] = {
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": null}",
     "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean\",\"input\":null}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": []}",
     "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean\",\"input\":[]}]", NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": {}}",
     "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean\",\"input\":{}}]", NULL},
};

START_TEST(bool_type)
{
    run_object_cases(bool_type_cases, LEN(bool_type_cases));
}
END_TEST

static const object_case_t bool_parsing_cases[] = {
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"maybe\"}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":\"maybe\"}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": 2}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":2}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": -1}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":-1}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"\"}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":\"\"}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \" yes\"}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":\" yes\"}]",
     NULL},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"1.0\"}",
     "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],\"msg\":\"Input should be a valid boolean, unable to interpret "
     "input\",\"input\":\"1.0\"}]",
     NULL},
};

START_TEST(bool_parsing)
{
    run_object_cases(bool_parsing_cases, LEN(bool_parsing_cases));
}
END_TEST

/* a body model given something else than an object (FastAPI validates in python mode with from_attributes) */
static const object_case_t model_attributes_type_cases[] = {
    {&post_model, "[1, 2]",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":[1,2]}]",
     NULL},
    {&post_model, "\"str\"",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":\"str\"}]",
     NULL},
    {&post_model, "5",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":5}]",
     NULL},
    {&post_model, "null",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":null}]",
     NULL},
    {&post_model, "true",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":true}]",
     NULL},
    {&post_model, "1.5",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":1.5}]",
     NULL},
};

START_TEST(model_attributes_type)
{
    run_object_cases(model_attributes_type_cases, LEN(model_attributes_type_cases));
}
END_TEST

static const list_case_t list_type_cases[] = {
    {&todo_model, 1, 100, "{\"title\": \"t\", \"userId\": 1}",
     "[{\"type\":\"list_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid "
     "list\",\"input\":{\"title\":\"t\",\"userId\":1}}]",
     NULL},
    {&todo_model, 1, 100, "\"x\"",
     "[{\"type\":\"list_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid list\",\"input\":\"x\"}]", NULL},
    {&todo_model, 1, 100, "null",
     "[{\"type\":\"list_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid list\",\"input\":null}]", NULL},
    {&todo_model, 1, 100, "5", "[{\"type\":\"list_type\",\"loc\":[\"body\"],\"msg\":\"Input should be a valid list\",\"input\":5}]",
     NULL},
};

START_TEST(list_type)
{
    run_list_cases(list_type_cases, LEN(list_type_cases));
}
END_TEST

/* too_short / too_long with ctx; a valid list is coerced item by item */
static const list_case_t list_length_cases[] = {
    {&todo_model, 1, 3, "[]",
     "[{\"type\":\"too_short\",\"loc\":[\"body\"],\"msg\":\"List should have at least 1 item after validation, not "
     "0\",\"input\":[],\"ctx\":{\"field_type\":\"List\",\"min_length\":1,\"actual_length\":0}}]",
     NULL},
    {&todo_model, 2, 3, "[{\"title\": \"a\", \"userId\": 1}]",
     "[{\"type\":\"too_short\",\"loc\":[\"body\"],\"msg\":\"List should have at least 2 items after validation, not "
     "1\",\"input\":[{\"title\":\"a\",\"userId\":1}],\"ctx\":{\"field_type\":\"List\",\"min_length\":2,\"actual_length\":1}}]",
     NULL},
    {&todo_model, 1, 3,
     "[{\"title\": \"a\", \"userId\": 1}, {\"title\": \"b\", \"userId\": 2}, {\"title\": \"c\", \"userId\": 3}, {\"title\": \"d\", "
     "\"userId\": 4}]",
     "[{\"type\":\"too_long\",\"loc\":[\"body\"],\"msg\":\"List should have at most 3 items after validation, not "
     "4\",\"input\":[{\"title\":\"a\",\"userId\":1},{\"title\":\"b\",\"userId\":2},{\"title\":\"c\",\"userId\":3},{\"title\":\"d\","
     "\"userId\":4}],\"ctx\":{\"field_type\":\"List\",\"max_length\":3,\"actual_length\":4}}]",
     NULL},
    {&todo_model, 1, 1, "[{\"title\": \"a\", \"userId\": 1}, {\"title\": \"b\", \"userId\": 2}]",
     "[{\"type\":\"too_long\",\"loc\":[\"body\"],\"msg\":\"List should have at most 1 item after validation, not "
     "2\",\"input\":[{\"title\":\"a\",\"userId\":1},{\"title\":\"b\",\"userId\":2}],\"ctx\":{\"field_type\":\"List\",\"max_"
     "length\":1,\"actual_length\":2}}]",
     NULL},
    {&todo_model, 1, 3,
     "[{\"title\": \"a\", \"userId\": 1}, {\"title\": \"b\", \"userId\": \"2\", \"completed\": \"yes\"}, {\"title\": \"c\", "
     "\"userId\": 3.0}]",
     NULL,
     "[{\"title\":\"a\",\"userId\":1,\"completed\":false},{\"title\":\"b\",\"userId\":2,\"completed\":true},{\"title\":\"c\","
     "\"userId\":3,\"completed\":false}]"},
};

START_TEST(list_length)
{
    run_list_cases(list_length_cases, LEN(list_length_cases));
}
END_TEST

/* ---- lax coercion, defaults, unknown fields ---- */

static const object_case_t lax_int_cases[] = {
    {&named_model, "{\"name\": \"abc\", \"n\": \"5\"}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&named_model, "{\"name\": \"abc\", \"n\": 5.0}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&named_model, "{\"name\": \"abc\", \"n\": true}", NULL, "{\"name\":\"abc\",\"n\":1}"},
    {&named_model, "{\"name\": \"abc\", \"n\": false}", NULL, "{\"name\":\"abc\",\"n\":0}"},
    {&named_model, "{\"name\": \"abc\", \"n\": \"5.0\"}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&named_model, "{\"name\": \"abc\", \"n\": \"-7\"}", NULL, "{\"name\":\"abc\",\"n\":-7}"},
    {&named_model, "{\"name\": \"abc\", \"n\": \"007\"}", NULL, "{\"name\":\"abc\",\"n\":7}"},
    {&named_model, "{\"name\": \"abc\", \"n\": -2.0}", NULL, "{\"name\":\"abc\",\"n\":-2}"},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": \"5\"}", NULL, "{\"title\":\"t\",\"body\":\"b\",\"userId\":5}"},
    {&post_model, "{\"title\": \"t\", \"body\": \"b\", \"userId\": true}", NULL, "{\"title\":\"t\",\"body\":\"b\",\"userId\":1}"},
};

START_TEST(lax_int)
{
    run_object_cases(lax_int_cases, LEN(lax_int_cases));
}
END_TEST

static const object_case_t lax_bool_cases[] = {
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"yes\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"no\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"on\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"off\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": 0}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": 1}", NULL, "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": true}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": false}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"true\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"False\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"YES\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"1\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"0\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"t\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"f\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"y\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": \"n\"}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
};

START_TEST(lax_bool)
{
    run_object_cases(lax_bool_cases, LEN(lax_bool_cases));
}
END_TEST

/*
 * Inputs that pydantic's lax mode also takes: surrounding whitespace and trailing zeros in an
 * int string ("5 ", " 5 ", "5.00": str.strip() then int or float-without-fraction), and 1.0 /
 * 0.0 for a bool.
 */
static const object_case_t lax_parity_edges_cases[] = {
    {&named_model, "{\"name\": \"abc\", \"n\": \"5 \"}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&named_model, "{\"name\": \"abc\", \"n\": \" 5 \"}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&named_model, "{\"name\": \"abc\", \"n\": \"5.00\"}", NULL, "{\"name\":\"abc\",\"n\":5}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": 1.0}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":true}"},
    {&todo_model, "{\"title\": \"t\", \"userId\": 1, \"completed\": 0.0}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
};

START_TEST(lax_parity_edges)
{
    run_object_cases(lax_parity_edges_cases, LEN(lax_parity_edges_cases));
}
END_TEST

/* an absent optional field takes its default; unknown fields (and case variants) are dropped; output in model order */
static const object_case_t defaults_and_unknown_fields_cases[] = {
    {&todo_model, "{\"title\": \"t\", \"userId\": 1}", NULL, "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
    {&todo_model, "{\"userId\": 2, \"title\": \"t\"}", NULL, "{\"title\":\"t\",\"userId\":2,\"completed\":false}"},
    {&todo_model, "{\"completed\": true, \"userId\": 2, \"title\": \"t\"}", NULL,
     "{\"title\":\"t\",\"userId\":2,\"completed\":true}"},
    {&todo_model, "{\"x\": 1, \"title\": \"t\", \"extra\": {\"a\": [1]}, \"userId\": 1, \"Completed\": true}", NULL,
     "{\"title\":\"t\",\"userId\":1,\"completed\":false}"},
};

START_TEST(defaults_and_unknown_fields)
{
    run_object_cases(defaults_and_unknown_fields_cases, LEN(defaults_and_unknown_fields_cases));
}
END_TEST

/* ---- several errors at once ---- */

/* every field's error, in model order */
static const object_case_t multiple_errors_cases[] = {
    {&post_model, "{\"title\": \"\", \"body\": 3, \"userId\": 0}",
     "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"title\"],\"msg\":\"String should have at least 1 "
     "character\",\"input\":\"\",\"ctx\":{\"min_length\":1}},{\"type\":\"string_type\",\"loc\":[\"body\",\"body\"],\"msg\":\"Input "
     "should be a valid string\",\"input\":3},{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input "
     "should be greater than or equal to 1\",\"input\":0,\"ctx\":{\"ge\":1}}]",
     NULL},
    {&post_model, "{\"body\": null, \"userId\": \"x\"}",
     "[{\"type\":\"missing\",\"loc\":[\"body\",\"title\"],\"msg\":\"Field "
     "required\",\"input\":{\"body\":null,\"userId\":\"x\"}},{\"type\":\"string_type\",\"loc\":[\"body\",\"body\"],\"msg\":\"Input "
     "should be a valid string\",\"input\":null},{\"type\":\"int_parsing\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Input should be "
     "a valid integer, unable to parse string as an integer\",\"input\":\"x\"}]",
     NULL},
    {&todo_model, "{\"title\": 1, \"completed\": \"maybe\"}",
     "[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be a valid "
     "string\",\"input\":1},{\"type\":\"missing\",\"loc\":[\"body\",\"userId\"],\"msg\":\"Field "
     "required\",\"input\":{\"title\":1,\"completed\":\"maybe\"}},{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"completed\"],"
     "\"msg\":\"Input should be a valid boolean, unable to interpret input\",\"input\":\"maybe\"}]",
     NULL},
};

START_TEST(multiple_errors)
{
    run_object_cases(multiple_errors_cases, LEN(multiple_errors_cases));
}
END_TEST

/* errors of several items, each loc with the item's index */
static const list_case_t list_item_errors_cases[] = {
    {&todo_model, 1, 100, "[{\"title\": \"a\", \"userId\": 1}, {\"userId\": 0}, {\"title\": \"\", \"userId\": \"x\"}]",
     "[{\"type\":\"missing\",\"loc\":[\"body\",1,\"title\"],\"msg\":\"Field "
     "required\",\"input\":{\"userId\":0}},{\"type\":\"greater_than_equal\",\"loc\":[\"body\",1,\"userId\"],\"msg\":\"Input should "
     "be greater than or equal to "
     "1\",\"input\":0,\"ctx\":{\"ge\":1}},{\"type\":\"string_too_short\",\"loc\":[\"body\",2,\"title\"],\"msg\":\"String should "
     "have at least 1 "
     "character\",\"input\":\"\",\"ctx\":{\"min_length\":1}},{\"type\":\"int_parsing\",\"loc\":[\"body\",2,\"userId\"],\"msg\":"
     "\"Input should be a valid integer, unable to parse string as an integer\",\"input\":\"x\"}]",
     NULL},
    {&todo_model, 1, 100, "[{\"title\": \"a\", \"userId\": 1}, 5, {\"title\": \"c\", \"userId\": 1, \"completed\": null}]",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\",1],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":5},{\"type\":\"bool_type\",\"loc\":[\"body\",2,\"completed\"],\"msg\":\"Input should be a valid "
     "boolean\",\"input\":null}]",
     NULL},
    {&todo_model, 1, 100, "[[], {\"title\": \"b\"}]",
     "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\",0],\"msg\":\"Input should be a valid dictionary or object to extract "
     "fields from\",\"input\":[]},{\"type\":\"missing\",\"loc\":[\"body\",1,\"userId\"],\"msg\":\"Field "
     "required\",\"input\":{\"title\":\"b\"}}]",
     NULL},
};

START_TEST(list_item_errors)
{
    run_list_cases(list_item_errors_cases, LEN(list_item_errors_cases));
}
END_TEST

/* ---- json_invalid ---- */

/*
 * FastAPI reads the body like this (fastapi/routing.py, get_request_handler):
 *   body = None; if body_bytes: body = json.loads(body_bytes)
 *   except JSONDecodeError as e: [{"type":"json_invalid","loc":("body",e.pos),"msg":"JSON decode error",
 *                                   "input":{},"ctx":{"error":e.msg}}]
 * and a required body that is None (no bytes at all, or JSON null) is
 *   {"type":"missing","loc":["body"],"msg":"Field required","input":null}.
 * ctx.error is jansson's message here, not Python's.
 */
typedef struct st_parse_case_t {
    const char *body;
    json_int_t offset; /* json_invalid at Python's JSONDecodeError.pos; -1: missing */
} parse_case_t;

/* Parses each body, which must fail, and reports every outcome that differs from FastAPI's at once. */
static void check_parse_failures(const parse_case_t *cases, size_t n)
{
    char report[4096] = "", expected[512];
    size_t len = 0;
    json_error_t jerr;

    for (size_t i = 0; i != n; ++i) {
        json_array_clear(errors);
        json_t *value = h2api_validate_parse(h2o_iovec_init(cases[i].body, strlen(cases[i].body)), errors);
        if (value != NULL) {
            char *text = dump(value);
            if (len < sizeof(report))
                len += snprintf(report + len, sizeof(report) - len, "\n\"%s\"\n  parsed to %s", cases[i].body, text);
            free(text);
            json_decref(value);
        }
        if (cases[i].offset < 0) {
            snprintf(expected, sizeof(expected),
                     "[{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\",\"input\":null}]");
        } else {
            ck_assert_ptr_null(json_loads(cases[i].body, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr));
            json_t *doc = json_pack("[{s:s,s:[s,I],s:s,s:{},s:{s:s}}]", "type", "json_invalid", "loc", "body", cases[i].offset,
                                    "msg", "JSON decode error", "input", "ctx", "error", jerr.text);
            char *text = dump(doc);
            snprintf(expected, sizeof(expected), "%s", text);
            free(text);
            json_decref(doc);
        }
        char *got = dump(errors);
        if (value == NULL && strcmp(got, expected) != 0 && len < sizeof(report))
            len += snprintf(report + len, sizeof(report) - len, "\n\"%s\"\n  got      %s\n  expected %s", cases[i].body, got,
                            expected);
        free(got);
        json_array_clear(errors);
    }
    ck_assert_msg(len == 0, "%s", report);
}

START_TEST(json_invalid)
{
    static const parse_case_t cases[] = {
        {"{\"a\":}", 5},   {"[1,2,]", 5},     {"{\"a\":1}x", 7},
        {"{\"a\":1,}", 7}, {"[1,\n2,\n}", 7}, {"{\"title\": \"t\", \"body\": \"b\", \"userId\": 1,}", 40},
    };
    check_parse_failures(cases, LEN(cases));
}
END_TEST

/* Python reports the offset of the first byte of the offending token, and the length of the text at its end. */
START_TEST(json_invalid_offset)
{
    static const parse_case_t cases[] = {
        {"{\"title\": \"x\" \"body\": 1}", 14}, {"nul", 0}, {"[1, 2, 3, tru]", 10}, {"{\"a\": 1", 7}, {"{", 1},
    };
    check_parse_failures(cases, LEN(cases));
}
END_TEST

/* No body, or JSON null, is a missing body; a body of only white space is not empty: it is invalid JSON. */
START_TEST(missing_body)
{
    static const parse_case_t cases[] = {
        {"", -1}, {"null", -1}, {" null\n", -1}, {"   ", 3}, {"\r\n", 2},
    };
    check_parse_failures(cases, LEN(cases));
}
END_TEST

START_TEST(json_valid)
{
    json_t *value = parse("5");
    ck_assert(json_is_integer(value) && json_integer_value(value) == 5);
    json_decref(value);
    value = parse("\"a\\u0000b\"");
    ck_assert_uint_eq(json_string_length(value), 3);
    json_decref(value);
    value = parse("  {\"b\": 1, \"a\": [true, null]}  ");
    char *s = dump(value);
    ck_assert_str_eq(s, "{\"b\":1,\"a\":[true,null]}");
    free(s);
    json_decref(value);
}
END_TEST

/* ---- contracts ---- */

START_TEST(errors_accumulate)
{
    /* errors are appended to what the array holds; each call reports only its own outcome */
    json_t *bad = parse("{\"title\": \"\"}"), *good = parse("{\"title\": \"t\", \"body\": \"b\", \"userId\": 2}");
    json_t *loc = json_pack("[s]", "body");
    ck_assert_ptr_null(h2api_validate_object(&post_model, bad, loc, errors));
    ck_assert_uint_eq(json_array_size(errors), 3);
    json_t *out = h2api_validate_object(&post_model, good, loc, errors);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(json_array_size(errors), 3);
    json_decref(out);
    ck_assert_ptr_null(h2api_validate_parse(h2o_iovec_init(H2O_STRLIT("{")), errors));
    ck_assert_uint_eq(json_array_size(errors), 4);
    json_decref(loc);
    json_decref(bad);
    json_decref(good);
}
END_TEST

START_TEST(loc_borrowed)
{
    json_t *input = parse("[{\"title\": \"t\", \"userId\": 1}, {\"userId\": 2}]");
    json_t *loc = json_pack("[s,i]", "body", 3);
    json_t *out = h2api_validate_object(&todo_model, json_array_get(input, 1), loc, errors);
    ck_assert_ptr_null(out);
    /* the caller's loc is untouched and still its own */
    ck_assert_int_eq(loc->refcount, 1);
    char *s = dump(loc);
    ck_assert_str_eq(s, "[\"body\",3]");
    free(s);
    s = dump(errors);
    ck_assert_str_eq(s,
                     "[{\"type\":\"missing\",\"loc\":[\"body\",3,\"title\"],\"msg\":\"Field required\",\"input\":{\"userId\":2}}]");
    free(s);
    /* the input is not changed either */
    s = dump(input);
    ck_assert_str_eq(s, "[{\"title\":\"t\",\"userId\":1},{\"userId\":2}]");
    free(s);
    ck_assert_int_eq(input->refcount, 1);
    /* the output is a new object, not the input */
    out = h2api_validate_object(&todo_model, json_array_get(input, 0), loc, errors);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_ne(out, json_array_get(input, 0));
    ck_assert_int_eq(out->refcount, 1);
    json_decref(out);
    json_decref(loc);
    json_decref(input);
}
END_TEST

/*
 * Optional fields with and without a default (pydantic: `q: str = None`, `limit: int = Field(10, ge=0)`,
 * `tag: str = "none"`). Where pydantic would dump "q":null, validate.h leaves a field without a
 * default out (default_json NULL); the errors are pydantic's.
 */
START_TEST(optional_without_default)
{
    static const h2api_field_t fields[] = {
        {.name = "q", .type = H2API_FIELD_STR, .required = 0},
        {.name = "limit", .type = H2API_FIELD_INT, .required = 0, .default_json = "10", .has_ge = 1, .ge = 0},
        {.name = "tag", .type = H2API_FIELD_STR, .required = 0, .default_json = "\"none\""},
    };
    static const h2api_model_t model = {"Query", fields, LEN(fields)};
    static const object_case_t cases[] = {
        {&model, "{}", NULL, "{\"limit\":10,\"tag\":\"none\"}"},
        {&model, "{\"tag\": \"x\", \"q\": \"a\"}", NULL, "{\"q\":\"a\",\"limit\":10,\"tag\":\"x\"}"},
        {&model, "{\"limit\": \"3\"}", NULL, "{\"limit\":3,\"tag\":\"none\"}"},
        /* a default is not validated; a value that is given is */
        {&model, "{\"limit\": -1}",
         "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"limit\"],\"msg\":\"Input should be greater than or equal to 0\","
         "\"input\":-1,\"ctx\":{\"ge\":0}}]",
         NULL},
        {&model, "{\"q\": null}",
         "[{\"type\":\"string_type\",\"loc\":[\"body\",\"q\"],\"msg\":\"Input should be a valid string\",\"input\":null}]", NULL},
    };
    run_object_cases(cases, LEN(cases));
}
END_TEST

START_TEST(render)
{
    json_t *input = parse("{\"title\": \"\", \"body\": \"é\", \"userId\": 0}"), *loc = json_pack("[s]", "body");
    ck_assert_ptr_null(h2api_validate_object(&post_model, input, loc, errors));
    h2o_iovec_t body = h2api_validate_render(&pool, errors);
    const char *expected = "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"title\"],\"msg\":\"String should have "
                           "at least 1 character\","
                           "\"input\":\"\",\"ctx\":{\"min_length\":1}},{\"type\":\"greater_than_equal\",\"loc\":[\"body\","
                           "\"userId\"],\"msg\":\"Input should "
                           "be greater than or equal to 1\",\"input\":0,\"ctx\":{\"ge\":1}}]}";
    ck_assert_msg(h2o_memis(body.base, body.len, expected, strlen(expected)), "%.*s", (int)body.len, body.base);
    /* the errors still belong to the caller */
    ck_assert_int_eq(errors->refcount, 1);
    ck_assert_uint_eq(json_array_size(errors), 2);

    h2o_iovec_t s = h2api_json_render(&pool, input);
    ck_assert(h2o_memis(s.base, s.len, H2O_STRLIT("{\"title\":\"\",\"body\":\"é\",\"userId\":0}")));
    json_t *scalar = json_integer(42);
    s = h2api_json_render(&pool, scalar);
    ck_assert(h2o_memis(s.base, s.len, H2O_STRLIT("42")));
    json_decref(scalar);
    json_decref(loc);
    json_decref(input);
}
END_TEST

Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_CASE(string_type),
        UNIT_CASE(string_too_short),
        UNIT_CASE(missing),
        UNIT_CASE(int_type),
        UNIT_CASE(int_parsing),
        UNIT_CASE(int_from_float),
        UNIT_CASE(greater_than_equal),
        UNIT_CASE(bool_type),
        UNIT_CASE(bool_parsing),
        UNIT_CASE(model_attributes_type),
        UNIT_CASE(list_type),
        UNIT_CASE(list_length),
        UNIT_CASE(json_invalid),
        UNIT_CASE(json_invalid_offset),
        UNIT_CASE(missing_body),
        UNIT_CASE(json_valid),
        UNIT_CASE(lax_int),
        UNIT_CASE(lax_bool),
        UNIT_CASE(lax_parity_edges),
        UNIT_CASE(defaults_and_unknown_fields),
        UNIT_CASE(optional_without_default),
        UNIT_CASE(multiple_errors),
        UNIT_CASE(list_item_errors),
        UNIT_CASE(errors_accumulate),
        UNIT_CASE(loc_borrowed),
        UNIT_CASE(render),
    };
    return unit_suite_create("validate", setup, teardown, 0, cases, UNIT_LEN(cases));
}
