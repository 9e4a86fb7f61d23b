/* md_agg_test.c - aggregation at HEAD semantics: the §8.5 block from events, the TestMetrics
 * cases of spec §11.2, intervals, sequence gaps, and checkpoint round trips. */
#include "md_agg.h"
#include "md_selftest.h"
#include "sfb_test.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400000ULL
#define T0 1748554596000ULL /* 2025-05-29 21:36:36 UTC, inside [2025-05-29, 2025-05-30) */

typedef struct {
    md_health_t *health; /* figures */
    md_agg_t *agg;       /* under test */
    sfb_buf_t out;       /* last report */
} s_fix_t;

static int
s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    f->health = md_health_new();
    f->agg = md_agg_new(DAY, T0, f->health);
    sfb_buf_init(&f->out);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    md_agg_destroy(&f->agg);
    md_health_destroy(&f->health);
    sfb_buf_dispose(&f->out);
    free(f);
    return 0;
}

/* A proxy poll; tag 0 means "no tag" (no geoip at the frontend). */
static void
s_proxy(s_fix_t *f, int tag, sfb_proxy_type_t type, sfb_nat_t nat, sfb_outcome_t out, bool relay,
        const char *cc)
{
    sfb_event_t ev = {.kind = SFB_EV_PROXY_POLL,
                      .outcome = out,
                      .ptype = type,
                      .nat = nat,
                      .relay_pattern = relay,
                      .has_tag = tag != 0,
                      .tag = {(unsigned char)tag, 7}};
    strcpy(ev.cc, cc);
    assert_int_equal(md_agg_apply(f->agg, &ev), 0);
}

static void
s_client(s_fix_t *f, sfb_nat_t nat, sfb_method_t method, sfb_outcome_t out, const char *cc)
{
    sfb_event_t ev = {.kind = SFB_EV_CLIENT_POLL, .outcome = out, .nat = nat, .method = method};
    strcpy(ev.cc, cc);
    assert_int_equal(md_agg_apply(f->agg, &ev), 0);
}

/* Report the interval, then start the next one, as at an interval end. */
static const char *
s_print(s_fix_t *f)
{
    sfb_buf_reset(&f->out);
    md_agg_report(f->agg, &f->out);
    md_agg_advance(f->agg, md_agg_end_ms(f->agg));
    return f->out.data;
}

#define assert_has(text, needle) assert_non_null(strstr((text), (needle)))

static void
test_spec_block(void **state)
{
    s_fix_t *f = *state;
    /* upstream: four CA proxies, types none/standalone/badge/webext, NAT unknown, idle */
    s_proxy(f, 23, SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 24, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 25, SFB_PROXY_BADGE, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 26, SFB_PROXY_WEBEXT, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, true, "CA");
    assert_string_equal(s_print(f), "snowflake-stats-end 2025-05-30 00:00:00 (86400 s)\n"
                                    "snowflake-ips CA=4\n"
                                    "snowflake-ips-iptproxy 0\n"
                                    "snowflake-ips-standalone 1\n"
                                    "snowflake-ips-webext 1\n"
                                    "snowflake-ips-badge 1\n"
                                    "snowflake-ips-total 4\n"
                                    "snowflake-idle-count 8\n"
                                    "snowflake-proxy-poll-with-relay-url-count 8\n"
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
                                    "snowflake-ips-nat-unknown 4\n");
}

