/* fe_origin.h - where a proxy poll or client offer comes from, as the frontend tells the
 * matcher: the address the client-IP rule gave (spec §2.12) and its country code. The address
 * becomes a country here, where it is first seen (ARCHITECTURE §3). Called by fe_http for
 * every PROXY_POLL and CLIENT_OFFER; pure functions of their arguments, thread-safe. */
#ifndef FE_ORIGIN_H
#define FE_ORIGIN_H

#include "fe_clientip.h"
#include "fe_geoip.h"

#include <stdbool.h>
#include <stddef.h>

/** The origin of one request. */
typedef struct {
    char addr[FE_CLIENTIP_MAX]; /* address for the matcher, NUL-terminated; may be "" */
    size_t addr_len;            /* strlen(addr) */
    char cc[3];                 /* "" no database loaded, "??" unknown, else two letters */
} fe_origin_t;

/** Locate a proxy at `rule_addr` (the client-IP rule's result, may be ""): the address is
 *  kept; the country is "" when `geoip` is NULL or has nothing loaded (then metricsd keeps no
 *  proxy IP statistics, spec §8.2), else its lookup ("??" when unknown). */
void fe_origin_proxy(fe_origin_t *o, const fe_geoip_t *geoip, const char *rule_addr);

/** Locate a client. `offer` (offer_len bytes) is its SDP offer (a JSON session description).
 *  HTTP (`amp` false): the address is `rule_addr`; the country is its lookup, or, when the
 *  rule gave "", the lookup of the offer's best ICE candidate (spec §4.4 step 2, HEAD).
 *  AMP (`amp` true, upstream HEAD §2.7): the address is "" (the cache is the TCP peer) and the
 *  country comes from the offer's best candidate. No candidate: "??". No database: "". The
 *  candidate's address is used only for the lookup; it is never sent on. */
void fe_origin_client(fe_origin_t *o, const fe_geoip_t *geoip, bool amp, const char *rule_addr,
                      const char *offer, size_t offer_len);

#endif
