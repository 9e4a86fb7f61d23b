/* mt_core.c - see mt_core.h. Records: a proxy is pooled (in a pool, the proxy FIFO, the held
 * map and the Sid map) until a client pops it, then matched (only in the Sid map, linked to
 * its client) until the client finishes. A client waits (client FIFO, held map) until the
 * answer, its deadline or a CANCEL. Every hold has the same duration per class, so each FIFO
 * is sorted by deadline and the earliest deadline is always at its head. The §4.7 quirks are
 * resolved the safe way: no hand-off ever blocks, a popped proxy always gets the offer or is
 * dropped, and an answer that cannot reach a waiting client gets CLIENT_GONE. */
#include "mt_core.h"

#include "mt_pool.h"
#include "mt_relay.h"
#include "sfb_alloc.h"
#include "sfb_buf.h"
#include "sfb_log.h"

#include <czmq.h>
#include <string.h>

/* A byte-string key for zhashx (Sids and identities may hold any byte, NUL included). */
typedef struct {
    size_t len;                /* bytes */
    const unsigned char *data; /* borrowed: points into the owning record */
} s_key_t;

typedef struct s_client s_client_t;

typedef struct {
    mt_pool_node_t node;    /* heap node; node.owner is this record */
    s_key_t held;           /* (identity, req_id) while pooled */
    s_key_t sid;            /* Sid map key */
    size_t ident_len;       /* identity bytes at buf */
    uint64_t req_id;        /* of the poll */
    sfb_proxy_type_t ptype; /* reported type */
    sfb_nat_t nat;          /* reported NAT */
    bool relay_pattern;     /* AcceptedRelayPattern was sent */
    char cc[SFB_CC_LEN + 1];
    uint64_t deadline_ms; /* end of the hold */
    mt_pool_t *pool;      /* pool holding it; NULL once matched */
    void *fifo;           /* handle in the proxy FIFO while pooled */
    s_client_t *client;   /* the waiting client once matched */
    char *addr;           /* proxy address to tag its event (in buf; wiped on free) */
    size_t addr_len;      /* 0: no tag */
    unsigned char buf[];  /* identity, req_id (8 bytes), Sid, address */
} s_proxy_t;

struct s_client {
    s_key_t held;        /* (identity, req_id) */
    size_t ident_len;    /* identity bytes at buf */
    uint64_t req_id;     /* of the offer */
    sfb_nat_t nat;       /* client NAT */
    sfb_method_t method; /* rendezvous method */
    char cc[SFB_CC_LEN + 1];
    uint64_t deadline_ms; /* end of the wait */
    void *fifo;           /* handle in the client FIFO */
    s_proxy_t *proxy;     /* the matched proxy */
    unsigned char buf[];  /* identity, req_id (8 bytes) */
};

struct mt_core {
    mt_core_io_t io;            /* output callbacks */
    uint64_t proxy_timeout_ms;  /* hold of a proxy poll */
    uint64_t client_timeout_ms; /* wait of a client */
    mt_relay_t *allowed;        /* --allowed-relay-pattern */
    mt_bridges_t *bridges;      /* owned */
    mt_pool_t *unrestricted;    /* NAT unrestricted proxies */
    mt_pool_t *restricted;      /* NAT restricted and unknown proxies */
    zhashx_t *sids;             /* Sid -> s_proxy_t (pooled or matched) */
    zhashx_t *held_proxies;     /* (identity, req_id) -> pooled s_proxy_t */
    zhashx_t *held_clients;     /* (identity, req_id) -> waiting s_client_t */
    zlistx_t *proxy_fifo;       /* pooled proxies by deadline */
    zlistx_t *client_fifo;      /* waiting clients by deadline */
    mt_core_stats_t stats;      /* counters */
    sfb_ratelim_t warn_rl;      /* for peer-triggered warnings */
    uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT]; /* Sid map entries by type and NAT */
};

/* ---- keys and records ------------------------------------------------------------------ */

