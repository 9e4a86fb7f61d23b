/* sfb_msg_test.c - frontend<->matcher messages: round trips, borrowed strings, hostile frames. */
#include "sfb_msg.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <string.h>

static void
s_assert_str(sfb_str_t s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static void
test_poll_round_trip(void **state)
{
    (void)state;
    sfb_msg_t in = {.type = SFB_MSG_PROXY_POLL, .req_id = UINT64_MAX - 1};
    in.u.poll = (sfb_msg_poll_t){.sid = SFB_STR("ymbcCMto7KHNGYlp"),
                                 .ptype = SFB_PROXY_STANDALONE,
                                 .nat = SFB_NAT_RESTRICTED,
                                 .clients = -24,
                                 .has_pattern = true,
                                 .pattern = SFB_STR("snowflake.torproject.net$"),
                                 .addr = SFB_STR("129.97.208.23"),
                                 .cc = "CA"};
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_encode(&in, &b);
    sfb_msg_t out;
    assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_OK);
    assert_int_equal(out.type, SFB_MSG_PROXY_POLL);
    assert_true(out.req_id == UINT64_MAX - 1);
    s_assert_str(out.u.poll.sid, "ymbcCMto7KHNGYlp");
    assert_int_equal(out.u.poll.ptype, SFB_PROXY_STANDALONE);
    assert_int_equal(out.u.poll.nat, SFB_NAT_RESTRICTED);
    assert_int_equal(out.u.poll.clients, -24);
    assert_true(out.u.poll.has_pattern);
    s_assert_str(out.u.poll.pattern, "snowflake.torproject.net$");
    s_assert_str(out.u.poll.addr, "129.97.208.23");
    assert_string_equal(out.u.poll.cc, "CA");
    /* strings borrow from the frame */
    assert_true(out.u.poll.sid.ptr >= b.data && out.u.poll.sid.ptr < b.data + b.len);

    in.u.poll.has_pattern = false;
    sfb_buf_reset(&b);
    sfb_msg_encode(&in, &b);
    assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_OK);
    assert_false(out.u.poll.has_pattern);
    sfb_buf_dispose(&b);
}

static void
test_other_types_round_trip(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_t m = {.type = SFB_MSG_CLIENT_OFFER, .req_id = 7};
    m.u.offer = (sfb_msg_offer_t){.offer = SFB_STR("{\"type\":\"offer\"}"),
                                  .nat = SFB_NAT_UNRESTRICTED,
                                  .fp_len = 20,
                                  .method = SFB_METHOD_AMPCACHE,
                                  .legacy = true,
                                  .addr = SFB_STR(""),
                                  .cc = "??"};
    memset(m.u.offer.fp, 0xab, 20);
    sfb_msg_encode(&m, &b);
    sfb_msg_t out;
    assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_OK);
    assert_int_equal(out.u.offer.fp_len, 20);
    assert_int_equal(out.u.offer.fp[19], 0xab);
    assert_int_equal(out.u.offer.method, SFB_METHOD_AMPCACHE);
    assert_true(out.u.offer.legacy);
    s_assert_str(out.u.offer.offer, "{\"type\":\"offer\"}");

    sfb_msg_t replies[] = {
        {.type = SFB_MSG_PROXY_REPLY,
         .req_id = 1,
         .u.proxy_reply = {SFB_PROXY_MATCH, SFB_STR("o"), SFB_NAT_UNKNOWN, SFB_STR("wss://x/")}},
        {.type = SFB_MSG_CLIENT_REPLY,
         .req_id = 2,
         .u.client_reply = {SFB_CLIENT_ANSWER, SFB_STR("a")}},
        {.type = SFB_MSG_ANSWER_REPLY, .req_id = 3, .u.answer_reply = SFB_ANSWER_CLIENT_GONE},
        {.type = SFB_MSG_DEBUG_REPLY, .req_id = 4, .u.debug_text = SFB_STR("text")},
        {.type = SFB_MSG_CANCEL, .req_id = 5},
        {.type = SFB_MSG_DEBUG, .req_id = 6},
        {.type = SFB_MSG_REPLAY_GET, .req_id = 12, .u.replay_get = {5, 100, 1000}},
        {.type = SFB_MSG_REPLAY_REPLY, .req_id = 13, .u.replay_reply = {5, 100, 0, SFB_STR("")}},
        {.type = SFB_MSG_REPORT_GET, .req_id = 10, .u.report_get = SFB_REPORT_PROMETHEUS},
        {.type = SFB_MSG_REPORT_REPLY, .req_id = 11, .u.report_reply = {true, SFB_STR("log")}},
        {.type = SFB_MSG_PROXY_ANSWER, .req_id = 8, .u.answer = {SFB_STR("sid"), SFB_STR("ans")}},
    };
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        sfb_buf_reset(&b);
        sfb_msg_encode(&replies[i], &b);
        assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_OK);
        assert_int_equal(out.type, replies[i].type);
        assert_true(out.req_id == replies[i].req_id);
    }
    s_assert_str(out.u.answer.answer, "ans");
    sfb_buf_dispose(&b);
}

