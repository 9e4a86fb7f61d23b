/* md_catchup_test.c - the catch-up logic against a fake matcher: the test plays both the
 * live feed and the REPLAY_REPLY frames, and records what is applied and requested.
 * Cases: duplicates between replay and live, a gap inside the ring, a gap older than the
 * ring, a new epoch (seen live and seen in a reply), timeouts and give-up, the live buffer
 * cap, a resume with no traffic, and the no-replay mode. */
#include "md_catchup.h"
#include "md_selftest.h"
#include "sfb_test.h"

#include <stdlib.h>
#include <string.h>

#define E1 0x1111111111111111ULL
#define E2 0x2222222222222222ULL

typedef struct {
    md_health_t *health;
    md_catchup_t *c;
    uint64_t applied[256]; /* seqs in the order applied */
    uint64_t epochs[256];  /* their epochs */
    size_t n_applied;      /* entries used */
    sfb_msg_t get;         /* the last request sent */
    int n_sent;            /* requests sent */
    uint64_t now;          /* fake monotonic clock */
} s_fix_t;

static void
s_apply(void *arg, const sfb_event_t *ev)
{
    s_fix_t *f = arg;
    assert_true(f->n_applied < 256);
    /* the position does not include the event while it is being applied */
    assert_true(md_catchup_last_seq(f->c) < ev->seq);
    f->epochs[f->n_applied] = ev->epoch;
    f->applied[f->n_applied++] = ev->seq;
}

static void
s_send(void *arg, const sfb_msg_t *get)
{
    s_fix_t *f = arg;
    assert_int_equal(get->type, SFB_MSG_REPLAY_GET);
    f->get = *get;
    f->n_sent++;
}

static s_fix_t *
s_fix(bool replay, size_t buffer_max)
{
    s_fix_t *f = calloc(1, sizeof *f);
    f->health = md_health_new();
    md_catchup_cfg_t cfg = {.replay = replay,
                            .buffer_max = buffer_max,
                            .batch_max = 100,
                            .timeout_ms = 1000,
                            .retries = 2,
                            .settle_ms = 50,
                            .apply = s_apply,
                            .send = s_send,
                            .arg = f};
    f->c = md_catchup_new(&cfg, f->health);
    f->now = 5000;
    return f;
}

static void
s_free(s_fix_t *f)
{
    md_catchup_destroy(&f->c);
    assert_null(f->c);
    md_health_destroy(&f->health);
    free(f);
}

static sfb_event_t
s_ev(uint64_t epoch, uint64_t seq)
{
    sfb_event_t ev = {.kind = SFB_EV_CLIENT_POLL, .outcome = SFB_OUT_DENIED, .epoch = epoch};
    ev.seq = seq;
    ev.ts_ms = 1700000000000ULL + seq;
    strcpy(ev.cc, "CA");
    return ev;
}

static void
s_live(s_fix_t *f, uint64_t epoch, uint64_t seq)
{
    sfb_event_t ev = s_ev(epoch, seq);
    md_catchup_live(f->c, &ev, f->now);
}

/* Answer the last request, under the id `req_id`, as a matcher of `epoch` holding seqs
 * [oldest, newest] would. */
static void
s_answer_as(s_fix_t *f, uint64_t req_id, uint64_t epoch, uint64_t oldest, uint64_t newest)
{
    const sfb_msg_replay_get_t *g = &f->get.u.replay_get;
    sfb_msg_replay_reply_t rep = {.epoch = epoch};
    sfb_buf_t blob;
    sfb_buf_init(&blob);
    if (g->epoch != epoch) {
        rep.first_seq = oldest <= newest ? oldest : newest + 1;
    } else {
        rep.first_seq = g->from_seq < oldest ? oldest : g->from_seq;
        if (rep.first_seq > newest + 1)
            rep.first_seq = newest + 1;
        for (uint64_t s = rep.first_seq; s <= newest && rep.count < g->max; s++, rep.count++) {
            sfb_event_t ev = s_ev(epoch, s);
            sfb_event_encode(&ev, &blob);
        }
    }
    rep.events = (sfb_str_t){blob.data ? blob.data : "", blob.len};
    md_catchup_reply(f->c, req_id, &rep, f->now);
    sfb_buf_dispose(&blob);
}

