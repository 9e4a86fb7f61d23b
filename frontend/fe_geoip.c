/* fe_geoip.c - see fe_geoip.h. Tor tables are kept in file order (sorted, non-overlapping in
 * every real file) and searched for the first range whose high end is >= the address, exactly
 * like Tor's and upstream's geoip lookups. */
#include "fe_geoip.h"

#include "sfb_alloc.h"
#include "sfb_log.h"
#include "sfb_types.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t lo, hi; /* host order */
    char cc[3];      /* NUL-terminated */
} s_range4_t;

typedef struct {
    unsigned char lo[16], hi[16]; /* network order */
    char cc[3];                   /* NUL-terminated */
} s_range6_t;

struct fe_geoip {
    s_range4_t *v4; /* owned */
    size_t n4;      /* entries */
    s_range6_t *v6; /* owned */
    size_t n6;      /* entries */
    MMDB_s mmdb;    /* open when has_mmdb */
    bool has_mmdb;  /* mmdb opened */
    bool has_tor;   /* Tor tables loaded */
};

fe_geoip_t *
fe_geoip_new(void)
{
    return sfb_xcalloc(1, sizeof(fe_geoip_t));
}

void
fe_geoip_destroy(fe_geoip_t **geoip_p)
{
    if (geoip_p == NULL || *geoip_p == NULL)
        return;
    fe_geoip_t *g = *geoip_p;
    free(g->v4);
    free(g->v6);
    if (g->has_mmdb)
        MMDB_close(&g->mmdb);
    free(g);
    *geoip_p = NULL;
}

/* Split "a,b,c" in place into exactly three fields; false otherwise. */
static bool
s_split3(char *line, char *f[3])
{
    f[0] = line;
    char *c1 = strchr(line, ',');
    if (c1 == NULL)
        return false;
    *c1 = '\0';
    f[1] = c1 + 1;
    char *c2 = strchr(f[1], ',');
    if (c2 == NULL)
        return false;
    *c2 = '\0';
    f[2] = c2 + 1;
    return strchr(f[2], ',') == NULL;
}

static bool
s_parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool
s_set_cc(char cc[3], const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 2)
        return false;
    memcpy(cc, s, n + 1);
    return true;
}

/* Log the file's SHA-1 as upstream does (spec §9), so operators can tell which copy is used. */
static void
s_log_checksum(const char *path, EVP_MD_CTX *md)
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (md == NULL || EVP_DigestFinal_ex(md, sum, &n) != 1)
        n = 0;
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    sfb_log(SFB_NOTICE, "fe.geoip", "Using geoip file %s with checksum %s", path, hex);
}

/* Read `path` line by line; call `add` for each data line. Return lines added or -1. */
static long
s_read_lines(const char *path, void *ctx, bool (*add)(void *ctx, char *f[3]))
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        sfb_log(SFB_ERROR, "fe.geoip", "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md != NULL && EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(md); /* no SHA-1 (FIPS mode): load without the checksum */
        md = NULL;
    }
    char line[512];
    long n = 0, lineno = 0;
    while (n >= 0 && fgets(line, sizeof line, fp)) {
        lineno++;
        if (md != NULL)
            EVP_DigestUpdate(md, line, strlen(line));
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *f[3];
        if (!s_split3(line, f) || !add(ctx, f)) {
            sfb_log(SFB_ERROR, "fe.geoip", "%s:%ld: malformed line", path, lineno);
            n = -1;
            break;
        }
        n++;
    }
    if (n >= 0 && ferror(fp)) {
        sfb_log(SFB_ERROR, "fe.geoip", "cannot read %s", path);
        n = -1;
    }
    if (n >= 0) {
        s_log_checksum(path, md);
        sfb_log(SFB_NOTICE, "fe.geoip", "Loaded %ld entries into table", n);
    }
    EVP_MD_CTX_free(md);
    fclose(fp);
    return n;
}

typedef struct {
    s_range4_t *v;   /* growing array */
    size_t n, cap;   /* used, allocated */
    s_range6_t *v6;  /* growing array */
    size_t n6, cap6; /* used, allocated */
} s_tables_t;

static bool
s_add4(void *ctx, char *f[3])
{
    s_tables_t *t = ctx;
    s_range4_t r;
    if (!s_parse_u32(f[0], &r.lo) || !s_parse_u32(f[1], &r.hi) || !s_set_cc(r.cc, f[2]))
        return false;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->v = sfb_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = r;
    return true;
}

