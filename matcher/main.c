/* main.c - snowflake-matcher: parse options, load the bridge list, build the publisher, the
 * router and the core, run the loop, and on SIGINT/SIGTERM answer everything held and exit.
 * SIGHUP reloads the bridge list. Single-threaded (plus libzmq's own I/O threads). */
#include "mt_bridges.h"
#include "mt_core.h"
#include "mt_pub.h"
#include "mt_router.h"
#include "mt_tagkey.h"
#include "sfb_curve.h"
#include "sfb_log.h"
#include "sfb_opt.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROCESS "snowflake-matcher"

/* clang-format off */
static const sfb_opt_t s_opts[] = {
    {"router",                SFB_OPT_STR,      "ipc:///tmp/snowflake-matcher.ipc", 0, 0, "ROUTER endpoint the frontends connect to"},
    {"pub",                   SFB_OPT_STR,      "ipc:///tmp/snowflake-events.ipc",  0, 0, "PUB endpoint for event subscribers"},
    {"bridge-list-path",      SFB_OPT_STR,      NULL,                               0, 0, "bridge list file (JSON lines); reloaded on SIGHUP"},
    {"allowed-relay-pattern", SFB_OPT_STR,      "",                                 0, 0, "proxies must accept a superset of this relay pattern"},
    {"default-relay-url",     SFB_OPT_STR,      "wss://snowflake.torproject.net/",  0, 0, "relay URL of the built-in default bridge"},
    {"proxy-timeout",         SFB_OPT_DURATION, "10s",                              1, 0, "how long a proxy poll is held"},
    {"client-timeout",        SFB_OPT_DURATION, "5s",                               1, 0, "how long a client waits for the proxy's answer"},
    {"state-dir",             SFB_OPT_STR,      NULL,                               0, 0, "directory for the IP tag key (tag-key, mode 0600); without it the key is in memory only and a restart changes the tags"},
    {"metrics-interval",      SFB_OPT_DURATION, "24h",                              1000, 0, "stats interval, aligned to multiples since the Unix epoch; the IP tag key rotates at each one. Must equal snowflake-metricsd's --metrics-interval"},
    {"event-ring",            SFB_OPT_UINT,     "1048576",                          0, 16777216, "recent events kept for REPLAY_GET (152 bytes each: the default ~152 MiB, ~60 s at 17k events/s; 0 disables replay)"},
    {"ip-count-prefix",       SFB_OPT_REFUSED,  NULL,                               0, 0, "proxy churn files are not written; count unique proxy tags from the event stream (docs/events.md)"},
    {"ip-count-interval",     SFB_OPT_REFUSED,  NULL,                               0, 0, "proxy churn files are not written; count unique proxy tags from the event stream (docs/events.md)"},
    {"unsafe-logging",        SFB_OPT_BOOL,     "false",                            0, 0, "do not scrub addresses from logs"},
    {"curve-cert",            SFB_OPT_STR,      NULL,                               0, 0, "this matcher's CURVE certificate (F and F_secret, from snowflake-keygen): CURVE on the ROUTER and the PUB; needs --curve-allow"},
    {"curve-allow",           SFB_OPT_STR,      NULL,                               0, 0, "directory of the public certificates of the frontends, metricsd and subscribers allowed in (re-read when it changes)"},
};
/* clang-format on */

typedef struct {
    const sfb_opts_t *opts; /* parsed options */
    mt_core_t *core;        /* for bridge reloads */
} s_app_t;

static int s_sig_write_fd = -1;

static void
s_on_os_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    if (write(s_sig_write_fd, &b, 1) < 0) {
        /* pipe full: a signal of this kind is already pending */
    }
    errno = saved;
}

/* Route SIGINT, SIGTERM and SIGHUP into a non-blocking pipe the loop polls. */
static int
s_signal_pipe(int *read_fd)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    s_sig_write_fd = fds[1];
    *read_fd = fds[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_os_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        sigaction(SIGHUP, &sa, NULL) < 0)
        return -1;
    return 0;
}

