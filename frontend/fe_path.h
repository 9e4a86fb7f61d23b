/* fe_path.h - Go http.ServeMux routing (Go >= 1.22) for the broker's fixed routes (spec §2.1):
 * percent-decoding, path.Clean, the 301 redirects to the cleaned path and to "/amp/client/",
 * and the route of a canonical path. Called by fe_http per request; pure, thread-safe. */
#ifndef FE_PATH_H
#define FE_PATH_H

#include "sfb_buf.h"

#include <stddef.h>

typedef enum {
    FE_ROUTE_NOT_FOUND = 0, /* Go's 404 page */
    FE_ROUTE_BAD_REQUEST,   /* malformed request target (bad %-escape, no leading '/') */
    FE_ROUTE_REDIRECT,      /* 301 to fe_path_t.location */
    FE_ROUTE_ROBOTS,        /* /robots.txt */
    FE_ROUTE_PROXY,         /* /proxy */
    FE_ROUTE_CLIENT,        /* /client */
    FE_ROUTE_ANSWER,        /* /answer */
    FE_ROUTE_DEBUG,         /* /debug */
    FE_ROUTE_METRICS,       /* /metrics */
    FE_ROUTE_PROMETHEUS,    /* /prometheus */
    FE_ROUTE_AMP_CLIENT,    /* /amp/client/ subtree; fe_path_t.amp holds the rest */
} fe_route_t;

/** The routing result of one request target. Embed it; _init before use, _dispose after. */
typedef struct {
    fe_route_t route;   /* what to serve */
    sfb_buf_t location; /* REDIRECT: the Location value (query kept, as Go does) */
    sfb_buf_t amp;      /* AMP_CLIENT: the percent-decoded path after "/amp/client/" */
} fe_path_t;

void fe_path_init(fe_path_t *p);
void fe_path_dispose(fe_path_t *p);

/** Route the request target `target` (len bytes, path plus optional "?query", as sent on the
 *  request line). Resets and fills *p; returns p->route. */
fe_route_t fe_path_route(const char *target, size_t len, fe_path_t *p);

/** Append the body Go's http.Redirect writes for a GET to `location`:
 *  <a href="LOCATION">Moved Permanently</a>.\n\n with LOCATION HTML-escaped. */
void fe_path_redirect_body(const char *location, size_t len, sfb_buf_t *out);

#endif
