/* md_main.c - snowflake-metricsd: subscribes to the matcher's events, writes the upstream
 * stats log at each interval end, checkpoints the partial interval, and serves reports.
 *
 * Threads (docs/statistics.md):
 *   - main: parses options, owns the ROUTER on --listen (md_server) and a signalfd; answers
 *     REPORT_GET until SIGINT/SIGTERM.
 *   - receiving thread (md_recv): owns the SUB socket and every piece of aggregation state;
 *     the only writer of the counters (C11 atomics), the unique sets, the stats log and the
 *     checkpoints. It formats each interval's block itself, so the rollover is exact.
 *   - HTTP thread (md_http, only with --prometheus-addr): h2o evloop serving /metrics.
 *   Readers never lock: they load atomics (md_prom, md_health) or read the stats log file up
 *   to the size published after its last complete block.
 *   Plus libzmq's I/O and reaper threads. SIGINT/SIGTERM are blocked in every thread and
 *   read from the signalfd by main. */
#include "md_ckpt.h"
#include "md_health.h"
#include "md_http.h"
#include "md_recv.h"
#include "md_server.h"
#include "md_statslog.h"
#include "sfb_curve.h"
#include "sfb_log.h"
#include "sfb_opt.h"

#include <czmq.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define S_PROC "snowflake-metricsd"
#define S_MOD "metricsd"

/* clang-format off */
static const sfb_opt_t s_opts[] = {
    {"events",              SFB_OPT_STR,      "ipc:///tmp/snowflake-events.ipc",   0, 0, "SUB endpoint of the matcher's event stream"},
    {"listen",              SFB_OPT_STR,      "ipc:///tmp/snowflake-metricsd.ipc", 0, 0, "ROUTER endpoint where frontends fetch reports"},
    {"matcher",             SFB_OPT_STR,      NULL,  0, 0, "the matcher's ROUTER endpoint: ask it to replay events missed while down or in gaps (REPLAY_GET), and for the available-proxy counts each second (POOL_GET)"},
    {"replay-timeout",      SFB_OPT_DURATION, "1s",  10, 60000, "wait this long for each replay reply (sent 4 times, then the gap is counted missed)"},
    {"metrics-log",         SFB_OPT_STR,      NULL,  0, 0, "append the stats log to FILE (default: stdout, and /metrics is 404)"},
    {"metrics-interval",    SFB_OPT_DURATION, "24h", 1000, 366ULL * 86400000, "statistics interval, aligned to multiples since the Unix epoch"},
    {"checkpoint-interval", SFB_OPT_DURATION, "1s",  10, 1000, "checkpoint the partial interval this often while events flow"},
    {"prometheus-addr",     SFB_OPT_STR,      NULL,  0, 0, "serve /metrics (health + Prometheus counters) on HOST:PORT"},
    {"state-dir",           SFB_OPT_STR,      NULL,  0, 0, "directory for the checkpoint (none: a restart loses the partial interval)"},
    {"unsafe-logging",      SFB_OPT_BOOL,     "false", 0, 0, "do not scrub addresses from log lines"},
    {"curve-cert",          SFB_OPT_STR,      NULL,  0, 0, "this metricsd's CURVE certificate (F and F_secret, from snowflake-keygen); needs --curve-allow and/or --matcher-key"},
    {"curve-allow",         SFB_OPT_STR,      NULL,  0, 0, "CURVE on --listen: directory of the public certificates of the frontends allowed in"},
    {"matcher-key",         SFB_OPT_STR,      NULL,  0, 0, "CURVE towards the matcher (--events and --matcher): the matcher's public certificate"},
};
/* clang-format on */

