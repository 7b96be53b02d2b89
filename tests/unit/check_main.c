/*
 * main() for every unit suite (check_main.h): runs the suite the test file's unit_suite()
 * creates, with check's environment (CK_RUN_SUITE, CK_RUN_CASE, CK_FORK, CK_VERBOSITY).
 */
#include <signal.h>
#include <stdlib.h>
#include "check_main.h"

Suite *unit_suite_create(const char *name, SFun setup, SFun teardown, double timeout_s, const unit_case_t *cases, size_t num_cases)
{
    Suite *s = suite_create(name);

    for (size_t i = 0; i != num_cases; ++i) {
        const unit_case_t *c = cases + i;
        double case_timeout_s = c->timeout_s != 0 ? c->timeout_s : timeout_s;
        TCase *tc = tcase_create(c->name);
        if (setup != NULL || teardown != NULL)
            tcase_add_checked_fixture(tc, setup, teardown);
        if (case_timeout_s != 0)
            tcase_set_timeout(tc, case_timeout_s);
        tcase_add_loop_test(tc, c->test, 0, c->loops > 1 ? c->loops : 1);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unit_suite());
    int failed;

    /* as in the server: a peer that closes first gives EPIPE, not the end of the test process */
    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
