/* mt_core.h - all matching state and rules (spec §4): the two proxy pools, the Sid map, held
 * requests, hold timers, answer routing, /debug text. Socket-free: it takes decoded messages
 * with the sender's identity and a monotonic now_ms, and emits replies and events through
 * callbacks, so tests drive it with a fake clock. Owned by the matcher loop; not thread-safe. */
#ifndef MT_CORE_H
#define MT_CORE_H

#include "mt_bridges.h"
#include "sfb_event.h"
#include "sfb_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest ZeroMQ ROUTER identity. */
#define MT_IDENT_MAX 255
/** Longest proxy address that is tagged (canonical IPv6 text is at most 45 bytes; a longer
 *  one is not an address: its event gets no tag, and it is counted). */
#define MT_ADDR_MAX 64

typedef struct mt_core mt_core_t;

/** Where the core sends its output. Callbacks must not call back into the core. */
typedef struct {
    /** Queue `msg` for the frontend `ident`. Return 0, or -1 if it could not be queued
     *  (frontend gone or its queue full): the core then treats that peer as gone. */
    int (*reply)(void *ctx, const unsigned char *ident, size_t ident_len, const sfb_msg_t *msg);
    /** Publish `ev`; its epoch, seq, ts_ms and tag are left 0 for the publisher to fill. If
     *  `addr` is not empty (only proxy-poll events matched, idle or cancelled, of a request
     *  that carried an address), the publisher tags the event with it; the address is
     *  borrowed for the call and must never be published. */
    void (*event)(void *ctx, const sfb_event_t *ev, sfb_str_t addr);
    void *ctx; /* passed to both */
} mt_core_io_t;

typedef struct {
    uint64_t proxy_timeout_ms;   /* hold of a proxy poll, from arrival */
    uint64_t client_timeout_ms;  /* wait of a matched client, from arrival */
    const char *allowed_pattern; /* --allowed-relay-pattern (borrowed for the call) */
} mt_core_config_t;

/** Counters for logs; never reset. */
typedef struct {
    uint64_t requests;       /* requests handled */
    uint64_t not_request;    /* frames of a reply type, dropped */
    uint64_t dup_req_id;     /* a held (identity, req_id) reused, dropped */
    uint64_t bad_ident;      /* identity empty or too long, dropped */
    uint64_t unknown_cancel; /* CANCEL for nothing held (normal after a reply raced it) */
    uint64_t reply_failed;   /* reply callback returned -1 */
    uint64_t match_failed;   /* of which MATCH replies: that proxy was dropped */
    uint64_t not_for_core;   /* requests meant for metricsd or the publisher, dropped */
    uint64_t long_addr;      /* proxy polls whose address exceeded MT_ADDR_MAX: not tagged */
} mt_core_stats_t;

/** Create a core using `*bridges_p` (ownership moves in, *bridges_p set to NULL). */
mt_core_t *mt_core_new(const mt_core_config_t *cfg, mt_bridges_t **bridges_p,
                       const mt_core_io_t *io);
/** Free every record without replying (call mt_core_shutdown() first to answer them), then
 *  set *core_p to NULL. Accepts NULL and &NULL. */
void mt_core_destroy(mt_core_t **core_p);
/** Replace the bridge list (ownership moves in). Held requests are unaffected. */
void mt_core_set_bridges(mt_core_t *core, mt_bridges_t **bridges_p);

/** Handle one decoded message from frontend `ident` at `now_ms`. First expires whatever is
 *  due at now_ms, so nothing is matched after its deadline. Bad input is counted, never fatal. */
void mt_core_handle(mt_core_t *core, const unsigned char *ident, size_t ident_len,
                    const sfb_msg_t *msg, uint64_t now_ms);
/** End every hold whose deadline is <= now_ms: proxies get NO_MATCH, clients TIMEOUT. */
void mt_core_expire(mt_core_t *core, uint64_t now_ms);
/** Return the earliest pending deadline, or UINT64_MAX if nothing is held. */
uint64_t mt_core_next_deadline(const mt_core_t *core);
/** Answer everything held (proxies NO_MATCH + event idle, clients TIMEOUT + event timeout). */
void mt_core_shutdown(mt_core_t *core);

/** Return the number of pooled proxies in the unrestricted (true) or restricted pool. */
size_t mt_core_pool_size(const mt_core_t *core, bool unrestricted);
/** Return the number of Sid map entries (pooled + matched awaiting an answer). */
size_t mt_core_sid_count(const mt_core_t *core);
/** Copy the number of proxies available by type and NAT (pooled, or matched and awaiting
 *  their answer: upstream's snowflake_available_proxies) into `out`. O(1). */
void mt_core_available(const mt_core_t *core, uint32_t out[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT]);
/** Return the number of clients waiting for an answer. */
size_t mt_core_waiting_clients(const mt_core_t *core);
/** Return the counters. */
const mt_core_stats_t *mt_core_stats(const mt_core_t *core);

#endif