static void
s_answer(s_fix_t *f, uint64_t epoch, uint64_t oldest, uint64_t newest)
{
    s_answer_as(f, f->get.req_id, epoch, oldest, newest);
}

/* Check that exactly seqs [from, to] were applied, once each, in order. */
static void
s_assert_applied(const s_fix_t *f, uint64_t from, uint64_t to)
{
    assert_int_equal(f->n_applied, to - from + 1);
    for (size_t i = 0; i < f->n_applied; i++)
        assert_int_equal(f->applied[i], from + i);
}

static uint64_t
s_h(const s_fix_t *f, md_health_item_t item)
{
    return md_health_get(f->health, item);
}

static void
test_duplicates(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    md_catchup_resume(f->c, E1, 10); /* a checkpoint: 1..10 counted before the restart */
    assert_true(md_catchup_is_busy(f->c));
    s_live(f, E1, 13); /* 11 and 12 were published while down */
    assert_int_equal(f->n_sent, 1);
    assert_true(f->get.u.replay_get.epoch == E1 && f->get.u.replay_get.from_seq == 11);
    s_live(f, E1, 14);
    assert_int_equal(f->n_applied, 0); /* buffered until the replay reaches them */
    assert_int_equal(s_h(f, MD_H_BUFFERED), 2);
    s_answer(f, E1, 1, 15); /* the reply also holds 13..15, which were (or will be) live */
    assert_false(md_catchup_is_busy(f->c));
    s_live(f, E1, 15);
    s_live(f, E1, 16);
    s_assert_applied(f, 11, 16);
    assert_int_equal(s_h(f, MD_H_DUPLICATES), 3); /* 13 and 14 buffered, 15 live */
    assert_int_equal(s_h(f, MD_H_REPLAYED), 5);
    assert_int_equal(s_h(f, MD_H_MISSED), 0);
    assert_int_equal(s_h(f, MD_H_CATCHING_UP), 0);
    assert_int_equal(md_catchup_last_seq(f->c), 16);
    s_free(f);
}

static void
test_gap_inside_ring(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    for (uint64_t s = 1; s <= 3; s++)
        s_live(f, E1, s); /* no checkpoint: the first event is the baseline */
    assert_false(md_catchup_is_busy(f->c));
    assert_int_equal(f->n_sent, 0);
    s_live(f, E1, 7); /* 4..6 dropped at the HWM */
    assert_true(md_catchup_is_busy(f->c));
    assert_int_equal(f->get.u.replay_get.from_seq, 4);
    s_live(f, E1, 8);
    s_answer(f, E1, 1, 8);
    s_assert_applied(f, 1, 8);
    assert_int_equal(s_h(f, MD_H_MISSED), 0);
    assert_int_equal(s_h(f, MD_H_REPLAYED), 5); /* 4..8: 7 and 8 came live as well */
    assert_false(md_catchup_is_busy(f->c));
    /* a reply to a request no longer in flight changes nothing */
    s_answer(f, E1, 1, 8);
    s_assert_applied(f, 1, 8);
    s_free(f);
}

static void
test_gap_older_than_ring(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    s_live(f, E1, 1);
    s_live(f, E1, 2);
    s_live(f, E1, 40);
    s_answer(f, E1, 30, 40); /* the ring starts at 30: 3..29 are gone */
    assert_int_equal(s_h(f, MD_H_MISSED), 27);
    assert_int_equal(f->n_applied, 2 + 11);
    assert_int_equal(f->applied[2], 30);
    assert_int_equal(f->applied[12], 40);
    assert_false(md_catchup_is_busy(f->c));
    /* an empty ring after a resume: everything after the checkpoint is gone */
    md_catchup_resume(f->c, E1, 40);
    md_catchup_tick(f->c, f->now);
    assert_int_equal(f->n_sent, 1); /* not before the settle time */
    f->now += 50;
    md_catchup_tick(f->c, f->now);
    assert_int_equal(f->n_sent, 2);
    assert_int_equal(f->get.u.replay_get.from_seq, 41);
    s_answer(f, E1, 51, 50); /* 41..50 published, none held */
    assert_int_equal(s_h(f, MD_H_MISSED), 27 + 10);
    assert_true(md_catchup_is_busy(f->c)); /* asks once more from 51 */
    assert_int_equal(f->get.u.replay_get.from_seq, 51);
    s_answer(f, E1, 51, 50);
    assert_false(md_catchup_is_busy(f->c));
    assert_int_equal(md_catchup_last_seq(f->c), 50);
    s_free(f);
}

