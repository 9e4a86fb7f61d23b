/* mt_core_test.c - the matching rules with a fake clock and recorded output: every broker case
 * of spec §11.2 at the core level, the four §4.7 quirks, duplicate Sid, cancel, client gone,
 * failed MATCH hand-off, /debug text and shutdown. */
#include "mt_core.h"
#include "mt_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    unsigned char ident;       /* frontends are one-byte identities in these tests */
    sfb_msg_type_t type;       /* reply type */
    uint64_t req_id;           /* echoed id */
    int status;                /* proxy, client or answer status */
    sfb_nat_t nat;             /* PROXY_REPLY nat */
    char text[256];            /* offer, answer or debug text */
    char relay[64];            /* PROXY_REPLY relay URL */
    sfb_msg_pool_reply_t pool; /* POOL_REPLY counts */
} s_out_t;

typedef struct {
    s_out_t out[64];                /* replies in order */
    size_t n_out;                   /* replies recorded */
    sfb_event_t ev[64];             /* events in order */
    char addr[64][MT_ADDR_MAX + 1]; /* address handed over with each event, to be tagged */
    size_t n_ev;                    /* events recorded */
    const char *poll_addr;          /* address of the next polls (NULL: 192.0.2.1) */
    unsigned char fail_id;          /* replies to this identity fail (0: none) */
    mt_core_t *core;                /* under test */
} s_fix_t;

static void
s_copy(char *dst, size_t size, sfb_str_t s)
{
    size_t n = s.len < size - 1 ? s.len : size - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static int
s_on_reply(void *ctx, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg)
{
    s_fix_t *f = ctx;
    assert_int_equal(ident_len, 1);
    if (ident[0] == f->fail_id)
        return -1;
    assert_true(f->n_out < 64);
    s_out_t *o = &f->out[f->n_out++];
    memset(o, 0, sizeof *o);
    o->ident = ident[0];
    o->type = msg->type;
    o->req_id = msg->req_id;
    switch (msg->type) {
    case SFB_MSG_PROXY_REPLY:
        o->status = (int)msg->u.proxy_reply.status;
        o->nat = msg->u.proxy_reply.nat;
        s_copy(o->text, sizeof o->text, msg->u.proxy_reply.offer);
        s_copy(o->relay, sizeof o->relay, msg->u.proxy_reply.relay_url);
        break;
    case SFB_MSG_CLIENT_REPLY:
        o->status = (int)msg->u.client_reply.status;
        s_copy(o->text, sizeof o->text, msg->u.client_reply.answer);
        break;
    case SFB_MSG_ANSWER_REPLY:
        o->status = (int)msg->u.answer_reply;
        break;
    case SFB_MSG_DEBUG_REPLY:
        s_copy(o->text, sizeof o->text, msg->u.debug_text);
        break;
    case SFB_MSG_POOL_REPLY:
        o->pool = msg->u.pool_reply;
        break;
    default:
        fail_msg("unexpected reply type %d", msg->type);
    }
    return 0;
}

static void
s_on_event(void *ctx, const sfb_event_t *ev, sfb_str_t addr)
{
    s_fix_t *f = ctx;
    assert_true(f->n_ev < 64);
    assert_int_equal(ev->seq, 0);
    assert_false(ev->has_tag); /* the publisher tags */
    /* only proxy polls that count as proxies are tagged; client stats count polls */
    if (ev->kind != SFB_EV_PROXY_POLL || ev->outcome == SFB_OUT_REJECTED)
        assert_int_equal(addr.len, 0);
    assert_true(addr.len <= MT_ADDR_MAX);
    memcpy(f->addr[f->n_ev], addr.ptr, addr.len);
    f->addr[f->n_ev][addr.len] = '\0';
    f->ev[f->n_ev++] = *ev;
}

static void s_check_available(s_fix_t *f);

static int
s_setup(void **state)
{
    static s_fix_t fix;
    memset(&fix, 0, sizeof fix);
    mt_core_io_t io = {s_on_reply, s_on_event, &fix};
    /* as the upstream tests: allowed pattern "snowflake.torproject.net", default bridge */
    mt_core_config_t cfg = {10000, 5000, "snowflake.torproject.net"};
    mt_bridges_t *b = mt_bridges_new_default("wss://snowflake.torproject.net/");
    fix.core = mt_core_new(&cfg, &b, &io);
    assert_null(b);
    *state = &fix;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    if (f->core != NULL)
        s_check_available(f);
    mt_core_destroy(&f->core);
    assert_null(f->core);
    return 0;
}

/* ---- request helpers -------------------------------------------------------------------- */

#define PATTERN "snowflake.torproject.net"

static sfb_str_t
s_str(const char *s)
{
    return (sfb_str_t){s, strlen(s)};
}

/* The available-proxy counts always add up to the Sid map. */
static void
s_check_available(s_fix_t *f)
{
    uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT];
    mt_core_available(f->core, avail);
    size_t sum = 0;
    for (int t = 0; t < SFB_PROXY_TYPE_COUNT; t++)
        for (int n = 0; n < SFB_NAT_COUNT; n++)
            sum += avail[t][n];
    assert_int_equal(sum, mt_core_sid_count(f->core));
}

