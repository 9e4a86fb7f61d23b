/* md_catchup.c - see md_catchup.h.
 *
 * The one rule that keeps the count exact: a range is counted missed only with evidence
 * that it existed and cannot arrive any more. Evidence is a live event after it (a SUB
 * delivers in publication order, so nothing older can still come live), a REPLAY_REPLY whose
 * first_seq is beyond it (the ring no longer holds it), or, in a new epoch, sequence numbers
 * starting at 1. The events of an old epoch after the last one seen are not counted: the
 * matcher publishes nothing while it is dead, and how many its old incarnation published
 * after that event cannot be known. */
#include "md_catchup.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <stdlib.h>

#define S_MOD "md.catchup"
#define S_BUF_MIN 1024 /* first allocation of the live buffer, in events */

struct md_catchup {
    md_catchup_cfg_t cfg; /* copied */
    md_health_t *health;  /* borrowed */
    bool have_pos;        /* epoch and last are known */
    uint64_t epoch;       /* publisher incarnation of the position */
    uint64_t last;        /* every event up to this seq is applied or counted missed */
    bool want_more;       /* after a resume: the matcher may hold events after `last` */
    uint64_t probe_at_ms; /* when to ask if no live event comes (UINT64_MAX: not scheduled) */
    uint64_t target;      /* live events up to this seq were seen but not buffered */
    sfb_event_t *buf;     /* live events waiting, increasing seq (a ring) */
    size_t buf_cap;       /* allocated slots */
    size_t buf_head;      /* index of the oldest */
    size_t buf_count;     /* events held */
    bool in_flight;       /* a request is outstanding */
    uint64_t req_id;      /* its id */
    uint64_t next_req_id; /* the id of the next request */
    uint64_t sent_ms;     /* when it was sent */
    unsigned resends;     /* how often it was sent again */
    bool was_busy;        /* for the notice when a catch-up ends */
    uint64_t replayed;    /* events replayed in the current catch-up */
    uint64_t missed;      /* events counted missed in the current catch-up */
    sfb_ratelim_t rl;     /* warnings */
};

md_catchup_t *
md_catchup_new(const md_catchup_cfg_t *cfg, md_health_t *health)
{
    md_catchup_t *c = sfb_xcalloc(1, sizeof *c);
    c->cfg = *cfg;
    if (c->cfg.buffer_max == 0)
        c->cfg.buffer_max = 1;
    if (c->cfg.batch_max == 0)
        c->cfg.batch_max = 1;
    c->health = health;
    c->probe_at_ms = UINT64_MAX;
    c->next_req_id = 1;
    c->rl.interval_ms = 10000;
    return c;
}

void
md_catchup_destroy(md_catchup_t **c_p)
{
    if (c_p == NULL || *c_p == NULL)
        return;
    free((*c_p)->buf);
    free(*c_p);
    *c_p = NULL;
}

bool
md_catchup_is_busy(const md_catchup_t *c)
{
    return c->cfg.replay && (c->want_more || c->buf_count > 0 || c->target > c->last);
}

bool
md_catchup_has_position(const md_catchup_t *c)
{
    return c->have_pos;
}

uint64_t
md_catchup_epoch(const md_catchup_t *c)
{
    return c->have_pos ? c->epoch : 0;
}

uint64_t
md_catchup_last_seq(const md_catchup_t *c)
{
    return c->have_pos ? c->last : 0;
}

void
md_catchup_resume(md_catchup_t *c, uint64_t epoch, uint64_t seq)
{
    c->have_pos = true;
    c->epoch = epoch;
    c->last = seq;
    c->target = seq;
    c->want_more = c->cfg.replay;
    c->probe_at_ms = UINT64_MAX;
    md_health_set(c->health, MD_H_LAST_SEQ, seq);
}

/* ---- applying in order ------------------------------------------------------------------ */

/* Count the events after `last` up to `upto` as lost for good, and move past them. */
static void
s_lost(md_catchup_t *c, uint64_t upto, const char *why)
{
    if (upto <= c->last)
        return;
    uint64_t n = upto - c->last;
    md_health_add(c->health, MD_H_MISSED, n);
    c->missed += n;
    sfb_log_ratelim(&c->rl, SFB_WARN, S_MOD, "lost %llu events (seq %llu-%llu): %s; %llu in all",
                    (unsigned long long)n, (unsigned long long)(c->last + 1),
                    (unsigned long long)upto, why,
                    (unsigned long long)md_health_get(c->health, MD_H_MISSED));
    c->last = upto;
}

/* Apply `ev` if it is new; a jump over a gap counts the gap missed (the caller knows the gap
 * cannot be filled any more). */
static void
s_take(md_catchup_t *c, const sfb_event_t *ev, bool replayed)
{
    if (ev->seq <= c->last) {
        md_health_add(c->health, MD_H_DUPLICATES, 1);
        return;
    }
    if (ev->seq > c->last + 1)
        s_lost(c, ev->seq - 1, c->cfg.replay ? "the matcher no longer holds them" : "no replay");
    c->cfg.apply(c->cfg.arg, ev);
    c->last = ev->seq;
    md_health_set(c->health, MD_H_LAST_SEQ, ev->seq);
    if (replayed) {
        md_health_add(c->health, MD_H_REPLAYED, 1);
        c->replayed++;
    }
}

