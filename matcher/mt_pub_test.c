/* mt_pub_test.c - the publisher's ring and REPLAY answers on an inproc PUB (no subscriber is
 * needed: every body is kept whether or not anyone listens): the ring's per-event size bound,
 * replayed bodies, from_seq older than the ring, max, the reply byte cap, another epoch, and
 * tags made with the key of the event's own timestamp. */
#include "mt_pub.h"
#include "mt_selftest.h"
#include "sfb_test.h"

#include "sfb_log.h"

#include <string.h>

static sfb_event_t
s_event(sfb_event_kind_t kind, sfb_outcome_t outcome)
{
    sfb_event_t ev = {.kind = kind, .outcome = outcome, .ptype = SFB_PROXY_STANDALONE};
    ev.nat = SFB_NAT_UNRESTRICTED;
    ev.method = SFB_METHOD_AMPCACHE;
    memcpy(ev.cc, "DE", 3);
    return ev;
}

/* The widest body of each kind fits MT_PUB_EVENT_MAX_BYTES, so the ring holds N events. */
static void
test_event_size_bound(void **state)
{
    (void)state;
    static const sfb_outcome_t outs[] = {SFB_OUT_CANCELLED, SFB_OUT_TIMEOUT, SFB_OUT_CLIENT_GONE};
    for (int k = 0; k < SFB_EV_KIND_COUNT; k++) {
        sfb_event_t ev = s_event((sfb_event_kind_t)k, outs[k]);
        ev.epoch = ev.seq = ev.ts_ms = UINT64_MAX;
        ev.has_tag = true;
        sfb_buf_t b;
        sfb_buf_init(&b);
        sfb_event_encode(&ev, &b);
        assert_true(b.len <= MT_PUB_EVENT_MAX_BYTES);
        sfb_buf_dispose(&b);
    }
}

/* Decode a replay blob and check it holds seqs first .. first + count - 1 of `epoch`. */
static void
s_check_blob(const sfb_msg_replay_reply_t *r, uint64_t epoch)
{
    size_t off = 0;
    for (uint32_t i = 0; i < r->count; i++) {
        sfb_event_t ev;
        assert_int_equal(sfb_event_decode_next(r->events.ptr, r->events.len, &off, &ev), SFB_OK);
        assert_int_equal(ev.seq, r->first_seq + i);
        assert_int_equal(ev.epoch, epoch);
        assert_int_equal(ev.kind, (ev.seq % 2) ? SFB_EV_PROXY_POLL : SFB_EV_CLIENT_POLL);
        assert_string_equal(ev.cc, "DE");
    }
    assert_int_equal(off, r->events.len);
}

static void
s_publish(mt_pub_t *pub, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t seq = mt_pub_seq(pub) + 1;
        sfb_event_t ev = (seq % 2) ? s_event(SFB_EV_PROXY_POLL, SFB_OUT_IDLE)
                                   : s_event(SFB_EV_CLIENT_POLL, SFB_OUT_DENIED);
        mt_pub_send(pub, &ev, (sfb_str_t){"", 0});
    }
}

static void
test_replay(void **state)
{
    (void)state;
    mt_pub_t *pub = mt_pub_new("inproc://mt-pub-test-replay", 8, NULL, NULL);
    assert_non_null(pub);
    uint64_t epoch = mt_pub_epoch(pub);
    sfb_msg_replay_reply_t r;
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch, 1, 100}, &r);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.first_seq, 1); /* nothing published yet */
    s_publish(pub, 5);
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch, 2, 100}, &r);
    assert_int_equal(r.epoch, epoch);
    assert_int_equal(r.first_seq, 2);
    assert_int_equal(r.count, 4);
    s_check_blob(&r, epoch);
    s_publish(pub, 7); /* 12 published, the ring keeps 5..12 */
    assert_int_equal(mt_pub_ring_count(pub), 8);
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch, 3, 3}, &r);
    assert_int_equal(r.first_seq, 5); /* 3 and 4 were lost */
    assert_int_equal(r.count, 3);
    s_check_blob(&r, epoch);
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch, 13, 100}, &r);
    assert_int_equal(r.first_seq, 13); /* up to date */
    assert_int_equal(r.count, 0);
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch + 1, 3, 100}, &r);
    assert_int_equal(r.epoch, epoch); /* the matcher restarted: resync from the oldest held */
    assert_int_equal(r.first_seq, 5);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.events.len, 0);
    mt_pub_destroy(&pub);
    assert_null(pub);
}