static void
s_send(s_fix_t *f, unsigned char fe, const sfb_msg_t *m, uint64_t now)
{
    mt_core_handle(f->core, &fe, 1, m, now);
    s_check_available(f);
}

static void
s_poll_full(s_fix_t *f, unsigned char fe, uint64_t req, const char *sid, sfb_proxy_type_t type,
            sfb_nat_t nat, int64_t clients, const char *pattern, uint64_t now)
{
    sfb_msg_t m = {.type = SFB_MSG_PROXY_POLL, .req_id = req};
    m.u.poll.sid = s_str(sid);
    m.u.poll.ptype = type;
    m.u.poll.nat = nat;
    m.u.poll.clients = clients;
    m.u.poll.has_pattern = pattern != NULL;
    m.u.poll.pattern = s_str(pattern ? pattern : "");
    m.u.poll.addr = s_str(f->poll_addr ? f->poll_addr : "192.0.2.1");
    memcpy(m.u.poll.cc, "DE", 3);
    s_send(f, fe, &m, now);
}

static void
s_poll(s_fix_t *f, uint64_t req, const char *sid, sfb_nat_t nat, uint64_t now)
{
    s_poll_full(f, 'P', req, sid, SFB_PROXY_STANDALONE, nat, 0, PATTERN, now);
}

static void
s_offer_fp(s_fix_t *f, uint64_t req, const char *offer, sfb_nat_t nat, const char *fp_hex,
           uint64_t now)
{
    sfb_msg_t m = {.type = SFB_MSG_CLIENT_OFFER, .req_id = req};
    m.u.offer.offer = s_str(offer);
    m.u.offer.nat = nat;
    m.u.offer.fp_len = sfb_fingerprint_decode(fp_hex, strlen(fp_hex), m.u.offer.fp);
    m.u.offer.method = SFB_METHOD_AMPCACHE;
    m.u.offer.addr = s_str("198.51.100.1");
    memcpy(m.u.offer.cc, "CA", 3);
    s_send(f, 'C', &m, now);
}

static void
s_offer(s_fix_t *f, uint64_t req, const char *offer, sfb_nat_t nat, uint64_t now)
{
    s_offer_fp(f, req, offer, nat, SFB_DEFAULT_FINGERPRINT, now);
}

static void
s_answer(s_fix_t *f, uint64_t req, const char *sid, const char *answer, uint64_t now)
{
    sfb_msg_t m = {.type = SFB_MSG_PROXY_ANSWER, .req_id = req};
    m.u.answer.sid = s_str(sid);
    m.u.answer.answer = s_str(answer);
    s_send(f, 'A', &m, now);
}

static void
s_simple(s_fix_t *f, unsigned char fe, sfb_msg_type_t type, uint64_t req, uint64_t now)
{
    sfb_msg_t m = {.type = type, .req_id = req};
    s_send(f, fe, &m, now);
}

/* Check reply i. */
static const s_out_t *
s_out(s_fix_t *f, size_t i, unsigned char ident, sfb_msg_type_t type, uint64_t req, int status)
{
    assert_true(i < f->n_out);
    const s_out_t *o = &f->out[i];
    assert_int_equal(o->ident, ident);
    assert_int_equal(o->type, type);
    assert_int_equal(o->req_id, req);
    assert_int_equal(o->status, status);
    return o;
}

/* Check event i. */
static const sfb_event_t *
s_ev(s_fix_t *f, size_t i, sfb_event_kind_t kind, sfb_outcome_t outcome)
{
    assert_true(i < f->n_ev);
    assert_int_equal(f->ev[i].kind, kind);
    assert_int_equal(f->ev[i].outcome, outcome);
    return &f->ev[i];
}

/* ---- §11.2 at the core level ------------------------------------------------------------ */

static void
test_adds_snowflake(void **state)
{
    s_fix_t *f = *state;
    s_poll_full(f, 'P', 1, "foo", SFB_PROXY_UNKNOWN, SFB_NAT_UNRESTRICTED, 0, PATTERN, 0);
    assert_int_equal(mt_core_pool_size(f->core, true), 1);
    assert_int_equal(mt_core_pool_size(f->core, false), 0);
    assert_int_equal(mt_core_sid_count(f->core), 1);
    assert_int_equal(f->n_out, 0);
    assert_int_equal(f->n_ev, 0);
    assert_int_equal(mt_core_next_deadline(f->core), 10000);
}

