/* main.c - snowflake-frontend: parse options, load the geolocation database, build the h2o
 * context, the DEALERs towards the matcher and metricsd, the HTTP endpoints and the listener,
 * run the loop, and stop cleanly on SIGINT/SIGTERM (every held request gets its error form) or
 * reload the TLS certificate and the geolocation database on SIGHUP. */
#include "fe_geoip.h"
#include "fe_http.h"
#include "fe_limits.h"
#include "fe_server.h"
#include "fe_tls.h"
#include "fe_upstream.h"
#include "sfb_curve.h"
#include "sfb_log.h"
#include "sfb_opt.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define S_PROCESS "snowflake-frontend"
#define S_DEADLINE_MARGIN_MS 1000 /* the frontend answers this long after the matcher should */
/* h2o's own body cap, set above FE_HTTP_BODY_LIMIT so that 100 001 bytes .. 1 MiB get the
 * upstream empty 400 from fe_http. Bodies of 1 MiB or more are refused by h2o itself with
 * "413 Request Entity Too Large" + Connection: close (upstream: 400); h2o buffers whole
 * bodies before the handler runs, so the cap bounds memory per request. */
#define S_MAX_BODY_H2O (1024 * 1024)
#define S_DRAIN_MS 300            /* let shutdown responses leave */
#define S_REPORT_DEADLINE_MS 2000 /* /metrics and /prometheus wait this long for metricsd */

/* clang-format off */
static const sfb_opt_t s_opts[] = {
    {"addr",           SFB_OPT_STR,      ":443",  0, 0, "listen address HOST:PORT"},
    {"disable-tls",    SFB_OPT_BOOL,     "false", 0, 0, "serve plain HTTP"},
    {"cert",           SFB_OPT_STR,      NULL,    0, 0, "TLS certificate chain (PEM), reloaded on SIGHUP"},
    {"key",            SFB_OPT_STR,      NULL,    0, 0, "TLS private key (PEM), reloaded on SIGHUP"},
    {"matcher",        SFB_OPT_STR,      "ipc:///tmp/snowflake-matcher.ipc", 0, 0, "matcher ROUTER endpoint"},
    {"metricsd",       SFB_OPT_STR,      NULL,    0, 0, "metricsd endpoint for /metrics and /prometheus (else 404 and 503)"},
    {"geoipdb",        SFB_OPT_STR,      "/usr/share/tor/geoip",  0, 0, "Tor IPv4 geoip file, reloaded on SIGHUP"},
    {"geoip6db",       SFB_OPT_STR,      "/usr/share/tor/geoip6", 0, 0, "Tor IPv6 geoip file, reloaded on SIGHUP"},
    {"mmdb",           SFB_OPT_STR,      NULL,    0, 0, "MaxMind country database, used instead of the Tor files"},
    {"disable-geoip",  SFB_OPT_BOOL,     "false", 0, 0, "do not geolocate (no country codes, no proxy IP stats)"},
    {"trusted-hops",   SFB_OPT_UINT,     "0",     0, 64, "0: use the TCP peer; N>=1: trust Forwarded/X-Forwarded-For"},
    {"unsafe-logging", SFB_OPT_BOOL,     "false", 0, 0, "do not scrub IP addresses from logs"},
    {"reuseport",      SFB_OPT_BOOL,     "false", 0, 0, "SO_REUSEPORT: several frontends share one port"},
    {"proxy-timeout",  SFB_OPT_DURATION, "10s",   1, 3600000, "matcher's proxy hold (frontend adds 1s)"},
    {"client-timeout", SFB_OPT_DURATION, "5s",    1, 3600000, "matcher's client wait (frontend adds 1s)"},
    {"header-timeout", SFB_OPT_DURATION, "10s",   100, 3600000, "read a whole request (and wait between keep-alive requests) within this"},
    {"handshake-timeout", SFB_OPT_DURATION, "10s", 100, 3600000, "complete the TLS handshake within this"},
    {"max-connections", SFB_OPT_UINT,    "0",     0, 0, "stop accepting while this many connections are open (0: the fd limit - 128)"},
    {"max-pending",    SFB_OPT_UINT,     "50000", 0, 0, "answer at once with the error form past this many held requests (0: no cap)"},
    {"acme-email",     SFB_OPT_REFUSED,  NULL,    0, 0, "use --cert/--key with certificate files renewed by an ACME client"},
    {"acme-hostnames", SFB_OPT_REFUSED,  NULL,    0, 0, "use --cert/--key with certificate files renewed by an ACME client"},
    {"acme-cert-cache",SFB_OPT_REFUSED,  NULL,    0, 0, "use --cert/--key with certificate files renewed by an ACME client"},
    {"broker-sqs-name",   SFB_OPT_REFUSED, NULL,  0, 0, "SQS rendezvous is not supported"},
    {"broker-sqs-region", SFB_OPT_REFUSED, NULL,  0, 0, "SQS rendezvous is not supported"},
    {"metrics-log",    SFB_OPT_REFUSED,  NULL,    0, 0, "belongs to snowflake-metricsd"},
    {"bridge-list-path",      SFB_OPT_REFUSED, NULL, 0, 0, "belongs to snowflake-matcher"},
    {"allowed-relay-pattern", SFB_OPT_REFUSED, NULL, 0, 0, "belongs to snowflake-matcher"},
    {"curve-cert",     SFB_OPT_STR,      NULL,    0, 0, "this frontend's CURVE certificate (F and F_secret, from snowflake-keygen): CURVE towards the matcher and metricsd"},
    {"matcher-key",    SFB_OPT_STR,      NULL,    0, 0, "the matcher's public certificate (with --curve-cert)"},
    {"metricsd-key",   SFB_OPT_STR,      NULL,    0, 0, "metricsd's public certificate (with --curve-cert and --metricsd)"},
};
/* clang-format on */

