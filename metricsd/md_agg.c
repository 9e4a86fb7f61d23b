/* md_agg.c - see md_agg.h.
 *
 * Unique proxies (spec §8.2): one set of 64-bit keys per interval, key = H(tag, suffix) with
 * suffix "" (the proxy), its NAT name or its type name. Upstream keys its one set by
 * "<ip>", "<ip>-<nat>" and "<ip>-<type>", so NAT "unknown" and type "unknown" share a key;
 * deriving keys from the same names reproduces that collision on purpose. */
#include "md_agg.h"

#include "md_report.h"
#include "md_set.h"
#include "sfb_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct md_agg {
    uint64_t interval_ms; /* interval length */
    uint64_t start_ms;    /* start of the current interval */
    uint64_t epoch;       /* publisher incarnation of last_seq */
    uint64_t last_seq;    /* every event up to this one is counted (or counted missed) */
    bool have_seq;        /* epoch and last_seq are meaningful */
    md_stats_t *stats;    /* current interval */
    md_set_t *seen;       /* unique keys of the current interval */
    md_prom_t *prom;      /* cumulative since start */
    md_health_t *health;  /* borrowed */
};

uint64_t
md_agg_align(uint64_t t_ms, uint64_t interval_ms)
{
    return t_ms - t_ms % interval_ms;
}

md_agg_t *
md_agg_new(uint64_t interval_ms, uint64_t now_ms, md_health_t *health)
{
    md_agg_t *agg = sfb_xcalloc(1, sizeof *agg);
    agg->interval_ms = interval_ms ? interval_ms : 1;
    agg->start_ms = md_agg_align(now_ms, agg->interval_ms);
    agg->stats = md_stats_new();
    agg->seen = md_set_new();
    agg->prom = md_prom_new();
    agg->health = health;
    md_health_set(health, MD_H_INTERVAL_START, agg->start_ms / 1000);
    md_health_set(health, MD_H_SET_BYTES, md_set_bytes(agg->seen));
    return agg;
}

void
md_agg_destroy(md_agg_t **agg_p)
{
    if (agg_p == NULL || *agg_p == NULL)
        return;
    md_agg_t *agg = *agg_p;
    md_stats_destroy(&agg->stats);
    md_set_destroy(&agg->seen);
    md_prom_destroy(&agg->prom);
    free(agg);
    *agg_p = NULL;
}

uint64_t
md_agg_start_ms(const md_agg_t *agg)
{
    return agg->start_ms;
}

uint64_t
md_agg_end_ms(const md_agg_t *agg)
{
    return agg->start_ms + agg->interval_ms;
}

uint64_t
md_agg_interval_ms(const md_agg_t *agg)
{
    return agg->interval_ms;
}

void
md_agg_set_position(md_agg_t *agg, uint64_t epoch, uint64_t seq)
{
    agg->epoch = epoch;
    agg->last_seq = seq;
    agg->have_seq = true;
    md_health_set(agg->health, MD_H_LAST_SEQ, seq);
}

bool
md_agg_has_position(const md_agg_t *agg)
{
    return agg->have_seq;
}

uint64_t
md_agg_epoch(const md_agg_t *agg)
{
    return agg->have_seq ? agg->epoch : 0;
}

uint64_t
md_agg_last_seq(const md_agg_t *agg)
{
    return agg->have_seq ? agg->last_seq : 0;
}

md_when_t
md_agg_when(const md_agg_t *agg, uint64_t ts_ms)
{
    if (ts_ms < agg->start_ms)
        return MD_TS_LATE;
    return ts_ms < md_agg_end_ms(agg) ? MD_TS_CURRENT : MD_TS_AHEAD;
}

/* ---- events ---------------------------------------------------------------------------- */

