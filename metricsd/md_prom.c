/* md_prom.c - see md_prom.h. Each family is a dense array of atomics indexed by its label
 * values; formatting collects the non-zero cells, sorts them and prints them. */
#include "md_prom.h"

#include "md_report.h"
#include "sfb_alloc.h"
#include "sfb_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAT SFB_NAT_COUNT
#define S_TYPE SFB_PROXY_TYPE_COUNT
#define S_METHOD SFB_METHOD_COUNT
#define S_ANS_TYPES (S_TYPE + 1) /* the proxy types, then "" */

struct md_prom {
    _Atomic uint64_t proxy_total[MD_CC_SLOTS][S_NAT][S_TYPE]; /* exact */
    _Atomic uint64_t proxy_poll[S_NAT][S_TYPE][2];            /* idle, matched */
    _Atomic uint64_t relay[MD_RELAY_COUNT][S_NAT][S_TYPE];    /* md_relay_t */
    _Atomic uint64_t client[MD_CC_SLOTS][S_NAT][S_METHOD][MD_CLIENT_STATUS_COUNT]; /* polls */
    _Atomic uint64_t answer[S_ANS_TYPES][2]; /* success, timeout */
    _Atomic uint64_t avail[S_NAT][S_TYPE];   /* gauge: the last sample */
    _Atomic uint64_t avail_seen;             /* bit n * S_TYPE + t: that series was non-zero */
    _Atomic uint64_t avail_mono_ms;          /* when the last sample came; 0: none yet */
};

static void
s_inc(_Atomic uint64_t *cell)
{
    atomic_fetch_add_explicit(cell, 1, memory_order_relaxed);
}

static uint64_t
s_get(const _Atomic uint64_t *cell)
{
    return atomic_load_explicit(cell, memory_order_relaxed);
}

md_prom_t *
md_prom_new(void)
{
    md_prom_t *prom = sfb_xmalloc(sizeof *prom);
    _Atomic uint64_t *cells = (_Atomic uint64_t *)prom;
    for (size_t i = 0; i < sizeof *prom / sizeof *cells; i++)
        atomic_init(&cells[i], 0);
    return prom;
}

void
md_prom_destroy(md_prom_t **prom_p)
{
    if (prom_p == NULL || *prom_p == NULL)
        return;
    free(*prom_p);
    *prom_p = NULL;
}

static bool
s_ok(sfb_nat_t nat, sfb_proxy_type_t type)
{
    return (unsigned)nat < S_NAT && (unsigned)type < S_TYPE;
}

void
md_prom_proxy_total(md_prom_t *prom, size_t cc_slot, sfb_nat_t nat, sfb_proxy_type_t type)
{
    if (cc_slot < MD_CC_SLOTS && s_ok(nat, type))
        s_inc(&prom->proxy_total[cc_slot][nat][type]);
}

void
md_prom_proxy_poll(md_prom_t *prom, sfb_nat_t nat, sfb_proxy_type_t type, bool matched)
{
    if (s_ok(nat, type))
        s_inc(&prom->proxy_poll[nat][type][matched ? 1 : 0]);
}

void
md_prom_relay(md_prom_t *prom, md_relay_t which, sfb_nat_t nat, sfb_proxy_type_t type)
{
    if ((unsigned)which < MD_RELAY_COUNT && s_ok(nat, type))
        s_inc(&prom->relay[which][nat][type]);
}

void
md_prom_client_poll(md_prom_t *prom, size_t cc_slot, sfb_nat_t nat, sfb_method_t method,
                    md_client_status_t status)
{
    if (cc_slot < MD_CC_SLOTS && (unsigned)nat < S_NAT && (unsigned)method < S_METHOD &&
        (unsigned)status < MD_CLIENT_STATUS_COUNT)
        s_inc(&prom->client[cc_slot][nat][method][status]);
}

void
md_prom_answer(md_prom_t *prom, bool success, sfb_proxy_type_t type)
{
    if (!success)
        s_inc(&prom->answer[S_TYPE][1]);
    else if ((unsigned)type < S_TYPE)
        s_inc(&prom->answer[type][0]);
}

void
md_prom_available(md_prom_t *prom, const uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT],
                  uint64_t mono_ms)
{
    uint64_t seen = 0;
    for (int n = 0; n < S_NAT; n++)
        for (int t = 0; t < S_TYPE; t++) {
            atomic_store_explicit(&prom->avail[n][t], avail[t][n], memory_order_relaxed);
            if (avail[t][n] > 0)
                seen |= 1ull << (n * S_TYPE + t);
        }
    atomic_fetch_or_explicit(&prom->avail_seen, seen, memory_order_relaxed);
    atomic_store_explicit(&prom->avail_mono_ms, mono_ms ? mono_ms : 1, memory_order_release);
}

/* ---- exposition ----------------------------------------------------------------------- */

#define S_MAX_LABELS 4