static size_t
s_key_hash(const void *key)
{
    const s_key_t *k = key;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ k->data[i]) * 1099511628211ull;
    return (size_t)h;
}

static int
s_key_cmp(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->len ? memcmp(x->data, y->data, x->len) : 0;
}

static zhashx_t *
s_map_new(void)
{
    zhashx_t *map = zhashx_new();
    assert(map);
    zhashx_set_key_hasher(map, s_key_hash);
    zhashx_set_key_comparator(map, s_key_cmp);
    zhashx_set_key_duplicator(map, NULL); /* keys live in the records */
    zhashx_set_key_destructor(map, NULL);
    return map;
}

/* The address to tag a proxy's event with: empty if absent or longer than any address text. */
static sfb_str_t
s_taggable(mt_core_t *core, sfb_str_t addr)
{
    if (addr.len <= MT_ADDR_MAX)
        return addr;
    core->stats.long_addr++;
    return (sfb_str_t){"", 0};
}

/* Write identity + req_id into buf; return the key over them. */
static s_key_t
s_held_key(unsigned char *buf, const unsigned char *ident, size_t ident_len, uint64_t req_id)
{
    memcpy(buf, ident, ident_len);
    for (int i = 0; i < 8; i++)
        buf[ident_len + (size_t)i] = (unsigned char)(req_id >> (8 * i));
    return (s_key_t){ident_len + 8, buf};
}

static s_proxy_t *
s_proxy_new(const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg, sfb_str_t addr,
            uint64_t now_ms, uint64_t hold_ms)
{
    const sfb_msg_poll_t *poll = &msg->u.poll;
    s_proxy_t *p = sfb_xcalloc(1, sizeof *p + ident_len + 8 + poll->sid.len + addr.len);
    p->node = (mt_pool_node_t){poll->clients, MT_POOL_NONE, p};
    p->held = s_held_key(p->buf, ident, ident_len, msg->req_id);
    unsigned char *sid = p->buf + ident_len + 8;
    memcpy(sid, poll->sid.ptr, poll->sid.len);
    p->sid = (s_key_t){poll->sid.len, sid};
    if (addr.len > 0)
        memcpy(sid + poll->sid.len, addr.ptr, addr.len);
    p->addr = (char *)sid + poll->sid.len;
    p->addr_len = addr.len;
    p->ident_len = ident_len;
    p->req_id = msg->req_id;
    p->ptype = poll->ptype;
    p->nat = poll->nat;
    p->relay_pattern = poll->has_pattern;
    memcpy(p->cc, poll->cc, sizeof p->cc);
    p->deadline_ms = now_ms + hold_ms;
    return p;
}

static s_client_t *
s_client_new(const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg, uint64_t now_ms,
             uint64_t wait_ms)
{
    s_client_t *c = sfb_xcalloc(1, sizeof *c + ident_len + 8);
    c->held = s_held_key(c->buf, ident, ident_len, msg->req_id);
    c->ident_len = ident_len;
    c->req_id = msg->req_id;
    c->nat = msg->u.offer.nat;
    c->method = msg->u.offer.method;
    memcpy(c->cc, msg->u.offer.cc, sizeof c->cc);
    c->deadline_ms = now_ms + wait_ms;
    return c;
}

/* ---- output ----------------------------------------------------------------------------- */

static int
s_reply(mt_core_t *core, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg)
{
    if (core->io.reply(core->io.ctx, ident, ident_len, msg) == 0)
        return 0;
    core->stats.reply_failed++;
    return -1;
}

static int
s_proxy_reply(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id,
              sfb_proxy_status_t status)
{
    sfb_msg_t m = {.type = SFB_MSG_PROXY_REPLY, .req_id = req_id};
    m.u.proxy_reply = (sfb_msg_proxy_reply_t){status, {"", 0}, SFB_NAT_UNKNOWN, {"", 0}};
    return s_reply(core, ident, ident_len, &m);
}