/* Validate what the option table cannot; print one line and return -1 on error. */
static int
s_validate(const sfb_opts_t *o)
{
    if (sfb_opts_ms(o, "metrics-interval") % 1000 != 0) {
        fprintf(stderr, "%s: -metrics-interval must be a whole number of seconds\n", S_PROC);
        return -1;
    }
    bool cert = sfb_opts_str(o, "curve-cert") != NULL;
    bool uses = sfb_opts_str(o, "curve-allow") != NULL || sfb_opts_str(o, "matcher-key") != NULL;
    if (cert != uses) {
        fprintf(stderr, "%s: -curve-cert goes with -curve-allow and/or -matcher-key\n", S_PROC);
        return -1;
    }
    return 0;
}

/* Load --curve-cert and --matcher-key (into key) if given. Return 0 (*curve_out NULL: plain
 * links) or -1 after a one-line error. */
static int
s_curve_load(const sfb_opts_t *o, sfb_curve_t **curve_out, char key[SFB_CURVE_KEY_TXT])
{
    const char *cert = sfb_opts_str(o, "curve-cert"), *mk = sfb_opts_str(o, "matcher-key");
    char err[512];
    *curve_out = NULL;
    if (cert == NULL)
        return 0;
    if ((*curve_out = sfb_curve_new(cert, err, sizeof err)) != NULL &&
        (mk == NULL || sfb_curve_load_public(mk, key, err, sizeof err) == 0))
        return 0;
    sfb_curve_destroy(curve_out);
    fprintf(stderr, "%s: CURVE: %s\n", S_PROC, err);
    return -1;
}

/* Count a refused handshake on --listen (on the monitor's thread). */
static void
s_on_refused(void *health)
{
    md_health_add(health, MD_H_CURVE_REFUSED, 1);
}

/* --check-config: the files and directories must be usable. Return 0 or 1. */
static int
s_check_files(const sfb_opts_t *o)
{
    int bad = 0;
    char key[SFB_CURVE_KEY_TXT], err[512];
    sfb_curve_t *curve;
    const char *allow = sfb_opts_str(o, "curve-allow");
    if (s_curve_load(o, &curve, key) != 0)
        bad = 1;
    sfb_curve_destroy(&curve);
    if (allow && sfb_curve_check_allow_dir(allow, err, sizeof err) < 0) {
        fprintf(stderr, "%s: -curve-allow %s\n", S_PROC, err);
        bad = 1;
    }
    const char *dir = sfb_opts_str(o, "state-dir");
    if (dir && md_ckpt_check_dir(dir) != 0) {
        fprintf(stderr, "%s: -state-dir %s: %s\n", S_PROC, dir, strerror(errno));
        bad = 1;
    }
    const char *log = sfb_opts_str(o, "metrics-log");
    if (log) {
        char *copy = strdup(log);
        int rc = access(log, F_OK) == 0 ? access(log, W_OK) : access(dirname(copy), W_OK | X_OK);
        free(copy);
        if (rc != 0) {
            fprintf(stderr, "%s: -metrics-log %s: %s\n", S_PROC, log, strerror(errno));
            bad = 1;
        }
    }
    return bad;
}

/* Block the stop signals in this thread and every thread created later; return a signalfd. */
static int
s_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void
s_serve(md_server_t *server, int sfd)
{
    zmq_pollitem_t items[2] = {{md_server_socket(server), 0, ZMQ_POLLIN, 0},
                               {NULL, sfd, ZMQ_POLLIN, 0}};
    for (;;) {
        int rc = zmq_poll(items, 2, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            sfb_log(SFB_ERROR, S_MOD, "poll: %s", zmq_strerror(errno));
            return;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si) {
                sfb_log(SFB_NOTICE, S_MOD, "signal %u: stopping", si.ssi_signo);
                return;
            }
        }
        if (items[0].revents & ZMQ_POLLIN)
            md_server_drain(server);
    }
}