static void
test_match_and_answer(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "test", SFB_NAT_UNRESTRICTED, 100);
    s_offer(f, 2, "test offer", SFB_NAT_UNKNOWN, 200);
    const s_out_t *o = s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_MATCH);
    assert_string_equal(o->text, "test offer");
    assert_int_equal(o->nat, SFB_NAT_UNKNOWN);
    assert_string_equal(o->relay, "wss://snowflake.torproject.net/");
    const sfb_event_t *e = s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_MATCHED);
    assert_int_equal(e->ptype, SFB_PROXY_STANDALONE);
    assert_int_equal(e->nat, SFB_NAT_UNRESTRICTED);
    assert_true(e->relay_pattern);
    assert_string_equal(e->cc, "DE");
    assert_int_equal(mt_core_sid_count(f->core), 1); /* still routable */
    assert_int_equal(mt_core_pool_size(f->core, true), 0);
    assert_int_equal(mt_core_waiting_clients(f->core), 1);
    assert_int_equal(mt_core_next_deadline(f->core), 5200);

    s_answer(f, 3, "test", "test answer", 300);
    s_out(f, 1, 'A', SFB_MSG_ANSWER_REPLY, 3, SFB_ANSWER_SUCCESS);
    o = s_out(f, 2, 'C', SFB_MSG_CLIENT_REPLY, 2, SFB_CLIENT_ANSWER);
    assert_string_equal(o->text, "test answer");
    assert_int_equal(s_ev(f, 1, SFB_EV_PROXY_ANSWER, SFB_OUT_SUCCESS)->ptype, SFB_PROXY_STANDALONE);
    e = s_ev(f, 2, SFB_EV_CLIENT_POLL, SFB_OUT_MATCHED);
    assert_int_equal(e->nat, SFB_NAT_UNKNOWN);
    assert_int_equal(e->method, SFB_METHOD_AMPCACHE);
    assert_string_equal(e->cc, "CA");
    assert_int_equal(mt_core_sid_count(f->core), 0);
    assert_int_equal(mt_core_waiting_clients(f->core), 0);
    assert_int_equal(mt_core_next_deadline(f->core), UINT64_MAX);
    assert_int_equal(f->n_out, 3);
    assert_int_equal(f->n_ev, 3);
}

static void
test_no_proxies(void **state)
{
    s_fix_t *f = *state;
    s_offer(f, 7, "x", SFB_NAT_UNKNOWN, 0);
    s_out(f, 0, 'C', SFB_MSG_CLIENT_REPLY, 7, SFB_CLIENT_NO_PROXIES);
    const sfb_event_t *e = s_ev(f, 0, SFB_EV_CLIENT_POLL, SFB_OUT_DENIED);
    assert_int_equal(e->nat, SFB_NAT_UNKNOWN);
    assert_int_equal(mt_core_waiting_clients(f->core), 0);
}

static void
test_client_timeout(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "test", SFB_NAT_UNRESTRICTED, 0);
    s_offer(f, 2, "offer", SFB_NAT_UNRESTRICTED, 1000);
    mt_core_expire(f->core, 5999);
    assert_int_equal(f->n_out, 1);
    mt_core_expire(f->core, 6000);
    s_out(f, 1, 'C', SFB_MSG_CLIENT_REPLY, 2, SFB_CLIENT_TIMEOUT);
    s_ev(f, 1, SFB_EV_CLIENT_POLL, SFB_OUT_TIMEOUT);
    assert_int_equal(mt_core_sid_count(f->core), 0);
    /* the matched proxy was never told no-match (quirk §4.7.3 the other way round) */
    mt_core_expire(f->core, 20000);
    assert_int_equal(f->n_out, 2);
    /* quirk §4.7.1: a late answer gets client gone, never success */
    s_answer(f, 3, "test", "late", 6001);
    s_out(f, 2, 'A', SFB_MSG_ANSWER_REPLY, 3, SFB_ANSWER_CLIENT_GONE);
    assert_int_equal(s_ev(f, 2, SFB_EV_PROXY_ANSWER, SFB_OUT_CLIENT_GONE)->ptype,
                     SFB_PROXY_UNKNOWN);
    assert_int_equal(f->n_out, 3);
}

static void
test_proxy_timeout(void **state)
{
    s_fix_t *f = *state;
    s_poll_full(f, 'P', 9, "p", SFB_PROXY_WEBEXT, SFB_NAT_RESTRICTED, 3, PATTERN, 500);
    assert_int_equal(mt_core_next_deadline(f->core), 10500);
    mt_core_expire(f->core, 10499);
    assert_int_equal(f->n_out, 0);
    mt_core_expire(f->core, 10500);
    const s_out_t *o = s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 9, SFB_PROXY_NO_MATCH);
    assert_string_equal(o->text, "");
    assert_string_equal(o->relay, "");
    const sfb_event_t *e = s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_IDLE);
    assert_int_equal(e->ptype, SFB_PROXY_WEBEXT);
    assert_int_equal(e->nat, SFB_NAT_RESTRICTED);
    assert_int_equal(mt_core_sid_count(f->core), 0);
    assert_int_equal(mt_core_pool_size(f->core, false), 0);
    assert_int_equal(mt_core_next_deadline(f->core), UINT64_MAX);
}