static void
test_clients(void **state)
{
    s_fix_t *f = *state;
    /* no proxies available, client from a CA address; then everything is reset */
    s_client(f, SFB_NAT_UNKNOWN, SFB_METHOD_HTTP, SFB_OUT_DENIED, "CA");
    const char *t = s_print(f);
    assert_has(t, "\nclient-denied-count 8\nclient-restricted-denied-count 8\n"
                  "client-unrestricted-denied-count 0\nclient-snowflake-match-count 0\n"
                  "client-snowflake-timeout-count 0\nclient-http-count 8\nclient-http-ips CA=8\n"
                  "client-ampcache-count 0\nclient-ampcache-ips \nclient-sqs-count 0\n"
                  "client-sqs-ips \n");
    t = s_print(f);
    assert_has(t, "\nsnowflake-ips \n");
    assert_has(t, "\nsnowflake-ips-standalone 0\nsnowflake-ips-webext 0\nsnowflake-ips-badge 0\n");
    assert_has(t, "\nclient-denied-count 0\n");
    assert_has(t, "\nclient-http-count 0\nclient-http-ips \n");
    /* match */
    s_client(f, SFB_NAT_UNKNOWN, SFB_METHOD_HTTP, SFB_OUT_MATCHED, "??");
    assert_has(s_print(f), "\nclient-denied-count 0\nclient-restricted-denied-count 0\n"
                           "client-unrestricted-denied-count 0\nclient-snowflake-match-count 8\n");
    /* binning boundary: 9 denied restricted clients */
    for (int i = 0; i < 9; i++)
        s_client(f, SFB_NAT_RESTRICTED, SFB_METHOD_HTTP, SFB_OUT_DENIED, "??");
    assert_has(s_print(f), "\nclient-denied-count 16\nclient-restricted-denied-count 16\n"
                           "client-unrestricted-denied-count 0\n");
    /* failures by NAT type: restricted, unrestricted, unknown */
    const sfb_nat_t nats[] = {SFB_NAT_RESTRICTED, SFB_NAT_UNRESTRICTED, SFB_NAT_UNKNOWN};
    const char *want[] = {
        "8\nclient-restricted-denied-count 8\nclient-unrestricted-denied-count 0",
        "8\nclient-restricted-denied-count 0\nclient-unrestricted-denied-count 8",
        "8\nclient-restricted-denied-count 8\nclient-unrestricted-denied-count 0"};
    for (int i = 0; i < 3; i++) {
        s_client(f, nats[i], SFB_METHOD_HTTP, SFB_OUT_DENIED, "??");
        t = s_print(f);
        assert_has(t, want[i]);
        assert_has(t, "\nclient-snowflake-match-count 0\n");
    }
    /* AMP and SQS go to their own lines; timeouts */
    s_client(f, SFB_NAT_UNKNOWN, SFB_METHOD_AMPCACHE, SFB_OUT_DENIED, "??");
    s_client(f, SFB_NAT_UNRESTRICTED, SFB_METHOD_SQS, SFB_OUT_TIMEOUT, "JP");
    t = s_print(f);
    assert_has(t, "\nclient-snowflake-timeout-count 8\nclient-http-count 0\nclient-http-ips \n"
                  "client-ampcache-count 8\nclient-ampcache-ips ?\?=8\nclient-sqs-count 8\n"
                  "client-sqs-ips JP=8\n");
}