/* Build the bridge list: the default, replaced by the file if one is configured. */
static mt_bridges_t *
s_load_bridges(const sfb_opts_t *opts)
{
    mt_bridges_t *bridges = mt_bridges_new_default(sfb_opts_str(opts, "default-relay-url"));
    const char *path = sfb_opts_str(opts, "bridge-list-path");
    if (path == NULL || *path == '\0')
        return bridges;
    char err[256];
    if (mt_bridges_load(path, &bridges, err, sizeof err) < 0) {
        sfb_log(SFB_ERROR, "matcher", "%s: %s", path, err);
        mt_bridges_destroy(&bridges);
        return NULL;
    }
    sfb_log(SFB_NOTICE, "matcher", "loaded %zu bridges from %s", mt_bridges_size(bridges), path);
    if (mt_bridges_size(bridges) == 0)
        sfb_log(SFB_WARN, "matcher", "the bridge list is empty: every client will be refused");
    return bridges;
}

static bool
s_on_signal(void *ctx, int signo)
{
    s_app_t *app = ctx;
    if (signo != SIGHUP) {
        sfb_log(SFB_NOTICE, "matcher", "%s: stopping", strsignal(signo));
        return false;
    }
    const char *path = sfb_opts_str(app->opts, "bridge-list-path");
    if (path == NULL || *path == '\0') {
        sfb_log(SFB_NOTICE, "matcher", "SIGHUP: no --bridge-list-path, nothing to reload");
        return true;
    }
    char err[256];
    mt_bridges_t *fresh = NULL;
    if (mt_bridges_load(path, &fresh, err, sizeof err) < 0) {
        sfb_log(SFB_WARN, "matcher", "SIGHUP: keeping the old bridge list: %s: %s", path, err);
        return true;
    }
    sfb_log(SFB_NOTICE, "matcher", "SIGHUP: reloaded %zu bridges from %s", mt_bridges_size(fresh),
            path);
    mt_core_set_bridges(app->core, &fresh);
    return true;
}

static bool
s_endpoint_ok(const sfb_opts_t *opts, const char *name)
{
    const char *ep = sfb_opts_str(opts, name);
    if (ep != NULL && strstr(ep, "://") != NULL && strstr(ep, "://")[3] != '\0')
        return true;
    sfb_log(SFB_ERROR, "matcher", "--%s: not a ZeroMQ endpoint: %s", name, ep ? ep : "");
    return false;
}

/* --state-dir, if given, must be a writable directory or not exist yet (it is then created). */
static bool
s_state_dir_ok(const sfb_opts_t *opts)
{
    const char *dir = sfb_opts_str(opts, "state-dir");
    struct stat st;
    if (dir == NULL || *dir == '\0' || (stat(dir, &st) < 0 && errno == ENOENT))
        return true;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0)
        return true;
    sfb_log(SFB_ERROR, "matcher", "--state-dir %s: not a writable directory", dir);
    return false;
}

/* --curve-cert and --curve-allow go together; both files must be usable. */
static bool
s_curve_ok(const sfb_opts_t *opts)
{
    const char *cert = sfb_opts_str(opts, "curve-cert"), *allow = sfb_opts_str(opts, "curve-allow");
    char err[512];
    if ((cert == NULL) != (allow == NULL)) {
        sfb_log(SFB_ERROR, "matcher", "--curve-cert and --curve-allow must be given together");
        return false;
    }
    if (cert == NULL)
        return true;
    sfb_curve_t *curve = sfb_curve_new(cert, err, sizeof err);
    if (curve == NULL) {
        sfb_log(SFB_ERROR, "matcher", "--curve-cert %s", err);
        return false;
    }
    sfb_curve_destroy(&curve);
    if (sfb_curve_check_allow_dir(allow, err, sizeof err) < 0) {
        sfb_log(SFB_ERROR, "matcher", "--curve-allow %s", err);
        return false;
    }
    return true;
}

/* With --curve-cert: this matcher's certificate, serving the allow-list (zauth). Return 0 with
 * *curve_out NULL for plain links, 0 with the identity, or -1 (logged). */
static int
s_curve_start(const sfb_opts_t *opts, sfb_curve_t **curve_out)
{
    const char *cert = sfb_opts_str(opts, "curve-cert");
    char err[512];
    *curve_out = NULL;
    if (cert == NULL)
        return 0;
    sfb_curve_t *curve = sfb_curve_new(cert, err, sizeof err);
    if (curve == NULL ||
        sfb_curve_serve(curve, sfb_opts_str(opts, "curve-allow"), NULL, NULL, err, sizeof err)) {
        sfb_log(SFB_ERROR, "matcher", "CURVE: %s", err);
        sfb_curve_destroy(&curve);
        return -1;
    }
    *curve_out = curve;
    return 0;
}

