/* md_report.c - see md_report.h. */
#include "md_report.h"

#include "sfb_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t
md_bin(uint64_t n)
{
    if (n > UINT64_MAX - 7)
        return UINT64_MAX & ~(uint64_t)7;
    return (n + 7) / 8 * 8;
}

typedef struct {
    char cc[3];     /* country code */
    uint64_t count; /* printed count (binned when asked) */
} s_entry_t;

static int
s_cmp(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->cc, y->cc);
}

void
md_report_countries(const uint64_t counts[MD_CC_SLOTS], bool binned, sfb_buf_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < MD_CC_SLOTS; i++)
        n += counts[i] != 0;
    if (n == 0)
        return;
    s_entry_t *e = sfb_xcalloc(n, sizeof *e);
    n = 0;
    for (size_t i = 0; i < MD_CC_SLOTS; i++) {
        if (counts[i] == 0)
            continue;
        md_cc_name(i, e[n].cc);
        e[n++].count = binned ? md_bin(counts[i]) : counts[i];
    }
    qsort(e, n, sizeof *e, s_cmp);
    for (size_t i = 0; i < n; i++)
        sfb_buf_printf(out, "%s%s=%llu", i ? "," : "", e[i].cc, (unsigned long long)e[i].count);
    free(e);
}

void
md_report_end_line(uint64_t end_ms, uint64_t len_ms, sfb_buf_t *out)
{
    time_t t = (time_t)(end_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    sfb_buf_printf(out, "snowflake-stats-end %s (%llu s)\n", when,
                   (unsigned long long)(len_ms / 1000));
}

static void
s_line(sfb_buf_t *out, const char *key, uint64_t v)
{
    sfb_buf_printf(out, "%s %llu\n", key, (unsigned long long)v);
}

static void
s_list(sfb_buf_t *out, const char *key, const md_stats_t *stats, md_map_t m, bool binned)
{
    uint64_t *c = sfb_xcalloc(MD_CC_SLOTS, sizeof *c);
    md_stats_cc_copy(stats, m, c);
    sfb_buf_printf(out, "%s ", key);
    md_report_countries(c, binned, out);
    sfb_buf_putc(out, '\n');
    free(c);
}

void
md_report_block(const md_stats_t *stats, uint64_t end_ms, uint64_t len_ms, sfb_buf_t *out)
{
#define G(c) md_stats_get(stats, (c))
#define B(c) md_bin(G(c))
    md_report_end_line(end_ms, len_ms, out);
    s_list(out, "snowflake-ips", stats, MD_MAP_PROXIES, false);
    s_line(out, "snowflake-ips-iptproxy", G(MD_C_PROXY_IPTPROXY));
    s_line(out, "snowflake-ips-standalone", G(MD_C_PROXY_STANDALONE));
    s_line(out, "snowflake-ips-webext", G(MD_C_PROXY_WEBEXT));
    s_line(out, "snowflake-ips-badge", G(MD_C_PROXY_BADGE));
    s_line(out, "snowflake-ips-total", G(MD_C_PROXY_TOTAL));
    s_line(out, "snowflake-idle-count", B(MD_C_PROXY_IDLE));
    s_line(out, "snowflake-proxy-poll-with-relay-url-count", B(MD_C_POLL_WITH_RELAY));
    s_line(out, "snowflake-proxy-poll-without-relay-url-count", B(MD_C_POLL_WITHOUT_RELAY));
    s_line(out, "snowflake-proxy-rejected-for-relay-url-count", B(MD_C_POLL_REJECTED));
    s_line(out, "client-denied-count", B(MD_C_CLIENT_DENIED));
    s_line(out, "client-restricted-denied-count", B(MD_C_CLIENT_RESTRICTED_DENIED));
    s_line(out, "client-unrestricted-denied-count", B(MD_C_CLIENT_UNRESTRICTED_DENIED));
    s_line(out, "client-snowflake-match-count", B(MD_C_CLIENT_MATCH));
    s_line(out, "client-snowflake-timeout-count", B(MD_C_CLIENT_TIMEOUT));
    s_line(out, "client-http-count", B(MD_C_CLIENT_HTTP));
    s_list(out, "client-http-ips", stats, MD_MAP_HTTP, true);
    s_line(out, "client-ampcache-count", B(MD_C_CLIENT_AMP));
    s_list(out, "client-ampcache-ips", stats, MD_MAP_AMP, true);
    s_line(out, "client-sqs-count", B(MD_C_CLIENT_SQS));
    s_list(out, "client-sqs-ips", stats, MD_MAP_SQS, true);
    s_line(out, "snowflake-ips-nat-restricted", G(MD_C_NAT_RESTRICTED));
    s_line(out, "snowflake-ips-nat-unrestricted", G(MD_C_NAT_UNRESTRICTED));
    s_line(out, "snowflake-ips-nat-unknown", G(MD_C_NAT_UNKNOWN));
#undef G
#undef B
}