static volatile sig_atomic_t s_stop, s_hup;

static void
s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_hup = 1;
    else
        s_stop = 1;
}

static void
s_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: epoll_wait returns EINTR at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a peer gone while we write must not kill the process */
}

/* Validate the TLS choice of spec §10 step 4. Return the cert or NULL for plain HTTP via
 * *tls; false on a usage error (already printed). */
static bool
s_tls_choice(const sfb_opts_t *o, bool *tls)
{
    const char *cert = sfb_opts_str(o, "cert"), *key = sfb_opts_str(o, "key");
    bool have = cert != NULL && *cert && key != NULL && *key;
    if (!have && !sfb_opts_bool(o, "disable-tls")) {
        fprintf(stderr, "%s: the --cert and --key, or --disable-tls option is required\n",
                S_PROCESS);
        return false;
    }
    *tls = have && !sfb_opts_bool(o, "disable-tls");
    return true;
}

/* Load the geolocation sources the flags name: --mmdb if given, else the two Tor files.
 * Return the database, or NULL (the loader logged why). */
static fe_geoip_t *
s_geoip_load(const sfb_opts_t *o)
{
    fe_geoip_t *g = fe_geoip_new();
    const char *mmdb = sfb_opts_str(o, "mmdb");
    int rc = mmdb != NULL && *mmdb
                 ? fe_geoip_load_mmdb(g, mmdb)
                 : fe_geoip_load_tor(g, sfb_opts_str(o, "geoipdb"), sfb_opts_str(o, "geoip6db"));
    if (rc != 0)
        fe_geoip_destroy(&g);
    return g;
}

/* Load at startup. Return 0 (with *g_out NULL under --disable-geoip) or -1: a database that
 * cannot be loaded is fatal, as upstream (spec §9); the loader's error line says why. */
static int
s_geoip_start(const sfb_opts_t *o, fe_geoip_t **g_out)
{
    *g_out = NULL;
    if (sfb_opts_bool(o, "disable-geoip"))
        return 0;
    *g_out = s_geoip_load(o);
    return *g_out != NULL ? 0 : -1;
}

/* --curve-cert needs --matcher-key, and --metricsd-key if there is a --metricsd; the keys
 * need the cert. Return 0 (*curve_out NULL: plain links) or -1 after a one-line error. */
static int
s_curve_load(const sfb_opts_t *o, sfb_curve_t **curve_out, char *mkey, char *rkey)
{
    const char *cert = sfb_opts_str(o, "curve-cert"), *mk = sfb_opts_str(o, "matcher-key");
    const char *rk = sfb_opts_str(o, "metricsd-key"), *rep = sfb_opts_str(o, "metricsd");
    char err[512] = "";
    *curve_out = NULL;
    if (cert == NULL && (mk != NULL || rk != NULL))
        snprintf(err, sizeof err, "--matcher-key and --metricsd-key need --curve-cert");
    else if (cert != NULL && (mk == NULL || (rep != NULL && *rep && rk == NULL)))
        snprintf(err, sizeof err, "--curve-cert needs --matcher-key (and --metricsd-key)");
    else if (cert != NULL && ((*curve_out = sfb_curve_new(cert, err, sizeof err)) == NULL ||
                              sfb_curve_load_public(mk, mkey, err, sizeof err) != 0 ||
                              (rk && sfb_curve_load_public(rk, rkey, err, sizeof err) != 0)))
        sfb_curve_destroy(curve_out);
    if (*err == '\0')
        return 0;
    sfb_log(SFB_ERROR, "frontend", "CURVE: %s", err);
    return -1;
}

