/* md_http.h - the optional --prometheus-addr endpoint: a libh2o-evloop HTTP/1.1 server on its
 * own thread answering GET /metrics with metricsd's health figures followed by the spec §8.9
 * exposition text. It only reads atomics (md_health, md_prom), so it never blocks the
 * receiving thread. Create and destroy it on the main thread. */
#ifndef MD_HTTP_H
#define MD_HTTP_H

#include "md_health.h"
#include "md_prom.h"

typedef struct md_http md_http_t;

/** Listen on `hostport` ("HOST:PORT", "[V6]:PORT" or ":PORT" for every address) and start the
 *  thread. `prom` and `health` are borrowed. Return NULL (and log why) on failure. */
md_http_t *md_http_new(const char *hostport, const md_prom_t *prom, const md_health_t *health);
/** Stop the thread, close the listener, set *http_p to NULL. Accepts NULL and &NULL. */
void md_http_destroy(md_http_t **http_p);
/** Split "HOST:PORT" into host (maybe "") and port. Return 0 or -1. Exposed for tests. */
int md_http_split(const char *hostport, char *host, size_t host_size, char *port, size_t port_size);

#endif
