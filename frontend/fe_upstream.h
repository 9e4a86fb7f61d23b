/* fe_upstream.h - one DEALER socket towards a peer process (the matcher, ARCHITECTURE §2.1, or
 * metricsd, §2.3) and the table of HTTP requests held while the peer works on them. Each
 * forwarded request has its own deadline, and its HTTP/1 connection is watched for EOF so that
 * a peer that goes away is finished (and, towards the matcher, CANCELled) at once. Several
 * instances may share one h2o loop; each is owned by that loop's thread; not thread-safe. */
#ifndef FE_UPSTREAM_H
#define FE_UPSTREAM_H

#include "sfb_curve.h"
#include "sfb_msg.h"

#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fe_upstream fe_upstream_t;

/** Why a held request is being finished. */
typedef enum {
    FE_UP_REPLY,     /* the matcher answered: `reply` is set */
    FE_UP_TIMEOUT,   /* the frontend's own deadline passed first */
    FE_UP_PEER_GONE, /* the HTTP peer disconnected; CANCEL sent if configured; conn. closes */
    FE_UP_SHUTDOWN,  /* the frontend is stopping; CANCEL sent if configured */
} fe_up_outcome_t;

/** Finish a held request: the callee must respond to `req` before returning. `reply` is
 *  non-NULL only for FE_UP_REPLY and borrowed for the call. `data` is what was passed to
 *  fe_upstream_forward(). */
typedef void (*fe_up_cb)(h2o_req_t *req, void *data, fe_up_outcome_t outcome,
                         const sfb_msg_t *reply);

/** Counters, for logs and tests. */
typedef struct {
    uint64_t sent;         /* requests sent to the peer */
    uint64_t send_failed;  /* sends refused (no peer connected, or HWM reached) */
    uint64_t replies;      /* replies matched to a held request */
    uint64_t orphans;      /* replies for no held request (late, or peer gone): dropped */
    uint64_t bad_frames;   /* frames that did not decode or had the wrong type: dropped */
    uint64_t timeouts;     /* held requests finished by their deadline */
    uint64_t cancels;      /* CANCELs sent (peer gone, deadline or shutdown), retries included */
    uint64_t cancels_lost; /* CANCELs dropped: the queue and the retry backlog were full */
    uint64_t refused;      /* requests refused at once because the cap of held ones was reached */
} fe_upstream_stats_t;

/** How to reach one peer process. */
typedef struct {
    const char *endpoint;     /* ZeroMQ endpoint of the peer's ROUTER (copied by libzmq) */
    const char *peer;         /* "matcher" or "metricsd": for log lines (a string literal) */
    bool cancels;             /* send CANCEL when a held request's peer goes away or on shutdown */
    const sfb_curve_t *curve; /* CURVE client identity (borrowed), or NULL for a plain link */
    const char *server_key;   /* with curve: the peer's public key, Z85 (copied by libzmq) */
} fe_upstream_config_t;

/** Create the DEALER (ZMQ_IMMEDIATE, bounded HWMs, CURVE if cfg->curve), connect it to
 * cfg->endpoint and watch it in ctx's loop. Call zsys_handler_set(NULL) before, if the process
 * handles its own signals. Return NULL (after logging why) if the socket cannot be set up. */
fe_upstream_t *fe_upstream_new(h2o_context_t *ctx, const fe_upstream_config_t *cfg);

/** Finish what is still held (as fe_upstream_shutdown), close the socket, set *up_p NULL. */
void fe_upstream_destroy(fe_upstream_t **up_p);

/** Hold at most `max_held` requests at once (0: no cap, the default); fe_upstream_forward()
 *  refuses the rest, counted as `refused`. */
void fe_upstream_set_max_held(fe_upstream_t *up, size_t max_held);

/** Assign msg->req_id, send `msg`, and hold `req` until the reply, `deadline_ms`, the HTTP
 *  peer's disconnect, or shutdown; then call cb(req, data, ...) exactly once. `data` must live
 *  in req's pool. A request is held by at most one upstream at a time. Return 0 when held, or
 *  -1 if the cap of held requests is reached or the send failed (peer not connected, queue
 *  full): then nothing is sent or held and the caller answers at once. */
int fe_upstream_forward(fe_upstream_t *up, h2o_req_t *req, sfb_msg_t *msg, uint64_t deadline_ms,
                        fe_up_cb cb, void *data);

/** Finish every held request with FE_UP_SHUTDOWN (sending a CANCEL for each if configured). */
void fe_upstream_shutdown(fe_upstream_t *up);

/** Return the number of held requests. */
size_t fe_upstream_held(const fe_upstream_t *up);

/** Copy the counters to *out. */
void fe_upstream_stats(const fe_upstream_t *up, fe_upstream_stats_t *out);

/** Log the counters at notice level, one line, with `what` ("stopped") first. */
void fe_upstream_log_stats(const fe_upstream_t *up, const char *what);

#endif