static int
s_check_config(const sfb_opts_t *o, bool tls)
{
    if (fe_server_check_addr(sfb_opts_str(o, "addr")) != 0)
        return 1;
    sfb_curve_t *curve;
    char mkey[SFB_CURVE_KEY_TXT], rkey[SFB_CURVE_KEY_TXT];
    if (s_curve_load(o, &curve, mkey, rkey) != 0)
        return 1;
    sfb_curve_destroy(&curve);
    fe_geoip_t *g;
    if (s_geoip_start(o, &g) != 0)
        return 1;
    fe_geoip_destroy(&g);
    if (tls) {
        SSL_CTX *c = fe_tls_ctx_new(sfb_opts_str(o, "cert"), sfb_opts_str(o, "key"));
        if (c == NULL)
            return 1;
        SSL_CTX_free(c);
    }
    printf("%s: configuration OK\n", S_PROCESS);
    return 0;
}

/* Static so that connections still open at exit stay reachable (no false leak reports). */
static h2o_globalconf_t s_config;
static h2o_context_t s_ctx;

/* What SIGHUP reloads and what the loop stops. */
typedef struct {
    const sfb_opts_t *opts; /* flags */
    fe_server_t *server;    /* listener (TLS certificate) */
    fe_http_t *http;        /* endpoints (geoip user) */
    fe_geoip_t **geoip_p;   /* the database in use; NULL under --disable-geoip */
    fe_upstream_t *up;      /* matcher */
    fe_upstream_t *reports; /* metricsd, or NULL */
} s_run_t;

/* Reload into a new object; keep the one in use if that fails. Under --disable-geoip there is
 * nothing to reload (upstream would start geolocating; we keep the operator's choice). */
static void
s_reload_geoip(s_run_t *r)
{
    if (*r->geoip_p == NULL)
        return;
    fe_geoip_t *g = s_geoip_load(r->opts);
    if (g == NULL) {
        sfb_log(SFB_WARN, "frontend", "SIGHUP: geoip reload failed; keeping the database in use");
        return;
    }
    fe_http_set_geoip(r->http, g);
    fe_geoip_destroy(r->geoip_p);
    *r->geoip_p = g;
    sfb_log(SFB_NOTICE, "frontend", "SIGHUP: geoip database reloaded");
}

static void
s_run(s_run_t *r)
{
    while (!s_stop) {
        if (h2o_evloop_run(s_ctx.loop, 1000) != 0 && errno != EINTR) {
            sfb_log(SFB_ERROR, "frontend", "event loop: %s", strerror(errno));
            break;
        }
        if (s_hup) {
            s_hup = 0;
            if (fe_server_reload_tls(r->server) == 0)
                sfb_log(SFB_NOTICE, "frontend", "SIGHUP: TLS certificate reloaded");
            s_reload_geoip(r);
        }
    }
    size_t held = fe_upstream_held(r->up) + (r->reports ? fe_upstream_held(r->reports) : 0);
    sfb_log(SFB_NOTICE, "frontend", "stopping: answering %zu held requests", held);
    fe_server_stop_accepting(r->server);
    fe_upstream_shutdown(r->up);
    if (r->reports != NULL)
        fe_upstream_shutdown(r->reports);
    uint64_t end = sfb_now_ms() + S_DRAIN_MS;
    while (sfb_now_ms() < end)
        h2o_evloop_run(s_ctx.loop, 50);
}

