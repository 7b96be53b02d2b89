/*
 * The scaffolding every unit suite shares: a suite is a table of cases, one TCase each, with
 * the suite's checked fixture around every test, and main() (check_main.c) runs it. A test file
 * defines only its tests and unit_suite():
 *
 *     Suite *unit_suite(void)
 *     {
 *         const unit_case_t cases[] = {
 *             UNIT_CASE(literals),               // TCase "literals", run once
 *             UNIT_LOOP_CASE(get_ok, 2),         // a loop test: _i = 0 and 1, each in a fresh fixture
 *             {"default", test_default, 0, 5},   // another TCase name, a 5 s timeout
 *         };
 *         return unit_suite_create("router", setup, teardown, 0, cases, UNIT_LEN(cases));
 *     }
 *
 * main() runs the suite with check's environment: CK_RUN_SUITE / CK_RUN_CASE run one suite or
 * one case by the names given here, CK_FORK=no runs the tests in this process (for gdb),
 * CK_VERBOSITY sets the output, CK_DEFAULT_TIMEOUT the timeout of cases that set none. It exits
 * 0 when no test failed, else 1.
 */
#ifndef h2api__test_check_main_h
#define h2api__test_check_main_h

#include <stddef.h>
#include <check.h>

/* One TCase of a suite. */
typedef struct st_unit_case_t {
    const char *name;  /* the TCase's name, which CK_RUN_CASE selects */
    const TTest *test; /* a START_TEST name */
    int loops;         /* 0 or 1: run once (_i = 0); N: a loop test, _i = 0 .. N-1 */
    double timeout_s;  /* seconds; 0: the suite's timeout_s */
} unit_case_t;

/* A case named after its test function. */
/* clang-format off */
#define UNIT_CASE(test) {#test, test, 0, 0}
/* A loop test named after its test function: runs `n` times, _i = 0 .. n-1. */
#define UNIT_LOOP_CASE(test, n) {#test, test, (n), 0}
/* clang-format on */
#define UNIT_LEN(a) (sizeof(a) / sizeof((a)[0]))

/**
 * Creates the suite `name` with one TCase per row of `cases`, in that order.
 * @param setup, teardown  a checked fixture run around every test (in the test's own process
 *                         unless CK_FORK=no), or both NULL for none
 * @param timeout_s        seconds for the cases whose row gives none; 0 keeps check's default
 *                         (CK_DEFAULT_TIMEOUT, else 4 s)
 * @param cases            read at once: it may live on the stack (START_TEST names are
 *                         variables, so a static table cannot hold them)
 * @return the suite, owned by the SRunner it is given to. Out of memory aborts (check's own
 *         allocations do).
 */
Suite *unit_suite_create(const char *name, SFun setup, SFun teardown, double timeout_s, const unit_case_t *cases, size_t num_cases);

/** Defined by each test file: its suite, which main() in check_main.c creates once and runs. */
Suite *unit_suite(void);

#endif