static int
s_run(const sfb_opts_t *o)
{
    int rc = 1;
    md_statslog_t *log = NULL;
    md_recv_t *recv = NULL;
    md_server_t *server = NULL;
    md_http_t *http = NULL;
    md_health_t *health = md_health_new();
    sfb_curve_t *curve = NULL;
    char key[SFB_CURVE_KEY_TXT], err[512];
    const char *allow = sfb_opts_str(o, "curve-allow");
    int sfd = s_signals();
    zsys_handler_set(NULL); /* before the first socket: we read signals from sfd */
    if (sfd < 0) {
        sfb_log(SFB_ERROR, S_MOD, "signalfd: %s", strerror(errno));
        goto fail;
    }
    if (s_curve_load(o, &curve, key) != 0)
        goto fail;
    if (allow && sfb_curve_serve(curve, allow, s_on_refused, health, err, sizeof err) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "CURVE: %s", err);
        goto fail;
    }
    const char *path = sfb_opts_str(o, "metrics-log");
    if ((log = md_statslog_open(path)) == NULL) {
        sfb_log(SFB_ERROR, S_MOD, "cannot open -metrics-log %s: %s", path, strerror(errno));
        goto fail;
    }
    uint64_t interval_ms = sfb_opts_ms(o, "metrics-interval");
    md_recv_cfg_t cfg = {.events_ep = sfb_opts_str(o, "events"),
                         .state_dir = sfb_opts_str(o, "state-dir"),
                         .interval_ms = interval_ms,
                         .checkpoint_ms = sfb_opts_ms(o, "checkpoint-interval"),
                         .grace_ms = interval_ms / 10 < 1000 ? interval_ms / 10 : 1000,
                         .matcher_ep = sfb_opts_str(o, "matcher"),
                         .replay_timeout_ms = sfb_opts_ms(o, "replay-timeout"),
                         .curve = sfb_opts_str(o, "matcher-key") ? curve : NULL,
                         .matcher_key = key};
    recv = md_recv_new(&cfg, log, health, sfb_wall_ms());
    server = md_server_new(sfb_opts_str(o, "listen"), log, md_recv_prom(recv), health,
                           allow ? curve : NULL);
    if (server == NULL)
        goto fail;
    const char *addr = sfb_opts_str(o, "prometheus-addr");
    if (addr && (http = md_http_new(addr, md_recv_prom(recv), health)) == NULL)
        goto fail;
    if (md_recv_start(recv) != 0)
        goto fail;
    sfb_log(SFB_NOTICE, S_MOD, "running: events %s, reports on %s, replay from %s", cfg.events_ep,
            sfb_opts_str(o, "listen"), cfg.matcher_ep ? cfg.matcher_ep : "(none)");
    s_serve(server, sfd);
    if (allow)
        sfb_log(SFB_NOTICE, S_MOD, "exit: %llu CURVE handshakes refused on --listen",
                (unsigned long long)sfb_curve_refused(curve));
    rc = 0;
fail:
    md_http_destroy(&http);
    md_server_destroy(&server);
    md_recv_destroy(&recv);    /* final checkpoint */
    sfb_curve_destroy(&curve); /* after the sockets it monitors */
    md_statslog_destroy(&log);
    md_health_destroy(&health);
    if (sfd >= 0)
        close(sfd);
    return rc;
}

int
main(int argc, char **argv)
{
    sfb_log_set_process(S_PROC);
    sfb_opts_t *o = NULL;
    sfb_opts_action_t act = sfb_opts_parse(
        s_opts, sizeof s_opts / sizeof s_opts[0], S_PROC,
        "Aggregate the matcher's events into the Snowflake statistics.", argc, argv, &o);
    int rc = 0;
    switch (act) {
    case SFB_OPTS_EXIT:
        break;
    case SFB_OPTS_ERROR:
        rc = 2;
        break;
    case SFB_OPTS_CHECK:
        rc = s_validate(o) != 0 ? 2 : s_check_files(o);
        if (rc == 0)
            printf("%s: configuration OK\n", S_PROC);
        break;
    case SFB_OPTS_RUN:
        if (s_validate(o) != 0) {
            rc = 2;
            break;
        }
        if (sfb_opts_bool(o, "unsafe-logging"))
            sfb_log_set_unsafe(true);
        sfb_opts_log_summary(o);
        rc = s_run(o);
        break;
    }
    sfb_opts_destroy(&o);
    return rc;
}
