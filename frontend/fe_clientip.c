/* fe_clientip.c - see fe_clientip.h. Mirrors realclientip-go v1.0.0 as used by upstream's
 * util.GetClientIp; comments name the Go function each helper stands for. */
#include "fe_clientip.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    unsigned char b[16]; /* address; IPv4 as ::ffff:a.b.c.d */
    bool v4;             /* an IPv4 (or IPv4-mapped) address */
} s_ip_t;

/* realclientip v1.0.0 private/local list, typo 192.18.0.0/15 included (spec §2.12). */
static const struct {
    const char *net;
    unsigned bits;
} s_private[] = {
    {"10.0.0.0", 8},      {"172.16.0.0", 12},  {"192.168.0.0", 16},     {"127.0.0.0", 8},
    {"0.0.0.0", 8},       {"169.254.0.0", 16}, {"192.0.0.0", 24},       {"192.0.2.0", 24},
    {"198.51.100.0", 24}, {"203.0.113.0", 24}, {"192.88.99.0", 24},     {"192.18.0.0", 15},
    {"224.0.0.0", 4},     {"240.0.0.0", 4},    {"255.255.255.255", 32}, {"100.64.0.0", 10},
    {"::", 128},          {"::1", 128},        {"100::", 64},           {"2001::", 23},
    {"2001:2::", 48},     {"2001:db8::", 32},  {"2001::", 32},          {"fc00::", 7},
    {"fe80::", 10},       {"ff00::", 8},       {"2002::", 16},
};

static bool
s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* strings.TrimSpace (ASCII whitespace). */
static void
s_trim(const char **p, size_t *len)
{
    while (*len > 0 && s_is_space(**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && s_is_space((*p)[*len - 1]))
        (*len)--;
}

/* trimMatchedEnds: drop one pair of surrounding `open` `close`. */
static void
s_trim_pair(const char **p, size_t *len, char open, char close)
{
    if (*len >= 2 && (*p)[0] == open && (*p)[*len - 1] == close) {
        (*p)++;
        *len -= 2;
    }
}

/* net.SplitHostPort: on success narrow (*p, *len) to the host (brackets removed). */
static bool
s_split_host_port(const char **p, size_t *len)
{
    const char *s = *p;
    size_t n = *len;
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL)
        return false;
    if (n > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (end == NULL || end + 1 != colon)
            return false;
        if (memchr(s + 1, '[', (size_t)(end - s - 1)) ||
            memchr(end + 1, ']', n - (size_t)(end + 1 - s)))
            return false;
        *p = s + 1;
        *len = (size_t)(end - s - 1);
        return true;
    }
    size_t hl = (size_t)(colon - s);
    if (memchr(s, ':', hl) || memchr(s, '[', n) || memchr(s, ']', n))
        return false;
    *len = hl;
    return true;
}

static bool
s_ip_parse(const char *s, size_t len, s_ip_t *ip)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(ip, 0, sizeof *ip);
    unsigned char v4[4];
    if (inet_pton(AF_INET, tmp, v4) == 1) {
        ip->b[10] = ip->b[11] = 0xff;
        memcpy(ip->b + 12, v4, 4);
        ip->v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, ip->b) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip->v4 = memcmp(ip->b, mapped, 12) == 0;
    return true;
}

static bool
s_prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* isPrivateOrLocal with net.IPNet.Contains semantics: IPv4 nets match IPv4 and IPv4-mapped
 * addresses only; IPv6 nets match only addresses that are not IPv4. */
static bool
s_is_private(const s_ip_t *ip)
{
    for (size_t i = 0; i < sizeof s_private / sizeof s_private[0]; i++) {
        s_ip_t net;
        if (!s_ip_parse(s_private[i].net, strlen(s_private[i].net), &net))
            continue;
        if (net.v4 != ip->v4)
            continue;
        unsigned off = net.v4 ? 12 : 0;
        if (s_prefix_eq(ip->b + off, net.b + off, s_private[i].bits))
            return true;
    }
    return false;
}

