/* md_recv.c - see md_recv.h. Events go through md_catchup before they are counted, so an
 * event is counted once whether it came live, replayed, or both; the checkpoint stores the
 * position md_catchup has reached, which is exactly what the aggregate holds. */
#include "md_recv.h"

#include "md_agg.h"
#include "md_ckpt.h"
#include "sfb_alloc.h"
#include "sfb_event.h"
#include "sfb_log.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>

#define S_MOD "md.recv"
#define S_DRAIN_MAX 4096               /* events per wake-up before ticking */
#define S_CKPT_MAX (512 * 1024 * 1024) /* refuse larger checkpoint files */
#define S_REPLAY_TIMEOUT_MS 1000       /* default wait for each REPLAY_REPLY ... */
#define S_REPLAY_RETRIES 3             /* ... sent again this often, then given up */
#define S_REPLAY_BATCH 65536           /* events asked per REPLAY_GET (the matcher caps bytes) */
#define S_BUFFER_MAX 262144            /* live events held during a catch-up (~16 MiB) */
#define S_SETTLE_MS 200                /* after a restart, wait this long for a live event */
#define S_POOL_MS 1000                 /* ask the matcher for its pool counts this often */

struct md_recv {
    md_recv_cfg_t cfg;     /* copied; strings borrowed */
    md_agg_t *agg;         /* aggregation state, owned */
    md_catchup_t *cu;      /* stream order and replay, owned */
    md_statslog_t *log;    /* borrowed */
    md_health_t *health;   /* borrowed */
    sfb_buf_t buf;         /* scratch for reports and checkpoints */
    bool dirty;            /* state changed since the last checkpoint */
    uint64_t last_ckpt_ms; /* monotonic time of the last checkpoint */
    zactor_t *actor;       /* the receiving thread, once started */
    void *dealer;          /* libzmq DEALER to the matcher, on the thread; or NULL */
    sfb_buf_t req;         /* scratch for REPLAY_GET frames */
    uint64_t wall_ms;      /* wall time of the frame being handled */
    uint64_t mono_ms;      /* monotonic time of the last wake-up, for replay timeouts */
    uint64_t pool_ms;      /* monotonic time of the last POOL_GET */
    uint64_t pool_req_id;  /* id of the last POOL_GET */
    sfb_ratelim_t warn_rl; /* for per-event warnings */
};

/* Write the block of the current interval, then make the interval containing `t_ms`
 * current and checkpoint, so a crash after this point does not report it twice. */
static void
s_close_interval(md_recv_t *r, uint64_t t_ms)
{
    sfb_buf_reset(&r->buf);
    md_agg_report(r->agg, &r->buf);
    const char *nl = strchr(r->buf.data, '\n');
    char first[128] = "";
    size_t l = nl ? (size_t)(nl - r->buf.data) + 1 : 0;
    if (l < sizeof first)
        memcpy(first, r->buf.data, l);
    first[l < sizeof first ? l : 0] = '\0';
    if (md_statslog_last_block_is(r->log, first)) {
        sfb_log(SFB_NOTICE, S_MOD, "interval ending %.19s already in the stats log", first + 20);
    } else if (md_statslog_append(r->log, r->buf.data, r->buf.len) != 0) {
        md_health_add(r->health, MD_H_REPORT_ERRORS, 1);
        sfb_log(SFB_WARN, S_MOD, "cannot write the stats log: %s", strerror(errno));
    } else {
        md_health_add(r->health, MD_H_REPORTS, 1);
        sfb_log(SFB_INFO, S_MOD, "wrote the block ending %.19s", first + 20);
    }
    md_agg_advance(r->agg, t_ms);
    r->dirty = true;
    md_recv_checkpoint(r);
}