static void
s_client_reply(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id,
               sfb_client_status_t status, sfb_str_t answer)
{
    sfb_msg_t m = {.type = SFB_MSG_CLIENT_REPLY, .req_id = req_id};
    m.u.client_reply = (sfb_msg_client_reply_t){status, answer};
    s_reply(core, ident, ident_len, &m);
}

static void
s_answer_reply(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id,
               sfb_answer_status_t status)
{
    sfb_msg_t m = {.type = SFB_MSG_ANSWER_REPLY, .req_id = req_id};
    m.u.answer_reply = status;
    s_reply(core, ident, ident_len, &m);
}

/* A proxy-poll event; `addr` (may be empty) is handed to the publisher to be tagged. */
static void
s_event_proxy(mt_core_t *core, sfb_proxy_type_t ptype, sfb_nat_t nat, bool relay_pattern,
              const char *cc, sfb_outcome_t outcome, sfb_str_t addr)
{
    sfb_event_t ev = {.kind = SFB_EV_PROXY_POLL, .outcome = outcome, .ptype = ptype, .nat = nat};
    ev.relay_pattern = relay_pattern;
    memcpy(ev.cc, cc, SFB_CC_LEN + 1);
    core->io.event(core->io.ctx, &ev, addr);
}

static void
s_event_proxy_rec(mt_core_t *core, const s_proxy_t *p, sfb_outcome_t outcome)
{
    s_event_proxy(core, p->ptype, p->nat, p->relay_pattern, p->cc, outcome,
                  (sfb_str_t){p->addr, p->addr_len});
}

static void
s_event_client(mt_core_t *core, sfb_nat_t nat, sfb_method_t method, const char *cc,
               sfb_outcome_t outcome)
{
    sfb_event_t ev = {.kind = SFB_EV_CLIENT_POLL, .outcome = outcome, .nat = nat};
    ev.method = method;
    memcpy(ev.cc, cc, SFB_CC_LEN + 1);
    core->io.event(core->io.ctx, &ev, (sfb_str_t){"", 0}); /* client stats count polls */
}

static void
s_event_answer(mt_core_t *core, sfb_proxy_type_t ptype, sfb_outcome_t outcome)
{
    /* the answer request carries no country: "??" */
    sfb_event_t ev = {.kind = SFB_EV_PROXY_ANSWER, .outcome = outcome, .ptype = ptype};
    memcpy(ev.cc, "??", 3);
    core->io.event(core->io.ctx, &ev, (sfb_str_t){"", 0});
}

/* ---- state transitions ------------------------------------------------------------------ */

/* Take a pooled proxy out of its pool (if still there), the FIFO and the held map. */
static void
s_proxy_unpool(mt_core_t *core, s_proxy_t *p)
{
    if (p->pool != NULL && p->node.index != MT_POOL_NONE)
        mt_pool_remove(p->pool, &p->node);
    p->pool = NULL;
    if (p->fifo != NULL)
        zlistx_delete(core->proxy_fifo, p->fifo);
    p->fifo = NULL;
    zhashx_delete(core->held_proxies, &p->held);
}

/* Remove the proxy's Sid entry (if it is still the one there) and free it. */
static void
s_proxy_forget(mt_core_t *core, s_proxy_t *p)
{
    if (zhashx_lookup(core->sids, &p->sid) == p) {
        zhashx_delete(core->sids, &p->sid);
        core->avail[p->ptype][p->nat]--;
    }
    explicit_bzero(p->addr, p->addr_len); /* no address outlives its poll */
    free(p);
}

/* A pooled proxy's hold ends without a client: NO_MATCH + event `outcome`. */
static void
s_proxy_release(mt_core_t *core, s_proxy_t *p, sfb_outcome_t outcome)
{
    s_proxy_unpool(core, p);
    s_proxy_reply(core, p->buf, p->ident_len, p->req_id, SFB_PROXY_NO_MATCH);
    s_event_proxy_rec(core, p, outcome);
    s_proxy_forget(core, p);
}