static void
test_relay_rejection(void **state)
{
    s_fix_t *f = *state;
    s_poll_full(f, 'P', 1, "a", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL, 0);
    s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_BAD_RELAY);
    assert_false(s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_REJECTED)->relay_pattern);
    s_poll_full(f, 'P', 2, "b", SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 0,
                "^snowflake.torproject.net$", 0);
    s_out(f, 1, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_BAD_RELAY);
    assert_true(s_ev(f, 1, SFB_EV_PROXY_POLL, SFB_OUT_REJECTED)->relay_pattern);
    assert_int_equal(mt_core_sid_count(f->core), 0);
    s_poll_full(f, 'P', 3, "c", SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 0, "torproject.net$", 0);
    s_poll_full(f, 'P', 4, "d", SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 0, "", 0);
    assert_int_equal(mt_core_sid_count(f->core), 2);
    assert_int_equal(f->n_out, 2);
}

static void
test_unknown_bridge(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "p", SFB_NAT_UNRESTRICTED, 0);
    s_offer_fp(f, 2, "o", SFB_NAT_UNKNOWN, "8838024498816A039FCBBAB14E6F40A0843051FA", 0);
    s_out(f, 0, 'C', SFB_MSG_CLIENT_REPLY, 2, SFB_CLIENT_UNKNOWN_BRIDGE);
    assert_int_equal(f->n_ev, 0);
    assert_int_equal(mt_core_pool_size(f->core, true), 1);
    /* after a reload the same fingerprint is known and gets its relay URL */
    mt_bridges_t *b = NULL;
    char err[64];
    const char *list = "{\"webSocketAddress\":\"wss://02.example/\",\"fingerprint\":"
                       "\"8838024498816A039FCBBAB14E6F40A0843051FA\"}";
    assert_int_equal(mt_bridges_parse(list, strlen(list), &b, err, sizeof err), 0);
    mt_core_set_bridges(f->core, &b);
    assert_null(b);
    s_offer_fp(f, 3, "o", SFB_NAT_UNKNOWN, "8838024498816a039fcbbab14e6f40a0843051fa", 1);
    assert_string_equal(s_out(f, 1, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_MATCH)->relay,
                        "wss://02.example/");
    s_offer(f, 4, "o", SFB_NAT_UNKNOWN, 2); /* the default is gone now */
    s_out(f, 2, 'C', SFB_MSG_CLIENT_REPLY, 4, SFB_CLIENT_UNKNOWN_BRIDGE);
}

/* spec §4.2/§4.4: pools by NAT and the selection rule */
static void
test_selection_rules(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "r", SFB_NAT_RESTRICTED, 0);
    s_poll(f, 2, "u", SFB_NAT_UNKNOWN, 0);
    assert_int_equal(mt_core_pool_size(f->core, false), 2);
    /* restricted and unknown clients only take unrestricted proxies */
    s_offer(f, 10, "o", SFB_NAT_RESTRICTED, 1);
    s_out(f, 0, 'C', SFB_MSG_CLIENT_REPLY, 10, SFB_CLIENT_NO_PROXIES);
    s_offer(f, 11, "o", SFB_NAT_UNKNOWN, 1);
    s_out(f, 1, 'C', SFB_MSG_CLIENT_REPLY, 11, SFB_CLIENT_NO_PROXIES);
    s_poll(f, 3, "U", SFB_NAT_UNRESTRICTED, 2);
    /* an unrestricted client takes the restricted pool first */
    s_offer(f, 12, "o", SFB_NAT_UNRESTRICTED, 3);
    s_out(f, 2, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_MATCH);
    s_offer(f, 13, "o", SFB_NAT_UNRESTRICTED, 3);
    s_out(f, 3, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_MATCH);
    s_offer(f, 14, "o", SFB_NAT_RESTRICTED, 3);
    s_out(f, 4, 'P', SFB_MSG_PROXY_REPLY, 3, SFB_PROXY_MATCH);
    s_offer(f, 15, "o", SFB_NAT_UNRESTRICTED, 3);
    s_out(f, 5, 'C', SFB_MSG_CLIENT_REPLY, 15, SFB_CLIENT_NO_PROXIES);
    assert_int_equal(mt_core_waiting_clients(f->core), 3);
}