static void
test_new_epoch_live(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    md_catchup_resume(f->c, E1, 50);
    s_live(f, E1, 53); /* 51, 52 lost in the HWM ... */
    uint64_t old_id = f->get.req_id;
    s_live(f, E2, 3); /* ... and the matcher restarted before they were replayed */
    assert_int_equal(s_h(f, MD_H_PUBLISHER_RESTARTS), 1);
    assert_int_equal(s_h(f, MD_H_MISSED), 2); /* 51, 52: 53 shows they existed */
    assert_true(f->get.u.replay_get.epoch == E2 && f->get.u.replay_get.from_seq == 1);
    s_answer_as(f, old_id, E1, 1, 60); /* the old request's answer is stale: ignored */
    assert_int_equal(f->n_applied, 1);
    s_answer(f, E2, 1, 4);
    assert_false(md_catchup_is_busy(f->c));
    s_live(f, E2, 4);
    assert_int_equal(f->n_applied, 5); /* E1 53, then E2 1..4 */
    assert_true(f->epochs[0] == E1 && f->applied[0] == 53);
    for (size_t i = 1; i < 5; i++)
        assert_true(f->epochs[i] == E2 && f->applied[i] == i);
    assert_true(md_catchup_epoch(f->c) == E2);
    assert_int_equal(s_h(f, MD_H_MISSED), 2); /* nothing counted for E1 after 53 */
    s_free(f);
}

static void
test_new_epoch_reply(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    md_catchup_resume(f->c, E1, 50);
    md_catchup_tick(f->c, f->now);
    f->now += 60;
    md_catchup_tick(f->c, f->now);
    assert_true(f->get.u.replay_get.epoch == E1 && f->get.u.replay_get.from_seq == 51);
    s_answer(f, E2, 5, 7); /* restarted while we were down; its ring lost 1..4 */
    assert_int_equal(s_h(f, MD_H_PUBLISHER_RESTARTS), 1);
    assert_int_equal(s_h(f, MD_H_MISSED), 0);
    assert_true(f->get.u.replay_get.epoch == E2 && f->get.u.replay_get.from_seq == 1);
    s_answer(f, E2, 5, 7);
    assert_int_equal(s_h(f, MD_H_MISSED), 4);
    assert_int_equal(f->get.u.replay_get.from_seq, 8);
    s_answer(f, E2, 5, 7);
    assert_false(md_catchup_is_busy(f->c));
    s_live(f, E2, 8);
    s_assert_applied(f, 5, 8);
    s_free(f);
}

static void
test_timeout_and_give_up(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    s_live(f, E1, 1);
    s_live(f, E1, 5);
    s_live(f, E1, 6);
    assert_int_equal(f->n_sent, 1);
    uint64_t first_id = f->get.req_id;
    f->now += 999;
    md_catchup_tick(f->c, f->now);
    assert_int_equal(f->n_sent, 1);
    f->now += 1;
    md_catchup_tick(f->c, f->now); /* resend 1 */
    assert_int_equal(f->n_sent, 2);
    assert_true(f->get.req_id != first_id && f->get.u.replay_get.from_seq == 2);
    f->now += 1000;
    md_catchup_tick(f->c, f->now); /* resend 2 */
    assert_int_equal(f->n_sent, 3);
    assert_true(md_catchup_is_busy(f->c));
    f->now += 1000;
    md_catchup_tick(f->c, f->now); /* give up */
    assert_false(md_catchup_is_busy(f->c));
    assert_int_equal(s_h(f, MD_H_REPLAY_TIMEOUTS), 3);
    assert_int_equal(s_h(f, MD_H_REPLAY_GIVE_UPS), 1);
    assert_int_equal(s_h(f, MD_H_MISSED), 3); /* 2..4; 5 and 6 applied */
    assert_int_equal(f->n_applied, 3);
    assert_int_equal(f->applied[2], 6);
    s_answer(f, E1, 1, 6); /* too late: ignored */
    assert_int_equal(f->n_applied, 3);
    /* a matcher that claims to have nothing although a later event came live: no loop */
    s_live(f, E1, 9);
    assert_int_equal(f->n_sent, 4);
    s_answer(f, E1, 1, 6);
    assert_false(md_catchup_is_busy(f->c));
    assert_int_equal(f->n_sent, 4);
    assert_int_equal(s_h(f, MD_H_MISSED), 5); /* 7, 8 */
    assert_int_equal(f->applied[3], 9);
    s_free(f);
}

