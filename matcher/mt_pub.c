/* mt_pub.c - see mt_pub.h. The sequence number advances for every event, sent or not, so a
 * local drop shows up as a gap downstream just like a drop at the subscriber's HWM; the ring
 * keeps every numbered body, so such a gap can be filled by a replay. */
#include "mt_pub.h"

#include "mt_ring.h"
#include "sfb_alloc.h"
#include "sfb_buf.h"
#include "sfb_log.h"

#include <czmq.h>
#include <errno.h>
#include <sys/random.h>

/* PUB drops per subscriber once this many events are queued. 100 000 events of ~80 bytes is
 * ~8 MB per subscriber, several seconds of peak traffic; metricsd keeps up with 300k/s
 * (notes/dependencies.md §3), so only a stalled subscriber loses events. */
#define S_SNDHWM 100000
/* On close, wait this long for queued events to reach subscribers. */
#define S_LINGER_MS 500

struct mt_pub {
    zsock_t *sock;    /* PUB */
    void *raw;        /* libzmq handle of sock */
    uint64_t epoch;   /* random per start: lets subscribers tell a restart from a gap */
    uint64_t seq;     /* last sequence number used */
    uint64_t dropped; /* sends that failed */
    sfb_buf_t body;   /* reused encoding buffer */
    mt_ring_t *ring;  /* recent bodies for REPLAY_GET */
    mt_tagkey_t *tk;  /* borrowed IP tag key, or NULL */
    sfb_buf_t replay; /* reused REPLAY_REPLY events blob */
    sfb_ratelim_t rl; /* drop warnings */
};

mt_pub_t *
mt_pub_new(const char *endpoint, size_t ring_events, mt_tagkey_t *tagkey, sfb_curve_t *curve)
{
    zsock_t *sock = zsock_new(ZMQ_PUB);
    if (sock == NULL) {
        sfb_log(SFB_ERROR, "mt.pub", "cannot create PUB socket");
        return NULL;
    }
    zsock_set_sndhwm(sock, S_SNDHWM);
    zsock_set_linger(sock, S_LINGER_MS);
    sfb_curve_warn_exposed(curve, "PUB", endpoint);
    if (curve != NULL && sfb_curve_apply_server(curve, sock, "PUB") != 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        sfb_log(SFB_ERROR, "mt.pub", "cannot bind PUB on %s: %s", endpoint, zmq_strerror(errno));
        zsock_destroy(&sock);
        return NULL;
    }
    mt_pub_t *pub = sfb_xcalloc(1, sizeof *pub);
    pub->sock = sock;
    pub->raw = zsock_resolve(sock);
    pub->tk = tagkey;
    if (getrandom(&pub->epoch, sizeof pub->epoch, 0) != sizeof pub->epoch)
        pub->epoch = sfb_wall_ms() ^ (uint64_t)getpid() << 40;
    sfb_buf_init(&pub->body);
    sfb_buf_init(&pub->replay);
    size_t arena = ring_events > MT_RING_MAX_ARENA_BYTES / MT_PUB_EVENT_MAX_BYTES
                       ? MT_RING_MAX_ARENA_BYTES
                       : ring_events * MT_PUB_EVENT_MAX_BYTES;
    pub->ring = mt_ring_new(ring_events, arena);
    pub->rl.interval_ms = 60000;
    return pub;
}

void
mt_pub_destroy(mt_pub_t **pub_p)
{
    if (pub_p == NULL || *pub_p == NULL)
        return;
    mt_pub_t *pub = *pub_p;
    zsock_destroy(&pub->sock);
    sfb_buf_dispose(&pub->body);
    sfb_buf_dispose(&pub->replay);
    mt_ring_destroy(&pub->ring);
    free(pub);
    *pub_p = NULL;
}

void
mt_pub_send(mt_pub_t *pub, const sfb_event_t *ev, sfb_str_t addr)
{
    sfb_event_t e = *ev;
    e.epoch = pub->epoch;
    e.seq = ++pub->seq;
    e.ts_ms = sfb_wall_ms(); /* once: the tag's key interval is the one this ts falls in */
    e.has_tag = addr.len > 0 && pub->tk != NULL;
    if (e.has_tag)
        mt_tagkey_tag(pub->tk, addr.ptr, addr.len, e.ts_ms, e.tag);
    sfb_buf_reset(&pub->body);
    sfb_event_encode(&e, &pub->body);
    mt_ring_push(pub->ring, e.seq, pub->body.data, pub->body.len);
    const char *topic = sfb_event_topic(e.kind);
    if (zmq_send(pub->raw, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(pub->raw, pub->body.data, pub->body.len, ZMQ_DONTWAIT) < 0) {
        pub->dropped++;
        sfb_log_ratelim(&pub->rl, SFB_WARN, "mt.pub", "event dropped: %s (%llu so far)",
                        zmq_strerror(errno), (unsigned long long)pub->dropped);
    }
}

void
mt_pub_replay(mt_pub_t *pub, const sfb_msg_replay_get_t *get, sfb_msg_replay_reply_t *out)
{
    sfb_buf_reset(&pub->replay);
    *out = (sfb_msg_replay_reply_t){.epoch = pub->epoch};
    if (get->epoch != pub->epoch) {
        /* another incarnation's seqs mean nothing here: say where ours start */
        out->first_seq = mt_ring_count(pub->ring) ? mt_ring_oldest(pub->ring) : pub->seq + 1;
    } else {
        out->count = (uint32_t)mt_ring_read(pub->ring, get->from_seq, get->max,
                                            MT_PUB_REPLAY_MAX_BYTES, &pub->replay, &out->first_seq);
    }
    out->events = (sfb_str_t){pub->replay.data ? pub->replay.data : "", pub->replay.len};
}

uint64_t
mt_pub_epoch(const mt_pub_t *pub)
{
    return pub->epoch;
}

size_t
mt_pub_ring_count(const mt_pub_t *pub)
{
    return mt_ring_count(pub->ring);
}

uint64_t
mt_pub_seq(const mt_pub_t *pub)
{
    return pub->seq;
}

uint64_t
mt_pub_dropped(const mt_pub_t *pub)
{
    return pub->dropped;
}