/* fewest clients first; negative counts do not jump the queue */
static void
test_heap_order(void **state)
{
    s_fix_t *f = *state;
    s_poll_full(f, 'P', 1, "a", SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, 16, PATTERN, 0);
    s_poll_full(f, 'P', 2, "b", SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, 0, PATTERN, 0);
    s_poll_full(f, 'P', 3, "c", SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, -5, PATTERN, 0);
    s_poll_full(f, 'P', 4, "d", SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, 8, PATTERN, 0);
    uint64_t want[] = {2, 3, 4, 1}; /* b and c tie at 0: Go pops b (pushed first) */
    for (int i = 0; i < 4; i++) {
        s_offer(f, 10 + (uint64_t)i, "o", SFB_NAT_RESTRICTED, 1);
        s_out(f, (size_t)i, 'P', SFB_MSG_PROXY_REPLY, want[i], SFB_PROXY_MATCH);
    }
}

/* ---- §4.7 quirks, the safe way ---------------------------------------------------------- */

/* quirk 2: an answer for a pooled, unmatched proxy is refused and the proxy stays pooled */
static void
test_answer_for_pooled_proxy(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "s", SFB_NAT_UNRESTRICTED, 0);
    s_answer(f, 2, "s", "stale", 1);
    s_out(f, 0, 'A', SFB_MSG_ANSWER_REPLY, 2, SFB_ANSWER_CLIENT_GONE);
    assert_int_equal(s_ev(f, 0, SFB_EV_PROXY_ANSWER, SFB_OUT_CLIENT_GONE)->ptype,
                     SFB_PROXY_STANDALONE);
    assert_int_equal(mt_core_pool_size(f->core, true), 1);
    s_offer(f, 3, "o", SFB_NAT_UNKNOWN, 2);
    s_answer(f, 4, "s", "fresh", 3);
    assert_string_equal(s_out(f, 3, 'C', SFB_MSG_CLIENT_REPLY, 3, SFB_CLIENT_ANSWER)->text,
                        "fresh");
    s_answer(f, 5, "nobody", "x", 4);
    s_out(f, 4, 'A', SFB_MSG_ANSWER_REPLY, 5, SFB_ANSWER_CLIENT_GONE);
}

/* quirk 3: pop and timeout are exclusive; a client at the deadline finds nobody */
static void
test_timer_vs_match(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "a", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 2, "b", SFB_NAT_UNRESTRICTED, 1);
    s_offer(f, 10, "o", SFB_NAT_UNKNOWN, 10000); /* a expires first, then b is matched */
    s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_NO_MATCH);
    s_out(f, 1, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_MATCH);
    s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_IDLE);
    s_ev(f, 1, SFB_EV_PROXY_POLL, SFB_OUT_MATCHED);
    s_offer(f, 11, "o", SFB_NAT_UNKNOWN, 10001);
    s_out(f, 2, 'C', SFB_MSG_CLIENT_REPLY, 11, SFB_CLIENT_NO_PROXIES);
}

/* quirk 4: duplicate Sid while the first is pooled: the first is answered and replaced */
static void
test_duplicate_sid_pooled(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "dup", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 2, "dup", SFB_NAT_RESTRICTED, 4000);
    s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 1, SFB_PROXY_NO_MATCH);
    s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_IDLE);
    assert_int_equal(mt_core_sid_count(f->core), 1);
    assert_int_equal(mt_core_pool_size(f->core, true), 0);
    assert_int_equal(mt_core_pool_size(f->core, false), 1);
    assert_int_equal(mt_core_next_deadline(f->core), 14000);
    mt_core_expire(f->core, 10000); /* the first one's old deadline touches nothing */
    assert_int_equal(f->n_out, 1);
    assert_int_equal(mt_core_sid_count(f->core), 1);
    s_offer(f, 3, "o", SFB_NAT_UNRESTRICTED, 10001);
    s_out(f, 1, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_MATCH);
    s_answer(f, 4, "dup", "ans", 10002);
    s_out(f, 2, 'A', SFB_MSG_ANSWER_REPLY, 4, SFB_ANSWER_SUCCESS);
}

/* duplicate Sid while the first is matched: the new poll gets no-match, the answer routes */
static void
test_duplicate_sid_matched(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "dup", SFB_NAT_UNRESTRICTED, 0);
    s_offer(f, 2, "o", SFB_NAT_UNKNOWN, 1);
    s_poll(f, 3, "dup", SFB_NAT_UNRESTRICTED, 2);
    s_out(f, 1, 'P', SFB_MSG_PROXY_REPLY, 3, SFB_PROXY_NO_MATCH);
    s_ev(f, 1, SFB_EV_PROXY_POLL, SFB_OUT_IDLE);
    assert_int_equal(mt_core_pool_size(f->core, true), 0);
    s_answer(f, 4, "dup", "ans", 3);
    s_out(f, 2, 'A', SFB_MSG_ANSWER_REPLY, 4, SFB_ANSWER_SUCCESS);
    assert_string_equal(s_out(f, 3, 'C', SFB_MSG_CLIENT_REPLY, 2, SFB_CLIENT_ANSWER)->text, "ans");
}

/* ---- cancel, failed hand-off, duplicates, debug, shutdown ------------------------------- */

