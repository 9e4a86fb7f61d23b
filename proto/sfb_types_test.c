/* sfb_types_test.c - NAT/type/method vocabularies and fingerprint decoding. */
#include "sfb_selftest.h"
#include "sfb_test.h"
#include "sfb_types.h"

#include <string.h>

static void
test_nat_parse(void **state)
{
    (void)state;
    sfb_nat_t nat = SFB_NAT_RESTRICTED;
    assert_true(sfb_nat_parse("", 0, &nat));
    assert_int_equal(nat, SFB_NAT_UNKNOWN);
    assert_true(sfb_nat_parse("unrestricted", 12, &nat));
    assert_int_equal(nat, SFB_NAT_UNRESTRICTED);
    assert_true(sfb_nat_parse("restricted", 10, &nat));
    assert_int_equal(nat, SFB_NAT_RESTRICTED);
    assert_false(sfb_nat_parse("symmetric", 9, &nat));
    assert_false(sfb_nat_parse("Restricted", 10, &nat));
    assert_string_equal(sfb_nat_str(SFB_NAT_UNKNOWN), "unknown");
}

static void
test_proxy_type(void **state)
{
    (void)state;
    assert_int_equal(sfb_proxy_type_parse("standalone", 10), SFB_PROXY_STANDALONE);
    assert_int_equal(sfb_proxy_type_parse("iptproxy", 8), SFB_PROXY_IPTPROXY);
    assert_int_equal(sfb_proxy_type_parse("mobile", 6), SFB_PROXY_UNKNOWN);
    assert_int_equal(sfb_proxy_type_parse("Standalone", 10), SFB_PROXY_UNKNOWN);
    assert_string_equal(sfb_proxy_type_str(SFB_PROXY_BADGE), "badge");
    assert_string_equal(sfb_method_str(SFB_METHOD_AMPCACHE), "ampcache");
}

static void
test_fingerprint(void **state)
{
    (void)state;
    unsigned char fp[SFB_FINGERPRINT_MAX];
    assert_int_equal(sfb_fingerprint_decode(SFB_DEFAULT_FINGERPRINT, 40, fp), 20);
    assert_int_equal(fp[0], 0x2B);
    assert_int_equal(fp[19], 0x72);
    assert_int_equal(sfb_fingerprint_decode("2b280b23e1107bb62abfc40ddcc8824814f80a72", 40, fp),
                     20);
    assert_int_equal(sfb_fingerprint_decode("123123", 6, fp), 0);
    assert_int_equal(sfb_fingerprint_decode("2B280B23E1107BB62ABFC40DDCC8824814F80A7G", 40, fp), 0);
    char hex64[65];
    memset(hex64, 'a', 64);
    hex64[64] = '\0';
    assert_int_equal(sfb_fingerprint_decode(hex64, 64, fp), 32);
}

static void
test_country_codes(void **state)
{
    (void)state;
    assert_true(sfb_cc_is_valid("CA", 2));
    assert_true(sfb_cc_is_valid("??", 2));
    assert_false(sfb_cc_is_valid("\0A", 2));
    assert_true(sfb_cc_is_valid("", 0));
    assert_false(sfb_cc_is_valid("C", 1));
    assert_false(sfb_cc_is_valid("C?", 2));
    assert_false(sfb_cc_is_valid("CAN", 3));
}

int
sfb_types_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_parse),
        cmocka_unit_test(test_proxy_type),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_country_codes),
    };
    return cmocka_run_group_tests_name("sfb_types", tests, NULL, NULL);
}