static void
test_buffer_cap(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 2);
    s_live(f, E1, 1);
    for (uint64_t s = 5; s <= 8; s++)
        s_live(f, E1, s); /* 5, 6 buffered; 7, 8 dropped: fetched later */
    assert_int_equal(s_h(f, MD_H_BUFFER_DROPS), 2);
    assert_int_equal(s_h(f, MD_H_BUFFERED), 2);
    f->get.u.replay_get.max = 3; /* the matcher caps this reply at 2..4 */
    s_answer(f, E1, 1, 8);
    assert_true(md_catchup_is_busy(f->c));
    assert_int_equal(f->get.u.replay_get.from_seq, 7);
    s_live(f, E1, 9);
    s_answer(f, E1, 1, 9);
    assert_false(md_catchup_is_busy(f->c));
    s_live(f, E1, 10);
    s_assert_applied(f, 1, 10);
    assert_int_equal(s_h(f, MD_H_MISSED), 0);
    s_free(f);
}

static void
test_resume_quiet_and_contiguous(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(true, 64);
    md_catchup_resume(f->c, E1, 10);
    md_catchup_tick(f->c, f->now);
    f->now += 50;
    md_catchup_tick(f->c, f->now);
    s_answer(f, E1, 1, 12); /* two events while down, then nothing */
    assert_true(md_catchup_is_busy(f->c));
    s_answer(f, E1, 1, 12);
    assert_false(md_catchup_is_busy(f->c));
    s_assert_applied(f, 11, 12);
    /* a resume whose next live event follows the checkpoint needs no replay at all */
    md_catchup_resume(f->c, E1, 12);
    s_live(f, E1, 13);
    assert_false(md_catchup_is_busy(f->c));
    md_catchup_tick(f->c, f->now + 100);
    assert_int_equal(f->n_sent, 2);
    s_assert_applied(f, 11, 13);
    s_free(f);
}

static void
test_no_replay(void **state)
{
    (void)state;
    s_fix_t *f = s_fix(false, 64);
    md_catchup_resume(f->c, E1, 10);
    assert_false(md_catchup_is_busy(f->c));
    s_live(f, E1, 14);
    assert_int_equal(s_h(f, MD_H_MISSED), 3);
    s_live(f, E1, 14);
    assert_int_equal(s_h(f, MD_H_DUPLICATES), 1);
    s_live(f, E2, 2); /* a new epoch: its seq 1 existed */
    assert_int_equal(s_h(f, MD_H_MISSED), 4);
    assert_int_equal(s_h(f, MD_H_PUBLISHER_RESTARTS), 1);
    md_catchup_tick(f->c, f->now + 10000);
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(f->n_applied, 2);
    s_free(f);
}

int
md_catchup_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_gap_inside_ring),
        cmocka_unit_test(test_gap_older_than_ring),
        cmocka_unit_test(test_new_epoch_live),
        cmocka_unit_test(test_new_epoch_reply),
        cmocka_unit_test(test_timeout_and_give_up),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_resume_quiet_and_contiguous),
        cmocka_unit_test(test_no_replay),
    };
    return cmocka_run_group_tests_name("md_catchup", tests, NULL, NULL);
}
