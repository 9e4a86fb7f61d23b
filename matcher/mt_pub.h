/* mt_pub.h - the event publisher: a PUB socket sending [topic][msgpack body] per event
 * (docs/events.md), numbering events from 1 so subscribers can count what they missed, and a
 * ring of the most recent bodies so a subscriber can ask for what it missed (REPLAY_GET, the
 * ZeroMQ guide's "Clone" pattern). Owned by the matcher loop; not thread-safe. */
#ifndef MT_PUB_H
#define MT_PUB_H

#include "mt_tagkey.h"
#include "sfb_curve.h"
#include "sfb_event.h"
#include "sfb_msg.h"

#include <stddef.h>
#include <stdint.h>

/** Largest event body the ring is sized for: a proxy-poll with a tag, every number at its
 *  widest, encodes to 146 bytes (mt_pub_test checks the bound). A larger body still works:
 *  the ring then holds fewer events than asked. */
#define MT_PUB_EVENT_MAX_BYTES 148
/** Ring memory per event: its share of the body arena plus a 4-byte offset. */
#define MT_PUB_RING_BYTES_PER_EVENT (MT_PUB_EVENT_MAX_BYTES + 4)
/** Largest `events` blob in one REPLAY_REPLY: the whole reply must stay within
 *  SFB_MSG_MAX_BYTES, which the receiver's sfb_msg_decode() enforces (64 bytes cover the
 *  header fields: version, type, req_id, epoch, first_seq, count and the bin prefix). */
#define MT_PUB_REPLAY_MAX_BYTES (1024 * 1024 - 64)

typedef struct mt_pub mt_pub_t;

/** Bind a PUB socket on `endpoint` and keep the last `ring_events` event bodies for replay
 *  (0: no replay). Events given an address are tagged with `tagkey` (borrowed: it must
 *  outlive the publisher; NULL: no tags). With `curve` (borrowed, serving; NULL: plain) the
 *  socket is a CURVE server and only allowed subscribers receive anything; without it a
 *  non-loopback endpoint is warned about. Return NULL (after logging why) if it cannot bind. */
mt_pub_t *mt_pub_new(const char *endpoint, size_t ring_events, mt_tagkey_t *tagkey,
                     sfb_curve_t *curve);
/** Close the socket (waiting at most its short linger) and set *pub_p to NULL. */
void mt_pub_destroy(mt_pub_t **pub_p);
/** Publish a copy of `ev` with the epoch, the next sequence number and the wall clock, and
 *  keep its body in the ring. If `addr` is not empty, the event carries the tag of `addr`
 *  under the key of the stats interval that contains the event's own timestamp (read once,
 *  so the two always agree); the address itself goes nowhere. Never blocks, and adds no allocation
 * per event once its encoding buffer is warm (libzmq still copies each frame into its own message).
 * A send error drops the event and counts it (PUB itself drops silently at its HWM); the ring still
 * keeps it, so a replay recovers it. */
void mt_pub_send(mt_pub_t *pub, const sfb_event_t *ev, sfb_str_t addr);
/** Answer a REPLAY_GET into *out: with the current epoch, the bodies from get->from_seq (or
 *  from the oldest held, if older), at most get->max events and MT_PUB_REPLAY_MAX_BYTES bytes.
 *  If get->epoch is not the current epoch, count is 0 and first_seq the oldest seq held (or
 *  the next seq if none is held), so the subscriber can resync. out->events borrows from
 *  `pub` until the next call. */
void mt_pub_replay(mt_pub_t *pub, const sfb_msg_replay_get_t *get, sfb_msg_replay_reply_t *out);
/** Return this incarnation's epoch (random per start). */
uint64_t mt_pub_epoch(const mt_pub_t *pub);
/** Return the last sequence number used (events attempted). */
uint64_t mt_pub_seq(const mt_pub_t *pub);
/** Return the number of events whose send failed. */
uint64_t mt_pub_dropped(const mt_pub_t *pub);
/** Return the number of events the ring holds. */
size_t mt_pub_ring_count(const mt_pub_t *pub);

#endif
