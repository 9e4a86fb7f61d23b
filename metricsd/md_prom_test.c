/* md_prom_test.c - Go %g values and the exposition text (sorting, labels, omitted families). */
#include "md_health.h"
#include "md_prom.h"
#include "md_selftest.h"
#include "sfb_log.h"
#include "sfb_test.h"

#include <string.h>

static void
test_fmt_g(void **state)
{
    (void)state;
    const struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},
                 {8, "8"},
                 {16, "16"},
                 {123456, "123456"},
                 {999999, "999999"},
                 {1e6, "1e+06"},
                 {1234567, "1.234567e+06"},
                 {1.5, "1.5"},
                 {0.0001, "0.0001"},
                 {0.00001, "1e-05"},
                 {1e21, "1e+21"},
                 {18446744073709551615.0, "1.8446744073709552e+19"}};
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(md_prom_fmt_g(cases[i].v, buf, sizeof buf), cases[i].want);
}

static void
test_exposition(void **state)
{
    (void)state;
    md_prom_t *p = md_prom_new();
    sfb_buf_t b;
    sfb_buf_init(&b);
    md_prom_format(p, &b);
    assert_int_equal(b.len, 0); /* families without series are omitted */

    md_prom_client_poll(p, md_cc_slot("CA"), SFB_NAT_RESTRICTED, SFB_METHOD_HTTP, MD_CLIENT_DENIED);
    for (int i = 0; i < 9; i++)
        md_prom_client_poll(p, md_cc_slot("??"), SFB_NAT_UNKNOWN, SFB_METHOD_AMPCACHE,
                            MD_CLIENT_MATCHED);
    md_prom_proxy_total(p, md_cc_slot("DE"), SFB_NAT_UNKNOWN, SFB_PROXY_WEBEXT);
    md_prom_proxy_total(p, md_cc_slot("DE"), SFB_NAT_UNKNOWN, SFB_PROXY_BADGE);
    md_prom_proxy_poll(p, SFB_NAT_RESTRICTED, SFB_PROXY_STANDALONE, false);
    md_prom_proxy_poll(p, SFB_NAT_RESTRICTED, SFB_PROXY_STANDALONE, true);
    md_prom_relay(p, MD_RELAY_WITH, SFB_NAT_UNRESTRICTED, SFB_PROXY_STANDALONE);
    md_prom_answer(p, true, SFB_PROXY_STANDALONE);
    md_prom_answer(p, false, SFB_PROXY_STANDALONE);
    md_prom_format(p, &b);
    assert_string_equal(
        b.data,
        "# HELP snowflake_proxy_total The number of unique snowflake IPs\n"
        "# TYPE snowflake_proxy_total counter\n"
        "snowflake_proxy_total{cc=\"DE\",nat=\"unknown\",type=\"badge\"} 1\n"
        "snowflake_proxy_total{cc=\"DE\",nat=\"unknown\",type=\"webext\"} 1\n"
        "# HELP snowflake_rounded_client_poll_total The number of snowflake client polls, "
        "rounded up to a multiple of 8\n"
        "# TYPE snowflake_rounded_client_poll_total counter\n"
        "snowflake_rounded_client_poll_total{cc=\"??\",nat=\"unknown\",rendezvous_method="
        "\"ampcache\",status=\"matched\"} 16\n"
        "snowflake_rounded_client_poll_total{cc=\"CA\",nat=\"restricted\",rendezvous_method="
        "\"http\",status=\"denied\"} 8\n"
        "# HELP snowflake_rounded_proxy_answer_total The number of snowflake proxy answers, "
        "rounded up to a multiple of 8\n"
        "# TYPE snowflake_rounded_proxy_answer_total counter\n"
        "snowflake_rounded_proxy_answer_total{status=\"success\",type=\"standalone\"} 8\n"
        "snowflake_rounded_proxy_answer_total{status=\"timeout\",type=\"\"} 8\n"
        "# HELP snowflake_rounded_proxy_poll_total The number of snowflake proxy polls, rounded "
        "up to a multiple of 8\n"
        "# TYPE snowflake_rounded_proxy_poll_total counter\n"
        "snowflake_rounded_proxy_poll_total{nat=\"restricted\",status=\"idle\",type="
        "\"standalone\"} 8\n"
        "snowflake_rounded_proxy_poll_total{nat=\"restricted\",status=\"matched\",type="
        "\"standalone\"} 8\n"
        "# HELP snowflake_rounded_proxy_poll_with_relay_url_extension_total The number of "
        "snowflake proxy polls with Relay URL Extension, rounded up to a multiple of 8\n"
        "# TYPE snowflake_rounded_proxy_poll_with_relay_url_extension_total counter\n"
        "snowflake_rounded_proxy_poll_with_relay_url_extension_total{nat=\"unrestricted\",type="
        "\"standalone\"} 8\n");
    /* health figures: names sorted, one family each */
    md_health_t *h = md_health_new();
    md_health_add(h, MD_H_MISSED, 3);
    sfb_buf_reset(&b);
    md_health_format(h, &b);
    assert_non_null(strstr(b.data, "# TYPE snowflake_metricsd_missed_events_total counter\n"
                                   "snowflake_metricsd_missed_events_total 3\n"));
    const char *prev = "";
    for (const char *l = b.data; (l = strstr(l, "# TYPE ")) != NULL; l++) {
        assert_true(strncmp(prev, l + 7, 40) < 0);
        prev = l + 7;
    }
    md_health_destroy(&h);
    sfb_buf_dispose(&b);
    md_prom_destroy(&p);
    assert_null(p);
}

/* The gauge: series appear once non-zero and stay at 0, sorted by nat then type, and a stale
 * sample is not shown. */
static void
test_available_gauge(void **state)
{
    (void)state;
    md_prom_t *p = md_prom_new();
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT] = {{0}};
    md_prom_available(p, avail, sfb_now_ms());
    md_prom_format(p, &b);
    assert_int_equal(b.len, 0); /* nothing was ever available: no series */

    avail[SFB_PROXY_STANDALONE][SFB_NAT_UNRESTRICTED] = 1;
    avail[SFB_PROXY_WEBEXT][SFB_NAT_RESTRICTED] = 1000000;
    avail[SFB_PROXY_BADGE][SFB_NAT_RESTRICTED] = 2;
    md_prom_available(p, avail, sfb_now_ms());
    avail[SFB_PROXY_BADGE][SFB_NAT_RESTRICTED] = 0;
    md_prom_available(p, avail, sfb_now_ms());
    md_prom_format(p, &b);
    assert_string_equal(
        b.data, "# HELP snowflake_available_proxies The number of currently available snowflake "
                "proxies\n"
                "# TYPE snowflake_available_proxies gauge\n"
                "snowflake_available_proxies{nat=\"restricted\",type=\"badge\"} 0\n"
                "snowflake_available_proxies{nat=\"restricted\",type=\"webext\"} 1e+06\n"
                "snowflake_available_proxies{nat=\"unrestricted\",type=\"standalone\"} 1\n");

    /* the matcher stopped answering: the family goes away rather than freeze */
    md_prom_available(p, avail, sfb_now_ms() - MD_PROM_AVAILABLE_STALE_MS - 1000);
    sfb_buf_reset(&b);
    md_prom_format(p, &b);
    assert_int_equal(b.len, 0);
    sfb_buf_dispose(&b);
    md_prom_destroy(&p);
}

int
md_prom_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_g),
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_available_gauge),
    };
    return cmocka_run_group_tests_name("md_prom", tests, NULL, NULL);
}