static void
test_hostile_frames(void **state)
{
    (void)state;
    sfb_msg_t out;
    /* forged 4-billion-element array and string lengths: refused without allocating */
    const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(sfb_msg_decode(huge_array, sizeof huge_array, &out), SFB_TOO_BIG);
    const unsigned char nested[] = {0x93, 0x01, 0x01, 0xdd, 0x05, 0xf5, 0xe1, 0x00};
    assert_int_equal(sfb_msg_decode(nested, sizeof nested, &out), SFB_TOO_BIG);
    const unsigned char huge_str[] = {0x94, 0x01, 0x03, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(sfb_msg_decode(huge_str, sizeof huge_str, &out), SFB_TOO_BIG);
    const unsigned char reserved[] = {0xc1};
    assert_int_equal(sfb_msg_decode(reserved, 1, &out), SFB_BAD_SYNTAX);
    assert_int_equal(sfb_msg_decode("", 0, &out), SFB_TRUNCATED);
    const unsigned char wrong_version[] = {0x93, 0x02, 0x05, 0x01};
    assert_int_equal(sfb_msg_decode(wrong_version, sizeof wrong_version, &out), SFB_BAD_VERSION);
    const unsigned char unknown_type[] = {0x93, 0x01, 0x63, 0x01};
    assert_int_equal(sfb_msg_decode(unknown_type, sizeof unknown_type, &out), SFB_BAD_TYPE);
    const unsigned char trailing[] = {0x93, 0x01, 0x05, 0x01, 0x00};
    assert_int_equal(sfb_msg_decode(trailing, sizeof trailing, &out), SFB_BAD_SYNTAX);
    const unsigned char not_array[] = {0x81, 0xa1, 'v', 0x01};
    assert_int_equal(sfb_msg_decode(not_array, sizeof not_array, &out), SFB_BAD_TYPE);
    /* an answer reply with an out-of-range status */
    const unsigned char bad_enum[] = {0x94, 0x01, 0x43, 0x01, 0x09};
    assert_int_equal(sfb_msg_decode(bad_enum, sizeof bad_enum, &out), SFB_BAD_TYPE);
    /* truncated at every length of a valid frame */
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_t m = {.type = SFB_MSG_PROXY_ANSWER, .req_id = 9};
    m.u.answer = (sfb_msg_answer_t){SFB_STR("sid"), SFB_STR("answer")};
    sfb_msg_encode(&m, &b);
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_not_equal(sfb_msg_decode(b.data, cut, &out), SFB_OK);
    sfb_buf_dispose(&b);
}

static void
test_pool_messages(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_t get = {.type = SFB_MSG_POOL_GET, .req_id = 3};
    sfb_msg_encode(&get, &b);
    const unsigned char get_bytes[] = {0x93, 0x01, 0x08, 0x03};
    assert_int_equal(b.len, sizeof get_bytes);
    assert_memory_equal(b.data, get_bytes, sizeof get_bytes);

    sfb_msg_t rep = {.type = SFB_MSG_POOL_REPLY, .req_id = 4};
    rep.u.pool_reply.avail[SFB_PROXY_STANDALONE][SFB_NAT_UNRESTRICTED] = 2;
    rep.u.pool_reply.avail[SFB_PROXY_IPTPROXY][SFB_NAT_UNKNOWN] = UINT32_MAX;
    sfb_buf_reset(&b);
    sfb_msg_encode(&rep, &b);
    /* [1, 72, 4, [15 counts, type-major: unknown, standalone, webext, badge, iptproxy]] */
    const unsigned char rep_bytes[] = {0x94, 0x01, 0x48, 0x04, 0x9f, 0,    0, 0,
                                       0,    0,    2,    0,    0,    0,    0, 0,
                                       0,    0xce, 0xff, 0xff, 0xff, 0xff, 0, 0};
    assert_int_equal(b.len, sizeof rep_bytes);
    assert_memory_equal(b.data, rep_bytes, sizeof rep_bytes);
    sfb_msg_t out;
    assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_OK);
    assert_int_equal(out.type, SFB_MSG_POOL_REPLY);
    assert_memory_equal(&out.u.pool_reply, &rep.u.pool_reply, sizeof rep.u.pool_reply);

    /* 14 counts, a negative count, a count over 32 bits: refused */
    unsigned char bad[sizeof rep_bytes + 4];
    memcpy(bad, rep_bytes, sizeof rep_bytes);
    bad[4] = 0x9e;
    assert_int_equal(sfb_msg_decode(bad, sizeof rep_bytes - 1, &out), SFB_BAD_TYPE);
    memcpy(bad, rep_bytes, sizeof rep_bytes);
    bad[5] = 0xff; /* -1 */
    assert_int_equal(sfb_msg_decode(bad, sizeof rep_bytes, &out), SFB_BAD_TYPE);
    const unsigned char wide[] = {0x94, 0x01, 0x48, 0x04, 0x9f, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(sfb_msg_decode(wide, sizeof wide, &out), SFB_BAD_TYPE);
    sfb_buf_dispose(&b);
}

static void
test_empty_required_fields(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_t m = {.type = SFB_MSG_PROXY_ANSWER, .req_id = 9};
    m.u.answer = (sfb_msg_answer_t){SFB_STR(""), SFB_STR("answer")};
    sfb_msg_encode(&m, &b);
    sfb_msg_t out;
    assert_int_equal(sfb_msg_decode(b.data, b.len, &out), SFB_BAD_VALUE);
    sfb_buf_dispose(&b);
    assert_true(sfb_msg_is_request(SFB_MSG_CANCEL));
    assert_false(sfb_msg_is_request(SFB_MSG_DEBUG_REPLY));
}

int
sfb_msg_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_round_trip),       cmocka_unit_test(test_other_types_round_trip),
        cmocka_unit_test(test_hostile_frames),        cmocka_unit_test(test_pool_messages),
        cmocka_unit_test(test_empty_required_fields),
    };
    return cmocka_run_group_tests_name("sfb_msg", tests, NULL, NULL);
}