/* Count one event, in sequence order (md_catchup's apply callback). */
static void
s_count(void *arg, const sfb_event_t *ev)
{
    md_recv_t *r = arg;
    r->dirty = true;
    uint64_t ts = ev->ts_ms ? ev->ts_ms : r->wall_ms;
    if (ts > r->wall_ms + md_agg_interval_ms(r->agg)) {
        md_health_add(r->health, MD_H_FUTURE, 1);
        return;
    }
    switch (md_agg_when(r->agg, ts)) {
    case MD_TS_LATE:
        md_health_add(r->health, MD_H_LATE, 1);
        return;
    case MD_TS_AHEAD:
        s_close_interval(r, ts);
        break;
    case MD_TS_CURRENT:
        break;
    }
    md_agg_apply(r->agg, ev);
}

/* Encode `msg` and send it to the matcher without blocking; 0, or -1 with errno set. */
static int
s_to_matcher(md_recv_t *r, const sfb_msg_t *msg)
{
    sfb_buf_reset(&r->req);
    sfb_msg_encode(msg, &r->req);
    return zmq_send(r->dealer, r->req.data, r->req.len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* Send a REPLAY_GET on the DEALER (md_catchup's send callback). A failure is left to the
 * request's timeout. */
static void
s_send_get(void *arg, const sfb_msg_t *get)
{
    md_recv_t *r = arg;
    if (r->cfg.replay_send != NULL) {
        r->cfg.replay_send(r->cfg.replay_arg, get);
        return;
    }
    if (r->dealer != NULL && s_to_matcher(r, get) != 0)
        sfb_log_ratelim(&r->warn_rl, SFB_WARN, S_MOD, "cannot send REPLAY_GET: %s",
                        zmq_strerror(errno));
}

static void
s_new_catchup(md_recv_t *r, const md_recv_cfg_t *cfg)
{
    md_catchup_cfg_t cc = {
        .replay = cfg->matcher_ep != NULL,
        .buffer_max = S_BUFFER_MAX,
        .batch_max = S_REPLAY_BATCH,
        .timeout_ms = cfg->replay_timeout_ms ? cfg->replay_timeout_ms : S_REPLAY_TIMEOUT_MS,
        .retries = S_REPLAY_RETRIES,
        .settle_ms = S_SETTLE_MS,
        .apply = s_count,
        .send = s_send_get,
        .arg = r,
    };
    r->cu = md_catchup_new(&cc, r->health);
}

/* Load the checkpoint in the state directory, if any, into r->agg. */
static void
s_load_checkpoint(md_recv_t *r, uint64_t now_ms)
{
    int found = md_ckpt_load(r->cfg.state_dir, S_CKPT_MAX, &r->buf);
    if (found < 0) {
        sfb_log(SFB_WARN, S_MOD, "cannot read the checkpoint: %s", strerror(errno));
    } else if (found > 0) {
        sfb_rc_t rc = md_agg_load(r->agg, r->buf.data, r->buf.len);
        if (rc != SFB_OK)
            sfb_log(SFB_WARN, S_MOD, "ignoring the checkpoint: %s", sfb_rc_str(rc));
        else
            sfb_log(SFB_NOTICE, S_MOD, "resumed the interval starting at %llu s, last seq %llu",
                    (unsigned long long)(md_agg_start_ms(r->agg) / 1000),
                    (unsigned long long)md_agg_last_seq(r->agg));
    }
    if (md_agg_start_ms(r->agg) > now_ms) { /* from the future: the clock went back */
        sfb_log(SFB_WARN, S_MOD, "ignoring a checkpoint from the future");
        md_agg_destroy(&r->agg);
        r->agg = md_agg_new(r->cfg.interval_ms, now_ms, r->health);
    }
}

md_recv_t *
md_recv_new(const md_recv_cfg_t *cfg, md_statslog_t *log, md_health_t *health, uint64_t now_ms)
{
    md_recv_t *r = sfb_xcalloc(1, sizeof *r);
    r->cfg = *cfg;
    r->log = log;
    r->health = health;
    r->warn_rl.interval_ms = 60000;
    r->wall_ms = now_ms;
    r->mono_ms = sfb_now_ms();
    sfb_buf_init(&r->buf);
    sfb_buf_init(&r->req);
    r->agg = md_agg_new(cfg->interval_ms, now_ms, health);
    s_new_catchup(r, cfg);
    if (cfg->state_dir == NULL)
        return r;
    s_load_checkpoint(r, now_ms);
    if (md_agg_has_position(r->agg))
        md_catchup_resume(r->cu, md_agg_epoch(r->agg), md_agg_last_seq(r->agg));
    /* it ended while we were down: report it now, or once the replay has filled it in */
    if (md_agg_end_ms(r->agg) <= now_ms && !md_catchup_is_busy(r->cu))
        s_close_interval(r, now_ms);
    return r;
}

void
md_recv_handle(md_recv_t *r, const void *body, size_t len, uint64_t now_ms)
{
    sfb_event_t ev;
    sfb_rc_t rc = sfb_event_decode(body, len, &ev);
    if (rc != SFB_OK) {
        md_health_add(r->health, MD_H_DECODE_ERRORS, 1);
        sfb_log_ratelim(&r->warn_rl, SFB_WARN, S_MOD, "undecodable event: %s", sfb_rc_str(rc));
        return;
    }
    r->wall_ms = now_ms;
    md_catchup_live(r->cu, &ev, r->mono_ms);
}

void
md_recv_handle_reply(md_recv_t *r, const void *frame, size_t len, uint64_t now_ms)
{
    sfb_msg_t m;
    sfb_rc_t rc = sfb_msg_decode(frame, len, &m);
    if (rc == SFB_OK && m.type == SFB_MSG_POOL_REPLY) {
        if (m.req_id == r->pool_req_id) /* an older one may come after a newer */
            md_agg_available(r->agg, &m.u.pool_reply, r->mono_ms);
        return;
    }
    if (rc == SFB_OK && m.type != SFB_MSG_REPLAY_REPLY)
        rc = SFB_BAD_TYPE;
    if (rc != SFB_OK) {
        md_health_add(r->health, MD_H_DECODE_ERRORS, 1);
        sfb_log_ratelim(&r->warn_rl, SFB_WARN, S_MOD, "bad frame from the matcher: %s",
                        sfb_rc_str(rc));
        return;
    }
    r->wall_ms = now_ms;
    md_catchup_reply(r->cu, m.req_id, &m.u.replay_reply, r->mono_ms);
}

int
md_recv_checkpoint(md_recv_t *r)
{
    if (r->cfg.state_dir == NULL)
        return 0;
    if (md_catchup_has_position(r->cu))
        md_agg_set_position(r->agg, md_catchup_epoch(r->cu), md_catchup_last_seq(r->cu));
    sfb_buf_reset(&r->buf);
    md_agg_save(r->agg, &r->buf);
    r->last_ckpt_ms = sfb_now_ms();
    if (md_ckpt_save(r->cfg.state_dir, r->buf.data, r->buf.len) != 0) {
        md_health_add(r->health, MD_H_CHECKPOINT_ERRORS, 1);
        sfb_log_ratelim(&r->warn_rl, SFB_WARN, S_MOD, "cannot write the checkpoint: %s",
                        strerror(errno));
        return -1;
    }
    md_health_add(r->health, MD_H_CHECKPOINTS, 1);
    r->dirty = false;
    return 0;
}

/* Ask the matcher for the snowflake_available_proxies counts (POOL_GET); its POOL_REPLY comes
 * on the DEALER like a REPLAY_REPLY. A lost request is just the next second's. */
static void
s_ask_pool(md_recv_t *r)
{
    if (r->dealer == NULL || r->mono_ms - r->pool_ms < S_POOL_MS)
        return;
    r->pool_ms = r->mono_ms;
    sfb_msg_t get = {.type = SFB_MSG_POOL_GET, .req_id = ++r->pool_req_id};
    /* fails while the matcher is away: the gauge then goes stale, which says so */
    if (s_to_matcher(r, &get) != 0)
        sfb_log(SFB_DEBUG, S_MOD, "cannot send POOL_GET: %s", zmq_strerror(errno));
}

void
md_recv_tick(md_recv_t *r, uint64_t now_ms, uint64_t mono_ms)
{
    r->wall_ms = now_ms;
    r->mono_ms = mono_ms;
    s_ask_pool(r);
    md_catchup_tick(r->cu, mono_ms);
    /* while events are being replayed, some may still belong to the interval: wait */
    if (now_ms >= md_agg_end_ms(r->agg) + r->cfg.grace_ms && !md_catchup_is_busy(r->cu))
        s_close_interval(r, now_ms);
    if (r->dirty && mono_ms - r->last_ckpt_ms >= r->cfg.checkpoint_ms)
        md_recv_checkpoint(r);
}

/* ---- the thread ------------------------------------------------------------------------- */

/* Read every queued [topic, body] message without blocking, up to S_DRAIN_MAX; return true
 * if more may be queued (the last receive did not find the socket empty). */
static bool
s_drain(md_recv_t *r, void *sub)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return false;
        }
        /* The topic frame only routes; the body says what the event is. Use the last part. */
        while (zmq_msg_more(&part)) {
            zmq_msg_close(&part);
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, sub, ZMQ_DONTWAIT) < 0)
                break;
        }
        md_recv_handle(r, zmq_msg_data(&part), zmq_msg_size(&part), sfb_wall_ms());
        zmq_msg_close(&part);
    }
    return true;
}