/* The client is done (answered, timed out or cancelled): drop it and its proxy. */
static void
s_client_finish(mt_core_t *core, s_client_t *c)
{
    zlistx_delete(core->client_fifo, c->fifo);
    zhashx_delete(core->held_clients, &c->held);
    if (c->proxy != NULL)
        s_proxy_forget(core, c->proxy);
    free(c);
}

static bool
s_is_held(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id)
{
    unsigned char buf[MT_IDENT_MAX + 8];
    s_key_t key = s_held_key(buf, ident, ident_len, req_id);
    if (zhashx_lookup(core->held_proxies, &key) == NULL &&
        zhashx_lookup(core->held_clients, &key) == NULL)
        return false;
    core->stats.dup_req_id++;
    sfb_log_ratelim(&core->warn_rl, SFB_WARN, "mt.core",
                    "request id %llu reused while held: dropped", (unsigned long long)req_id);
    return true;
}

/* ---- requests --------------------------------------------------------------------------- */

static void
s_on_poll(mt_core_t *core, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg,
          uint64_t now_ms)
{
    const sfb_msg_poll_t *poll = &msg->u.poll;
    if (!mt_relay_accepts(core->allowed, poll->has_pattern, poll->pattern.ptr, poll->pattern.len)) {
        s_proxy_reply(core, ident, ident_len, msg->req_id, SFB_PROXY_BAD_RELAY);
        /* upstream does not count refused proxies as proxies: no tag */
        s_event_proxy(core, poll->ptype, poll->nat, poll->has_pattern, poll->cc, SFB_OUT_REJECTED,
                      (sfb_str_t){"", 0});
        return;
    }
    if (s_is_held(core, ident, ident_len, msg->req_id))
        return;
    sfb_str_t addr = s_taggable(core, poll->addr);
    s_key_t sid = {poll->sid.len, (const unsigned char *)poll->sid.ptr};
    s_proxy_t *old = zhashx_lookup(core->sids, &sid);
    if (old != NULL && old->pool == NULL) {
        /* the Sid is matched and awaiting its answer: that answer must route to it */
        s_proxy_reply(core, ident, ident_len, msg->req_id, SFB_PROXY_NO_MATCH);
        s_event_proxy(core, poll->ptype, poll->nat, poll->has_pattern, poll->cc, SFB_OUT_IDLE,
                      addr);
        return;
    }
    if (old != NULL) /* still pooled: the newer poll replaces it */
        s_proxy_release(core, old, SFB_OUT_IDLE);
    s_proxy_t *p = s_proxy_new(ident, ident_len, msg, addr, now_ms, core->proxy_timeout_ms);
    p->pool = p->nat == SFB_NAT_UNRESTRICTED ? core->unrestricted : core->restricted;
    mt_pool_push(p->pool, &p->node);
    p->fifo = zlistx_add_end(core->proxy_fifo, p);
    zhashx_insert(core->held_proxies, &p->held, p);
    zhashx_insert(core->sids, &p->sid, p);
    core->avail[p->ptype][p->nat]++;
}

/* Pop the next candidate for a client of `nat` (spec §4.4 step 4), or NULL. */
static s_proxy_t *
s_select(mt_core_t *core, sfb_nat_t nat)
{
    mt_pool_node_t *node = NULL;
    if (nat == SFB_NAT_UNRESTRICTED)
        node = mt_pool_pop(core->restricted);
    if (node == NULL)
        node = mt_pool_pop(core->unrestricted);
    return node ? node->owner : NULL;
}

