/* md_recv_test.c - the receiving thread's logic without the thread: exact interval rollover,
 * checkpoint -> restart -> the same report as an uninterrupted run (also when the events
 * published while down come back by replay and cross an interval end), an interval that
 * ended while down, no duplicate block after a crash, late/future/undecodable events. */
#include "md_ckpt.h"
#include "md_recv.h"
#include "md_selftest.h"
#include "sfb_event.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B 1700000000000ULL /* a multiple of the 2 s interval */

typedef struct {
    char dir[64];        /* state dir */
    char ref[64];        /* log of the uninterrupted run */
    char log[64];        /* log of the interrupted run */
    md_health_t *health; /* figures of the interrupted run */
    uint64_t seq;        /* next sequence number */
    sfb_msg_t get;       /* the last REPLAY_GET sent */
    int sent;            /* REPLAY_GETs sent */
} s_fix_t;

#define EPOCH 0xabcdef0123456789ULL

static int
s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/md_recv_testXXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->ref, sizeof f->ref, "%s/ref.log", f->dir);
    snprintf(f->log, sizeof f->log, "%s/stats.log", f->dir);
    f->health = md_health_new();
    f->seq = 1;
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    char path[128];
    const char *names[] = {"ref.log", "stats.log", MD_CKPT_FILE, "aside"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    md_health_destroy(&f->health);
    free(f);
    return 0;
}

/* Append the body of event number i of a fixed script, stamped at ts, to `out`. */
static void
s_body(sfb_buf_t *out, int i, uint64_t seq, uint64_t ts)
{
    sfb_event_t ev = {.seq = seq, .ts_ms = ts, .has_tag = true, .tag = {(unsigned char)(i % 3)}};
    ev.epoch = EPOCH;
    strcpy(ev.cc, i % 2 ? "CA" : "DE");
    if (i % 4 == 3) {
        ev.kind = SFB_EV_CLIENT_POLL;
        ev.outcome = SFB_OUT_DENIED;
        ev.method = (sfb_method_t)(i % 3);
    } else {
        ev.kind = SFB_EV_PROXY_POLL;
        ev.outcome = i % 5 ? SFB_OUT_IDLE : SFB_OUT_MATCHED;
        ev.ptype = (sfb_proxy_type_t)(i % 5);
        ev.nat = (sfb_nat_t)(i % 3);
        ev.relay_pattern = i % 7 != 0;
    }
    sfb_event_encode(&ev, out);
}

/* Event number i of a fixed script, stamped at ts, received at now. */
static void
s_feed_at(md_recv_t *r, int i, uint64_t seq, uint64_t ts, uint64_t now)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    s_body(&b, i, seq, ts);
    md_recv_handle(r, b.data, b.len, now);
    sfb_buf_dispose(&b);
}

static void
s_feed(md_recv_t *r, int i, uint64_t seq, uint64_t ts)
{
    s_feed_at(r, i, seq, ts, ts);
}

static char *
s_slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return strdup("");
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int
s_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void
s_send_get(void *arg, const sfb_msg_t *get)
{
    s_fix_t *f = arg;
    f->get = *get;
    f->sent++;
}

static md_recv_t *
s_new_cfg(s_fix_t *f, md_statslog_t *log, md_health_t *h, bool state, bool replay, uint64_t now)
{
    md_recv_cfg_t cfg = {.events_ep = "inproc://unused",
                         .state_dir = state ? f->dir : NULL,
                         .interval_ms = 2000,
                         .checkpoint_ms = 1000,
                         .grace_ms = 200,
                         .matcher_ep = replay ? "inproc://matcher" : NULL,
                         .replay_timeout_ms = 1000,
                         .replay_send = replay ? s_send_get : NULL,
                         .replay_arg = f};
    return md_recv_new(&cfg, log, h, now);
}

static md_recv_t *
s_new(s_fix_t *f, md_statslog_t *log, md_health_t *h, bool state, uint64_t now)
{
    return s_new_cfg(f, log, h, state, false, now);
}