static const sfb_event_t *
s_buf_front(const md_catchup_t *c)
{
    return c->buf_count ? &c->buf[c->buf_head] : NULL;
}

static void
s_buf_pop(md_catchup_t *c)
{
    c->buf_head = (c->buf_head + 1) % c->buf_cap;
    c->buf_count--;
}

/* Keep a live event for later; return false if the buffer is full. */
static bool
s_buf_push(md_catchup_t *c, const sfb_event_t *ev)
{
    if (c->buf_count == c->cfg.buffer_max)
        return false;
    if (c->buf_count == c->buf_cap) {
        size_t cap = c->buf_cap ? c->buf_cap * 2 : S_BUF_MIN;
        if (cap > c->cfg.buffer_max)
            cap = c->cfg.buffer_max;
        sfb_event_t *nb = sfb_xcalloc(cap, sizeof *nb);
        for (size_t i = 0; i < c->buf_count; i++)
            nb[i] = c->buf[(c->buf_head + i) % c->buf_cap];
        free(c->buf);
        c->buf = nb;
        c->buf_cap = cap;
        c->buf_head = 0;
    }
    c->buf[(c->buf_head + c->buf_count) % c->buf_cap] = *ev;
    c->buf_count++;
    return true;
}

/* Apply the buffered events the position has reached. Once the buffer empties this way, the
 * position has met the live stream: nothing more is wanted from the ring. */
static void
s_drain(md_catchup_t *c)
{
    bool drained = false;
    const sfb_event_t *ev;
    while ((ev = s_buf_front(c)) != NULL && ev->seq <= c->last + 1) {
        s_take(c, ev, false);
        s_buf_pop(c);
        drained = true;
    }
    if (drained && c->buf_count == 0)
        c->want_more = false;
}

/* Stop fetching: apply everything buffered, counting the gaps below buffered or seen events
 * (they existed) missed. Nothing is counted beyond the last event seen. */
static void
s_flush(md_catchup_t *c, const char *why)
{
    const sfb_event_t *ev;
    while ((ev = s_buf_front(c)) != NULL) {
        if (ev->seq > c->last + 1)
            s_lost(c, ev->seq - 1, why);
        s_take(c, ev, false);
        s_buf_pop(c);
    }
    s_lost(c, c->target, why);
    c->want_more = false;
    c->in_flight = false;
}

static void
s_new_epoch(md_catchup_t *c, uint64_t epoch)
{
    s_flush(c, "the matcher restarted before they were replayed");
    md_health_add(c->health, MD_H_PUBLISHER_RESTARTS, 1);
    sfb_log(SFB_NOTICE, S_MOD,
            "the matcher restarted (new epoch); events of the old one after seq %llu were "
            "never seen and are not counted",
            (unsigned long long)c->last);
    c->epoch = epoch;
    c->last = 0;
    c->target = 0;
}

/* ---- requests --------------------------------------------------------------------------- */

static void
s_send(md_catchup_t *c, uint64_t now_ms)
{
    c->req_id = c->next_req_id++;
    c->in_flight = true;
    c->sent_ms = now_ms;
    sfb_msg_t m = {.type = SFB_MSG_REPLAY_GET, .req_id = c->req_id};
    m.u.replay_get = (sfb_msg_replay_get_t){c->epoch, c->last + 1, c->cfg.batch_max};
    md_health_add(c->health, MD_H_REPLAY_REQUESTS, 1);
    c->cfg.send(c->cfg.arg, &m);
}

/* After any change: send what is needed now, or note that the catch-up ended. */
static void
s_update(md_catchup_t *c, uint64_t now_ms)
{
    bool busy = md_catchup_is_busy(c);
    bool due = c->buf_count > 0 || c->target > c->last || now_ms >= c->probe_at_ms;
    if (busy && !c->in_flight && due) {
        c->resends = 0;
        s_send(c, now_ms);
    }
    if (busy && !c->was_busy)
        sfb_log(SFB_INFO, S_MOD, "catching up after seq %llu", (unsigned long long)c->last);
    if (!busy) {
        c->in_flight = false; /* a late reply would only repeat what the live stream gave */
        c->probe_at_ms = UINT64_MAX;
        if (c->was_busy)
            sfb_log(SFB_NOTICE, S_MOD, "catch-up done at seq %llu: %llu events replayed, %llu lost",
                    (unsigned long long)c->last, (unsigned long long)c->replayed,
                    (unsigned long long)c->missed);
        c->replayed = c->missed = 0;
        if (c->buf_cap > S_BUF_MIN) { /* give a large buffer back */
            free(c->buf);
            c->buf = NULL;
            c->buf_cap = c->buf_head = 0;
        }
    }
    c->was_busy = busy;
    md_health_set(c->health, MD_H_CATCHING_UP, busy ? 1 : 0);
    md_health_set(c->health, MD_H_BUFFERED, c->buf_count);
}

