/* mt_router.h - the matcher's socket side and its one loop: a ROUTER socket for frontends
 * (frames [identity][msgpack request], docs/protocol.md) and for metricsd's REPLAY_GET
 * (answered from the publisher's ring), replies sent without ever blocking, hold deadlines
 * from mt_core, and a signal pipe. Owned by main; single-threaded. */
#ifndef MT_ROUTER_H
#define MT_ROUTER_H

#include "mt_core.h"
#include "mt_pub.h"
#include "sfb_curve.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct mt_router mt_router_t;

/** Counters for logs; never reset. */
typedef struct {
    uint64_t frames;      /* well-framed requests decoded and handed to the core */
    uint64_t bad_framing; /* messages that were not exactly [identity][payload] */
    uint64_t undecodable; /* payloads sfb_msg_decode refused */
    uint64_t replies;     /* replies queued */
    uint64_t unreachable; /* replies to a frontend that is gone (EHOSTUNREACH) */
    uint64_t full;        /* replies to a frontend whose queue is full (EAGAIN) */
    uint64_t send_other;  /* replies failing for any other reason */
    uint64_t replays;     /* REPLAY_GET requests answered */
    uint64_t replayed;    /* events sent in REPLAY_REPLYs */
} mt_router_stats_t;

/** Called from the loop for each signal written to the signal pipe. Return false to stop. */
typedef bool (*mt_router_signal_fn)(void *ctx, int signo);

/** Bind a ROUTER on `endpoint`; events go to `pub` (borrowed, may be NULL in tests). With
 *  `curve` (borrowed, serving; NULL: plain) the socket is a CURVE server for allowed clients
 *  only, and the stats line counts refused handshakes; without it a non-loopback endpoint is
 *  warned about. Return NULL (after logging why) if the socket cannot be set up or bound. */
mt_router_t *mt_router_new(const char *endpoint, mt_pub_t *pub, sfb_curve_t *curve);
/** Close the socket, waiting at most its linger for queued replies, and set *router_p to NULL. */
void mt_router_destroy(mt_router_t **router_p);
/** Return the callbacks the core must use to reply and publish through this router. */
mt_core_io_t mt_router_io(mt_router_t *router);
/** Run the loop for `core` until `on_signal` returns false (return 0) or polling fails
 *  (return -1). `signal_fd` is the non-blocking read end of a pipe carrying one byte per
 *  signal number. Each wakeup drains every available message, then expires due holds. */
int mt_router_run(mt_router_t *router, mt_core_t *core, int signal_fd,
                  mt_router_signal_fn on_signal, void *ctx);
/** Return the counters. */
const mt_router_stats_t *mt_router_stats(const mt_router_t *router);
/** Log the router, core and publisher counters on one notice line. */
void mt_router_log_stats(const mt_router_t *router, const mt_core_t *core, const char *what);

#endif
