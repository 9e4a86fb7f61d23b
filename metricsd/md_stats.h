/* md_stats.h - the counters of one statistics interval (spec §8.1-§8.3): the named counters
 * and the four country maps. Every cell is a C11 atomic: the receiving thread is the only
 * writer (relaxed increments); any thread may read a cell at any time without a lock. */
#ifndef MD_STATS_H
#define MD_STATS_H

#include "md_cc.h"

#include <stdint.h>

/** Named counters of one interval (upstream names in comments). */
typedef enum {
    MD_C_PROXY_TOTAL = 0,            /* proxy-total: unique proxy tags */
    MD_C_PROXY_IPTPROXY,             /* proxy-iptproxy */
    MD_C_PROXY_STANDALONE,           /* proxy-standalone */
    MD_C_PROXY_WEBEXT,               /* proxy-webext */
    MD_C_PROXY_BADGE,                /* proxy-badge */
    MD_C_PROXY_IDLE,                 /* proxy-idle: polls that ended without a client */
    MD_C_POLL_WITH_RELAY,            /* proxy-poll-with-relay-url */
    MD_C_POLL_WITHOUT_RELAY,         /* proxy-poll-without-relay-url */
    MD_C_POLL_REJECTED,              /* proxy-poll-rejected-relay-url */
    MD_C_CLIENT_DENIED,              /* client-denied */
    MD_C_CLIENT_RESTRICTED_DENIED,   /* client-restricted-denied (restricted or unknown NAT) */
    MD_C_CLIENT_UNRESTRICTED_DENIED, /* client-unrestricted-denied */
    MD_C_CLIENT_MATCH,               /* client-match */
    MD_C_CLIENT_TIMEOUT,             /* client-timeout */
    MD_C_CLIENT_HTTP,                /* client-http */
    MD_C_CLIENT_AMP,                 /* client-amp */
    MD_C_CLIENT_SQS,                 /* client-sqs */
    MD_C_NAT_RESTRICTED,             /* proxy-nat-restricted */
    MD_C_NAT_UNRESTRICTED,           /* proxy-nat-unrestricted */
    MD_C_NAT_UNKNOWN,                /* proxy-nat-unknown */
} md_counter_t;
#define MD_COUNTER_COUNT 20

/** Country maps. */
typedef enum {
    MD_MAP_PROXIES = 0, /* unique proxy tags per country */
    MD_MAP_HTTP,        /* client polls over HTTP per country */
    MD_MAP_AMP,         /* client polls over the AMP cache per country */
    MD_MAP_SQS,         /* client polls over SQS per country */
} md_map_t;
#define MD_MAP_COUNT 4

typedef struct md_stats md_stats_t;

/** Create zeroed statistics. Never NULL. */
md_stats_t *md_stats_new(void);
/** Destroy and set *stats_p to NULL. Accepts NULL and &NULL. */
void md_stats_destroy(md_stats_t **stats_p);
/** Add `n` to counter `c` (writer thread only). */
void md_stats_add(md_stats_t *stats, md_counter_t c, uint64_t n);
/** Add `n` to the `slot` entry of map `m` (writer thread only). */
void md_stats_cc_add(md_stats_t *stats, md_map_t m, size_t slot, uint64_t n);
/** Return counter `c` (any thread). */
uint64_t md_stats_get(const md_stats_t *stats, md_counter_t c);
/** Return the `slot` entry of map `m` (any thread). */
uint64_t md_stats_cc_get(const md_stats_t *stats, md_map_t m, size_t slot);
/** Copy map `m` into `out` (any thread). */
void md_stats_cc_copy(const md_stats_t *stats, md_map_t m, uint64_t out[MD_CC_SLOTS]);
/** Zero everything (writer thread only). */
void md_stats_reset(md_stats_t *stats);

#endif