/* Run until a stop signal; return the exit code. */
static int
s_run(const sfb_opts_t *opts, mt_bridges_t **bridges_p)
{
    int sig_fd = -1, rc = 1;
    mt_tagkey_t *tagkey = NULL;
    mt_pub_t *pub = NULL;
    mt_router_t *router = NULL;
    mt_core_t *core = NULL;
    sfb_curve_t *curve = NULL;
    zsys_handler_set(NULL); /* before the first socket: our handlers, not CZMQ's */
    zsys_set_logident(PROCESS);
    if (s_signal_pipe(&sig_fd) < 0) {
        sfb_log(SFB_ERROR, "matcher", "cannot set up signal handling: %s", strerror(errno));
        goto fail;
    }
    tagkey = mt_tagkey_new(sfb_opts_str(opts, "state-dir"), sfb_opts_ms(opts, "metrics-interval"),
                           sfb_wall_ms());
    if (tagkey == NULL || s_curve_start(opts, &curve) != 0)
        goto fail;
    size_t ring = (size_t)sfb_opts_uint(opts, "event-ring");
    pub = mt_pub_new(sfb_opts_str(opts, "pub"), ring, tagkey, curve);
    router = pub ? mt_router_new(sfb_opts_str(opts, "router"), pub, curve) : NULL;
    if (router == NULL)
        goto fail;
    mt_core_config_t cfg = {sfb_opts_ms(opts, "proxy-timeout"), sfb_opts_ms(opts, "client-timeout"),
                            sfb_opts_str(opts, "allowed-relay-pattern")};
    mt_core_io_t io = mt_router_io(router);
    core = mt_core_new(&cfg, bridges_p, &io);
    s_app_t app = {opts, core};
    sfb_log(SFB_NOTICE, "matcher", "ROUTER on %s, PUB on %s, event ring %zu events (up to %zu MiB)",
            sfb_opts_str(opts, "router"), sfb_opts_str(opts, "pub"), ring,
            ring * MT_PUB_RING_BYTES_PER_EVENT >> 20);
    if (mt_router_run(router, core, sig_fd, s_on_signal, &app) == 0)
        rc = 0;
    mt_core_shutdown(core);
    mt_router_log_stats(router, core, "exit");
fail:
    mt_core_destroy(&core);
    mt_router_destroy(&router); /* lingers so the shutdown replies reach the frontends */
    mt_pub_destroy(&pub);
    mt_tagkey_destroy(&tagkey); /* wipes the key from memory; the file stays for a restart */
    sfb_curve_destroy(&curve);  /* after the sockets it monitors */
    if (sig_fd >= 0)
        close(sig_fd);
    return rc;
}

int
main(int argc, char **argv)
{
    sfb_log_set_process("matcher");
    sfb_opts_t *opts = NULL;
    sfb_opts_action_t action = sfb_opts_parse(
        s_opts, sizeof s_opts / sizeof s_opts[0], PROCESS,
        "snowflake-matcher: matches Snowflake proxies and clients", argc, argv, &opts);
    int rc = 0;
    switch (action) {
    case SFB_OPTS_EXIT:
        goto done;
    case SFB_OPTS_ERROR:
        rc = 2;
        goto done;
    case SFB_OPTS_CHECK:
    case SFB_OPTS_RUN:
        break;
    }
    if (sfb_opts_bool(opts, "unsafe-logging"))
        sfb_log_set_unsafe(true);
    mt_bridges_t *bridges = NULL;
    if (!s_endpoint_ok(opts, "router") || !s_endpoint_ok(opts, "pub") || !s_state_dir_ok(opts) ||
        !s_curve_ok(opts) || (bridges = s_load_bridges(opts)) == NULL) {
        rc = 1;
        goto done;
    }
    sfb_opts_log_summary(opts);
    if (action == SFB_OPTS_CHECK) {
        sfb_log(SFB_NOTICE, "matcher", "configuration OK");
        mt_bridges_destroy(&bridges);
        goto done;
    }
    rc = s_run(opts, &bridges);
    mt_bridges_destroy(&bridges);
done:
    sfb_opts_destroy(&opts);
    return rc;
}
