/* md_health.h - metricsd's own health figures (missed events, decode errors, checkpoints,
 * replies...). They are exposed only on the operator's --prometheus-addr endpoint, never in
 * the published statistics. Any thread may update or read a figure: each is a C11 atomic.
 * A rendering is not a snapshot (each figure is read on its own), but a gauge set after
 * other updates is a release: a reader that sees the new value (an acquire) also sees every
 * update made before it, e.g. once MD_H_LAST_SEQ shows seq N, a later read of MD_H_EVENTS
 * includes event N. */
#ifndef MD_HEALTH_H
#define MD_HEALTH_H

#include "sfb_buf.h"

#include <stdint.h>

typedef enum {
    MD_H_EVENTS = 0,         /* counter: events counted into an interval */
    MD_H_DECODE_ERRORS,      /* counter: event bodies that did not decode */
    MD_H_INVALID,            /* counter: decoded events with an impossible outcome */
    MD_H_MISSED,             /* counter: events lost for good (gaps no replay could fill) */
    MD_H_PUBLISHER_RESTARTS, /* counter: the publisher's epoch changed (matcher restarted) */
    MD_H_LATE,               /* counter: events for an interval already reported */
    MD_H_FUTURE,             /* counter: events time-stamped implausibly far ahead */
    MD_H_CHECKPOINTS,        /* counter: checkpoints written */
    MD_H_CHECKPOINT_ERRORS,  /* counter: checkpoints that failed */
    MD_H_REPORTS,            /* counter: interval blocks written */
    MD_H_REPORT_ERRORS,      /* counter: interval blocks that could not be written */
    MD_H_REQUESTS,           /* counter: REPORT_GET requests answered */
    MD_H_BAD_REQUESTS,       /* counter: frames on --listen that were not a REPORT_GET */
    MD_H_REPLY_DROPS,        /* counter: replies the ROUTER could not send */
    MD_H_TRUNCATED,          /* counter: replies cut to fit the message size limit */
    MD_H_SET_ENTRIES,        /* gauge: keys in the unique-tag set of the current interval */
    MD_H_SET_BYTES,          /* gauge: memory of that set */
    MD_H_INTERVAL_START,     /* gauge: start of the current interval, seconds since the epoch */
    MD_H_LAST_SEQ,           /* gauge: last sequence number seen */
    MD_H_DUPLICATES,         /* counter: events received twice (live and replayed), counted once */
    MD_H_REPLAY_REQUESTS,    /* counter: REPLAY_GET requests sent to the matcher */
    MD_H_REPLAYED,           /* counter: events recovered from a REPLAY_REPLY */
    MD_H_REPLAY_TIMEOUTS,    /* counter: REPLAY_GET requests that got no answer in time */
    MD_H_REPLAY_GIVE_UPS,    /* counter: catch-ups abandoned after the last retry */
    MD_H_BUFFER_DROPS,       /* counter: live events not buffered during a catch-up (full) */
    MD_H_CATCHING_UP,        /* gauge: 1 while a catch-up is in progress */
    MD_H_BUFFERED,           /* gauge: live events buffered until the catch-up reaches them */
    MD_H_CURVE_REFUSED,      /* counter: CURVE handshakes refused on --listen */
} md_health_item_t;
#define MD_HEALTH_COUNT 28

typedef struct md_health md_health_t;

/** Create zeroed figures. Never NULL. */
md_health_t *md_health_new(void);
/** Destroy and set *health_p to NULL. Accepts NULL and &NULL. */
void md_health_destroy(md_health_t **health_p);
/** Add `n` to figure `item` (any thread). */
void md_health_add(md_health_t *health, md_health_item_t item, uint64_t n);
/** Set gauge `item` to `v` (any thread), with release order. */
void md_health_set(md_health_t *health, md_health_item_t item, uint64_t v);
/** Return figure `item` (any thread), with acquire order. */
uint64_t md_health_get(const md_health_t *health, md_health_item_t item);
/** Append every figure as Prometheus text, families sorted by name ("snowflake_metricsd_*"). */
void md_health_format(const md_health_t *health, sfb_buf_t *out);

#endif
