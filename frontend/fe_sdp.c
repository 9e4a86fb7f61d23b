/* fe_sdp.c - see fe_sdp.h. Only the a=candidate attributes are read; the rest of the SDP is
 * ignored, so a malformed offer yields "no address", never an error the client could see. */
#include "fe_sdp.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int type_pref;     /* host 126, prflx 110, srflx 100, relay 0 */
    uint64_t priority; /* ICE priority */
    char addr[128];    /* IP literal */
} s_cand_t;

static int
s_type_pref(const char *t)
{
    if (strcmp(t, "host") == 0)
        return 126;
    if (strcmp(t, "prflx") == 0)
        return 110;
    if (strcmp(t, "srflx") == 0)
        return 100;
    if (strcmp(t, "relay") == 0)
        return 0;
    return -1;
}

/* Parse "candidate:F C T PRIO ADDR PORT typ TYPE ..." (the text after "a="). */
static bool
s_parse_candidate(const char *line, size_t len, s_cand_t *c)
{
    char buf[512], type[32], addr[128];
    unsigned long long prio;
    unsigned port;
    if (len >= sizeof buf)
        return false;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (sscanf(buf, "candidate:%*s %*s %*s %llu %127s %u typ %31s", &prio, addr, &port, type) != 4)
        return false;
    unsigned char tmp[16];
    if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)
        return false; /* mDNS names and other non-literals do not count */
    c->type_pref = s_type_pref(type);
    if (c->type_pref < 0)
        return false;
    c->priority = prio;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    return true;
}

static bool
s_better(const s_cand_t *a, const s_cand_t *b)
{
    return a->type_pref != b->type_pref ? a->type_pref > b->type_pref : a->priority > b->priority;
}

static bool
s_best_in_sdp(const char *sdp, char *out, size_t out_size)
{
    bool in_media = false, found = false;
    s_cand_t best = {0};
    for (const char *p = sdp; *p;) {
        const char *eol = p + strcspn(p, "\r\n");
        size_t len = (size_t)(eol - p);
        if (len >= 2 && p[0] == 'm' && p[1] == '=')
            in_media = true;
        s_cand_t c;
        if (in_media && len > 12 && strncmp(p, "a=candidate:", 12) == 0 &&
            s_parse_candidate(p + 2, len - 2, &c) && (!found || s_better(&c, &best))) {
            best = c;
            found = true;
        }
        p = eol + strspn(eol, "\r\n");
    }
    if (found)
        snprintf(out, out_size, "%s", best.addr);
    return found;
}

bool
fe_sdp_client_addr(const char *offer, size_t len, char *out, size_t out_size)
{
    static const char *const types[] = {"offer", "pranswer", "answer", "rollback"};
    if (out_size > 0)
        out[0] = '\0';
    json_t *root = json_loadb(offer, len, 0, NULL);
    if (root == NULL)
        return false;
    bool ok = false;
    json_t *type = json_object_get(root, "type");
    json_t *sdp = json_object_get(root, "sdp");
    if (json_is_string(type) && json_is_string(sdp)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(json_string_value(type), types[i]) == 0)
                ok = true;
        ok = ok && s_best_in_sdp(json_string_value(sdp), out, out_size);
    }
    json_decref(root);
    return ok;
}