/* Read every queued reply from the matcher without blocking, up to S_DRAIN_MAX; return true
 * if more may be queued. Replies are single frames. */
static bool
s_drain_replies(md_recv_t *r, void *dealer)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return false;
        }
        bool single = !zmq_msg_more(&msg);
        if (single)
            md_recv_handle_reply(r, zmq_msg_data(&msg), zmq_msg_size(&msg), sfb_wall_ms());
        while (zmq_msg_more(&msg)) { /* not our framing: drop the whole message */
            zmq_msg_close(&msg);
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, dealer, ZMQ_DONTWAIT) < 0)
                break;
        }
        if (!single)
            md_health_add(r->health, MD_H_DECODE_ERRORS, 1);
        zmq_msg_close(&msg);
    }
    return true;
}

/* Connect the SUB first (so live events are buffered while the replay catches up), then the
 * DEALER to the matcher if one is configured. Return 0 or -1. */
static int
s_connect(md_recv_t *r, zsock_t **sub_p, zsock_t **dealer_p)
{
    zsock_t *sub = *sub_p = zsock_new(ZMQ_SUB);
    if (sub == NULL)
        return -1;
    zsock_set_rcvhwm(sub, 1000000);
    if (r->cfg.curve && sfb_curve_apply_client(r->cfg.curve, sub, r->cfg.matcher_key) != 0)
        return -1;
    for (int k = 0; k < SFB_EV_KIND_COUNT; k++)
        zsock_set_subscribe(sub, sfb_event_topic((sfb_event_kind_t)k));
    if (zsock_connect(sub, "%s", r->cfg.events_ep) != 0)
        return -1;
    if (r->cfg.matcher_ep == NULL || r->cfg.replay_send != NULL)
        return 0;
    zsock_t *dealer = *dealer_p = zsock_new(ZMQ_DEALER);
    if (dealer == NULL)
        return -1;
    zsock_set_linger(dealer, 0);
    zsock_set_maxmsgsize(dealer, SFB_MSG_MAX_BYTES);
    if (r->cfg.curve && sfb_curve_apply_client(r->cfg.curve, dealer, r->cfg.matcher_key) != 0)
        return -1;
    if (zsock_connect(dealer, "%s", r->cfg.matcher_ep) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot connect the DEALER to %s", r->cfg.matcher_ep);
        return -1;
    }
    r->dealer = zsock_resolve(dealer);
    return 0;
}

