/* mt_router.c - see mt_router.h. libzmq is used directly on the CZMQ socket (zsock_resolve)
 * for zero-copy zmq_msg_recv and explicit ZMQ_DONTWAIT on every send. */
#include "mt_router.h"

#include "sfb_alloc.h"
#include "sfb_buf.h"
#include "sfb_log.h"
#include "sfb_msg.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Queue limits per frontend, both ways. A frontend forwards at most ~30k requests/s
 * (notes/dependencies.md §3); 100 000 messages absorb seconds of burst while we are busy,
 * and, with messages capped at SFB_MSG_MAX_REQUEST_BYTES and typically ~1-2 KB, bound memory to
 * ~100-200 MB per frontend in practice. Beyond it, replies fail with EAGAIN (counted, never
 * blocking) and requests wait in the frontend, which owns their deadlines. */
#define S_HWM 100000
/* On close, wait this long for the shutdown replies to reach the frontends. */
#define S_LINGER_MS 1000
/* Messages handled per wakeup before timers and signals get a turn. */
#define S_DRAIN_MAX 10000
#define S_HEARTBEAT_MS (3600u * 1000u)

struct mt_router {
    zsock_t *sock;           /* ROUTER */
    void *raw;               /* libzmq handle of sock */
    mt_pub_t *pub;           /* borrowed event publisher */
    sfb_curve_t *curve;      /* borrowed CURVE identity, or NULL (plain) */
    sfb_buf_t out;           /* reused reply encoding */
    mt_router_stats_t stats; /* counters */
    sfb_ratelim_t drop_rl;   /* bad-frame warnings */
    sfb_ratelim_t send_rl;   /* failed-reply warnings */
};

