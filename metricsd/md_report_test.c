/* md_report_test.c - binning, country lists (spec §8.6 / §11.4) and the block layout. */
#include "md_report.h"
#include "md_selftest.h"
#include "sfb_test.h"

#include <string.h>

static const struct {
    const char *cc;
    uint64_t n;
} s_countries[] = {{"IT", 50}, {"FR", 200}, {"TZ", 100}, {"CN", 250}, {"RU", 150}, {"CA", 1},
                   {"BE", 1},  {"PH", 1},   {"AT", 105}, {"MY", 112}, {"ZA", 108}};

static void
s_fill(uint64_t counts[MD_CC_SLOTS], size_t n)
{
    memset(counts, 0, MD_CC_SLOTS * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        counts[md_cc_slot(s_countries[i].cc)] = s_countries[i].n;
}

static const char *
s_format(const uint64_t counts[MD_CC_SLOTS], bool binned, sfb_buf_t *b)
{
    sfb_buf_reset(b);
    md_report_countries(counts, binned, b);
    return b->data ? b->data : "";
}

static void
test_country_lists(void **state)
{
    (void)state;
    static uint64_t counts[MD_CC_SLOTS];
    sfb_buf_t b;
    sfb_buf_init(&b);
    s_fill(counts, 11);
    assert_string_equal(s_format(counts, false, &b),
                        "CN=250,FR=200,RU=150,MY=112,ZA=108,AT=105,TZ=100,IT=50,BE=1,CA=1,PH=1");
    /* HEAD: bin first, then sort; ties by code */
    assert_string_equal(s_format(counts, true, &b),
                        "CN=256,FR=200,RU=152,AT=112,MY=112,ZA=112,TZ=104,IT=56,BE=8,CA=8,PH=8");
    s_fill(counts, 8);
    assert_string_equal(s_format(counts, false, &b),
                        "CN=250,FR=200,RU=150,TZ=100,IT=50,BE=1,CA=1,PH=1");
    s_fill(counts, 0);
    assert_string_equal(s_format(counts, true, &b), "");
    counts[md_cc_slot("??")] = 3; /* "??" sorts after letters at equal counts: byte order */
    counts[md_cc_slot("ZZ")] = 3;
    counts[md_cc_slot("AA")] = 9;
    assert_string_equal(s_format(counts, false, &b), "AA=9,?\?=3,ZZ=3");
    assert_string_equal(s_format(counts, true, &b), "AA=16,?\?=8,ZZ=8");
    sfb_buf_dispose(&b);
}

static void
test_bin_and_slots(void **state)
{
    (void)state;
    const uint64_t in[] = {0, 1, 8, 9, 16, 105}, want[] = {0, 8, 8, 16, 16, 112};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(md_bin(in[i]), want[i]);
    assert_true(md_bin(UINT64_MAX) == (UINT64_MAX & ~(uint64_t)7));
    char cc[3];
    assert_string_equal(md_cc_name(md_cc_slot("CA"), cc), "CA");
    assert_string_equal(md_cc_name(md_cc_slot("A1"), cc), "A1");
    assert_string_equal(md_cc_name(md_cc_slot(""), cc), "??");
    assert_string_equal(md_cc_name(md_cc_slot("ca"), cc), "??");
    assert_string_equal(md_cc_name(md_cc_slot("CAN"), cc), "??");
    assert_string_equal(md_cc_name(md_cc_slot(NULL), cc), "??");
}

static void
test_empty_block(void **state)
{
    (void)state;
    md_stats_t *st = md_stats_new();
    sfb_buf_t b;
    sfb_buf_init(&b);
    md_report_end_line(1748554596000ULL, 86400000, &b);
    assert_string_equal(b.data, "snowflake-stats-end 2025-05-29 21:36:36 (86400 s)\n");
    sfb_buf_reset(&b);
    md_report_block(st, 1748563200000ULL, 2000, &b);
    assert_string_equal(b.data, "snowflake-stats-end 2025-05-30 00:00:00 (2 s)\n"
                                "snowflake-ips \n"
                                "snowflake-ips-iptproxy 0\n"
                                "snowflake-ips-standalone 0\n"
                                "snowflake-ips-webext 0\n"
                                "snowflake-ips-badge 0\n"
                                "snowflake-ips-total 0\n"
                                "snowflake-idle-count 0\n"
                                "snowflake-proxy-poll-with-relay-url-count 0\n"
                                "snowflake-proxy-poll-without-relay-url-count 0\n"
                                "snowflake-proxy-rejected-for-relay-url-count 0\n"
                                "client-denied-count 0\n"
                                "client-restricted-denied-count 0\n"
                                "client-unrestricted-denied-count 0\n"
                                "client-snowflake-match-count 0\n"
                                "client-snowflake-timeout-count 0\n"
                                "client-http-count 0\n"
                                "client-http-ips \n"
                                "client-ampcache-count 0\n"
                                "client-ampcache-ips \n"
                                "client-sqs-count 0\n"
                                "client-sqs-ips \n"
                                "snowflake-ips-nat-restricted 0\n"
                                "snowflake-ips-nat-unrestricted 0\n"
                                "snowflake-ips-nat-unknown 0\n");
    /* binned where the spec says, unbinned elsewhere */
    md_stats_add(st, MD_C_PROXY_TOTAL, 9);
    md_stats_add(st, MD_C_PROXY_IDLE, 9);
    md_stats_add(st, MD_C_NAT_UNKNOWN, 9);
    md_stats_cc_add(st, MD_MAP_PROXIES, md_cc_slot("DE"), 9);
    md_stats_cc_add(st, MD_MAP_SQS, md_cc_slot("DE"), 9);
    sfb_buf_reset(&b);
    md_report_block(st, 0, 86400000, &b);
    assert_non_null(strstr(b.data, "\nsnowflake-ips DE=9\n"));
    assert_non_null(strstr(b.data, "\nsnowflake-ips-total 9\n"));
    assert_non_null(strstr(b.data, "\nsnowflake-idle-count 16\n"));
    assert_non_null(strstr(b.data, "\nclient-sqs-ips DE=16\n"));
    assert_non_null(strstr(b.data, "\nsnowflake-ips-nat-unknown 9\n"));
    sfb_buf_dispose(&b);
    md_stats_destroy(&st);
}

int
md_report_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_country_lists),
        cmocka_unit_test(test_bin_and_slots),
        cmocka_unit_test(test_empty_block),
    };
    return cmocka_run_group_tests_name("md_report", tests, NULL, NULL);
}