static uint64_t
s_key(const unsigned char tag[SFB_EVENT_TAG_BYTES], const char *suffix)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over tag || suffix ... */
    for (size_t i = 0; i < SFB_EVENT_TAG_BYTES; i++)
        h = (h ^ tag[i]) * 0x100000001b3ULL;
    for (const char *p = suffix; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h ^= h >> 30; /* ... then the splitmix64 finaliser, so the low bits index the table */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static void
s_proxy_ips(md_agg_t *agg, const sfb_event_t *ev)
{
    size_t slot = md_cc_slot(ev->cc);
    if (md_set_add(agg->seen, s_key(ev->tag, ""))) {
        md_stats_add(agg->stats, MD_C_PROXY_TOTAL, 1);
        md_stats_cc_add(agg->stats, MD_MAP_PROXIES, slot, 1);
        md_prom_proxy_total(agg->prom, slot, ev->nat, ev->ptype);
    }
    if (md_set_add(agg->seen, s_key(ev->tag, sfb_nat_str(ev->nat)))) {
        static const md_counter_t nat_c[SFB_NAT_COUNT] = {MD_C_NAT_UNKNOWN, MD_C_NAT_RESTRICTED,
                                                          MD_C_NAT_UNRESTRICTED};
        md_stats_add(agg->stats, nat_c[ev->nat], 1);
    }
    if (md_set_add(agg->seen, s_key(ev->tag, sfb_proxy_type_str(ev->ptype)))) {
        static const int type_c[SFB_PROXY_TYPE_COUNT] = {
            -1, MD_C_PROXY_STANDALONE, MD_C_PROXY_WEBEXT, MD_C_PROXY_BADGE, MD_C_PROXY_IPTPROXY};
        if (type_c[ev->ptype] >= 0)
            md_stats_add(agg->stats, (md_counter_t)type_c[ev->ptype], 1);
    }
    md_health_set(agg->health, MD_H_SET_ENTRIES, md_set_size(agg->seen));
    md_health_set(agg->health, MD_H_SET_BYTES, md_set_bytes(agg->seen));
}

static int
s_proxy_poll(md_agg_t *agg, const sfb_event_t *ev)
{
    bool matched = false, rejected = false;
    switch (ev->outcome) {
    case SFB_OUT_MATCHED:
        matched = true;
        break;
    case SFB_OUT_REJECTED:
        rejected = true;
        break;
    case SFB_OUT_IDLE:
    case SFB_OUT_CANCELLED:
        break;
    case SFB_OUT_DENIED:
    case SFB_OUT_TIMEOUT:
    case SFB_OUT_SUCCESS:
    case SFB_OUT_CLIENT_GONE:
        return -1;
    }
    if ((unsigned)ev->nat >= SFB_NAT_COUNT || (unsigned)ev->ptype >= SFB_PROXY_TYPE_COUNT)
        return -1;
    md_stats_add(agg->stats, ev->relay_pattern ? MD_C_POLL_WITH_RELAY : MD_C_POLL_WITHOUT_RELAY, 1);
    md_prom_relay(agg->prom, ev->relay_pattern ? MD_RELAY_WITH : MD_RELAY_WITHOUT, ev->nat,
                  ev->ptype);
    if (rejected) {
        md_stats_add(agg->stats, MD_C_POLL_REJECTED, 1);
        md_prom_relay(agg->prom, MD_RELAY_REJECTED, ev->nat, ev->ptype);
        return 0;
    }
    if (!matched)
        md_stats_add(agg->stats, MD_C_PROXY_IDLE, 1);
    md_prom_proxy_poll(agg->prom, ev->nat, ev->ptype, matched);
    if (ev->has_tag) /* no tag: the frontend had no geoip, so no proxy IP stats (spec §8.2) */
        s_proxy_ips(agg, ev);
    return 0;
}

static int
s_client_poll(md_agg_t *agg, const sfb_event_t *ev)
{
    md_client_status_t status = MD_CLIENT_DENIED;
    switch (ev->outcome) {
    case SFB_OUT_DENIED:
        status = MD_CLIENT_DENIED;
        break;
    case SFB_OUT_MATCHED:
        status = MD_CLIENT_MATCHED;
        break;
    case SFB_OUT_TIMEOUT:
        status = MD_CLIENT_TIMEOUT;
        break;
    case SFB_OUT_IDLE:
    case SFB_OUT_REJECTED:
    case SFB_OUT_CANCELLED:
    case SFB_OUT_SUCCESS:
    case SFB_OUT_CLIENT_GONE:
        return -1;
    }
    if ((unsigned)ev->nat >= SFB_NAT_COUNT || (unsigned)ev->method >= SFB_METHOD_COUNT)
        return -1;
    static const md_counter_t status_c[MD_CLIENT_STATUS_COUNT] = {
        MD_C_CLIENT_DENIED, MD_C_CLIENT_MATCH, MD_C_CLIENT_TIMEOUT};
    static const md_counter_t method_c[SFB_METHOD_COUNT] = {MD_C_CLIENT_HTTP, MD_C_CLIENT_AMP,
                                                            MD_C_CLIENT_SQS};
    static const md_map_t method_m[SFB_METHOD_COUNT] = {MD_MAP_HTTP, MD_MAP_AMP, MD_MAP_SQS};
    md_stats_add(agg->stats, status_c[status], 1);
    if (status == MD_CLIENT_DENIED)
        md_stats_add(agg->stats,
                     ev->nat == SFB_NAT_UNRESTRICTED ? MD_C_CLIENT_UNRESTRICTED_DENIED
                                                     : MD_C_CLIENT_RESTRICTED_DENIED,
                     1);
    size_t slot = md_cc_slot(ev->cc);
    md_stats_add(agg->stats, method_c[ev->method], 1);
    md_stats_cc_add(agg->stats, method_m[ev->method], slot, 1);
    md_prom_client_poll(agg->prom, slot, ev->nat, ev->method, status);
    return 0;
}

static int
s_proxy_answer(md_agg_t *agg, const sfb_event_t *ev)
{
    switch (ev->outcome) {
    case SFB_OUT_SUCCESS:
        if ((unsigned)ev->ptype >= SFB_PROXY_TYPE_COUNT)
            return -1;
        md_prom_answer(agg->prom, true, ev->ptype);
        return 0;
    case SFB_OUT_CLIENT_GONE:
        md_prom_answer(agg->prom, false, ev->ptype);
        return 0;
    case SFB_OUT_MATCHED:
    case SFB_OUT_IDLE:
    case SFB_OUT_REJECTED:
    case SFB_OUT_CANCELLED:
    case SFB_OUT_DENIED:
    case SFB_OUT_TIMEOUT:
        return -1;
    }
    return -1;
}

int
md_agg_apply(md_agg_t *agg, const sfb_event_t *ev)
{
    int rc = -1;
    switch (ev->kind) {
    case SFB_EV_PROXY_POLL:
        rc = s_proxy_poll(agg, ev);
        break;
    case SFB_EV_CLIENT_POLL:
        rc = s_client_poll(agg, ev);
        break;
    case SFB_EV_PROXY_ANSWER:
        rc = s_proxy_answer(agg, ev);
        break;
    }
    md_health_add(agg->health, rc == 0 ? MD_H_EVENTS : MD_H_INVALID, 1);
    return rc;
}

/* ---- interval ------------------------------------------------------------------------- */

void
md_agg_report(const md_agg_t *agg, sfb_buf_t *out)
{
    md_report_block(agg->stats, md_agg_end_ms(agg), agg->interval_ms, out);
}

void
md_agg_advance(md_agg_t *agg, uint64_t t_ms)
{
    if (t_ms < md_agg_end_ms(agg))
        return;
    md_stats_reset(agg->stats);
    md_set_clear(agg->seen);
    agg->start_ms = md_agg_align(t_ms, agg->interval_ms);
    md_health_set(agg->health, MD_H_INTERVAL_START, agg->start_ms / 1000);
    md_health_set(agg->health, MD_H_SET_ENTRIES, 0);
    md_health_set(agg->health, MD_H_SET_BYTES, md_set_bytes(agg->seen));
}

const md_stats_t *
md_agg_stats(const md_agg_t *agg)
{
    return agg->stats;
}

void
md_agg_available(md_agg_t *agg, const sfb_msg_pool_reply_t *pool, uint64_t mono_ms)
{
    md_prom_available(agg->prom, pool->avail, mono_ms);
}

const md_prom_t *
md_agg_prom(const md_agg_t *agg)
{
    return agg->prom;
}

/* ---- checkpoint ------------------------------------------------------------------------ */

static const char s_magic[8] = "SFBMDCK";
#define S_CKPT_VERSION 2 /* 2: the epoch after have_seq */

static uint64_t
s_fnv(const unsigned char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void
s_put(sfb_buf_t *out, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    sfb_buf_append(out, b, (size_t)bytes);
}

static void
s_put_key(uint64_t key, void *arg)
{
    s_put(arg, key, 8);
}

void
md_agg_save(const md_agg_t *agg, sfb_buf_t *out)
{
    size_t base = out->len;
    sfb_buf_append(out, s_magic, sizeof s_magic);
    s_put(out, S_CKPT_VERSION, 4);
    s_put(out, 0, 4);
    s_put(out, agg->interval_ms, 8);
    s_put(out, agg->start_ms, 8);
    s_put(out, agg->last_seq, 8); /* MD_AGG_CKPT_SEQ_OFFSET */
    s_put(out, agg->have_seq ? 1 : 0, 8);
    s_put(out, agg->epoch, 8); /* MD_AGG_CKPT_EPOCH_OFFSET */
    s_put(out, MD_COUNTER_COUNT, 4);
    s_put(out, MD_MAP_COUNT, 4);
    for (int c = 0; c < MD_COUNTER_COUNT; c++)
        s_put(out, md_stats_get(agg->stats, (md_counter_t)c), 8);
    for (int m = 0; m < MD_MAP_COUNT; m++) {
        uint32_t nnz = 0;
        for (size_t i = 0; i < MD_CC_SLOTS; i++)
            nnz += md_stats_cc_get(agg->stats, (md_map_t)m, i) != 0;
        s_put(out, nnz, 4);
        for (size_t i = 0; i < MD_CC_SLOTS; i++) {
            uint64_t v = md_stats_cc_get(agg->stats, (md_map_t)m, i);
            if (v) {
                s_put(out, i, 4);
                s_put(out, v, 8);
            }
        }
    }
    s_put(out, md_set_size(agg->seen), 8);
    md_set_foreach(agg->seen, s_put_key, out);
    s_put(out, s_fnv((const unsigned char *)out->data + base, out->len - base), 8);
}

typedef struct {
    const unsigned char *p; /* next byte */
    size_t left;            /* bytes left */
    bool short_read;        /* ran past the end */
} s_cursor_t;

static uint64_t
s_get_n(s_cursor_t *c, int bytes)
{
    if (c->left < (size_t)bytes) {
        c->short_read = true;
        c->left = 0;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += bytes;
    c->left -= (size_t)bytes;
    return v;
}

/* Parse the body after the header into fresh stats and set; return SFB_OK or an error. */
static sfb_rc_t
s_load_body(s_cursor_t *c, md_stats_t *stats, md_set_t *seen)
{
    if (s_get_n(c, 4) != MD_COUNTER_COUNT || s_get_n(c, 4) != MD_MAP_COUNT)
        return c->short_read ? SFB_TRUNCATED : SFB_BAD_VALUE;
    for (int i = 0; i < MD_COUNTER_COUNT; i++)
        md_stats_add(stats, (md_counter_t)i, s_get_n(c, 8));
    for (int m = 0; m < MD_MAP_COUNT && !c->short_read; m++) {
        uint64_t nnz = s_get_n(c, 4);
        if (nnz > MD_CC_SLOTS)
            return SFB_BAD_VALUE;
        for (uint64_t i = 0; i < nnz && !c->short_read; i++) {
            uint64_t slot = s_get_n(c, 4), v = s_get_n(c, 8);
            if (slot >= MD_CC_SLOTS)
                return SFB_BAD_VALUE;
            md_stats_cc_add(stats, (md_map_t)m, slot, v);
        }
    }
    uint64_t n = s_get_n(c, 8);
    if (n > c->left / 8)
        return SFB_TRUNCATED;
    md_set_reserve(seen, (size_t)n); /* keys come in table order: insert into a full-size table */
    for (uint64_t i = 0; i < n; i++)
        if (!md_set_add(seen, s_get_n(c, 8)))
            return SFB_BAD_VALUE;
    if (c->short_read)
        return SFB_TRUNCATED;
    return c->left == 0 ? SFB_OK : SFB_BAD_VALUE;
}

sfb_rc_t
md_agg_load(md_agg_t *agg, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len < sizeof s_magic + 8 + 8 || memcmp(p, s_magic, sizeof s_magic) != 0)
        return len < sizeof s_magic ? SFB_TRUNCATED : SFB_BAD_SYNTAX;
    s_cursor_t tail = {p + len - 8, 8, false};
    if (s_get_n(&tail, 8) != s_fnv(p, len - 8))
        return SFB_BAD_SYNTAX;
    s_cursor_t c = {p + sizeof s_magic, len - 8 - sizeof s_magic, false};
    if (s_get_n(&c, 4) != S_CKPT_VERSION)
        return SFB_BAD_VERSION;
    s_get_n(&c, 4);
    uint64_t interval_ms = s_get_n(&c, 8), start_ms = s_get_n(&c, 8);
    uint64_t last_seq = s_get_n(&c, 8), have_seq = s_get_n(&c, 8), epoch = s_get_n(&c, 8);
    if (c.short_read)
        return SFB_TRUNCATED;
    if (interval_ms != agg->interval_ms || start_ms % interval_ms != 0 || have_seq > 1)
        return SFB_BAD_VALUE;
    md_stats_t *stats = md_stats_new();
    md_set_t *seen = md_set_new();
    sfb_rc_t rc = s_load_body(&c, stats, seen);
    if (rc != SFB_OK) {
        md_stats_destroy(&stats);
        md_set_destroy(&seen);
        return rc;
    }
    md_stats_destroy(&agg->stats);
    md_set_destroy(&agg->seen);
    agg->stats = stats;
    agg->seen = seen;
    agg->start_ms = start_ms;
    agg->epoch = epoch;
    agg->last_seq = last_seq;
    agg->have_seq = have_seq != 0;
    md_health_set(agg->health, MD_H_INTERVAL_START, start_ms / 1000);
    md_health_set(agg->health, MD_H_SET_ENTRIES, md_set_size(seen));
    md_health_set(agg->health, MD_H_SET_BYTES, md_set_bytes(seen));
    md_health_set(agg->health, MD_H_LAST_SEQ, last_seq);
    return SFB_OK;
}