typedef struct {
    const char *lv[S_MAX_LABELS]; /* label values in label-name order; NULL means cc */
    size_t nlabels;               /* entries of lv in use */
    char cc[3];                   /* storage for a cc label value */
    uint64_t value;               /* exposed value */
} s_series_t;

typedef struct {
    s_series_t *v;   /* series */
    size_t n, cap;   /* used, allocated */
    size_t nlabels;  /* labels of the current family */
    uint64_t now_ms; /* monotonic time of the formatting */
} s_list_t;

static s_series_t *
s_push(s_list_t *l, uint64_t value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = sfb_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    s_series_t *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    s->nlabels = l->nlabels;
    s->value = value;
    return s;
}

static const char *
s_lv(const s_series_t *s, size_t i)
{
    return s->lv[i] ? s->lv[i] : s->cc;
}

static int
s_cmp_series(const void *a, const void *b)
{
    const s_series_t *x = a, *y = b;
    for (size_t i = 0; i < x->nlabels && i < y->nlabels; i++) {
        int c = strcmp(s_lv(x, i), s_lv(y, i));
        if (c)
            return c;
    }
    return 0;
}

static const char *const s_client_status[MD_CLIENT_STATUS_COUNT] = {"denied", "matched", "timeout"};
static const char *const s_poll_status[2] = {"idle", "matched"};
static const char *const s_answer_status[2] = {"success", "timeout"};

typedef struct {
    const char *name;                                 /* family name */
    const char *type;                                 /* "counter" or "gauge" */
    const char *help;                                 /* help text */
    const char *labels[S_MAX_LABELS];                 /* label names, sorted */
    void (*collect)(const md_prom_t *p, s_list_t *l); /* fills the series */
} s_family_t;

static void
s_collect_available(const md_prom_t *p, s_list_t *l)
{
    uint64_t at = atomic_load_explicit(&p->avail_mono_ms, memory_order_acquire);
    if (at == 0 || (l->now_ms > at && l->now_ms - at > MD_PROM_AVAILABLE_STALE_MS))
        return;
    uint64_t seen = s_get(&p->avail_seen);
    for (int n = 0; n < S_NAT; n++)
        for (int t = 0; t < S_TYPE; t++) {
            if (!(seen & (1ull << (n * S_TYPE + t))))
                continue;
            s_series_t *s = s_push(l, s_get(&p->avail[n][t]));
            s->lv[0] = sfb_nat_str((sfb_nat_t)n);
            s->lv[1] = sfb_proxy_type_str((sfb_proxy_type_t)t);
        }
}

static void
s_collect_proxy_total(const md_prom_t *p, s_list_t *l)
{
    for (size_t c = 0; c < MD_CC_SLOTS; c++)
        for (int n = 0; n < S_NAT; n++)
            for (int t = 0; t < S_TYPE; t++) {
                uint64_t v = s_get(&p->proxy_total[c][n][t]);
                if (v == 0)
                    continue;
                s_series_t *s = s_push(l, v);
                s->lv[0] = NULL; /* s->cc: the struct moves when sorted */
                md_cc_name(c, s->cc);
                s->lv[1] = sfb_nat_str((sfb_nat_t)n);
                s->lv[2] = sfb_proxy_type_str((sfb_proxy_type_t)t);
            }
}

static void
s_collect_client(const md_prom_t *p, s_list_t *l)
{
    for (size_t c = 0; c < MD_CC_SLOTS; c++)
        for (int n = 0; n < S_NAT; n++)
            for (int m = 0; m < S_METHOD; m++)
                for (int st = 0; st < MD_CLIENT_STATUS_COUNT; st++) {
                    uint64_t v = s_get(&p->client[c][n][m][st]);
                    if (v == 0)
                        continue;
                    s_series_t *s = s_push(l, md_bin(v));
                    s->lv[0] = NULL; /* s->cc: the struct moves when sorted */
                    md_cc_name(c, s->cc);
                    s->lv[1] = sfb_nat_str((sfb_nat_t)n);
                    s->lv[2] = sfb_method_str((sfb_method_t)m);
                    s->lv[3] = s_client_status[st];
                }
}

static void
s_collect_answer(const md_prom_t *p, s_list_t *l)
{
    for (int t = 0; t < S_ANS_TYPES; t++)
        for (int st = 0; st < 2; st++) {
            uint64_t v = s_get(&p->answer[t][st]);
            if (v == 0)
                continue;
            s_series_t *s = s_push(l, md_bin(v));
            s->lv[0] = s_answer_status[st];
            s->lv[1] = t < S_TYPE ? sfb_proxy_type_str((sfb_proxy_type_t)t) : "";
        }
}

static void
s_collect_poll(const md_prom_t *p, s_list_t *l)
{
    for (int n = 0; n < S_NAT; n++)
        for (int t = 0; t < S_TYPE; t++)
            for (int st = 0; st < 2; st++) {
                uint64_t v = s_get(&p->proxy_poll[n][t][st]);
                if (v == 0)
                    continue;
                s_series_t *s = s_push(l, md_bin(v));
                s->lv[0] = sfb_nat_str((sfb_nat_t)n);
                s->lv[1] = s_poll_status[st];
                s->lv[2] = sfb_proxy_type_str((sfb_proxy_type_t)t);
            }
}