static void
test_unique_proxies(void **state)
{
    s_fix_t *f = *state;
    /* same IP polls twice */
    s_proxy(f, 1, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 1, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_MATCHED, true, "CA");
    const char *t = s_print(f);
    assert_has(t, "\nsnowflake-ips CA=1\n");
    assert_has(t, "\nsnowflake-ips-total 1\n");
    assert_has(t, "\nsnowflake-idle-count 8\n");
    /* same IP as several types: once in total, once per type */
    s_proxy(f, 2, SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "DE");
    s_proxy(f, 2, SFB_PROXY_BADGE, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "DE");
    s_proxy(f, 2, SFB_PROXY_WEBEXT, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "DE");
    s_proxy(f, 2, SFB_PROXY_IPTPROXY, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "DE");
    t = s_print(f);
    assert_has(t, "\nsnowflake-ips DE=1\nsnowflake-ips-iptproxy 1\nsnowflake-ips-standalone 1\n"
                  "snowflake-ips-webext 1\nsnowflake-ips-badge 1\nsnowflake-ips-total 1\n");
    assert_has(t, "\nsnowflake-ips-nat-unrestricted 1\n");
    /* NAT counts: restricted from one IP, unrestricted from another */
    s_proxy(f, 23, SFB_PROXY_UNKNOWN, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 24, SFB_PROXY_UNKNOWN, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "CA");
    assert_has(s_print(f), "\nsnowflake-ips-nat-restricted 1\nsnowflake-ips-nat-unrestricted 1\n"
                           "snowflake-ips-nat-unknown 0\n");
    /* one IP changing NAT counts once per NAT */
    s_proxy(f, 5, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 5, SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, SFB_OUT_IDLE, true, "CA");
    assert_has(s_print(f), "\nsnowflake-ips-nat-restricted 1\nsnowflake-ips-nat-unrestricted 1\n");
    /* upstream key collision: type unknown then NAT unknown share "<ip>-unknown" */
    s_proxy(f, 6, SFB_PROXY_UNKNOWN, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 6, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, true, "CA");
    assert_has(s_print(f), "\nsnowflake-ips-nat-restricted 1\nsnowflake-ips-nat-unrestricted 0\n"
                           "snowflake-ips-nat-unknown 0\n");
    /* the seen set is cleared after each print (HEAD c8b0b31) */
    for (int i = 0; i < 2; i++) {
        s_proxy(f, 23, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
        t = s_print(f);
        assert_has(t, "\nsnowflake-ips CA=1\n");
        assert_has(t, "\nsnowflake-ips-total 1\n");
    }
}

static void
test_relay_and_no_tag(void **state)
{
    s_fix_t *f = *state;
    s_proxy(f, 0, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_IDLE, false, "??");
    s_proxy(f, 9, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_REJECTED, false, "CA");
    s_proxy(f, 9, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_REJECTED, true, "CA");
    s_proxy(f, 0, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, SFB_OUT_CANCELLED, true, "??");
    const char *t = s_print(f);
    assert_has(t, "\nsnowflake-ips \nsnowflake-ips-iptproxy 0\nsnowflake-ips-standalone 0\n");
    assert_has(t, "\nsnowflake-ips-total 0\nsnowflake-idle-count 8\n"
                  "snowflake-proxy-poll-with-relay-url-count 8\n"
                  "snowflake-proxy-poll-without-relay-url-count 8\n"
                  "snowflake-proxy-rejected-for-relay-url-count 8\n");
    assert_has(t, "\nsnowflake-ips-nat-unknown 0\n");
    /* impossible outcomes are refused and counted */
    sfb_event_t ev = {.kind = SFB_EV_CLIENT_POLL, .outcome = SFB_OUT_IDLE, .cc = "??"};
    assert_int_equal(md_agg_apply(f->agg, &ev), -1);
    ev.kind = SFB_EV_PROXY_POLL;
    ev.outcome = SFB_OUT_DENIED;
    assert_int_equal(md_agg_apply(f->agg, &ev), -1);
    assert_int_equal(md_health_get(f->health, MD_H_INVALID), 2);
}

static void
test_intervals(void **state)
{
    s_fix_t *f = *state;
    assert_true(md_agg_align(T0, DAY) == 1748476800000ULL);
    assert_true(md_agg_start_ms(f->agg) == 1748476800000ULL);
    assert_true(md_agg_end_ms(f->agg) == 1748563200000ULL);
    assert_int_equal(md_agg_when(f->agg, 1748476800000ULL - 1), MD_TS_LATE);
    assert_int_equal(md_agg_when(f->agg, 1748476800000ULL), MD_TS_CURRENT);
    assert_int_equal(md_agg_when(f->agg, 1748563200000ULL - 1), MD_TS_CURRENT);
    assert_int_equal(md_agg_when(f->agg, 1748563200000ULL), MD_TS_AHEAD);
    md_agg_advance(f->agg, T0); /* not past the end: ignored */
    assert_true(md_agg_start_ms(f->agg) == 1748476800000ULL);
    md_agg_advance(f->agg, 1748563200000ULL + 3 * DAY + 5); /* skips to the interval of t */
    assert_true(md_agg_start_ms(f->agg) == 1748563200000ULL + 3 * DAY);
    md_agg_t *two = md_agg_new(2000, 1001, f->health);
    assert_true(md_agg_start_ms(two) == 0 && md_agg_end_ms(two) == 2000);
    md_agg_destroy(&two);
}

static void
test_position(void **state)
{
    s_fix_t *f = *state;
    assert_false(md_agg_has_position(f->agg));
    assert_int_equal(md_agg_last_seq(f->agg), 0);
    md_agg_set_position(f->agg, 0xfeedfacecafebeefULL, 100);
    assert_true(md_agg_has_position(f->agg));
    assert_true(md_agg_epoch(f->agg) == 0xfeedfacecafebeefULL);
    assert_int_equal(md_agg_last_seq(f->agg), 100);
    assert_int_equal(md_health_get(f->health, MD_H_LAST_SEQ), 100);
    assert_int_equal(md_health_get(f->health, MD_H_MISSED), 0); /* counting is md_catchup's */
}

static uint64_t
s_u64_at(const sfb_buf_t *b, size_t off)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)b->data[off + (size_t)i] << (8 * i);
    return v;
}

