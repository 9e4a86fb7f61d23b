/* md_recv.h - metricsd's receiving thread. It owns the SUB socket, the DEALER towards the
 * matcher (with --matcher) and the aggregator: it decodes every event, puts the stream in
 * order (md_catchup: duplicates dropped, gaps fetched with REPLAY_GET, the rest counted
 * missed), counts each event into the interval containing its timestamp, closes an
 * interval (writes its block to the stats log) when an event of a later interval arrives or
 * when the wall clock passes the interval end plus a short grace and no catch-up is under
 * way, and checkpoints the partial interval and the stream position to --state-dir at least
 * every `checkpoint_ms` while events flow, after each interval end, and when it stops.
 *
 * Threading: md_recv_new(), md_recv_handle(), md_recv_tick() and md_recv_destroy() run on
 * the creating thread until md_recv_start(); from then on only the receiving thread changes
 * the state, and other threads read the figures through md_recv_prom()/md_recv_stats()
 * (atomics, no lock). Because the report is formatted by the same thread that counts, no
 * event can fall between the snapshot and the reset: the rollover is exact. */
#ifndef MD_RECV_H
#define MD_RECV_H

#include "md_catchup.h"
#include "md_health.h"
#include "md_prom.h"
#include "md_stats.h"
#include "md_statslog.h"
#include "sfb_curve.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *events_ep;           /* SUB endpoint to connect (borrowed) */
    const char *state_dir;           /* checkpoint directory, or NULL for none (borrowed) */
    uint64_t interval_ms;            /* statistics interval, > 0 */
    uint64_t checkpoint_ms;          /* checkpoint period while events flow */
    uint64_t grace_ms;               /* wait this long after an interval end for late events */
    const char *matcher_ep;          /* the matcher's ROUTER for REPLAY_GET, or NULL: no replay */
    uint64_t replay_timeout_ms;      /* wait this long for each REPLAY_REPLY (0: 1 s) */
    md_catchup_send_fn *replay_send; /* tests: send REPLAY_GETs here instead of a DEALER */
    void *replay_arg;                /* passed to replay_send */
    const sfb_curve_t *curve;        /* CURVE identity towards the matcher, or NULL: plain */
    const char *matcher_key;         /* with curve: the matcher's public key, Z85 (borrowed) */
} md_recv_cfg_t;

typedef struct md_recv md_recv_t;

/** Create the receiver with the interval containing `now_ms`, then resume the checkpoint in
 *  cfg->state_dir if there is one: if its interval is still current it continues; if that
 *  interval ended while metricsd was down, its block is written first (unless the log
 *  already ends with it), or, with a matcher to ask, once the events published while
 *  metricsd was down have been replayed. `log` and `health` are borrowed. Never NULL. */
md_recv_t *md_recv_new(const md_recv_cfg_t *cfg, md_statslog_t *log, md_health_t *health,
                       uint64_t now_ms);
/** Start the receiving thread (connects the SUB socket). Return 0 or -1. */
int md_recv_start(md_recv_t *recv);
/** Stop the thread if started (it writes a final checkpoint), free everything, set
 *  *recv_p to NULL. Accepts NULL and &NULL. */
void md_recv_destroy(md_recv_t **recv_p);

/** Handle one event body received at wall time `now_ms` (used by the thread; callable
 *  directly before md_recv_start(), e.g. by tests). */
void md_recv_handle(md_recv_t *recv, const void *body, size_t len, uint64_t now_ms);
/** Handle one frame from the matcher's ROUTER (a REPLAY_REPLY) received at wall time
 *  `now_ms`; anything else is counted as a decode error and dropped. Same threading. */
void md_recv_handle_reply(md_recv_t *recv, const void *frame, size_t len, uint64_t now_ms);
/** Time out or start replay requests at monotonic time `mono_ms`, close the interval if the
 *  wall clock `now_ms` passed its end plus the grace and no catch-up is under way, and
 *  checkpoint if due. */
void md_recv_tick(md_recv_t *recv, uint64_t now_ms, uint64_t mono_ms);
/** Write a checkpoint now if there is a state directory. Return 0 or -1. */
int md_recv_checkpoint(md_recv_t *recv);

/** Cumulative Prometheus counters (borrowed; any thread). */
const md_prom_t *md_recv_prom(const md_recv_t *recv);
/** Statistics of the current interval (borrowed; any thread). */
const md_stats_t *md_recv_stats(const md_recv_t *recv);

#endif
