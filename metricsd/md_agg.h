/* md_agg.h - the aggregation of matcher events into the statistics of spec §8.2/§8.3 (HEAD
 * semantics) for one interval at a time, plus the cumulative Prometheus counters of §8.9.
 * Intervals are aligned to multiples of their length since the Unix epoch; an event belongs
 * to the interval containing its timestamp. The caller (md_recv) decides when to close an
 * interval: md_agg_report() then md_agg_advance().
 * Threading: every function that changes state runs on metricsd's receiving thread only.
 * Other threads read the figures through md_agg_stats()/md_agg_prom() (atomics, no lock). */
#ifndef MD_AGG_H
#define MD_AGG_H

#include "md_health.h"
#include "md_prom.h"
#include "md_stats.h"
#include "sfb_buf.h"
#include "sfb_event.h"
#include "sfb_types.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct md_agg md_agg_t;

/** Where a timestamp falls relative to the current interval. */
typedef enum {
    MD_TS_LATE = 0, /* before the current interval: it was already reported */
    MD_TS_CURRENT,  /* inside the current interval */
    MD_TS_AHEAD,    /* at or after its end: close the current interval first */
} md_when_t;

/** Return the start of the interval of length `interval_ms` that contains `t_ms`. */
uint64_t md_agg_align(uint64_t t_ms, uint64_t interval_ms);

/** Create an aggregator whose current interval contains `now_ms`. `health` is borrowed and
 *  must outlive the aggregator. `interval_ms` must be > 0. Never NULL. */
md_agg_t *md_agg_new(uint64_t interval_ms, uint64_t now_ms, md_health_t *health);
/** Destroy and set *agg_p to NULL. Accepts NULL and &NULL. */
void md_agg_destroy(md_agg_t **agg_p);

/** Return the start / end / length of the current interval (ms since the epoch). */
uint64_t md_agg_start_ms(const md_agg_t *agg);
uint64_t md_agg_end_ms(const md_agg_t *agg);
uint64_t md_agg_interval_ms(const md_agg_t *agg);

/** Record the stream position the interval state covers: every event of publisher
 *  incarnation `epoch` up to `seq` has been counted (or counted as missed). It goes into the
 *  checkpoint; the sequencing itself is md_catchup's. */
void md_agg_set_position(md_agg_t *agg, uint64_t epoch, uint64_t seq);
/** Return true once a position was set or loaded. */
bool md_agg_has_position(const md_agg_t *agg);
/** Return the epoch of the position, 0 if none. */
uint64_t md_agg_epoch(const md_agg_t *agg);
/** Return the sequence number of the position, 0 if none. */
uint64_t md_agg_last_seq(const md_agg_t *agg);

/** Classify `ts_ms` against the current interval. */
md_when_t md_agg_when(const md_agg_t *agg, uint64_t ts_ms);
/** Count `ev` into the current interval (the caller checked MD_TS_CURRENT). Return 0, or -1
 *  if the event is impossible (an outcome that does not belong to its kind, an enum out of
 *  range); nothing is counted then. */
int md_agg_apply(md_agg_t *agg, const sfb_event_t *ev);

/** Append the stats log block (spec §8.5) of the current interval. */
void md_agg_report(const md_agg_t *agg, sfb_buf_t *out);
/** Zero the interval statistics, clear the unique set, and make the interval containing
 *  `t_ms` current. `t_ms` must be at or after the current end; otherwise nothing happens. */
void md_agg_advance(md_agg_t *agg, uint64_t t_ms);

/** Return the statistics of the current interval (borrowed; readable from any thread). */
const md_stats_t *md_agg_stats(const md_agg_t *agg);
/** Set the snowflake_available_proxies gauge from the matcher's POOL_REPLY, received at
 *  monotonic `mono_ms` (md_prom_available). */
void md_agg_available(md_agg_t *agg, const sfb_msg_pool_reply_t *pool, uint64_t mono_ms);
/** Return the cumulative Prometheus counters (borrowed; readable from any thread). */
const md_prom_t *md_agg_prom(const md_agg_t *agg);

/** Append a checkpoint of the current interval (statistics, unique set, stream position)
 *  to `out`. The format is private and versioned; the last sequence number and the epoch sit
 *  at byte offsets MD_AGG_CKPT_SEQ_OFFSET and MD_AGG_CKPT_EPOCH_OFFSET as little-endian u64,
 *  for tests and tools. */
void md_agg_save(const md_agg_t *agg, sfb_buf_t *out);
#define MD_AGG_CKPT_SEQ_OFFSET 32
#define MD_AGG_CKPT_EPOCH_OFFSET 48
/** Replace the interval state with the checkpoint in `data`. Returns SFB_OK; SFB_BAD_SYNTAX
 *  (bad magic or checksum), SFB_BAD_VERSION, SFB_TRUNCATED, or SFB_BAD_VALUE (another
 *  interval length, or inconsistent content). On error the aggregator is unchanged. The
 *  loaded interval may have ended: the caller then reports it and advances. */
sfb_rc_t md_agg_load(md_agg_t *agg, const void *data, size_t len);

#endif