/* net.IP.String: dotted IPv4 for IPv4 and IPv4-mapped, else RFC 5952. */
static size_t
s_ip_format(const s_ip_t *ip, char *out, size_t size)
{
    if (ip->v4)
        return (size_t)snprintf(out, size, "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14],
                                ip->b[15]);
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)ip->b[2 * i] << 8 | ip->b[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, size - n, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            n += (size_t)snprintf(out + n, size - n, ":");
        n += (size_t)snprintf(out + n, size - n, "%x", g[i]);
    }
    return n;
}

bool
fe_clientip_parse(const char *text, size_t len, char *out, bool *is_private)
{
    const char *p = text;
    size_t n = len;
    s_split_host_port(&p, &n); /* no port is fine: then p is a bare address */
    s_trim_pair(&p, &n, '[', ']');
    const char *zone = NULL;
    size_t zone_len = 0;
    for (size_t i = n; i > 1; i--) {
        if (p[i - 1] == '%') { /* SplitHostZone: last '%', not at position 0 */
            zone = p + i;
            zone_len = n - i;
            n = i - 1;
            break;
        }
    }
    s_ip_t ip;
    if (!s_ip_parse(p, n, &ip))
        return false;
    static const unsigned char zero[16];
    if (memcmp(ip.b, zero, 16) == 0 || (ip.v4 && memcmp(ip.b + 12, zero, 4) == 0))
        return false; /* unspecified */
    size_t w = s_ip_format(&ip, out, FE_CLIENTIP_MAX);
    if (zone != NULL && zone_len > 0) {
        if (w + 1 + zone_len >= FE_CLIENTIP_MAX)
            return false;
        out[w++] = '%';
        memcpy(out + w, zone, zone_len);
        w += zone_len;
        out[w] = '\0';
    }
    *is_private = s_is_private(&ip);
    return true;
}

/* parseForwardedListItem: the value of the first "for=" part, trimmed and unquoted. */
static bool
s_forwarded_for(const char *item, size_t len, const char **val, size_t *val_len)
{
    while (len > 0) {
        const char *semi = memchr(item, ';', len);
        size_t seg_len = semi ? (size_t)(semi - item) : len; /* untrimmed, to advance */
        size_t part_len = seg_len;
        const char *part = item;
        s_trim(&part, &part_len);
        const char *eq = memchr(part, '=', part_len);
        if (eq != NULL && memchr(eq + 1, '=', part_len - (size_t)(eq + 1 - part)) == NULL &&
            eq - part == 3 && strncasecmp(part, "for", 3) == 0) {
            *val = eq + 1;
            *val_len = part_len - 4;
            s_trim(val, val_len);
            s_trim_pair(val, val_len, '"', '"');
            return *val_len > 0;
        }
        if (semi == NULL)
            break;
        len -= seg_len + 1;
        item = semi + 1;
    }
    return false;
}

/* LeftmostNonPrivateStrategy over every value of one header, comma-separated items. */
static size_t
s_leftmost(const fe_hdr_t *vals, size_t n, bool forwarded, char *out)
{
    for (size_t h = 0; h < n; h++) {
        const char *s = vals[h].ptr;
        size_t left = vals[h].len;
        for (;;) {
            const char *comma = memchr(s, ',', left);
            size_t item_len = comma ? (size_t)(comma - s) : left;
            const char *item = s;
            s_trim(&item, &item_len);
            const char *addr = item;
            size_t addr_len = item_len;
            bool priv;
            if ((!forwarded || s_forwarded_for(item, item_len, &addr, &addr_len)) &&
                fe_clientip_parse(addr, addr_len, out, &priv) && !priv)
                return strlen(out);
            if (comma == NULL)
                break;
            left -= (size_t)(comma - s) + 1;
            s = comma + 1;
        }
    }
    return 0;
}

size_t
fe_clientip_resolve(unsigned trusted_hops, const fe_hdr_t *fwd, size_t n_fwd, const fe_hdr_t *xff,
                    size_t n_xff, const char *remote, char *out)
{
    size_t n;
    out[0] = '\0';
    if (trusted_hops > 0) {
        if ((n = s_leftmost(fwd, n_fwd, true, out)) > 0)
            return n;
        if ((n = s_leftmost(xff, n_xff, false, out)) > 0)
            return n;
    }
    bool priv;
    if (remote != NULL && fe_clientip_parse(remote, strlen(remote), out, &priv))
        return strlen(out);
    out[0] = '\0';
    return 0;
}