static bool
s_add6(void *ctx, char *f[3])
{
    s_tables_t *t = ctx;
    s_range6_t r;
    if (inet_pton(AF_INET6, f[0], r.lo) != 1 || inet_pton(AF_INET6, f[1], r.hi) != 1 ||
        !s_set_cc(r.cc, f[2]))
        return false;
    if (t->n6 == t->cap6) {
        t->cap6 = t->cap6 ? t->cap6 * 2 : 1024;
        t->v6 = sfb_xrealloc(t->v6, t->cap6 * sizeof *t->v6);
    }
    t->v6[t->n6++] = r;
    return true;
}

int
fe_geoip_load_tor(fe_geoip_t *geoip, const char *v4_path, const char *v6_path)
{
    s_tables_t t = {0};
    long n4 = v4_path ? s_read_lines(v4_path, &t, s_add4) : 0;
    long n6 = n4 >= 0 && v6_path ? s_read_lines(v6_path, &t, s_add6) : 0;
    if (n4 < 0 || n6 < 0) {
        free(t.v);
        free(t.v6);
        return -1;
    }
    free(geoip->v4);
    free(geoip->v6);
    geoip->v4 = t.v;
    geoip->n4 = t.n;
    geoip->v6 = t.v6;
    geoip->n6 = t.n6;
    geoip->has_tor = true;
    sfb_log(SFB_NOTICE, "fe.geoip", "loaded %zu IPv4 and %zu IPv6 ranges", t.n, t.n6);
    return 0;
}

int
fe_geoip_load_mmdb(fe_geoip_t *geoip, const char *path)
{
    MMDB_s db;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
    if (rc != MMDB_SUCCESS) {
        sfb_log(SFB_ERROR, "fe.geoip", "cannot open %s: %s", path, MMDB_strerror(rc));
        return -1;
    }
    if (geoip->has_mmdb)
        MMDB_close(&geoip->mmdb);
    geoip->mmdb = db;
    geoip->has_mmdb = true;
    sfb_log(SFB_NOTICE, "fe.geoip", "opened MaxMind database %s (%s)", path,
            db.metadata.database_type);
    return 0;
}

bool
fe_geoip_is_loaded(const fe_geoip_t *geoip)
{
    return geoip->has_mmdb || geoip->has_tor;
}

static void
s_lookup4(const fe_geoip_t *g, uint32_t ip, char cc[3])
{
    size_t lo = 0, hi = g->n4; /* first entry with high >= ip */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->v4[mid].hi < ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->n4 && g->v4[lo].lo <= ip)
        memcpy(cc, g->v4[lo].cc, 3);
}

static void
s_lookup6(const fe_geoip_t *g, const unsigned char ip[16], char cc[3])
{
    size_t lo = 0, hi = g->n6;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(g->v6[mid].hi, ip, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->n6 && memcmp(g->v6[lo].lo, ip, 16) <= 0)
        memcpy(cc, g->v6[lo].cc, 3);
}

static void
s_lookup_mmdb(const fe_geoip_t *g, const char *addr, char cc[3])
{
    int gai = 0, mmdb_error = 0;
    MMDB_lookup_result_s r = MMDB_lookup_string((MMDB_s *)&g->mmdb, addr, &gai, &mmdb_error);
    if (gai != 0 || mmdb_error != MMDB_SUCCESS || !r.found_entry)
        return;
    MMDB_entry_data_s d;
    if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS && d.has_data &&
        d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
        memcpy(cc, d.utf8_string, 2); /* not NUL-terminated in the database */
        cc[2] = '\0';
    }
}

/* Tor files and databases may hold codes that are not two letters (e.g. "A1"): "??". */
static void
s_normalise(char cc[3])
{
    if (strlen(cc) != 2 || !sfb_cc_is_valid(cc, 2))
        memcpy(cc, "??", 3);
}

static void
s_lookup_tor(const fe_geoip_t *geoip, const char *addr, char cc[3])
{
    struct in_addr a4;
    unsigned char a6[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        s_lookup4(geoip, ntohl(a4.s_addr), cc);
    } else if (inet_pton(AF_INET6, addr, a6) == 1) {
        if (memcmp(a6, mapped, 12) == 0)
            s_lookup4(geoip,
                      (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 |
                          a6[15],
                      cc);
        else
            s_lookup6(geoip, a6, cc);
    }
}

void
fe_geoip_lookup(const fe_geoip_t *geoip, const char *addr, char cc[3])
{
    memcpy(cc, "??", 3);
    if (addr == NULL || addr[0] == '\0')
        return;
    if (geoip->has_mmdb)
        s_lookup_mmdb(geoip, addr, cc);
    else
        s_lookup_tor(geoip, addr, cc);
    s_normalise(cc);
}