static int
s_setup(zsock_t *sock, const char *endpoint, sfb_curve_t *curve)
{
    void *raw = zsock_resolve(sock);
    int one = 1, hwm = S_HWM, linger = S_LINGER_MS;
    int64_t max_bytes = SFB_MSG_MAX_REQUEST_BYTES; /* a larger frame disconnects the peer */
    if (zmq_setsockopt(raw, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0 ||
        zmq_setsockopt(raw, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(raw, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_setsockopt(raw, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes) < 0) {
        sfb_log(SFB_ERROR, "mt.router", "cannot set ROUTER options: %s", zmq_strerror(errno));
        return -1;
    }
    sfb_curve_warn_exposed(curve, "ROUTER", endpoint);
    if (curve != NULL && sfb_curve_apply_server(curve, sock, "ROUTER") != 0)
        return -1;
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        sfb_log(SFB_ERROR, "mt.router", "cannot bind ROUTER on %s: %s", endpoint,
                zmq_strerror(errno));
        return -1;
    }
    return 0;
}

mt_router_t *
mt_router_new(const char *endpoint, mt_pub_t *pub, sfb_curve_t *curve)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (sock == NULL) {
        sfb_log(SFB_ERROR, "mt.router", "cannot create ROUTER socket");
        return NULL;
    }
    if (s_setup(sock, endpoint, curve) < 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    mt_router_t *r = sfb_xcalloc(1, sizeof *r);
    r->sock = sock;
    r->raw = zsock_resolve(sock);
    r->pub = pub;
    r->curve = curve;
    sfb_buf_init(&r->out);
    r->drop_rl.interval_ms = 10000;
    r->send_rl.interval_ms = 10000;
    return r;
}

void
mt_router_destroy(mt_router_t **router_p)
{
    if (router_p == NULL || *router_p == NULL)
        return;
    mt_router_t *r = *router_p;
    zsock_destroy(&r->sock);
    sfb_buf_dispose(&r->out);
    free(r);
    *router_p = NULL;
}

static int
s_reply(void *ctx, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg)
{
    mt_router_t *r = ctx;
    sfb_buf_reset(&r->out);
    sfb_msg_encode(msg, &r->out);
    /* with ROUTER_MANDATORY an unroutable or full peer fails on the identity frame, so a
     * failure never leaves half a message queued */
    if (zmq_send(r->raw, ident, ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(r->raw, r->out.data, r->out.len, ZMQ_DONTWAIT) >= 0) {
        r->stats.replies++;
        return 0;
    }
    int err = errno;
    if (err == EHOSTUNREACH)
        r->stats.unreachable++;
    else if (err == EAGAIN)
        r->stats.full++;
    else
        r->stats.send_other++;
    sfb_log_ratelim(&r->send_rl, SFB_WARN, "mt.router",
                    "reply dropped: %s (unreachable %llu, full %llu, other %llu)",
                    zmq_strerror(err), (unsigned long long)r->stats.unreachable,
                    (unsigned long long)r->stats.full, (unsigned long long)r->stats.send_other);
    return -1;
}

static void
s_event(void *ctx, const sfb_event_t *ev, sfb_str_t addr)
{
    mt_router_t *r = ctx;
    if (r->pub != NULL)
        mt_pub_send(r->pub, ev, addr);
}

mt_core_io_t
mt_router_io(mt_router_t *router)
{
    return (mt_core_io_t){s_reply, s_event, router};
}

/* Receive the rest of a multipart message and return how many parts were discarded. */
static unsigned
s_discard_rest(mt_router_t *r, zmq_msg_t *last)
{
    unsigned n = 0;
    while (zmq_msg_more(last)) {
        zmq_msg_close(last);
        zmq_msg_init(last);
        if (zmq_msg_recv(last, r->raw, ZMQ_DONTWAIT) < 0)
            break;
        n++;
    }
    return n;
}

/* A subscriber (metricsd's DEALER) asks for events it missed: answer from the ring at once. */
static void
s_replay(mt_router_t *r, const unsigned char *ident, size_t ident_len, const sfb_msg_t *get)
{
    sfb_msg_t m = {.type = SFB_MSG_REPLAY_REPLY, .req_id = get->req_id};
    mt_pub_replay(r->pub, &get->u.replay_get, &m.u.replay_reply);
    r->stats.replays++;
    r->stats.replayed += m.u.replay_reply.count;
    s_reply(r, ident, ident_len, &m);
}

static void
s_handle(mt_router_t *r, mt_core_t *core, zmq_msg_t *id, zmq_msg_t *body)
{
    sfb_msg_t msg;
    sfb_rc_t rc = sfb_msg_decode(zmq_msg_data(body), zmq_msg_size(body), &msg);
    if (rc != SFB_OK) {
        r->stats.undecodable++;
        sfb_log_ratelim(&r->drop_rl, SFB_WARN, "mt.router", "dropped frame: %s (%llu so far)",
                        sfb_rc_str(rc), (unsigned long long)r->stats.undecodable);
        return;
    }
    r->stats.frames++;
    if (msg.type == SFB_MSG_REPLAY_GET && r->pub != NULL) {
        s_replay(r, zmq_msg_data(id), zmq_msg_size(id), &msg);
        return;
    }
    mt_core_handle(core, zmq_msg_data(id), zmq_msg_size(id), &msg, sfb_now_ms());
}

/* Handle up to S_DRAIN_MAX messages; return true if the socket may still hold more. */
static bool
s_drain(mt_router_t *r, mt_core_t *core)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, r->raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return false; /* EAGAIN: drained */
        }
        zmq_msg_init(&body);
        bool framed = zmq_msg_more(&id) && zmq_msg_recv(&body, r->raw, ZMQ_DONTWAIT) >= 0;
        if (framed && s_discard_rest(r, &body) == 0) {
            s_handle(r, core, &id, &body);
        } else {
            r->stats.bad_framing++;
            sfb_log_ratelim(&r->drop_rl, SFB_WARN, "mt.router",
                            "dropped message that is not [identity][payload] (%llu so far)",
                            (unsigned long long)r->stats.bad_framing);
        }
        zmq_msg_close(&body);
        zmq_msg_close(&id);
    }
    return true;
}