static void
test_replay_byte_cap(void **state)
{
    (void)state;
    mt_pub_t *pub = mt_pub_new("inproc://mt-pub-test-cap", 10000, NULL, NULL);
    assert_non_null(pub);
    s_publish(pub, 10000); /* ~1 MB of bodies */
    uint64_t epoch = mt_pub_epoch(pub);
    sfb_msg_replay_reply_t r;
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){epoch, 1, UINT32_MAX}, &r);
    assert_int_equal(r.first_seq, 1);
    assert_true(r.count > 1000 && r.count < 10000);
    assert_true(r.events.len <= MT_PUB_REPLAY_MAX_BYTES);
    assert_true(r.events.len + MT_PUB_EVENT_MAX_BYTES > MT_PUB_REPLAY_MAX_BYTES);
    s_check_blob(&r, epoch);
    /* the whole reply fits the limit the receiving decoder enforces */
    sfb_msg_t m = {.type = SFB_MSG_REPLAY_REPLY, .req_id = UINT64_MAX};
    m.u.replay_reply = r;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_encode(&m, &b);
    sfb_msg_t back;
    assert_int_equal(sfb_msg_decode(b.data, b.len, &back), SFB_OK);
    assert_int_equal(back.u.replay_reply.count, r.count);
    sfb_buf_dispose(&b);
    mt_pub_destroy(&pub);
}

static void
test_ring_disabled(void **state)
{
    (void)state;
    mt_pub_t *pub = mt_pub_new("inproc://mt-pub-test-off", 0, NULL, NULL);
    assert_non_null(pub);
    s_publish(pub, 3);
    sfb_msg_replay_reply_t r;
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){mt_pub_epoch(pub), 1, 100}, &r);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.first_seq, 4);
    mt_pub_destroy(&pub);
}

/* Publish a proxy-poll from `addr` and return it as the ring holds it. */
static sfb_event_t
s_send_tagged(mt_pub_t *pub, const char *addr)
{
    sfb_event_t ev = s_event(SFB_EV_PROXY_POLL, SFB_OUT_MATCHED);
    mt_pub_send(pub, &ev, (sfb_str_t){addr, strlen(addr)});
    sfb_msg_replay_reply_t r;
    mt_pub_replay(pub, &(sfb_msg_replay_get_t){mt_pub_epoch(pub), mt_pub_seq(pub), 1}, &r);
    assert_int_equal(r.count, 1);
    size_t off = 0;
    assert_int_equal(sfb_event_decode_next(r.events.ptr, r.events.len, &off, &ev), SFB_OK);
    return ev;
}

static void
test_tags(void **state)
{
    (void)state;
    mt_tagkey_t *tk = mt_tagkey_new(NULL, 24ull * 3600 * 1000, sfb_wall_ms());
    mt_pub_t *pub = mt_pub_new("inproc://mt-pub-test-tags", 16, tk, NULL);
    assert_non_null(pub);
    sfb_event_t a = s_send_tagged(pub, "192.0.2.7"), b = s_send_tagged(pub, "192.0.2.7");
    sfb_event_t c = s_send_tagged(pub, "192.0.2.8"), d = s_send_tagged(pub, "");
    assert_true(a.has_tag && b.has_tag && c.has_tag);
    assert_false(d.has_tag); /* no address, no tag */
    assert_memory_equal(a.tag, b.tag, SFB_EVENT_TAG_BYTES);
    assert_memory_not_equal(a.tag, c.tag, SFB_EVENT_TAG_BYTES);
    unsigned char want[SFB_EVENT_TAG_BYTES];
    mt_tagkey_tag(tk, "192.0.2.8", 9, c.ts_ms, want); /* the key of the event's own ts */
    assert_memory_equal(c.tag, want, SFB_EVENT_TAG_BYTES);
    mt_pub_destroy(&pub);
    mt_tagkey_destroy(&tk);
}

int
mt_pub_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_size_bound),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_byte_cap),
        cmocka_unit_test(test_ring_disabled),
        cmocka_unit_test(test_tags),
    };
    return cmocka_run_group_tests_name("mt_pub", tests, NULL, NULL);
}
