/* md_server.h - the ROUTER socket on --listen where frontends fetch reports: each
 * REPORT_GET (proto/sfb_msg.h) gets one REPORT_REPLY with the whole stats log (found=false
 * without a readable --metrics-log) or the Prometheus text of spec §8.9. Replies are sent
 * with ZMQ_DONTWAIT and ROUTER_MANDATORY (an unreachable or slow peer costs a counted drop,
 * never a block) and are cut to fit SFB_MSG_MAX_BYTES. Runs on metricsd's main thread; reads
 * the receiving thread's counters through atomics only. */
#ifndef MD_SERVER_H
#define MD_SERVER_H

#include "md_health.h"
#include "md_prom.h"
#include "md_statslog.h"
#include "sfb_curve.h"
#include "sfb_msg.h"

#include <stdbool.h>

typedef struct md_server md_server_t;

/** Bind a ROUTER on `endpoint`. `log`, `prom` and `health` are borrowed. With `curve`
 *  (borrowed, serving; NULL: plain) the socket is a CURVE server for allowed frontends only;
 *  without it a non-loopback endpoint is warned about. Return NULL (and log why) if the socket
 *  cannot be set up or bound. */
md_server_t *md_server_new(const char *endpoint, const md_statslog_t *log, const md_prom_t *prom,
                           md_health_t *health, sfb_curve_t *curve);
/** Close the socket, free everything, set *server_p to NULL. Accepts NULL and &NULL. */
void md_server_destroy(md_server_t **server_p);
/** Return the raw libzmq socket, for zmq_poll. */
void *md_server_socket(md_server_t *server);
/** Answer every request already queued, without blocking. */
void md_server_drain(md_server_t *server);

/** Build the reply text for `kind` into `out` (bounded by SFB_MSG_MAX_BYTES less the
 *  envelope). Return found. Exposed for tests. */
bool md_server_report(md_server_t *server, sfb_report_kind_t kind, sfb_buf_t *out);

#endif