/* Read pending signal numbers; return false if one of them asks to stop. */
static bool
s_signals(int fd, mt_router_signal_fn on_signal, void *ctx)
{
    unsigned char sigs[64];
    ssize_t n;
    while ((n = read(fd, sigs, sizeof sigs)) > 0)
        for (ssize_t i = 0; i < n; i++)
            if (!on_signal(ctx, sigs[i]))
                return false;
    return true;
}

static long
s_timeout_ms(uint64_t deadline, uint64_t now)
{
    if (deadline <= now)
        return 0;
    uint64_t d = deadline - now;
    return d > INT_MAX ? INT_MAX : (long)d;
}

/* The loop polls ZMQ_FD itself instead of calling zmq_poll, which would query ZMQ_EVENTS
 * before and after its poll (libzmq's getpid + poll each time). That is sound because the
 * last libzmq call on the ROUTER before every poll() is the recv that found nothing: it
 * processed libzmq's pending commands, which drains ZMQ_FD's eventfd, so the fd becomes
 * readable again exactly when something new arrives (notes/dependencies.md §2.1). Timers may
 * send replies, which can consume that signal, so they run before the drain, never between
 * it and the poll. */
int
mt_router_run(mt_router_t *r, mt_core_t *core, int signal_fd, mt_router_signal_fn on_signal,
              void *ctx)
{
    int zfd;
    size_t zfd_len = sizeof zfd;
    if (zmq_getsockopt(r->raw, ZMQ_FD, &zfd, &zfd_len) != 0) {
        sfb_log(SFB_ERROR, "mt.router", "ZMQ_FD: %s", zmq_strerror(errno));
        return -1;
    }
    struct pollfd fds[2] = {{.fd = zfd, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
    uint64_t next_beat = sfb_now_ms() + S_HEARTBEAT_MS;
    for (;;) {
        uint64_t now = sfb_now_ms();
        mt_core_expire(core, now);
        if (now >= next_beat) {
            mt_router_log_stats(r, core, "heartbeat");
            next_beat = now + S_HEARTBEAT_MS;
        }
        bool more = s_drain(r, core);
        uint64_t deadline = mt_core_next_deadline(core);
        if (next_beat < deadline)
            deadline = next_beat;
        int rc = poll(fds, 2, more ? 0 : (int)s_timeout_ms(deadline, sfb_now_ms()));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            sfb_log(SFB_ERROR, "mt.router", "poll failed: %s", strerror(errno));
            return -1;
        }
        if ((fds[1].revents & POLLIN) && !s_signals(signal_fd, on_signal, ctx))
            return 0;
    }
}

const mt_router_stats_t *
mt_router_stats(const mt_router_t *router)
{
    return &router->stats;
}

void
mt_router_log_stats(const mt_router_t *r, const mt_core_t *core, const char *what)
{
    const mt_core_stats_t *c = mt_core_stats(core);
    const mt_router_stats_t *s = &r->stats;
    sfb_log(SFB_NOTICE, "mt.router",
            "%s: requests %llu, held proxies %zu, waiting clients %zu, replies %llu, "
            "replies dropped %llu/%llu/%llu (unreachable/full/other), frames dropped %llu/%llu "
            "(framing/decode), dup req ids %llu, events %llu (send errors %llu), replays %llu "
            "(%llu events), untagged long addrs %llu, refused handshakes %llu",
            what, (unsigned long long)c->requests,
            mt_core_pool_size(core, true) + mt_core_pool_size(core, false),
            mt_core_waiting_clients(core), (unsigned long long)s->replies,
            (unsigned long long)s->unreachable, (unsigned long long)s->full,
            (unsigned long long)s->send_other, (unsigned long long)s->bad_framing,
            (unsigned long long)s->undecodable, (unsigned long long)c->dup_req_id,
            (unsigned long long)(r->pub ? mt_pub_seq(r->pub) : 0),
            (unsigned long long)(r->pub ? mt_pub_dropped(r->pub) : 0),
            (unsigned long long)s->replays, (unsigned long long)s->replayed,
            (unsigned long long)c->long_addr, (unsigned long long)sfb_curve_refused(r->curve));
}
