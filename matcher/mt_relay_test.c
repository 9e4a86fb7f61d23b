/* mt_relay_test.c - the namematcher acceptance vectors of spec §4.9 and the proxy check. */
#include "mt_relay.h"
#include "mt_selftest.h"
#include "sfb_test.h"

#include <string.h>

static bool
s_member(const char *pattern, const char *target)
{
    mt_relay_t *m = mt_relay_new(pattern, strlen(pattern));
    bool r = mt_relay_is_member(m, target, strlen(target));
    mt_relay_destroy(&m);
    return r;
}

static bool
s_superset(const char *a, const char *b)
{
    mt_relay_t *ma = mt_relay_new(a, strlen(a)), *mb = mt_relay_new(b, strlen(b));
    bool r = mt_relay_is_superset(ma, mb);
    mt_relay_destroy(&ma);
    mt_relay_destroy(&mb);
    return r;
}

static void
test_is_member(void **state)
{
    (void)state;
    assert_true(s_member("", ""));
    assert_true(s_member("^snowflake.torproject.net$", "snowflake.torproject.net"));
    assert_false(s_member("^snowflake.torproject.net$", "faketorproject.net"));
    assert_false(s_member("snowflake.torproject.net$", "faketorproject.net"));
    assert_true(s_member("snowflake.torproject.net$", "snowflake.torproject.net"));
    assert_true(s_member("snowflake.torproject.net$", "imaginary-01-snowflake.torproject.net"));
    assert_true(s_member("snowflake.torproject.net$", "imaginary-aaa-snowflake.torproject.net"));
    assert_false(
        s_member("snowflake.torproject.net$", "imaginary-aaa-snowflake.faketorproject.net"));
    /* exact matcher does not match longer names */
    assert_false(s_member("^snowflake.torproject.net$", "a.snowflake.torproject.net"));
}

static void
test_is_superset(void **state)
{
    (void)state;
    assert_true(s_superset("", ""));
    assert_true(s_superset("^snowflake.torproject.net$", "^snowflake.torproject.net$"));
    assert_true(s_superset("snowflake.torproject.net$", "^snowflake.torproject.net$"));
    assert_true(s_superset("snowflake.torproject.net$", "snowflake.torproject.net$"));
    assert_true(s_superset("snowflake.torproject.net$", "testing-snowflake.torproject.net$"));
    assert_true(s_superset("snowflake.torproject.net$", "^testing-snowflake.torproject.net$"));
    assert_false(s_superset("snowflake.torproject.net$", ""));
    assert_false(s_superset("^snowflake.torproject.net$", "snowflake.torproject.net$"));
}

static bool
s_accepts(const char *allowed, const char *proxy)
{
    mt_relay_t *m = mt_relay_new(allowed, strlen(allowed));
    bool r = mt_relay_accepts(m, proxy != NULL, proxy, proxy ? strlen(proxy) : 0);
    mt_relay_destroy(&m);
    return r;
}

/* spec §4.9 "Consequences" */
static void
test_accepts(void **state)
{
    (void)state;
    assert_false(s_accepts("", NULL));
    assert_false(s_accepts("snowflake.torproject.net$", NULL));
    assert_true(s_accepts("", ""));
    assert_true(s_accepts("", "$"));
    assert_false(s_accepts("", "snowflake.torproject.net$"));
    const char *prod = "snowflake.torproject.net$";
    assert_true(s_accepts(prod, "snowflake.torproject.net$"));
    assert_true(s_accepts(prod, "torproject.net$"));
    assert_true(s_accepts(prod, "net$"));
    assert_true(s_accepts(prod, ""));
    assert_false(s_accepts(prod, "^snowflake.torproject.net$"));
    assert_false(s_accepts(prod, "01.snowflake.torproject.net$"));
    /* the allowed pattern of the upstream tests has no '$' */
    assert_true(s_accepts("snowflake.torproject.net", "snowflake.torproject.net"));
    /* NULL pointer with zero length is an empty pattern */
    mt_relay_t *m = mt_relay_new(NULL, 0);
    assert_true(mt_relay_accepts(m, true, NULL, 0));
    assert_true(mt_relay_is_member(m, NULL, 0));
    mt_relay_destroy(&m);
    assert_null(m);
}

int
mt_relay_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_member),
        cmocka_unit_test(test_is_superset),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests_name("mt_relay", tests, NULL, NULL);
}