static void
s_on_offer(mt_core_t *core, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg,
           uint64_t now_ms)
{
    const sfb_msg_offer_t *offer = &msg->u.offer;
    const mt_bridge_t *bridge = mt_bridges_lookup(core->bridges, offer->fp, offer->fp_len);
    if (bridge == NULL) {
        s_client_reply(core, ident, ident_len, msg->req_id, SFB_CLIENT_UNKNOWN_BRIDGE,
                       (sfb_str_t){"", 0});
        return;
    }
    if (s_is_held(core, ident, ident_len, msg->req_id))
        return;
    sfb_msg_t m = {.type = SFB_MSG_PROXY_REPLY};
    m.u.proxy_reply = (sfb_msg_proxy_reply_t){
        SFB_PROXY_MATCH, offer->offer, offer->nat, {bridge->relay_url, strlen(bridge->relay_url)}};
    s_proxy_t *p;
    while ((p = s_select(core, offer->nat)) != NULL) {
        s_proxy_unpool(core, p);
        m.req_id = p->req_id;
        if (s_reply(core, p->buf, p->ident_len, &m) == 0)
            break;
        /* its frontend is gone: the poll ends as if cancelled; try the next proxy */
        core->stats.match_failed++;
        s_event_proxy_rec(core, p, SFB_OUT_CANCELLED);
        s_proxy_forget(core, p);
    }
    if (p == NULL) {
        s_client_reply(core, ident, ident_len, msg->req_id, SFB_CLIENT_NO_PROXIES,
                       (sfb_str_t){"", 0});
        s_event_client(core, offer->nat, offer->method, offer->cc, SFB_OUT_DENIED);
        return;
    }
    s_event_proxy_rec(core, p, SFB_OUT_MATCHED);
    s_client_t *c = s_client_new(ident, ident_len, msg, now_ms, core->client_timeout_ms);
    c->fifo = zlistx_add_end(core->client_fifo, c);
    zhashx_insert(core->held_clients, &c->held, c);
    c->proxy = p;
    p->client = c;
}

static void
s_on_answer(mt_core_t *core, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg)
{
    const sfb_msg_answer_t *a = &msg->u.answer;
    s_key_t sid = {a->sid.len, (const unsigned char *)a->sid.ptr};
    s_proxy_t *p = zhashx_lookup(core->sids, &sid);
    if (p == NULL || p->client == NULL) {
        /* unknown Sid, or a proxy still pooled and unmatched (quirk §4.7.2): it stays pooled */
        s_answer_reply(core, ident, ident_len, msg->req_id, SFB_ANSWER_CLIENT_GONE);
        s_event_answer(core, p ? p->ptype : SFB_PROXY_UNKNOWN, SFB_OUT_CLIENT_GONE);
        return;
    }
    s_client_t *c = p->client;
    s_answer_reply(core, ident, ident_len, msg->req_id, SFB_ANSWER_SUCCESS);
    s_client_reply(core, c->buf, c->ident_len, c->req_id, SFB_CLIENT_ANSWER, a->answer);
    s_event_answer(core, p->ptype, SFB_OUT_SUCCESS);
    s_event_client(core, c->nat, c->method, c->cc, SFB_OUT_MATCHED);
    s_client_finish(core, c);
}

static void
s_on_cancel(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id)
{
    unsigned char buf[MT_IDENT_MAX + 8];
    s_key_t key = s_held_key(buf, ident, ident_len, req_id);
    s_proxy_t *p = zhashx_lookup(core->held_proxies, &key);
    if (p != NULL) {
        s_proxy_unpool(core, p);
        s_event_proxy_rec(core, p, SFB_OUT_CANCELLED);
        s_proxy_forget(core, p);
        return;
    }
    s_client_t *c = zhashx_lookup(core->held_clients, &key);
    if (c != NULL) {
        /* upstream counts a client disconnect as a timeout; its proxy's answer gets CLIENT_GONE */
        s_event_client(core, c->nat, c->method, c->cc, SFB_OUT_TIMEOUT);
        s_client_finish(core, c);
        return;
    }
    core->stats.unknown_cancel++;
}

