/* sfb_zmon.h - counts the ZeroMQ handshakes that server sockets refuse (a CURVE client whose
 * key is not allowed, a peer without CURVE, a wrong server key), from libzmq's socket monitor
 * events, and logs them rate-limited. One actor thread reads every watched socket's monitor;
 * the counters are C11 atomics any thread may read. Used by sfb_curve. */
#ifndef SFB_ZMON_H
#define SFB_ZMON_H

#include <stdint.h>

typedef struct sfb_zmon sfb_zmon_t;

/** Called on the monitor's thread once per refused handshake. */
typedef void(sfb_zmon_fn)(void *arg);

/** Counters; never reset. */
typedef struct {
    uint64_t accepted;      /* handshakes that succeeded */
    uint64_t refused_auth;  /* the ZAP handler (zauth) denied the client's key */
    uint64_t refused_proto; /* protocol failures: no CURVE, wrong server key, bad crypto */
    uint64_t refused_other; /* failures without detail (e.g. peer gone mid-handshake) */
} sfb_zmon_stats_t;

/** Start the monitor thread. `on_refused` (may be NULL) is called with `arg` on that thread
 *  for every refusal. Create it after zsys_handler_set(NULL). Signals are blocked on the
 *  thread. Return NULL (after logging why) if the thread cannot start. */
sfb_zmon_t *sfb_zmon_new(sfb_zmon_fn *on_refused, void *arg);
/** Stop the thread and set *zmon_p to NULL. Accepts NULL and &NULL. Destroy the monitor only
 *  after every watched socket is closed: libzmq blocks on a monitor nobody reads. */
void sfb_zmon_destroy(sfb_zmon_t **zmon_p);
/** Watch `sock` (a zsock_t or a libzmq socket; call on the thread that owns it, before it
 *  binds) under the log name `name` (copied). Return 0, or -1 (logged) on failure. */
int sfb_zmon_watch(sfb_zmon_t *zmon, void *sock, const char *name);
/** Copy the counters to *out (any thread). */
void sfb_zmon_stats(const sfb_zmon_t *zmon, sfb_zmon_stats_t *out);
/** Return the number of refused handshakes of every kind (any thread). */
uint64_t sfb_zmon_refused(const sfb_zmon_t *zmon);

#endif