void
md_catchup_tick(md_catchup_t *c, uint64_t now_ms)
{
    if (!md_catchup_is_busy(c))
        return;
    if (c->probe_at_ms == UINT64_MAX)
        c->probe_at_ms = now_ms + c->cfg.settle_ms;
    if (c->in_flight && now_ms < c->sent_ms) /* the clock went back: restart the wait */
        c->sent_ms = now_ms;
    if (c->in_flight && now_ms - c->sent_ms >= c->cfg.timeout_ms) {
        md_health_add(c->health, MD_H_REPLAY_TIMEOUTS, 1);
        if (c->resends < c->cfg.retries) {
            c->resends++;
            s_send(c, now_ms);
            return;
        }
        md_health_add(c->health, MD_H_REPLAY_GIVE_UPS, 1);
        sfb_log(SFB_WARN, S_MOD, "the matcher did not answer %u REPLAY_GET requests; giving up",
                c->cfg.retries + 1);
        s_flush(c, "the matcher did not answer");
    }
    s_update(c, now_ms);
}

/* ---- events ------------------------------------------------------------------------------ */

void
md_catchup_live(md_catchup_t *c, const sfb_event_t *ev, uint64_t now_ms)
{
    if (!c->have_pos) { /* the first event ever: the baseline */
        c->have_pos = true;
        c->epoch = ev->epoch;
        c->last = c->target = ev->seq ? ev->seq - 1 : 0;
    } else if (ev->epoch != c->epoch) {
        s_new_epoch(c, ev->epoch); /* its seqs start at 1: a gap before ev is real */
    }
    if (!c->cfg.replay) {
        s_take(c, ev, false);
        return;
    }
    const sfb_event_t *newest =
        c->buf_count ? &c->buf[(c->buf_head + c->buf_count - 1) % c->buf_cap] : NULL;
    if (ev->seq <= c->last || (newest != NULL && ev->seq <= newest->seq) || ev->seq <= c->target) {
        md_health_add(c->health, MD_H_DUPLICATES, 1);
        return;
    }
    if (c->buf_count == 0 && c->target <= c->last && ev->seq == c->last + 1) {
        c->want_more = false; /* the live stream continues the position: nothing in between */
        s_take(c, ev, false);
    } else if (!s_buf_push(c, ev)) {
        md_health_add(c->health, MD_H_BUFFER_DROPS, 1); /* the ring still has it: fetch it */
        c->target = ev->seq;
    }
    s_update(c, now_ms);
}

/* Apply the events of a reply of the current epoch. */
static void
s_apply_batch(md_catchup_t *c, const sfb_msg_replay_reply_t *rep)
{
    if (rep->count == 0) {
        if (rep->first_seq > c->last + 1) {
            s_lost(c, rep->first_seq - 1, "older than the matcher's ring");
            return;
        }
        /* the matcher has nothing after `last`; a gap below an event seen live cannot be
         * filled then (a sane matcher never says so), and asking again would loop */
        c->want_more = false;
        const sfb_event_t *head = s_buf_front(c);
        s_lost(c, head != NULL ? head->seq - 1 : c->target, "the matcher does not have them");
        return;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < rep->count; i++) {
        sfb_event_t ev;
        size_t before = off;
        sfb_rc_t rc = sfb_event_decode_next(rep->events.ptr, rep->events.len, &off, &ev);
        uint64_t seq = rep->first_seq + i;
        if (rc == SFB_OK && ev.seq == seq && ev.epoch == rep->epoch) {
            s_take(c, &ev, true);
            continue;
        }
        /* a body we cannot use: consumed, like an undecodable live event */
        uint64_t bad = off == before ? rep->count - i : 1; /* unsplittable: the rest too */
        md_health_add(c->health, MD_H_DECODE_ERRORS, bad);
        sfb_log_ratelim(&c->rl, SFB_WARN, S_MOD, "undecodable replayed event: %s",
                        rc == SFB_OK ? "wrong seq or epoch" : sfb_rc_str(rc));
        if (seq > c->last + 1)
            s_lost(c, seq - 1, "older than the matcher's ring");
        if (seq + bad - 1 > c->last)
            c->last = seq + bad - 1;
        if (off == before)
            break;
    }
}

void
md_catchup_reply(md_catchup_t *c, uint64_t req_id, const sfb_msg_replay_reply_t *rep,
                 uint64_t now_ms)
{
    if (!c->in_flight || req_id != c->req_id) {
        sfb_log(SFB_DEBUG, S_MOD, "ignoring a stale REPLAY_REPLY");
        return;
    }
    c->in_flight = false;
    if (rep->epoch != c->epoch) {
        /* the matcher restarted: ask its new incarnation from seq 1 */
        s_new_epoch(c, rep->epoch);
        c->want_more = true;
        c->probe_at_ms = now_ms;
    } else {
        s_apply_batch(c, rep);
    }
    s_drain(c);
    s_update(c, now_ms);
}
