/* fe_geoip_test.c - Tor-format tables (spec §9 vectors on a generated file) and refusals. */
#include "fe_geoip.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
s_write_tmp(const char *text)
{
    char *path = strdup("/tmp/fe_geoip_testXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
s_expect(const fe_geoip_t *g, const char *addr, const char *want)
{
    char cc[3];
    fe_geoip_lookup(g, addr, cc);
    assert_string_equal(cc, want);
}

static void
test_tor_tables(void **state)
{
    (void)state;
    /* ranges from spec §9: 1.0.0.0/24 AU, 129.97.208.0/24 CA, 223.252.112.0-.127.255 JP */
    char *v4 = s_write_tmp("# comment\n16777216,16777471,AU\n\n2170671104,2170671359,CA\n"
                           "3757862912,3757867007,JP\n");
    char *v6 = s_write_tmp("2620:101:f000::,2620:101:f000:ffff:ffff:ffff:ffff:ffff,CA\n"
                           "2a07:2e40::,2a07:2e47:ffff:ffff:ffff:ffff:ffff:ffff,FR\n");
    fe_geoip_t *g = fe_geoip_new();
    s_expect(g, "1.0.0.1", "??");
    assert_false(fe_geoip_is_loaded(g));
    assert_int_equal(fe_geoip_load_tor(g, v4, v6), 0);
    assert_true(fe_geoip_is_loaded(g));
    s_expect(g, "129.97.208.23", "CA");
    s_expect(g, "129.97.208.26", "CA");
    s_expect(g, "223.252.127.255", "JP");
    s_expect(g, "1.0.0.1", "AU");
    s_expect(g, "::ffff:1.0.0.200", "AU");
    s_expect(g, "127.0.0.1", "??");
    s_expect(g, "0.0.0.0", "??");
    s_expect(g, "255.255.255.255", "??");
    s_expect(g, "8.8.8.8", "??");
    s_expect(g, "2620:101:f000:0:250:56ff:fe80:168e", "CA");
    s_expect(g, "2a07:2e40::", "FR");
    s_expect(g, "2a07:2e47:ffff:ffff:ffff:ffff:ffff:ffff", "FR");
    s_expect(g, "fd00::1", "??");
    s_expect(g, "::", "??");
    s_expect(g, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "??");
    s_expect(g, "", "??");
    s_expect(g, "not an address", "??");
    fe_geoip_destroy(&g);
    assert_null(g);
    unlink(v4);
    unlink(v6);
    free(v4);
    free(v6);
}

static void
test_bad_files_keep_old_tables(void **state)
{
    (void)state;
    char *good = s_write_tmp("16777216,16777471,AU\n");
    char *bad = s_write_tmp("16777216,16777471,AU\n1,2\n");
    char *bad2 = s_write_tmp("x,16777471,AU\n");
    fe_geoip_t *g = fe_geoip_new();
    assert_int_equal(fe_geoip_load_tor(g, good, NULL), 0);
    assert_int_equal(fe_geoip_load_tor(g, bad, NULL), -1);
    assert_int_equal(fe_geoip_load_tor(g, bad2, NULL), -1);
    assert_int_equal(fe_geoip_load_tor(g, "/nonexistent/geoip", NULL), -1);
    assert_int_equal(fe_geoip_load_mmdb(g, good), -1);
    s_expect(g, "1.0.0.9", "AU");
    fe_geoip_destroy(&g);
    fe_geoip_destroy(&g);
    unlink(good);
    unlink(bad);
    unlink(bad2);
    free(good);
    free(bad);
    free(bad2);
}

static void
test_odd_codes_become_unknown(void **state)
{
    (void)state;
    /* Tor files carry "??" and, in old copies, codes such as "A1" or "O1": never forwarded */
    char *v4 = s_write_tmp("16777216,16777471,A1\n16777472,16777727,??\n16777728,16777983,X\n"
                           "16777984,16778239,de\n");
    fe_geoip_t *g = fe_geoip_new();
    assert_false(fe_geoip_is_loaded(g));
    s_expect(g, "1.0.0.1", "??");
    assert_int_equal(fe_geoip_load_tor(g, v4, NULL), 0);
    assert_true(fe_geoip_is_loaded(g));
    s_expect(g, "1.0.0.1", "??");
    s_expect(g, "1.0.1.1", "??");
    s_expect(g, "1.0.2.1", "??");
    s_expect(g, "1.0.3.1", "de");
    s_expect(g, "::ffff:1.0.3.1", "de");
    fe_geoip_destroy(&g);
    unlink(v4);
    free(v4);
}

int
fe_geoip_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_tables),
        cmocka_unit_test(test_bad_files_keep_old_tables),
        cmocka_unit_test(test_odd_codes_become_unknown),
    };
    return cmocka_run_group_tests_name("fe_geoip", tests, NULL, NULL);
}