/* spec §2.8, with the per-type lines in a fixed order and only when non-zero. */
static void
s_on_debug(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id)
{
    size_t types[SFB_PROXY_TYPE_COUNT] = {0}, nats[SFB_NAT_COUNT] = {0};
    for (int t = 0; t < SFB_PROXY_TYPE_COUNT; t++)
        for (int n = 0; n < SFB_NAT_COUNT; n++) {
            types[t] += core->avail[t][n];
            nats[n] += core->avail[t][n];
        }
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_buf_printf(&b, "current snowflakes available: %zu\n", zhashx_size(core->sids));
    static const sfb_proxy_type_t order[] = {SFB_PROXY_STANDALONE, SFB_PROXY_WEBEXT,
                                             SFB_PROXY_BADGE, SFB_PROXY_IPTPROXY};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (types[order[i]] > 0)
            sfb_buf_printf(&b, "\t%s proxies: %zu\n", sfb_proxy_type_str(order[i]),
                           types[order[i]]);
    sfb_buf_printf(&b,
                   "\tunknown proxies: %zu\nNAT Types available:\n\trestricted: %zu\n\t"
                   "unrestricted: %zu\n\tunknown: %zu",
                   types[SFB_PROXY_UNKNOWN], nats[SFB_NAT_RESTRICTED], nats[SFB_NAT_UNRESTRICTED],
                   nats[SFB_NAT_UNKNOWN]);
    sfb_msg_t m = {.type = SFB_MSG_DEBUG_REPLY, .req_id = req_id};
    m.u.debug_text = (sfb_str_t){b.data, b.len};
    s_reply(core, ident, ident_len, &m);
    sfb_buf_dispose(&b);
}

/* The upstream gauge snowflake_available_proxies, for metricsd. */
static void
s_on_pool(mt_core_t *core, const unsigned char *ident, size_t ident_len, uint64_t req_id)
{
    sfb_msg_t m = {.type = SFB_MSG_POOL_REPLY, .req_id = req_id};
    mt_core_available(core, m.u.pool_reply.avail);
    s_reply(core, ident, ident_len, &m);
}

/* ---- public ----------------------------------------------------------------------------- */

mt_core_t *
mt_core_new(const mt_core_config_t *cfg, mt_bridges_t **bridges_p, const mt_core_io_t *io)
{
    mt_core_t *core = sfb_xcalloc(1, sizeof *core);
    core->io = *io;
    core->proxy_timeout_ms = cfg->proxy_timeout_ms;
    core->client_timeout_ms = cfg->client_timeout_ms;
    const char *pat = cfg->allowed_pattern ? cfg->allowed_pattern : "";
    core->allowed = mt_relay_new(pat, strlen(pat));
    core->bridges = *bridges_p;
    *bridges_p = NULL;
    core->unrestricted = mt_pool_new();
    core->restricted = mt_pool_new();
    core->sids = s_map_new();
    core->held_proxies = s_map_new();
    core->held_clients = s_map_new();
    core->proxy_fifo = zlistx_new();
    core->client_fifo = zlistx_new();
    assert(core->proxy_fifo && core->client_fifo);
    core->warn_rl.interval_ms = 10000;
    return core;
}

void
mt_core_destroy(mt_core_t **core_p)
{
    if (core_p == NULL || *core_p == NULL)
        return;
    mt_core_t *core = *core_p;
    s_client_t *c;
    while ((c = zlistx_head(core->client_fifo)) != NULL)
        s_client_finish(core, c);
    s_proxy_t *p;
    while ((p = zlistx_head(core->proxy_fifo)) != NULL) {
        s_proxy_unpool(core, p);
        s_proxy_forget(core, p);
    }
    zlistx_destroy(&core->proxy_fifo);
    zlistx_destroy(&core->client_fifo);
    zhashx_destroy(&core->sids);
    zhashx_destroy(&core->held_proxies);
    zhashx_destroy(&core->held_clients);
    mt_pool_destroy(&core->unrestricted);
    mt_pool_destroy(&core->restricted);
    mt_bridges_destroy(&core->bridges);
    mt_relay_destroy(&core->allowed);
    free(core);
    *core_p = NULL;
}

