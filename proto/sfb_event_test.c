/* sfb_event_test.c - event bodies: round trip, forward compatibility, refusals. */
#include "sfb_event.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <msgpack.h>
#include <string.h>

static void
test_round_trip_each_kind(void **state)
{
    (void)state;
    sfb_event_t in[] = {
        {.kind = SFB_EV_PROXY_POLL,
         .seq = 1,
         .ts_ms = 1700000000000,
         .outcome = SFB_OUT_IDLE,
         .ptype = SFB_PROXY_WEBEXT,
         .nat = SFB_NAT_RESTRICTED,
         .relay_pattern = true,
         .cc = "CA",
         .has_tag = true,
         .tag = {1, 2, 3, 4, 5, 6, 7, 8}},
        {.kind = SFB_EV_CLIENT_POLL,
         .seq = 2,
         .outcome = SFB_OUT_DENIED,
         .nat = SFB_NAT_UNRESTRICTED,
         .method = SFB_METHOD_AMPCACHE,
         .cc = "??"},
        {.kind = SFB_EV_PROXY_ANSWER,
         .seq = 3,
         .outcome = SFB_OUT_CLIENT_GONE,
         .ptype = SFB_PROXY_UNKNOWN,
         .cc = "??"},
    };
    sfb_buf_t b;
    sfb_buf_init(&b);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        sfb_buf_reset(&b);
        sfb_event_encode(&in[i], &b);
        sfb_event_t out;
        assert_int_equal(sfb_event_decode(b.data, b.len, &out), SFB_OK);
        assert_int_equal(out.kind, in[i].kind);
        assert_true(out.seq == in[i].seq);
        assert_true(out.ts_ms == in[i].ts_ms);
        assert_int_equal(out.outcome, in[i].outcome);
        assert_int_equal(out.ptype, in[i].ptype);
        assert_int_equal(out.nat, in[i].nat);
        assert_int_equal(out.method, in[i].method);
        assert_int_equal(out.relay_pattern, in[i].relay_pattern);
        assert_string_equal(out.cc, in[i].cc);
        assert_int_equal(out.has_tag, in[i].has_tag);
        assert_memory_equal(out.tag, in[i].tag, SFB_EVENT_TAG_BYTES);
    }
    /* a replay batch is the concatenation of bodies */
    sfb_buf_reset(&b);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        sfb_event_encode(&in[i], &b);
    size_t off = 0;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        sfb_event_t out;
        assert_int_equal(sfb_event_decode_next(b.data, b.len, &off, &out), SFB_OK);
        assert_true(out.seq == in[i].seq);
        assert_true(out.epoch == in[i].epoch);
    }
    assert_int_equal(off, b.len);
    sfb_event_t none;
    assert_int_equal(sfb_event_decode_next(b.data, b.len, &off, &none), SFB_TRUNCATED);
    sfb_buf_dispose(&b);
    assert_string_equal(sfb_event_topic(SFB_EV_CLIENT_POLL), "client-poll");
    assert_string_equal(sfb_outcome_str(SFB_OUT_CLIENT_GONE), "client-gone");
}

/* Start a hand-made event map of `n` pairs with the required v, seq, kind and outcome. */
static void
s_pack_head(msgpack_packer *pk, uint32_t n, const char *kind, const char *outcome)
{
    msgpack_pack_map(pk, n);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_str_with_body(pk, "seq", 3);
    msgpack_pack_uint8(pk, 9);
    msgpack_pack_str_with_body(pk, "kind", 4);
    msgpack_pack_str_with_body(pk, kind, strlen(kind));
    msgpack_pack_str_with_body(pk, "outcome", 7);
    msgpack_pack_str_with_body(pk, outcome, strlen(outcome));
}

static void
test_unknown_keys_and_versions(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, sfb_buf_write);
    s_pack_head(&pk, 5, "proxy-answer", "success");
    msgpack_pack_str_with_body(&pk, "future", 6);
    msgpack_pack_array(&pk, 0);
    sfb_event_t ev;
    assert_int_equal(sfb_event_decode(b.data, b.len, &ev), SFB_OK);
    assert_int_equal(ev.outcome, SFB_OUT_SUCCESS);
    assert_string_equal(ev.cc, "??");

    /* "" (no geolocation database): an empty msgpack string, whose pointer may be NULL */
    sfb_buf_reset(&b);
    s_pack_head(&pk, 5, "client-poll", "denied");
    msgpack_pack_str_with_body(&pk, "cc", 2);
    msgpack_pack_str_with_body(&pk, "", 0);
    assert_int_equal(sfb_event_decode(b.data, b.len, &ev), SFB_OK);
    assert_string_equal(ev.cc, "");

    sfb_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 2);
    assert_int_equal(sfb_event_decode(b.data, b.len, &ev), SFB_BAD_VERSION);

    sfb_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 1);
    assert_int_equal(sfb_event_decode(b.data, b.len, &ev), SFB_BAD_VALUE);

    const unsigned char forged[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(sfb_event_decode(forged, sizeof forged, &ev), SFB_TOO_BIG);
    sfb_buf_dispose(&b);
}

int
sfb_event_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_each_kind),
        cmocka_unit_test(test_unknown_keys_and_versions),
    };
    return cmocka_run_group_tests_name("sfb_event", tests, NULL, NULL);
}
