/* fe_server.h - the frontend's one listening socket: address parsing (Go "HOST:PORT"),
 * SO_REUSEPORT so several frontends share a port, accepting into h2o (plain or TLS) up to a
 * cap of open connections, swapping the TLS context on SIGHUP, and closing the listener on
 * shutdown. Loop thread only. */
#ifndef FE_SERVER_H
#define FE_SERVER_H

#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fe_server fe_server_t;

typedef struct {
    const char *addr;       /* "HOST:PORT", ":PORT", "[v6]:PORT" */
    bool reuseport;         /* set SO_REUSEPORT */
    const char *cert;       /* PEM chain, or NULL for plain HTTP */
    const char *key;        /* PEM key, or NULL for plain HTTP */
    size_t max_connections; /* stop accepting while this many are open; 0: no cap */
} fe_server_config_t;

/** Counters, for logs and tests. */
typedef struct {
    size_t open;            /* connections open now (TLS handshakes included) */
    size_t peak;            /* most connections open at once */
    uint64_t accepted;      /* connections accepted */
    uint64_t pauses;        /* times accepting stopped because the cap was reached */
    uint64_t accept_errors; /* accept() failures (EMFILE...): accepting pauses for a second */
} fe_server_stats_t;

/** Load TLS (if cert is set), bind and listen on cfg->addr, and accept into `ctx` (borrowed;
 *  its hosts serve the requests). With cfg->max_connections open, stop reading the listener
 *  (new connections wait in the kernel's accept queue) until one closes. Return NULL after
 *  logging one line if anything fails. */
fe_server_t *fe_server_new(h2o_context_t *ctx, const fe_server_config_t *cfg);

/** Reload the certificate and key into a new TLS context for new connections; connections
 *  already open keep theirs. Return 0, or -1 (old context kept) after logging why. */
int fe_server_reload_tls(fe_server_t *server);

/** Close the listening socket; connections already accepted continue. */
void fe_server_stop_accepting(fe_server_t *server);

/** Log the counters at notice level, one line, with `what` ("stopped") first. */
void fe_server_log_stats(const fe_server_t *server, const char *what);

/** Copy the counters to *out. */
void fe_server_stats(const fe_server_t *server, fe_server_stats_t *out);

/** Stop accepting, free the TLS context, set *server_p NULL. Connections still open stay
 *  open but are no longer counted. Accepts NULL and &NULL. */
void fe_server_destroy(fe_server_t **server_p);

/** Check that `addr` is a valid "HOST:PORT" that resolves. Return 0 or -1 (logged). */
int fe_server_check_addr(const char *addr);

#endif