static void
test_cancel(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "p1", SFB_NAT_UNRESTRICTED, 0);
    s_simple(f, 'X', SFB_MSG_CANCEL, 1, 1); /* other frontend, same req_id: not ours */
    assert_int_equal(mt_core_stats(f->core)->unknown_cancel, 1);
    s_simple(f, 'P', SFB_MSG_CANCEL, 1, 1);
    assert_int_equal(f->n_out, 0);
    s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_CANCELLED);
    assert_int_equal(mt_core_pool_size(f->core, true), 0);
    assert_int_equal(mt_core_sid_count(f->core), 0);
    assert_int_equal(mt_core_next_deadline(f->core), UINT64_MAX);

    s_poll(f, 2, "p2", SFB_NAT_UNRESTRICTED, 2);
    s_offer(f, 3, "o", SFB_NAT_UNKNOWN, 3);
    s_simple(f, 'C', SFB_MSG_CANCEL, 3, 4);
    assert_int_equal(f->n_out, 1); /* only the MATCH */
    s_ev(f, 2, SFB_EV_CLIENT_POLL, SFB_OUT_TIMEOUT);
    assert_int_equal(mt_core_waiting_clients(f->core), 0);
    s_answer(f, 4, "p2", "a", 5);
    s_out(f, 1, 'A', SFB_MSG_ANSWER_REPLY, 4, SFB_ANSWER_CLIENT_GONE);
    s_simple(f, 'P', SFB_MSG_CANCEL, 2, 6); /* already answered with MATCH */
    assert_int_equal(mt_core_stats(f->core)->unknown_cancel, 2);
    mt_core_expire(f->core, 100000);
    assert_int_equal(f->n_out, 2);
}

static void
test_match_send_fails(void **state)
{
    s_fix_t *f = *state;
    s_poll_full(f, 'G', 1, "gone", SFB_PROXY_BADGE, SFB_NAT_UNRESTRICTED, 0, PATTERN, 0);
    s_poll(f, 2, "here", SFB_NAT_UNRESTRICTED, 0);
    f->fail_id = 'G';
    s_offer(f, 3, "o", SFB_NAT_UNKNOWN, 1);
    s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_MATCH);
    assert_int_equal(s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_CANCELLED)->ptype, SFB_PROXY_BADGE);
    s_ev(f, 1, SFB_EV_PROXY_POLL, SFB_OUT_MATCHED);
    assert_int_equal(mt_core_sid_count(f->core), 1);
    assert_int_equal(mt_core_stats(f->core)->match_failed, 1);
    /* the only proxy's frontend is gone: the client is denied */
    s_poll_full(f, 'G', 4, "gone2", SFB_PROXY_BADGE, SFB_NAT_UNRESTRICTED, 0, PATTERN, 2);
    s_offer(f, 5, "o", SFB_NAT_UNKNOWN, 3);
    s_out(f, 1, 'C', SFB_MSG_CLIENT_REPLY, 5, SFB_CLIENT_NO_PROXIES);
    assert_int_equal(mt_core_sid_count(f->core), 1);
}

static void
test_duplicate_request_id(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "a", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 1, "b", SFB_NAT_UNRESTRICTED, 0); /* same frontend, same req_id, still held */
    assert_int_equal(mt_core_stats(f->core)->dup_req_id, 1);
    assert_int_equal(mt_core_sid_count(f->core), 1);
    s_poll_full(f, 'Q', 1, "b", SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, 0, PATTERN, 0);
    assert_int_equal(mt_core_sid_count(f->core), 2);
    /* other non-requests and bad identities are dropped and counted */
    s_simple(f, 'P', SFB_MSG_DEBUG_REPLY, 9, 0);
    assert_int_equal(mt_core_stats(f->core)->not_request, 1);
    sfb_msg_t m = {.type = SFB_MSG_DEBUG, .req_id = 1};
    mt_core_handle(f->core, (const unsigned char *)"", 0, &m, 0);
    assert_int_equal(mt_core_stats(f->core)->bad_ident, 1);
    assert_int_equal(f->n_out, 0);
}