static void
test_restart_equals_uninterrupted(void **state)
{
    s_fix_t *f = *state;
    /* reference: 30 events over two intervals, no restart */
    md_health_t *rh = md_health_new();
    md_statslog_t *rlog = md_statslog_open(f->ref);
    md_recv_t *ref = s_new(f, rlog, rh, false, B);
    for (int i = 0; i < 30; i++)
        s_feed(ref, i, (uint64_t)i + 1, B + (uint64_t)i * 130);
    md_recv_tick(ref, B + 4000 + 200, 0);
    md_recv_destroy(&ref);
    md_statslog_destroy(&rlog);
    md_health_destroy(&rh);

    /* the same events, with a crash after a checkpoint in the middle of the second interval */
    md_statslog_t *log = md_statslog_open(f->log);
    md_recv_t *r = s_new(f, log, f->health, true, B);
    for (int i = 0; i < 20; i++)
        s_feed(r, i, (uint64_t)i + 1, B + (uint64_t)i * 130);
    md_recv_checkpoint(r);
    md_recv_destroy(&r); /* no final checkpoint: like kill -9 */
    r = s_new(f, log, f->health, true, B + 20 * 130);
    for (int i = 20; i < 30; i++)
        s_feed(r, i, (uint64_t)i + 1, B + (uint64_t)i * 130);
    md_recv_tick(r, B + 4000 + 199, 0); /* within the grace: not yet */
    char *text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 1);
    free(text);
    md_recv_tick(r, B + 4000 + 200, 0);
    md_recv_destroy(&r);
    md_statslog_destroy(&log);
    char *want = s_slurp(f->ref), *got = s_slurp(f->log);
    assert_int_equal(s_count(want, "snowflake-stats-end"), 2);
    assert_string_equal(got, want);
    assert_non_null(strstr(want, "snowflake-stats-end 2023-11-14 22:13:22 (2 s)\n"));
    assert_int_equal(md_health_get(f->health, MD_H_MISSED), 0);
    free(want);
    free(got);
}

/* The reference run of test_replay_restart: 30 events over two intervals, no restart. */
static void
s_reference(s_fix_t *f)
{
    md_health_t *rh = md_health_new();
    md_statslog_t *rlog = md_statslog_open(f->ref);
    md_recv_t *ref = s_new(f, rlog, rh, false, B);
    for (int i = 0; i < 30; i++)
        s_feed(ref, i, (uint64_t)i + 1, B + (uint64_t)i * 130);
    md_recv_tick(ref, B + 4000 + 200, 0);
    md_recv_destroy(&ref);
    md_statslog_destroy(&rlog);
    md_health_destroy(&rh);
}

/* Answer the last REPLAY_GET as a matcher that published events 0..newest_i of the script
 * (seq i + 1) and holds them all. */
static void
s_reply(s_fix_t *f, md_recv_t *r, int newest_i, uint64_t now)
{
    const sfb_msg_replay_get_t *g = &f->get.u.replay_get;
    assert_true(g->epoch == EPOCH);
    sfb_buf_t blob, frame;
    sfb_buf_init(&blob);
    sfb_buf_init(&frame);
    sfb_msg_t m = {.type = SFB_MSG_REPLAY_REPLY, .req_id = f->get.req_id};
    m.u.replay_reply = (sfb_msg_replay_reply_t){.epoch = EPOCH, .first_seq = g->from_seq};
    for (uint64_t seq = g->from_seq; seq <= (uint64_t)newest_i + 1; seq++) {
        s_body(&blob, (int)seq - 1, seq, B + (seq - 1) * 130);
        m.u.replay_reply.count++;
    }
    m.u.replay_reply.events = (sfb_str_t){blob.data ? blob.data : "", blob.len};
    sfb_msg_encode(&m, &frame);
    md_recv_handle_reply(r, frame.data, frame.len, now);
    sfb_buf_dispose(&blob);
    sfb_buf_dispose(&frame);
}

static void
test_replay_restart(void **state)
{
    s_fix_t *f = *state;
    s_reference(f);
    /* events 0..9 counted and checkpointed, then kill -9; 10..24 are published while down
     * (they cross the end of the first interval); metricsd comes back in the second one */
    md_statslog_t *log = md_statslog_open(f->log);
    md_recv_t *r = s_new_cfg(f, log, f->health, true, true, B);
    for (int i = 0; i < 10; i++)
        s_feed(r, i, (uint64_t)i + 1, B + (uint64_t)i * 130);
    md_recv_checkpoint(r);
    md_recv_destroy(&r);
    uint64_t now = B + 3200; /* past the first interval's end and grace */
    r = s_new_cfg(f, log, f->health, true, true, now);
    md_recv_tick(r, now, 1000); /* catching up: the first interval stays open */
    char *text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 0);
    free(text);
    s_feed_at(r, 25, 26, B + 25 * 130, now); /* the first live event shows the gap */
    assert_int_equal(f->sent, 1);
    assert_int_equal(f->get.u.replay_get.from_seq, 11);
    md_recv_tick(r, now + 100, 1100);
    s_reply(f, r, 25, now + 100); /* 11..26: 26 is a duplicate of the live one */
    text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 1);
    free(text);
    for (int i = 26; i < 30; i++)
        s_feed_at(r, i, (uint64_t)i + 1, B + (uint64_t)i * 130, now + 200);
    md_recv_tick(r, B + 4000 + 200, 1300);
    md_recv_destroy(&r);
    md_statslog_destroy(&log);
    char *want = s_slurp(f->ref), *got = s_slurp(f->log);
    assert_int_equal(s_count(want, "snowflake-stats-end"), 2);
    assert_string_equal(got, want);
    free(want);
    free(got);
    assert_int_equal(md_health_get(f->health, MD_H_MISSED), 0);
    assert_int_equal(md_health_get(f->health, MD_H_REPLAYED), 16);
    assert_int_equal(md_health_get(f->health, MD_H_DUPLICATES), 1);
    assert_int_equal(md_health_get(f->health, MD_H_LATE), 0);
}

