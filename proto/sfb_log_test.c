/* sfb_log_test.c - the last-chance scrubber must remove every address shape and keep times. */
#include "sfb_log.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <string.h>

static void
s_check(const char *in, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", in);
    sfb_log_scrub(buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void
test_scrub_ipv4(void **state)
{
    (void)state;
    s_check("poll from 1.2.3.4 ok", "poll from [scrubbed] ok");
    s_check("peer 129.97.208.23:8888 gone", "peer [scrubbed] gone");
    s_check("a 10.0.0.1,192.168.1.1.", "a [scrubbed],[scrubbed].");
    s_check("at 20:15:03 fine", "at 20:15:03 fine");
    s_check("version 1.2 only", "version 1.2 only");
}

static void
test_scrub_ipv6(void **state)
{
    (void)state;
    s_check("from ::1 x", "from [scrubbed] x");
    s_check("from [2001:db8:cafe::17]:4848", "from [[scrubbed]]:4848");
    s_check("x 2620:101:f000:0:250:56ff:fe80:168e.", "x [scrubbed].");
    s_check("mapped ::ffff:188.0.2.128 y", "mapped [scrubbed] y");
    s_check("fe80::abcd", "[scrubbed]");
    s_check("hash deadbeef cafe", "hash deadbeef cafe");
}

static void
test_scrub_truncates_safely(void **state)
{
    (void)state;
    char buf[12] = "1.2.3.4 abc";
    sfb_log_scrub(buf, sizeof buf);
    assert_string_equal(buf, "[scrubbed] ");
    char tiny[6] = "::1 a";
    sfb_log_scrub(tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 5);
    assert_null(strstr(tiny, "::1"));
}

static void
test_safe_addr_and_escape(void **state)
{
    (void)state;
    assert_string_equal(sfb_safe_addr("1.2.3.4"), "[scrubbed]");
    char out[32];
    sfb_log_escape("a\nb\x01\\", 10, out, sizeof out);
    assert_string_equal(out, "a\\x0ab\\x01\\x5c");
    sfb_log_escape("abcdef", 3, out, sizeof out);
    assert_string_equal(out, "abc");
}

static void
test_duration_units(void **state)
{
    (void)state;
    sfb_level_t l;
    assert_true(sfb_log_level_parse("debug", &l));
    assert_int_equal(l, SFB_DEBUG);
    assert_false(sfb_log_level_parse("loud", &l));
}

int
sfb_log_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrub_ipv4),
        cmocka_unit_test(test_scrub_ipv6),
        cmocka_unit_test(test_scrub_truncates_safely),
        cmocka_unit_test(test_safe_addr_and_escape),
        cmocka_unit_test(test_duration_units),
    };
    return cmocka_run_group_tests_name("sfb_log", tests, NULL, NULL);
}
