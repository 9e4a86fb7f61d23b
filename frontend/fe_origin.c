/* fe_origin.c - see fe_origin.h. The offer is parsed only when its candidate is needed: a
 * database is loaded and the request gave no address of its own. */
#include "fe_origin.h"

#include "fe_sdp.h"

#include <stdio.h>
#include <string.h>

static bool
s_has_db(const fe_geoip_t *geoip)
{
    return geoip != NULL && fe_geoip_is_loaded(geoip);
}

static void
s_set_addr(fe_origin_t *o, const char *addr)
{
    snprintf(o->addr, sizeof o->addr, "%s", addr != NULL ? addr : "");
    o->addr_len = strlen(o->addr);
}

void
fe_origin_proxy(fe_origin_t *o, const fe_geoip_t *geoip, const char *rule_addr)
{
    s_set_addr(o, rule_addr);
    if (s_has_db(geoip))
        fe_geoip_lookup(geoip, o->addr, o->cc);
    else
        o->cc[0] = '\0';
}

void
fe_origin_client(fe_origin_t *o, const fe_geoip_t *geoip, bool amp, const char *rule_addr,
                 const char *offer, size_t offer_len)
{
    s_set_addr(o, amp ? "" : rule_addr);
    if (!s_has_db(geoip)) {
        o->cc[0] = '\0';
        return;
    }
    if (o->addr_len > 0) {
        fe_geoip_lookup(geoip, o->addr, o->cc);
        return;
    }
    char cand[FE_CLIENTIP_MAX];
    if (!fe_sdp_client_addr(offer, offer_len, cand, sizeof cand))
        cand[0] = '\0';
    fe_geoip_lookup(geoip, cand, o->cc); /* "" gives "??" */
}