/* Receive what the actor pipe holds without blocking; return true if it says stop ($TERM,
 * or the context is being terminated). */
static bool
s_pipe_term(void *pipe)
{
    bool term = false;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, pipe, ZMQ_DONTWAIT) >= 0)
        term |= zmq_msg_size(&m) == 5 && memcmp(zmq_msg_data(&m), "$TERM", 5) == 0;
    term |= errno == ETERM;
    zmq_msg_close(&m);
    return term;
}

/* Set `pfd` to poll the ZMQ_FD of libzmq socket `raw`; return 0 or -1. */
static int
s_zmq_pollfd(void *raw, struct pollfd *pfd)
{
    size_t len = sizeof pfd->fd;
    pfd->events = POLLIN;
    return zmq_getsockopt(raw, ZMQ_FD, &pfd->fd, &len);
}

/* The loop polls the sockets' ZMQ_FDs itself rather than calling zmq_poll, which queries
 * ZMQ_EVENTS (libzmq's getpid + poll) on every socket before and after it sleeps. Sound
 * because the last libzmq call on each socket before poll() is a receive that found it empty,
 * which consumed its eventfd's signal (notes/dependencies.md §2.1): sends on the DEALER
 * (REPLAY_GET, POOL_GET, made while handling events and in the tick) come before its drain.
 * The bounded wait also ticks timers and checkpoints. */