static void
test_checkpoint(void **state)
{
    s_fix_t *f = *state;
    s_proxy(f, 1, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    s_proxy(f, 2, SFB_PROXY_WEBEXT, SFB_NAT_UNKNOWN, SFB_OUT_MATCHED, false, "DE");
    s_client(f, SFB_NAT_UNKNOWN, SFB_METHOD_AMPCACHE, SFB_OUT_DENIED, "FR");
    md_agg_set_position(f->agg, 7777, 41);
    sfb_buf_t ck;
    sfb_buf_init(&ck);
    md_agg_save(f->agg, &ck);
    assert_int_equal(s_u64_at(&ck, MD_AGG_CKPT_SEQ_OFFSET), 41);
    assert_int_equal(s_u64_at(&ck, MD_AGG_CKPT_EPOCH_OFFSET), 7777);

    md_agg_t *saved = f->agg;
    f->agg = md_agg_new(DAY, T0 + DAY, f->health); /* a later interval: load replaces it */
    assert_int_equal(md_agg_load(f->agg, ck.data, ck.len), SFB_OK);
    assert_int_equal(md_agg_last_seq(f->agg), 41);
    assert_int_equal(md_agg_epoch(f->agg), 7777);
    /* the unique set came back: the same proxies do not count again */
    s_proxy(f, 1, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    md_agg_t *loaded = f->agg;
    f->agg = saved;
    s_proxy(f, 1, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, SFB_OUT_IDLE, true, "CA");
    sfb_buf_t a, b;
    sfb_buf_init(&a);
    sfb_buf_init(&b);
    md_agg_report(saved, &a);
    md_agg_report(loaded, &b);
    assert_string_equal(a.data, b.data);
    assert_has(a.data, "\nsnowflake-ips CA=1,DE=1\n");
    md_agg_destroy(&loaded);

    /* refusals leave the aggregator as it was */
    md_agg_t *other = md_agg_new(2000, T0, f->health);
    assert_int_equal(md_agg_load(other, ck.data, ck.len), SFB_BAD_VALUE); /* other length */
    md_agg_destroy(&other);
    ck.data[ck.len / 2] ^= 1;
    assert_int_equal(md_agg_load(f->agg, ck.data, ck.len), SFB_BAD_SYNTAX);
    assert_int_equal(md_agg_load(f->agg, ck.data, 5), SFB_TRUNCATED);
    assert_int_equal(md_agg_load(f->agg, "garbage-garbage-garbage", 23), SFB_BAD_SYNTAX);
    sfb_buf_reset(&b);
    md_agg_report(f->agg, &b);
    assert_string_equal(a.data, b.data);
    sfb_buf_dispose(&a);
    sfb_buf_dispose(&b);
    sfb_buf_dispose(&ck);
}

int
md_agg_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spec_block, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clients, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unique_proxies, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_relay_and_no_tag, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_intervals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_position, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("md_agg", tests, NULL, NULL);
}
