/* fe_clientip_test.c - every spec §2.12 vector (upstream common/util/util_test.go) plus the
 * address parsing and canonical-text rules. */
#include "fe_clientip.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <string.h>

#define H(s) ((fe_hdr_t){(s), sizeof(s) - 1})

static const char *
s_resolve(unsigned hops, const fe_hdr_t *fwd, size_t nf, const fe_hdr_t *xff, size_t nx,
          const char *remote)
{
    static char out[FE_CLIENTIP_MAX];
    fe_clientip_resolve(hops, fwd, nf, xff, nx, remote, out);
    return out;
}

static void
test_upstream_vectors(void **state)
{
    (void)state;
    fe_hdr_t xff[] = {H("1.1.1.1, 2001:db8:cafe::99%eth0, 3.3.3.3, 192.168.1.1")};
    fe_hdr_t fwd[] = {H("For=fe80::abcd;By=fe80::1234, Proto=https;For=::ffff:188.0.2.128, "
                        "For=\"[2001:db8:cafe::17]:4848\", For=fc00::1")};
    assert_string_equal(s_resolve(1, fwd, 1, xff, 1, "192.168.1.2:8888"), "188.0.2.128");
    assert_string_equal(s_resolve(1, NULL, 0, xff, 1, "192.168.1.2:8888"), "1.1.1.1");
    assert_string_equal(s_resolve(1, NULL, 0, NULL, 0, "192.168.1.2:8888"), "192.168.1.2");
    assert_string_equal(s_resolve(1, NULL, 0, NULL, 0, NULL), "");
    assert_string_equal(s_resolve(1, NULL, 0, NULL, 0, ""), "");
}

static void
test_trusted_hops_zero_ignores_headers(void **state)
{
    (void)state;
    fe_hdr_t xff[] = {H("1.1.1.1")};
    fe_hdr_t fwd[] = {H("for=8.8.8.8")};
    assert_string_equal(s_resolve(0, fwd, 1, xff, 1, "192.168.1.2:8888"), "192.168.1.2");
    assert_string_equal(s_resolve(0, fwd, 1, xff, 1, "[2001:DB8::1]:443"), "2001:db8::1");
}

static void
test_multiple_headers_and_fallthrough(void **state)
{
    (void)state;
    /* all private or invalid in the first lines: the next line, then XFF, then the peer */
    fe_hdr_t fwd[] = {H("for=10.0.0.1, for=unknown, by=1.2.3.4"), H("for=\"9.9.9.9:80\"")};
    assert_string_equal(s_resolve(2, fwd, 2, NULL, 0, "127.0.0.1:1"), "9.9.9.9");
    fe_hdr_t fwd2[] = {H("for=10.0.0.1;for=8.8.8.8")}; /* only the first for= counts */
    fe_hdr_t xff[] = {H("  garbage , 0.0.0.0, 4.4.4.4")};
    assert_string_equal(s_resolve(1, fwd2, 1, xff, 1, "127.0.0.1:1"), "4.4.4.4");
    fe_hdr_t xff2[] = {H("10.1.1.1"), H("172.16.0.1, 5.5.5.5")};
    assert_string_equal(s_resolve(1, NULL, 0, xff2, 2, NULL), "5.5.5.5");
    fe_hdr_t xff3[] = {H("10.1.1.1")};
    assert_string_equal(s_resolve(1, NULL, 0, xff3, 1, "[::1]:5"), "::1");
    /* "for = x" has spaces around '=': not a for= part */
    fe_hdr_t fwd3[] = {H("for = 8.8.8.8")};
    assert_string_equal(s_resolve(1, fwd3, 1, NULL, 0, NULL), "");
    /* padded parts before a later for= (found by fuzzing: the scan overran the value) */
    fe_hdr_t fwd4[] = {H("\t\t by=x\t\t;\t proto=https \t; for=8.8.4.4")};
    assert_string_equal(s_resolve(1, fwd4, 1, NULL, 0, NULL), "8.8.4.4");
    static const char tail[] = "\t\t\t;\t\t\t"; /* no NUL after the value */
    fe_hdr_t fwd5[] = {{tail, sizeof tail - 1}};
    assert_string_equal(s_resolve(1, fwd5, 1, NULL, 0, NULL), "");
}

static void
s_parse_ok(const char *in, const char *want, bool want_private)
{
    char out[FE_CLIENTIP_MAX];
    bool priv = !want_private;
    assert_true(fe_clientip_parse(in, strlen(in), out, &priv));
    assert_string_equal(out, want);
    assert_int_equal(priv, want_private);
}

static void
test_parse_and_canonical_text(void **state)
{
    (void)state;
    s_parse_ok("129.97.208.23", "129.97.208.23", false);
    s_parse_ok("1.2.3.4:80", "1.2.3.4", false);
    s_parse_ok("[2001:4860::8888]:443", "2001:4860::8888", false);
    s_parse_ok("[2001:4860::8888]", "2001:4860::8888", false);
    s_parse_ok("::ffff:1.2.3.4", "1.2.3.4", false);
    s_parse_ok("::FFFF:10.0.0.1", "10.0.0.1", true);
    s_parse_ok("2a00:1450:0:0:1:0:0:5", "2a00:1450::1:0:0:5", false);
    s_parse_ok("2a00:1:0:1:0:1:0:1", "2a00:1:0:1:0:1:0:1", false);
    s_parse_ok("fe80::1%eth0", "fe80::1%eth0", true);
    s_parse_ok("[fe80::1%eth0]:80", "fe80::1%eth0", true);
    s_parse_ok("192.19.1.1", "192.19.1.1", true); /* the upstream 192.18.0.0/15 typo */
    s_parse_ok("198.18.0.1", "198.18.0.1", false);
    s_parse_ok("100.127.255.255", "100.127.255.255", true);
    s_parse_ok("2002::1", "2002::1", true);
    s_parse_ok("::2", "::2", false);
    s_parse_ok("::102:304", "::102:304", false);
    const char *bad[] = {"",          "0.0.0.0",     "::",        "[::]:1",   "1.2.3", "01.2.3.4",
                         "1.2.3.4.5", "example.com", "1.2.3.256", "[1.2.3.4", "1:2:3", "%eth0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[FE_CLIENTIP_MAX];
        bool priv;
        assert_false(fe_clientip_parse(bad[i], strlen(bad[i]), out, &priv));
    }
}

int
fe_clientip_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_vectors),
        cmocka_unit_test(test_trusted_hops_zero_ignores_headers),
        cmocka_unit_test(test_multiple_headers_and_fallthrough),
        cmocka_unit_test(test_parse_and_canonical_text),
    };
    return cmocka_run_group_tests_name("fe_clientip", tests, NULL, NULL);
}