/* Without an answer from the matcher, the ended interval is still reported, after the
 * retries, with what the live stream gave; the gap below the live event counts missed. */
static void
test_replay_unanswered(void **state)
{
    s_fix_t *f = *state;
    md_statslog_t *log = md_statslog_open(f->log);
    md_recv_t *r = s_new_cfg(f, log, f->health, true, true, B);
    s_feed(r, 0, 1, B);
    md_recv_checkpoint(r);
    md_recv_destroy(&r);
    r = s_new_cfg(f, log, f->health, true, true, B + 3000);
    s_feed_at(r, 1, 5, B + 2500, B + 3000);
    for (uint64_t mono = 0; mono < 4000; mono += 250)
        md_recv_tick(r, B + 3000 + mono / 5, mono); /* stays in the second interval */
    char *text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 0); /* still waiting */
    free(text);
    md_recv_tick(r, B + 3800, 4000); /* the fourth request times out: give up */
    assert_int_equal(f->sent, 4);
    text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 1);
    free(text);
    assert_int_equal(md_health_get(f->health, MD_H_MISSED), 3);
    assert_int_equal(md_health_get(f->health, MD_H_REPLAY_GIVE_UPS), 1);
    md_recv_checkpoint(r);
    md_recv_destroy(&r);
    md_statslog_destroy(&log);
}

static void
test_ended_while_down(void **state)
{
    s_fix_t *f = *state;
    md_statslog_t *log = md_statslog_open(f->log);
    md_recv_t *r = s_new(f, log, f->health, true, B);
    for (int i = 0; i < 5; i++)
        s_feed(r, i, (uint64_t)i + 1, B + (uint64_t)i * 10);
    md_recv_checkpoint(r);
    md_recv_destroy(&r);
    char ck[128], aside[128], cmd[300];
    snprintf(ck, sizeof ck, "%s/%s", f->dir, MD_CKPT_FILE);
    snprintf(aside, sizeof aside, "%s/aside", f->dir);
    snprintf(cmd, sizeof cmd, "cp %s %s", ck, aside);
    assert_int_equal(system(cmd), 0);

    r = s_new(f, log, f->health, true, B + 9000); /* down for several intervals */
    char *text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end 2023-11-14 22:13:22 (2 s)\n"), 1);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 1); /* no blocks for the gap */
    free(text);
    /* events of the interval just reported are late; the missed ones are counted by seq */
    s_feed(r, 5, 6, B + 100);
    assert_int_equal(md_health_get(f->health, MD_H_LATE), 1);
    s_feed(r, 6, 10, B + 9001);
    assert_int_equal(md_health_get(f->health, MD_H_MISSED), 3);
    s_feed_at(r, 7, 11, B + 9000 + 10 * 2000, B + 9003);
    assert_int_equal(md_health_get(f->health, MD_H_FUTURE), 1);
    md_recv_handle(r, "\xc1", 1, B + 9002);
    assert_int_equal(md_health_get(f->health, MD_H_DECODE_ERRORS), 1);
    md_recv_destroy(&r);

    /* a crash after writing the block but before the next checkpoint: no duplicate */
    snprintf(cmd, sizeof cmd, "cp %s %s", aside, ck);
    assert_int_equal(system(cmd), 0);
    r = s_new(f, log, f->health, true, B + 9100);
    md_recv_destroy(&r);
    md_statslog_destroy(&log);
    text = s_slurp(f->log);
    assert_int_equal(s_count(text, "snowflake-stats-end"), 1);
    free(text);
}

int
md_recv_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_equals_uninterrupted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_replay_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_replay_unanswered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ended_while_down, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("md_recv", tests, NULL, NULL);
}
