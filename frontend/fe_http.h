/* fe_http.h - the broker's HTTP endpoints (spec §2): routing, CORS, body limits, request
 * validation, geolocation, and the exact upstream response bytes for every outcome. Requests
 * that need the matcher, and /metrics and /prometheus (metricsd), go through fe_upstream.
 * Runs on the h2o loop thread; not thread-safe. */
#ifndef FE_HTTP_H
#define FE_HTTP_H

#include "fe_geoip.h"
#include "fe_upstream.h"

#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

/** Largest accepted request body (upstream readLimit, spec §2.3). */
#define FE_HTTP_BODY_LIMIT 100000

typedef struct fe_http fe_http_t;

typedef struct {
    unsigned trusted_hops;       /* 0: TCP peer only; >= 1: the spec §2.12 header rule */
    uint64_t proxy_deadline_ms;  /* /proxy: --proxy-timeout + margin */
    uint64_t client_deadline_ms; /* /client, /amp/client/, /answer, /debug: client + margin */
    uint64_t report_deadline_ms; /* /metrics, /prometheus: wait for metricsd this long */
} fe_http_config_t;

/** Create the endpoints. Never NULL. Attach the upstream before the loop runs. */
fe_http_t *fe_http_new(const fe_http_config_t *cfg);
/** Use `up` (borrowed; must outlive `http`) for requests that need the matcher. */
void fe_http_set_upstream(fe_http_t *http, fe_upstream_t *up);
/** Fetch /metrics and /prometheus through `up` (borrowed; must outlive `http`), or, with
 *  NULL (no --metricsd), answer them as unavailable: 404 and 503. */
void fe_http_set_metricsd(fe_http_t *http, fe_upstream_t *up);
/** Geolocate with `geoip` (borrowed until the next call; NULL: no database, country ""). The
 *  caller may destroy the previous database once this returns: nothing keeps a pointer into
 *  it across loop turns. */
void fe_http_set_geoip(fe_http_t *http, const fe_geoip_t *geoip);
/** Destroy and set *http_p to NULL. Accepts NULL and &NULL. */
void fe_http_destroy(fe_http_t **http_p);
/** Serve every path of `hostconf` (registers a handler on its "/" path). Call before
 *  h2o_context_init(), like any h2o handler registration. */
void fe_http_register(fe_http_t *http, h2o_hostconf_t *hostconf);

#endif
