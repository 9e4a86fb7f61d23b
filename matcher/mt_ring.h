/* mt_ring.h - a bounded ring of the most recent encoded events, for replay to subscribers that
 * missed some (ZeroMQ guide "Clone" pattern). Bodies are stored back to back in one circular
 * byte arena with a 4-byte offset per event and nothing else: sequence numbers are consecutive,
 * so entry i holds seq oldest + i. Pushing never allocates. Owned by the publisher; not
 * thread-safe. */
#ifndef MT_RING_H
#define MT_RING_H

#include "sfb_buf.h"

#include <stddef.h>
#include <stdint.h>

/** Largest arena mt_ring_new() accepts (offsets are 32-bit). */
#define MT_RING_MAX_ARENA_BYTES ((size_t)UINT32_MAX)

typedef struct mt_ring mt_ring_t;

/** Create an empty ring that keeps at most `max_events` events and `arena_bytes` bytes of
 *  bodies (whichever binds first evicts the oldest). Both may be 0: the ring then holds
 *  nothing. `arena_bytes` is clamped to MT_RING_MAX_ARENA_BYTES. Never NULL. */
mt_ring_t *mt_ring_new(size_t max_events, size_t arena_bytes);
/** Free the ring and set *ring_p to NULL. Accepts NULL and &NULL. */
void mt_ring_destroy(mt_ring_t **ring_p);

/** Store a copy of `body` (`len` bytes) as event `seq`, evicting the oldest events as needed.
 *  `seq` must follow the newest held event; otherwise the ring first forgets everything (the
 *  sequence restarted). A body that can never fit (len 0 or >= arena_bytes) is not stored and
 *  the ring forgets everything: a replay then reports those events as lost. */
void mt_ring_push(mt_ring_t *ring, uint64_t seq, const void *body, size_t len);

/** Return the number of events held. */
size_t mt_ring_count(const mt_ring_t *ring);
/** Return the seq of the oldest event held; when empty, the seq the next push continues from
 *  (newest seq pushed + 1, or 1 if nothing was pushed yet: sequences start at 1). */
uint64_t mt_ring_oldest(const mt_ring_t *ring);
/** Return the seq of the newest event held, or mt_ring_oldest() - 1 when empty. */
uint64_t mt_ring_newest(const mt_ring_t *ring);
/** Return the bytes of bodies held. */
size_t mt_ring_bytes(const mt_ring_t *ring);

/** Append to `out` the bodies of consecutive events starting at `from_seq` (or at the oldest
 *  held, if from_seq is older), at most `max_events` of them and at most `max_bytes` bytes in
 *  all. Set *first_seq to the seq of the first event appended, or, if none, to where the next
 *  read would start (the oldest held if from_seq is older, else min(from_seq, newest + 1)).
 *  Return the number of events appended. */
size_t mt_ring_read(const mt_ring_t *ring, uint64_t from_seq, size_t max_events, size_t max_bytes,
                    sfb_buf_t *out, uint64_t *first_seq);

#endif
