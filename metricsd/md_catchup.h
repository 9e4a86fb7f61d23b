/* md_catchup.h - puts the matcher's event stream back in order for the aggregator. It
 * tracks the stream position (epoch, last seq), drops duplicates, and fills sequence gaps by
 * asking the matcher to replay them (REPLAY_GET, the ZeroMQ guide's "Clone" pattern): live
 * events that arrive while a gap is being filled wait in a bounded buffer and are applied
 * when the replay reaches them, so every event is applied at most once and in sequence
 * order. What the matcher can no longer give is counted as missed (MD_H_MISSED).
 * No sockets here: the owner sends the requests and feeds the replies, so tests can fake
 * both. Threading: owned by metricsd's receiving thread. */
#ifndef MD_CATCHUP_H
#define MD_CATCHUP_H

#include "md_health.h"
#include "sfb_event.h"
#include "sfb_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Count one event. Called in sequence order, at most once per (epoch, seq). While it runs,
 *  md_catchup_last_seq() is still the previous position (the event is not yet counted). */
typedef void md_catchup_apply_fn(void *arg, const sfb_event_t *ev);
/** Send one REPLAY_GET. It may fail silently: an unanswered request times out and is sent
 *  again. `get` is valid during the call only. */
typedef void md_catchup_send_fn(void *arg, const sfb_msg_t *get);

typedef struct {
    bool replay;                /* a matcher can be asked; false: gaps are counted missed */
    size_t buffer_max;          /* live events held while a gap is being filled, > 0 */
    uint32_t batch_max;         /* `max` of each REPLAY_GET, > 0 */
    uint64_t timeout_ms;        /* wait this long for each REPLAY_REPLY */
    unsigned retries;           /* send a timed-out request again this often, then give up */
    uint64_t settle_ms;         /* after md_catchup_resume(), wait this long for a live event */
    md_catchup_apply_fn *apply; /* counts events */
    md_catchup_send_fn *send;   /* sends requests (not called when replay is false) */
    void *arg;                  /* passed to apply and send */
} md_catchup_cfg_t;

typedef struct md_catchup md_catchup_t;

/** Create a sequencer with no position: the first live event sets it (nothing before that
 *  event is fetched or counted missed). `health` is borrowed. Never NULL. */
md_catchup_t *md_catchup_new(const md_catchup_cfg_t *cfg, md_health_t *health);
/** Destroy and set *c_p to NULL. Accepts NULL and &NULL. */
void md_catchup_destroy(md_catchup_t **c_p);

/** Continue from a checkpoint: every event of publisher incarnation `epoch` up to `seq` has
 *  been counted. With replay, ask for everything after it: when the first live event shows
 *  a gap, or settle_ms after the next md_catchup_tick() if none comes. */
void md_catchup_resume(md_catchup_t *c, uint64_t epoch, uint64_t seq);

/** Handle a live event at monotonic time `now_ms`: apply it if it is the next one, drop it if
 *  it is a duplicate, else buffer it and ask for the gap (without replay: count the gap
 *  missed and apply it). A new epoch means the matcher restarted: see docs/statistics.md. */
void md_catchup_live(md_catchup_t *c, const sfb_event_t *ev, uint64_t now_ms);
/** Handle a REPLAY_REPLY whose frame carried `req_id`. A reply to anything but the request
 *  in flight is ignored. Events are applied in order; those already applied are dropped; a
 *  first_seq beyond what was asked means the events before it left the matcher's ring:
 *  counted missed. Undecodable bodies count as decode errors. */
void md_catchup_reply(md_catchup_t *c, uint64_t req_id, const sfb_msg_replay_reply_t *rep,
                      uint64_t now_ms);
/** Send the first request when due, send a request again after timeout_ms, and give up after
 *  `retries` re-sends: the buffered events are then applied and the gaps known to exist
 *  (below a buffered or seen event) are counted missed. Call at least every timeout_ms / 4. */
void md_catchup_tick(md_catchup_t *c, uint64_t now_ms);

/** Return true while events are being fetched: the owner should not close an interval whose
 *  end has passed, since replayed events may still belong to it. */
bool md_catchup_is_busy(const md_catchup_t *c);
/** Return true once the position is known (resumed or set by a live event). */
bool md_catchup_has_position(const md_catchup_t *c);
/** Return the epoch of the position (0 if none). */
uint64_t md_catchup_epoch(const md_catchup_t *c);
/** Return the last sequence number applied or counted missed (0 if none). */
uint64_t md_catchup_last_seq(const md_catchup_t *c);

#endif