static void
s_collect_relay(const md_prom_t *p, s_list_t *l, md_relay_t which)
{
    for (int n = 0; n < S_NAT; n++)
        for (int t = 0; t < S_TYPE; t++) {
            uint64_t v = s_get(&p->relay[which][n][t]);
            if (v == 0)
                continue;
            s_series_t *s = s_push(l, md_bin(v));
            s->lv[0] = sfb_nat_str((sfb_nat_t)n);
            s->lv[1] = sfb_proxy_type_str((sfb_proxy_type_t)t);
        }
}

static void
s_collect_with(const md_prom_t *p, s_list_t *l)
{
    s_collect_relay(p, l, MD_RELAY_WITH);
}

static void
s_collect_without(const md_prom_t *p, s_list_t *l)
{
    s_collect_relay(p, l, MD_RELAY_WITHOUT);
}

static void
s_collect_rejected(const md_prom_t *p, s_list_t *l)
{
    s_collect_relay(p, l, MD_RELAY_REJECTED);
}

#define S_R "rounded up to a multiple of 8"
/* Sorted by name (checked by the unit test). */
static const s_family_t s_families[] = {
    {"snowflake_available_proxies",
     "gauge",
     "The number of currently available snowflake proxies",
     {"nat", "type"},
     s_collect_available},
    {"snowflake_proxy_total",
     "counter",
     "The number of unique snowflake IPs",
     {"cc", "nat", "type"},
     s_collect_proxy_total},
    {"snowflake_rounded_client_poll_total",
     "counter",
     "The number of snowflake client polls, " S_R,
     {"cc", "nat", "rendezvous_method", "status"},
     s_collect_client},
    {"snowflake_rounded_proxy_answer_total",
     "counter",
     "The number of snowflake proxy answers, " S_R,
     {"status", "type"},
     s_collect_answer},
    {"snowflake_rounded_proxy_poll_rejected_relay_url_extension_total",
     "counter",
     "The number of snowflake proxy polls rejected by Relay URL Extension, " S_R,
     {"nat", "type"},
     s_collect_rejected},
    {"snowflake_rounded_proxy_poll_total",
     "counter",
     "The number of snowflake proxy polls, " S_R,
     {"nat", "status", "type"},
     s_collect_poll},
    {"snowflake_rounded_proxy_poll_with_relay_url_extension_total",
     "counter",
     "The number of snowflake proxy polls with Relay URL Extension, " S_R,
     {"nat", "type"},
     s_collect_with},
    {"snowflake_rounded_proxy_poll_without_relay_url_extension_total",
     "counter",
     "The number of snowflake proxy polls without Relay URL Extension, " S_R,
     {"nat", "type"},
     s_collect_without},
};

static size_t
s_count_labels(const s_family_t *f)
{
    size_t n = 0;
    while (n < S_MAX_LABELS && f->labels[n])
        n++;
    return n;
}

static void
s_format_family(const md_prom_t *p, const s_family_t *f, s_list_t *l, sfb_buf_t *out)
{
    size_t nl = s_count_labels(f);
    l->n = 0;
    l->nlabels = nl;
    f->collect(p, l);
    if (l->n == 0)
        return;
    qsort(l->v, l->n, sizeof *l->v, s_cmp_series);
    sfb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
    char num[40];
    for (size_t i = 0; i < l->n; i++) {
        sfb_buf_printf(out, "%s{", f->name);
        for (size_t j = 0; j < nl; j++)
            sfb_buf_printf(out, "%s%s=\"%s\"", j ? "," : "", f->labels[j], s_lv(&l->v[i], j));
        sfb_buf_printf(out, "} %s\n", md_prom_fmt_g((double)l->v[i].value, num, sizeof num));
    }
}

void
md_prom_format(const md_prom_t *prom, sfb_buf_t *out)
{
    s_list_t l = {.now_ms = sfb_now_ms()};
    for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++)
        s_format_family(prom, &s_families[i], &l, out);
    free(l.v);
}

void
md_prom_format_simple(sfb_buf_t *out, const char *name, const char *help, const char *type,
                      uint64_t value)
{
    char num[40];
    sfb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type, name,
                   md_prom_fmt_g((double)value, num, sizeof num));
}

char *
md_prom_fmt_g(double v, char *out, size_t size)
{
    if (v == 0) {
        snprintf(out, size, "0");
        return out;
    }
    /* Shortest digits that read back as v, as Go's shortest formatting does. */
    char e[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6) {
        snprintf(out, size, "%s", e); /* C's %e matches Go's: at least two exponent digits */
    } else {
        int decimals = prec - 1 - exp;
        snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, v);
    }
    return out;
}