static void
test_debug_text(void **state)
{
    s_fix_t *f = *state;
    s_simple(f, 'D', SFB_MSG_DEBUG, 1, 0);
    const char *empty = "current snowflakes available: 0\n\tunknown proxies: 0\nNAT Types "
                        "available:\n\trestricted: 0\n\tunrestricted: 0\n\tunknown: 0";
    assert_int_equal(strlen(empty), 116);
    assert_string_equal(s_out(f, 0, 'D', SFB_MSG_DEBUG_REPLY, 1, 0)->text, empty);
    /* spec §2.8 example: two standalone unrestricted, one unknown-type restricted */
    s_poll(f, 1, "a", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 2, "b", SFB_NAT_UNRESTRICTED, 0);
    s_poll_full(f, 'P', 3, "c", SFB_PROXY_UNKNOWN, SFB_NAT_RESTRICTED, 0, PATTERN, 0);
    s_simple(f, 'D', SFB_MSG_DEBUG, 2, 0);
    assert_string_equal(s_out(f, 1, 'D', SFB_MSG_DEBUG_REPLY, 2, 0)->text,
                        "current snowflakes available: 3\n\tstandalone proxies: 2\n\tunknown "
                        "proxies: 1\nNAT Types available:\n\trestricted: 1\n\tunrestricted: "
                        "2\n\tunknown: 0");
    /* matched proxies still count; fixed type order */
    s_poll_full(f, 'P', 4, "d", SFB_PROXY_IPTPROXY, SFB_NAT_UNKNOWN, 0, PATTERN, 0);
    s_poll_full(f, 'P', 5, "e", SFB_PROXY_WEBEXT, SFB_NAT_UNKNOWN, 0, PATTERN, 0);
    s_poll_full(f, 'P', 6, "f", SFB_PROXY_BADGE, SFB_NAT_UNKNOWN, 0, PATTERN, 0);
    s_offer(f, 7, "o", SFB_NAT_UNRESTRICTED, 1);
    s_simple(f, 'D', SFB_MSG_DEBUG, 3, 2);
    assert_string_equal(s_out(f, 3, 'D', SFB_MSG_DEBUG_REPLY, 3, 0)->text,
                        "current snowflakes available: 6\n\tstandalone proxies: 2\n\twebext "
                        "proxies: 1\n\tbadge proxies: 1\n\tiptproxy proxies: 1\n\tunknown "
                        "proxies: 1\nNAT Types available:\n\trestricted: 1\n\tunrestricted: "
                        "2\n\tunknown: 3");
}

/* POOL_GET: upstream's snowflake_available_proxies{type,nat}: +1 when pooled, -1 when the
 * poll ends unmatched or its matched client finishes. */
static void
test_pool_counts(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "a", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 2, "b", SFB_NAT_UNRESTRICTED, 0);
    s_poll_full(f, 'P', 3, "c", SFB_PROXY_WEBEXT, SFB_NAT_RESTRICTED, 0, PATTERN, 0);
    s_poll_full(f, 'P', 4, "d", SFB_PROXY_BADGE, SFB_NAT_UNKNOWN, 0, NULL, 0); /* rejected */
    s_offer(f, 5, "o", SFB_NAT_UNRESTRICTED, 1); /* takes c (restricted pool first) */
    s_simple(f, 'M', SFB_MSG_POOL_GET, 6, 2);
    const sfb_msg_pool_reply_t *p = &s_out(f, 2, 'M', SFB_MSG_POOL_REPLY, 6, 0)->pool;
    sfb_msg_pool_reply_t want = {{{0}}};
    want.avail[SFB_PROXY_STANDALONE][SFB_NAT_UNRESTRICTED] = 2;
    want.avail[SFB_PROXY_WEBEXT][SFB_NAT_RESTRICTED] = 1; /* matched, awaiting its answer */
    assert_memory_equal(p, &want, sizeof want);
    assert_int_equal(f->n_ev, 2); /* the rejection, the match: POOL_GET publishes nothing */

    s_answer(f, 7, "c", "ans", 3); /* the client finishes */
    s_simple(f, 'P', SFB_MSG_CANCEL, 1, 4);
    s_simple(f, 'M', SFB_MSG_POOL_GET, 8, 5);
    want.avail[SFB_PROXY_WEBEXT][SFB_NAT_RESTRICTED] = 0;
    want.avail[SFB_PROXY_STANDALONE][SFB_NAT_UNRESTRICTED] = 1;
    assert_memory_equal(&s_out(f, 5, 'M', SFB_MSG_POOL_REPLY, 8, 0)->pool, &want, sizeof want);
    mt_core_expire(f->core, 10000); /* b times out */
    s_simple(f, 'M', SFB_MSG_POOL_GET, 9, 10001);
    memset(&want, 0, sizeof want);
    assert_memory_equal(&s_out(f, 7, 'M', SFB_MSG_POOL_REPLY, 9, 0)->pool, &want, sizeof want);
}

static void
test_shutdown(void **state)
{
    s_fix_t *f = *state;
    s_poll(f, 1, "a", SFB_NAT_UNRESTRICTED, 0);
    s_poll(f, 2, "b", SFB_NAT_RESTRICTED, 0);
    s_offer(f, 3, "o", SFB_NAT_UNKNOWN, 1); /* takes a */
    f->n_out = f->n_ev = 0;
    mt_core_shutdown(f->core);
    s_out(f, 0, 'P', SFB_MSG_PROXY_REPLY, 2, SFB_PROXY_NO_MATCH);
    s_out(f, 1, 'C', SFB_MSG_CLIENT_REPLY, 3, SFB_CLIENT_TIMEOUT);
    s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_IDLE);
    s_ev(f, 1, SFB_EV_CLIENT_POLL, SFB_OUT_TIMEOUT);
    assert_int_equal(mt_core_sid_count(f->core), 0);
    assert_int_equal(mt_core_next_deadline(f->core), UINT64_MAX);
}

