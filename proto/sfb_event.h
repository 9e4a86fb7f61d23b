/* sfb_event.h - the matcher's event stream (docs/events.md). Each event is two ZeroMQ frames
 * on the PUB socket: a topic ("proxy-poll", "client-poll", "proxy-answer") and a msgpack map
 * with string keys, a schema version and a per-publisher sequence number. No event carries an
 * address: only a country code and, from schema 1 on, an optional keyed IP tag.
 * Pure functions; thread-safe. */
#ifndef SFB_EVENT_H
#define SFB_EVENT_H

#include "sfb_buf.h"
#include "sfb_msg.h"
#include "sfb_types.h"

#include <stdbool.h>
#include <stdint.h>

#define SFB_EVENT_SCHEMA 1
#define SFB_EVENT_TAG_BYTES 8

typedef enum {
    SFB_EV_PROXY_POLL = 0,   /* a proxy poll ended (matched, idle, rejected or cancelled) */
    SFB_EV_CLIENT_POLL = 1,  /* a client poll reached proxy selection and ended */
    SFB_EV_PROXY_ANSWER = 2, /* a proxy posted an answer */
} sfb_event_kind_t;
#define SFB_EV_KIND_COUNT 3

typedef enum {
    SFB_OUT_MATCHED = 0,     /* proxy poll got a client / client poll got an answer */
    SFB_OUT_IDLE = 1,        /* proxy poll: no client within the hold time */
    SFB_OUT_REJECTED = 2,    /* proxy poll: relay pattern refused */
    SFB_OUT_CANCELLED = 3,   /* proxy poll: HTTP peer left while held */
    SFB_OUT_DENIED = 4,      /* client poll: no proxy available */
    SFB_OUT_TIMEOUT = 5,     /* client poll: matched proxy did not answer in time */
    SFB_OUT_SUCCESS = 6,     /* proxy answer: delivered */
    SFB_OUT_CLIENT_GONE = 7, /* proxy answer: nobody waiting */
} sfb_outcome_t;
#define SFB_OUT_COUNT 8

typedef struct {
    sfb_event_kind_t kind;                  /* which event */
    uint64_t epoch;                         /* publisher incarnation: random per matcher start */
    uint64_t seq;                           /* per-publisher, starts at 1, +1 per event */
    uint64_t ts_ms;                         /* wall clock, ms since the epoch */
    sfb_outcome_t outcome;                  /* how it ended */
    sfb_proxy_type_t ptype;                 /* proxy type (proxy-poll, proxy-answer) */
    sfb_nat_t nat;                          /* proxy NAT (proxy-poll) or client NAT (client-poll) */
    sfb_method_t method;                    /* rendezvous method (client-poll) */
    bool relay_pattern;                     /* proxy-poll: AcceptedRelayPattern was sent */
    char cc[SFB_CC_LEN + 1];                /* country code, "??" when unknown */
    bool has_tag;                           /* tag is set */
    unsigned char tag[SFB_EVENT_TAG_BYTES]; /* keyed per-interval IP tag */
} sfb_event_t;

/** Return the topic frame of `kind` ("proxy-poll", ...). */
const char *sfb_event_topic(sfb_event_kind_t kind);
/** Return the wire name of `outcome` ("matched", "idle", ...). */
const char *sfb_outcome_str(sfb_outcome_t outcome);

/** Append the msgpack body of `ev` to `out` (the topic frame is sent separately). */
void sfb_event_encode(const sfb_event_t *ev, sfb_buf_t *out);
/** Decode a body into *ev. Unknown keys are ignored (forward compatibility); a missing or
 *  newer schema gives SFB_BAD_VERSION; missing required keys SFB_BAD_VALUE. */
sfb_rc_t sfb_event_decode(const void *body, size_t len, sfb_event_t *ev);

/** Decode the event body that starts at blob[*off] in a concatenation of bodies (a replay
 *  batch), and advance *off past it. Same results as sfb_event_decode(); on SFB_TRUNCATED or
 *  a syntax error *off is left unchanged. */
sfb_rc_t sfb_event_decode_next(const void *blob, size_t len, size_t *off, sfb_event_t *ev);

#endif