void
mt_core_set_bridges(mt_core_t *core, mt_bridges_t **bridges_p)
{
    mt_bridges_destroy(&core->bridges);
    core->bridges = *bridges_p;
    *bridges_p = NULL;
}

void
mt_core_expire(mt_core_t *core, uint64_t now_ms)
{
    s_proxy_t *p;
    while ((p = zlistx_head(core->proxy_fifo)) != NULL && p->deadline_ms <= now_ms)
        s_proxy_release(core, p, SFB_OUT_IDLE);
    s_client_t *c;
    while ((c = zlistx_head(core->client_fifo)) != NULL && c->deadline_ms <= now_ms) {
        s_client_reply(core, c->buf, c->ident_len, c->req_id, SFB_CLIENT_TIMEOUT,
                       (sfb_str_t){"", 0});
        s_event_client(core, c->nat, c->method, c->cc, SFB_OUT_TIMEOUT);
        s_client_finish(core, c);
    }
}

uint64_t
mt_core_next_deadline(const mt_core_t *core)
{
    const s_proxy_t *p = zlistx_head(core->proxy_fifo);
    const s_client_t *c = zlistx_head(core->client_fifo);
    uint64_t d = p ? p->deadline_ms : UINT64_MAX;
    if (c != NULL && c->deadline_ms < d)
        d = c->deadline_ms;
    return d;
}

void
mt_core_shutdown(mt_core_t *core)
{
    mt_core_expire(core, UINT64_MAX);
}

void
mt_core_handle(mt_core_t *core, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg,
               uint64_t now_ms)
{
    mt_core_expire(core, now_ms);
    if (ident_len == 0 || ident_len > MT_IDENT_MAX) {
        core->stats.bad_ident++;
        return;
    }
    if (!sfb_msg_is_request(msg->type)) {
        core->stats.not_request++;
        return;
    }
    core->stats.requests++;
    switch (msg->type) {
    case SFB_MSG_PROXY_POLL:
        s_on_poll(core, ident, ident_len, msg, now_ms);
        break;
    case SFB_MSG_CLIENT_OFFER:
        s_on_offer(core, ident, ident_len, msg, now_ms);
        break;
    case SFB_MSG_PROXY_ANSWER:
        s_on_answer(core, ident, ident_len, msg);
        break;
    case SFB_MSG_CANCEL:
        s_on_cancel(core, ident, ident_len, msg->req_id);
        break;
    case SFB_MSG_DEBUG:
        s_on_debug(core, ident, ident_len, msg->req_id);
        break;
    case SFB_MSG_POOL_GET:
        s_on_pool(core, ident, ident_len, msg->req_id);
        break;
    case SFB_MSG_REPORT_GET:
    case SFB_MSG_REPLAY_GET:
        core->stats.not_for_core++; /* REPLAY_GET is answered by the router's publisher */
        break;
    case SFB_MSG_PROXY_REPLY:
    case SFB_MSG_CLIENT_REPLY:
    case SFB_MSG_ANSWER_REPLY:
    case SFB_MSG_DEBUG_REPLY:
    case SFB_MSG_REPORT_REPLY:
    case SFB_MSG_REPLAY_REPLY:
    case SFB_MSG_POOL_REPLY:
        break; /* excluded above by sfb_msg_is_request */
    }
}

size_t
mt_core_pool_size(const mt_core_t *core, bool unrestricted)
{
    return mt_pool_size(unrestricted ? core->unrestricted : core->restricted);
}

size_t
mt_core_sid_count(const mt_core_t *core)
{
    return zhashx_size(core->sids);
}

void
mt_core_available(const mt_core_t *core, uint32_t out[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT])
{
    memcpy(out, core->avail, sizeof core->avail);
}

size_t
mt_core_waiting_clients(const mt_core_t *core)
{
    return zlistx_size(core->client_fifo);
}

const mt_core_stats_t *
mt_core_stats(const mt_core_t *core)
{
    return &core->stats;
}