static void
s_actor(zsock_t *pipe, void *args)
{
    md_recv_t *r = args;
    zsock_t *sub = NULL, *dealer = NULL;
    int ok = s_connect(r, &sub, &dealer) == 0;
    struct pollfd fds[3];
    nfds_t n_fds = r->dealer ? 3 : 2;
    ok = ok && s_zmq_pollfd(zsock_resolve(pipe), &fds[0]) == 0 &&
         s_zmq_pollfd(zsock_resolve(sub), &fds[1]) == 0 &&
         (n_fds == 2 || s_zmq_pollfd(r->dealer, &fds[2]) == 0);
    zsock_signal(pipe, 0);          /* zactor_new's handshake, which ignores the status */
    zsock_signal(pipe, ok ? 0 : 1); /* read by md_recv_start */
    int wait_ms = r->cfg.checkpoint_ms < 100 ? (int)r->cfg.checkpoint_ms + 1 : 100;
    while (ok && !s_pipe_term(zsock_resolve(pipe))) {
        r->mono_ms = sfb_now_ms();
        /* live events first, also before a reply: what came live need not be counted lost */
        bool more = s_drain(r, zsock_resolve(sub));
        md_recv_tick(r, sfb_wall_ms(), sfb_now_ms());
        if (r->dealer != NULL)
            more |= s_drain_replies(r, r->dealer);
        if (poll(fds, n_fds, more ? 0 : wait_ms) < 0 && errno != EINTR)
            break;
    }
    if (ok)
        md_recv_checkpoint(r);
    r->dealer = NULL;
    zsock_destroy(&dealer);
    zsock_destroy(&sub);
}

int
md_recv_start(md_recv_t *r)
{
    r->actor = zactor_new(s_actor, r);
    if (r->actor == NULL || zsock_wait(r->actor) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot connect the SUB socket to %s or the DEALER to %s",
                r->cfg.events_ep, r->cfg.matcher_ep ? r->cfg.matcher_ep : "(none)");
        zactor_destroy(&r->actor);
        return -1;
    }
    return 0;
}

void
md_recv_destroy(md_recv_t **recv_p)
{
    if (recv_p == NULL || *recv_p == NULL)
        return;
    md_recv_t *r = *recv_p;
    if (r->actor)
        zactor_destroy(&r->actor);
    md_catchup_destroy(&r->cu);
    md_agg_destroy(&r->agg);
    sfb_buf_dispose(&r->buf);
    sfb_buf_dispose(&r->req);
    free(r);
    *recv_p = NULL;
}

const md_prom_t *
md_recv_prom(const md_recv_t *r)
{
    return md_agg_prom(r->agg);
}

const md_stats_t *
md_recv_stats(const md_recv_t *r)
{
    return md_agg_stats(r->agg);
}