/* Proxy-poll events carry the poll's own address to the publisher, whatever ends the poll;
 * rejected polls, client polls and answers carry none; an over-long address is not tagged. */
static void
test_tag_addresses(void **state)
{
    s_fix_t *f = *state;
    f->poll_addr = "192.0.2.9";
    s_poll(f, 1, "m", SFB_NAT_UNRESTRICTED, 0);
    f->poll_addr = "2001:db8::5";
    s_poll(f, 2, "i", SFB_NAT_RESTRICTED, 0);
    f->poll_addr = "192.0.2.10";
    s_poll(f, 3, "c", SFB_NAT_RESTRICTED, 0);
    f->poll_addr = "";
    s_poll(f, 4, "e", SFB_NAT_RESTRICTED, 0);
    s_offer(f, 5, "o", SFB_NAT_UNKNOWN, 1); /* takes m */
    s_simple(f, 'P', SFB_MSG_CANCEL, 3, 2);
    s_answer(f, 6, "m", "a", 3);
    mt_core_expire(f->core, 10000); /* i and e idle */
    s_poll_full(f, 'P', 7, "r", SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 0, NULL, 10001);
    char long_addr[MT_ADDR_MAX + 2];
    memset(long_addr, '1', sizeof long_addr - 1);
    long_addr[sizeof long_addr - 1] = '\0';
    f->poll_addr = long_addr;
    s_poll(f, 8, "l", SFB_NAT_RESTRICTED, 10002);
    mt_core_shutdown(f->core);
    assert_string_equal(f->addr[s_ev(f, 0, SFB_EV_PROXY_POLL, SFB_OUT_MATCHED) - f->ev],
                        "192.0.2.9");
    assert_string_equal(f->addr[s_ev(f, 1, SFB_EV_PROXY_POLL, SFB_OUT_CANCELLED) - f->ev],
                        "192.0.2.10");
    s_ev(f, 2, SFB_EV_PROXY_ANSWER, SFB_OUT_SUCCESS);
    s_ev(f, 3, SFB_EV_CLIENT_POLL, SFB_OUT_MATCHED);
    assert_string_equal(f->addr[s_ev(f, 4, SFB_EV_PROXY_POLL, SFB_OUT_IDLE) - f->ev],
                        "2001:db8::5");
    assert_string_equal(f->addr[s_ev(f, 5, SFB_EV_PROXY_POLL, SFB_OUT_IDLE) - f->ev], "");
    assert_string_equal(f->addr[s_ev(f, 6, SFB_EV_PROXY_POLL, SFB_OUT_REJECTED) - f->ev], "");
    assert_string_equal(f->addr[s_ev(f, 7, SFB_EV_PROXY_POLL, SFB_OUT_IDLE) - f->ev], "");
    assert_int_equal(mt_core_stats(f->core)->long_addr, 1);
    assert_int_equal(f->n_ev, 8);
}

/* destroy with records still held frees them without replies (checked by ASan) */
static void
test_destroy_with_state(void **state)
{
    s_fix_t *f = *state;
    for (uint64_t i = 0; i < 50; i++) {
        char sid[16];
        snprintf(sid, sizeof sid, "s%llu", (unsigned long long)i);
        s_poll(f, i, sid, i % 2 ? SFB_NAT_UNRESTRICTED : SFB_NAT_RESTRICTED, i);
    }
    for (uint64_t i = 0; i < 10; i++)
        s_offer(f, 100 + i, "o", SFB_NAT_UNRESTRICTED, 60);
    assert_int_equal(mt_core_sid_count(f->core), 50);
    assert_int_equal(mt_core_waiting_clients(f->core), 10);
    size_t n = f->n_out;
    mt_core_destroy(&f->core);
    assert_int_equal(f->n_out, n);
}

int
mt_core_test(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_adds_snowflake),
        T(test_match_and_answer),
        T(test_no_proxies),
        T(test_client_timeout),
        T(test_proxy_timeout),
        T(test_relay_rejection),
        T(test_unknown_bridge),
        T(test_selection_rules),
        T(test_heap_order),
        T(test_answer_for_pooled_proxy),
        T(test_timer_vs_match),
        T(test_duplicate_sid_pooled),
        T(test_duplicate_sid_matched),
        T(test_cancel),
        T(test_match_send_fails),
        T(test_duplicate_request_id),
        T(test_debug_text),
        T(test_pool_counts),
        T(test_shutdown),
        T(test_destroy_with_state),
        T(test_tag_addresses),
    };
#undef T
    return cmocka_run_group_tests_name("mt_core", tests, NULL, NULL);
}
