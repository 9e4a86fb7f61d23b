/* md_evjson_test.c - event bodies as JSON lines. */
#include "md_evjson.h"
#include "md_selftest.h"
#include "sfb_event.h"
#include "sfb_test.h"

static void
test_format(void **state)
{
    (void)state;
    sfb_event_t ev = {.kind = SFB_EV_PROXY_POLL,
                      .seq = 7,
                      .ts_ms = 1700000000000,
                      .outcome = SFB_OUT_IDLE,
                      .ptype = SFB_PROXY_WEBEXT,
                      .nat = SFB_NAT_RESTRICTED,
                      .relay_pattern = true,
                      .cc = "CA",
                      .has_tag = true,
                      .tag = {1, 2, 3, 4, 5, 6, 0xab, 0xff}};
    sfb_buf_t body, out;
    sfb_buf_init(&body);
    sfb_buf_init(&out);
    sfb_event_encode(&ev, &body);
    assert_int_equal(md_evjson_format(body.data, body.len, &out), SFB_OK);
    assert_string_equal(
        out.data, "{\"v\":1,\"epoch\":0,\"seq\":7,\"ts\":1700000000000,\"kind\":\"proxy-poll\","
                  "\"outcome\":\"idle\",\"cc\":\"CA\",\"type\":\"webext\","
                  "\"nat\":\"restricted\",\"relay_pattern\":true,"
                  "\"tag\":\"010203040506abff\"}");
    sfb_buf_dispose(&out);
    sfb_buf_dispose(&body);
}

static void
test_refusals(void **state)
{
    (void)state;
    sfb_buf_t out;
    sfb_buf_init(&out);
    assert_int_equal(md_evjson_format("\x93\x01\x02\x03", 4, &out), SFB_BAD_TYPE); /* array */
    assert_int_equal(md_evjson_format("\xc1", 1, &out), SFB_BAD_SYNTAX);
    assert_int_not_equal(md_evjson_format("\xdd\xff\xff\xff\xff", 5, &out), SFB_OK);
    assert_int_equal(md_evjson_format("\x81\x01\x02", 3, &out), SFB_BAD_TYPE); /* int key */
    assert_int_equal(md_evjson_format("\x81\xa1k\xa2\"\n", 6, &out), SFB_OK);
    assert_string_equal(out.data, "{\"k\":\"\\\"\\u000a\"}");
    sfb_buf_dispose(&out);
}

int
md_evjson_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("md_evjson", tests, NULL, NULL);
}
