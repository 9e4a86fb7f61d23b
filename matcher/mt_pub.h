/* mt_pub.h - the event publisher: a PUB socket sending [topic][msgpack body] per event
 * (docs/events.md), numbering events from 1 so subscribers can count what they missed.
 * Owned by the matcher loop; not thread-safe (one ZeroMQ socket, one thread). */
#ifndef MT_PUB_H
#define MT_PUB_H

#include "sfb_event.h"

#include <stdint.h>

typedef struct mt_pub mt_pub_t;

/** Bind a PUB socket on `endpoint`. Return NULL (after logging why) if it cannot bind. */
mt_pub_t *mt_pub_new(const char *endpoint);
/** Close the socket (waiting at most its short linger) and set *pub_p to NULL. */
void mt_pub_destroy(mt_pub_t **pub_p);
/** Publish a copy of `ev` with the next sequence number and the wall clock. Never blocks:
 *  a send error drops the event and counts it (PUB itself drops silently at its HWM). */
void mt_pub_send(mt_pub_t *pub, const sfb_event_t *ev);
/** Return the last sequence number used (events attempted). */
uint64_t mt_pub_seq(const mt_pub_t *pub);
/** Return the number of events whose send failed. */
uint64_t mt_pub_dropped(const mt_pub_t *pub);

#endif
