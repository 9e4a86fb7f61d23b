/* fe_limits_test.c - the descriptor budget: raising RLIMIT_NOFILE and sizing the cap. */
#include "fe_limits.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <sys/resource.h>

static void
test_raise_reaches_hard(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    struct rlimit low = {.rlim_cur = 64, .rlim_max = rl.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    uint64_t got = fe_limits_raise_nofile();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(got == (uint64_t)rl.rlim_cur);
    if (rl.rlim_max != RLIM_INFINITY)
        assert_true(rl.rlim_cur == rl.rlim_max);
    assert_true(got > 64);
    /* already raised: unchanged */
    assert_true(fe_limits_raise_nofile() == got);
}

static void
test_cap(void **state)
{
    (void)state;
    bool clamped = true;
    assert_int_equal(fe_limits_max_connections(0, 20000, &clamped), 20000 - FE_LIMITS_FD_RESERVE);
    assert_false(clamped);
    assert_int_equal(fe_limits_max_connections(500, 20000, &clamped), 500);
    assert_false(clamped);
    assert_int_equal(fe_limits_max_connections(50000, 20000, &clamped),
                     20000 - FE_LIMITS_FD_RESERVE);
    assert_true(clamped);
    assert_int_equal(fe_limits_max_connections(0, 100, &clamped), 1); /* tiny limit: still 1 */
    assert_int_equal(fe_limits_max_connections(0, 0, &clamped), 1);
}

int
fe_limits_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_reaches_hard),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests_name("fe_limits", tests, NULL, NULL);
}
