/*
 * Unit tests of the request ids: the sanity check of a client's X-Request-ID at its boundaries,
 * and the shape and uniqueness of generated ids.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "check_main.h"
#include "reqid.h"

#define NUM_IDS 10000

static int is_lower_hex(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; ++i)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, H2API_REQUEST_ID_GENERATED_LEN + 1);
}

START_TEST(sane_lengths)
{
    char id[H2API_REQUEST_ID_MAX_LEN + 2];

    memset(id, 'a', sizeof(id));
    ck_assert_int_eq(h2api_request_id_is_sane(NULL, 0), 0);
    ck_assert_int_eq(h2api_request_id_is_sane(id, 0), 0);
    ck_assert_int_eq(h2api_request_id_is_sane(id, 1), 1);
    ck_assert_int_eq(h2api_request_id_is_sane(id, H2API_REQUEST_ID_MAX_LEN), 1);
    ck_assert_int_eq(h2api_request_id_is_sane(id, H2API_REQUEST_ID_MAX_LEN + 1), 0);
    ck_assert_int_eq(h2api_request_id_is_sane(id, H2API_REQUEST_ID_MAX_LEN + 2), 0);
}
END_TEST

START_TEST(sane_chars)
{
    static const char *const good[] = {
        "abcdefghijklmnopqrstuvwxyz",          "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", ".", "_", ":", "-", "req-1.2_3:4",
        "6f1c9e2a-7b3d-4c1e-9f00-1234567890ab"};
    static const char *const bad[] = {"a b",  " ",   "a\"b", "'",   "a\nb",     "\r",   "\t",          "a/b",
                                      "a\\b", "a,b", "a;b",  "a=b", "<script>", "a%20", "caf\xc3\xa9", "\x7f",
                                      "\x80", "a+b", "a@b",  "{a}", "a*b",      "a?b",  "a#b"};
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i)
        ck_assert_msg(h2api_request_id_is_sane(good[i], strlen(good[i])) == 1, "\"%s\" should be sane", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
        ck_assert_msg(h2api_request_id_is_sane(bad[i], strlen(bad[i])) == 0, "\"%s\" should not be sane", bad[i]);
    /* a NUL byte inside the length, and a bad byte as the last one of a maximal id */
    ck_assert_int_eq(h2api_request_id_is_sane("ab\0cd", 5), 0);
    {
        char id[H2API_REQUEST_ID_MAX_LEN];
        memset(id, 'x', sizeof(id));
        id[sizeof(id) - 1] = ' ';
        ck_assert_int_eq(h2api_request_id_is_sane(id, sizeof(id)), 0);
    }
    /* only `len` bytes are looked at */
    ck_assert_int_eq(h2api_request_id_is_sane("abc def", 3), 1);
}
END_TEST

START_TEST(generated_shape)
{
    uint64_t state[2] = {0x0123456789abcdefu, 0xfedcba9876543210u};
    char id[H2API_REQUEST_ID_GENERATED_LEN + 8];
    int i;

    for (i = 0; i < 100; ++i) {
        memset(id, 'Z', sizeof(id));
        h2api_request_id_generate(state, id);
        ck_assert_uint_eq(strlen(id), H2API_REQUEST_ID_GENERATED_LEN);
        ck_assert_int_eq(id[H2API_REQUEST_ID_GENERATED_LEN + 1], 'Z'); /* nothing written past the NUL */
        ck_assert_msg(is_lower_hex(id, H2API_REQUEST_ID_GENERATED_LEN), "%s is not lower-case hex", id);
        ck_assert_int_eq(h2api_request_id_is_sane(id, strlen(id)), 1);
    }
}
END_TEST

START_TEST(generated_distinct)
{
    static char ids[NUM_IDS][H2API_REQUEST_ID_GENERATED_LEN + 1];
    uint64_t state[2] = {0, 0}; /* seeded by the generator from getrandom(2) */
    size_t i;

    for (i = 0; i < NUM_IDS; ++i)
        h2api_request_id_generate(state, ids[i]);
    ck_assert(state[0] != 0 || state[1] != 0);
    qsort(ids, NUM_IDS, sizeof(ids[0]), compare_ids);
    for (i = 1; i < NUM_IDS; ++i)
        ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "id %s generated twice", ids[i]);
}
END_TEST

START_TEST(generated_seeding)
{
    uint64_t a[2] = {0, 0}, b[2] = {0, 0}, c[2] = {1, 2}, d[2] = {1, 2};
    char id_a[H2API_REQUEST_ID_GENERATED_LEN + 1], id_b[H2API_REQUEST_ID_GENERATED_LEN + 1];

    /* two zero states are seeded independently */
    h2api_request_id_generate(a, id_a);
    h2api_request_id_generate(b, id_b);
    ck_assert_str_ne(id_a, id_b);
    /* a given state is used as it is: the same seed gives the same ids */
    h2api_request_id_generate(c, id_a);
    h2api_request_id_generate(d, id_b);
    ck_assert_str_eq(id_a, id_b);
    ck_assert(c[0] == d[0] && c[1] == d[1]);
    h2api_request_id_generate(c, id_b);
    ck_assert_str_ne(id_a, id_b);
}
END_TEST

/* One TCase per behaviour. */
Suite *unit_suite(void)
{
    const unit_case_t cases[] = {
        UNIT_CASE(sane_lengths),       UNIT_CASE(sane_chars),        UNIT_CASE(generated_shape),
        UNIT_CASE(generated_distinct), UNIT_CASE(generated_seeding),
    };
    return unit_suite_create("reqid", NULL, NULL, 0, cases, UNIT_LEN(cases));
}