/* Build the h2o configuration and the endpoints (before h2o_context_init). */
static fe_http_t *
s_http_new(const sfb_opts_t *o)
{
    h2o_config_init(&s_config);
    s_config.server_name = h2o_iovec_init(H2O_STRLIT("")); /* Go sends no Server header */
    s_config.http1.upgrade_to_http2 = 0;                   /* no h2c: HTTP/1.1 only */
    s_config.max_request_entity_size = S_MAX_BODY_H2O;
    /* h2o 2.2.5 arms req_timeout once per request, from the end of the previous response (or
     * the handshake): it bounds keep-alive idling and header+body reading alike, and trickled
     * bytes do not extend it. Held requests have our own deadlines instead. */
    s_config.http1.req_timeout = sfb_opts_ms(o, "header-timeout");
    s_config.handshake_timeout = sfb_opts_ms(o, "handshake-timeout");
    h2o_hostconf_t *host =
        h2o_config_register_host(&s_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    fe_http_config_t hcfg = {
        .trusted_hops = (unsigned)sfb_opts_uint(o, "trusted-hops"),
        .proxy_deadline_ms = sfb_opts_ms(o, "proxy-timeout") + S_DEADLINE_MARGIN_MS,
        .client_deadline_ms = sfb_opts_ms(o, "client-timeout") + S_DEADLINE_MARGIN_MS,
        .report_deadline_ms = S_REPORT_DEADLINE_MS};
    fe_http_t *http = fe_http_new(&hcfg);
    fe_http_register(http, host);
    return http;
}

/* Connect the DEALERs, open the listener, run until a stop signal. Return the exit code. */
static int
s_serve(const sfb_opts_t *o, bool tls, fe_http_t *http, fe_geoip_t **geoip_p)
{
    const char *metricsd = sfb_opts_str(o, "metricsd");
    sfb_curve_t *curve;
    char mkey[SFB_CURVE_KEY_TXT], rkey[SFB_CURVE_KEY_TXT];
    if (s_curve_load(o, &curve, mkey, rkey) != 0)
        return 1;
    fe_upstream_config_t mcfg = {sfb_opts_str(o, "matcher"), "matcher", true, curve, mkey};
    fe_upstream_config_t rcfg = {metricsd, "metricsd", false, curve, rkey};
    s_run_t r = {.opts = o, .http = http, .geoip_p = geoip_p};
    r.up = fe_upstream_new(&s_ctx, &mcfg);
    bool ok = r.up != NULL;
    if (ok && metricsd != NULL && *metricsd)
        ok = (r.reports = fe_upstream_new(&s_ctx, &rcfg)) != NULL;
    fe_server_config_t scfg = {.addr = sfb_opts_str(o, "addr"),
                               .reuseport = sfb_opts_bool(o, "reuseport"),
                               .cert = tls ? sfb_opts_str(o, "cert") : NULL,
                               .key = tls ? sfb_opts_str(o, "key") : NULL};
    scfg.max_connections = fe_limits_apply(sfb_opts_uint(o, "max-connections"));
    r.server = ok ? fe_server_new(&s_ctx, &scfg) : NULL;
    int rc = r.server != NULL ? 0 : 1;
    if (r.server != NULL) {
        fe_http_set_upstream(http, r.up);
        fe_http_set_metricsd(http, r.reports);
        fe_http_set_geoip(http, *geoip_p);
        fe_upstream_set_max_held(r.up, (size_t)sfb_opts_uint(o, "max-pending"));
        if (r.reports != NULL)
            fe_upstream_set_max_held(r.reports, (size_t)sfb_opts_uint(o, "max-pending"));
        sfb_log(SFB_NOTICE, "frontend", "listening on %s (%s), matcher %s, metricsd %s, geoip %s",
                scfg.addr, tls ? "TLS, http/1.1" : "plain HTTP/1.1", mcfg.endpoint,
                r.reports ? metricsd : "none", *geoip_p ? "on" : "off");
        s_run(&r);
        fe_upstream_log_stats(r.up, "stopped");
        if (r.reports != NULL)
            fe_upstream_log_stats(r.reports, "stopped");
        fe_server_log_stats(r.server, "stopped");
    }
    fe_server_destroy(&r.server);
    fe_upstream_destroy(&r.reports);
    fe_upstream_destroy(&r.up);
    sfb_curve_destroy(&curve);
    return rc;
}

int
main(int argc, char **argv)
{
    sfb_log_set_process(S_PROCESS);
    sfb_opts_t *o = NULL;
    fe_geoip_t *geoip = NULL;
    sfb_opts_action_t act = sfb_opts_parse(s_opts, sizeof s_opts / sizeof s_opts[0], S_PROCESS,
                                           "Snowflake broker HTTP(S) frontend", argc, argv, &o);
    bool tls = false;
    int rc = 0;
    if (act == SFB_OPTS_ERROR || (act != SFB_OPTS_EXIT && !s_tls_choice(o, &tls))) {
        rc = 2;
        goto done;
    }
    if (act == SFB_OPTS_EXIT)
        goto done;
    if (act == SFB_OPTS_CHECK) {
        rc = s_check_config(o, tls);
        goto done;
    }
    sfb_log_set_unsafe(sfb_opts_bool(o, "unsafe-logging"));
    sfb_opts_log_summary(o);
    if (s_geoip_start(o, &geoip) != 0) {
        rc = 1;
        goto done;
    }
    s_signals();
    zsys_handler_set(NULL); /* before the first socket: we handle signals ourselves */
    fe_http_t *http = s_http_new(o);
    h2o_context_init(&s_ctx, h2o_evloop_create(), &s_config);
    rc = s_serve(o, tls, http, &geoip);
    fe_http_destroy(&http);
done:
    fe_geoip_destroy(&geoip);
    sfb_opts_destroy(&o);
    return rc;
}
