/* md_events.c - snowflake-events: the reference subscriber of the matcher's event stream.
 * Prints one JSON object per event and line on stdout (flushed per line) until SIGINT or
 * SIGTERM. --topic may be repeated or comma-separated; without it every event is shown.
 * Sequence gaps are reported on stderr. Single-threaded (plus libzmq's own threads). */
#include "md_evjson.h"
#include "sfb_curve.h"
#include "sfb_event.h"
#include "sfb_log.h"
#include "sfb_opt.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define S_PROC "snowflake-events"

/* clang-format off */
static const sfb_opt_t s_opts[] = {
    {"events", SFB_OPT_STR, "ipc:///tmp/snowflake-events.ipc", 0, 0, "SUB endpoint of the matcher's event stream"},
    {"topic",  SFB_OPT_STR, NULL, 0, 0, "event kinds to show: proxy-poll, client-poll, proxy-answer (repeat or comma-separate; default all)"},
    {"curve-cert",  SFB_OPT_STR, NULL, 0, 0, "this subscriber's CURVE certificate (F and F_secret, from snowflake-keygen); needs --matcher-key"},
    {"matcher-key", SFB_OPT_STR, NULL, 0, 0, "the matcher's public certificate (with --curve-cert)"},
};
/* clang-format on */

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Subscribe to every topic named in every -topic flag of argv (sfb_opt keeps only the last
 * value of a repeated flag, so they are collected here). Return the number subscribed. */
static int
s_subscribe(zsock_t *sub, int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (strcmp(a, "--") == 0)
            break;
        a += a[0] == '-' ? (a[1] == '-' ? 2 : 1) : 0;
        if (strncmp(a, "topic", 5) != 0 || (a[5] != '\0' && a[5] != '=') || a == argv[i])
            continue;
        val = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
        char *copy = strdup(val ? val : ""), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            zsock_set_subscribe(sub, t);
            n++;
        }
        free(copy);
    }
    if (n == 0)
        zsock_set_subscribe(sub, "");
    return n;
}

/* With --curve-cert and --matcher-key, load both. Return 0 (*curve_out NULL: plain link) or -1
 * after a one-line error. */
static int
s_curve_load(const sfb_opts_t *o, sfb_curve_t **curve_out, char key[SFB_CURVE_KEY_TXT])
{
    const char *cert = sfb_opts_str(o, "curve-cert"), *mk = sfb_opts_str(o, "matcher-key");
    char err[512];
    *curve_out = NULL;
    if (cert == NULL && mk == NULL)
        return 0;
    if (cert == NULL || mk == NULL) {
        fprintf(stderr, "%s: -curve-cert and -matcher-key go together\n", S_PROC);
        return -1;
    }
    if ((*curve_out = sfb_curve_new(cert, err, sizeof err)) != NULL &&
        sfb_curve_load_public(mk, key, err, sizeof err) == 0)
        return 0;
    sfb_curve_destroy(curve_out);
    fprintf(stderr, "%s: CURVE: %s\n", S_PROC, err);
    return -1;
}

static void
s_loop(zsock_t *sub)
{
    sfb_buf_t line;
    sfb_buf_init(&line);
    uint64_t last_seq = 0;
    while (!s_stop) {
        zmsg_t *msg = zmsg_recv(sub);
        if (msg == NULL)
            continue; /* timeout or EINTR: check s_stop */
        zframe_t *body = zmsg_last(msg);
        sfb_buf_reset(&line);
        sfb_event_t ev;
        if (body && sfb_event_decode(zframe_data(body), zframe_size(body), &ev) == SFB_OK) {
            if (last_seq && ev.seq > last_seq + 1)
                fprintf(stderr, "%s: missed %llu events\n", S_PROC,
                        (unsigned long long)(ev.seq - last_seq - 1));
            last_seq = ev.seq;
        }
        if (body && md_evjson_format(zframe_data(body), zframe_size(body), &line) == SFB_OK) {
            sfb_buf_putc(&line, '\n');
            fwrite(line.data, 1, line.len, stdout);
            fflush(stdout);
        } else {
            fprintf(stderr, "%s: skipped an undecodable event\n", S_PROC);
        }
        zmsg_destroy(&msg);
    }
    sfb_buf_dispose(&line);
}

int
main(int argc, char **argv)
{
    sfb_log_set_process(S_PROC);
    sfb_opts_t *o = NULL;
    sfb_opts_action_t act =
        sfb_opts_parse(s_opts, sizeof s_opts / sizeof s_opts[0], S_PROC,
                       "Print the matcher's events as JSON lines.", argc, argv, &o);
    int rc = act == SFB_OPTS_ERROR ? 2 : 0;
    sfb_curve_t *curve = NULL;
    char key[SFB_CURVE_KEY_TXT];
    if ((act == SFB_OPTS_CHECK || act == SFB_OPTS_RUN) && s_curve_load(o, &curve, key) != 0) {
        rc = 1;
        act = SFB_OPTS_ERROR; /* nothing more to do */
    }
    if (act == SFB_OPTS_CHECK)
        printf("%s: configuration OK\n", S_PROC);
    if (act != SFB_OPTS_RUN) {
        sfb_curve_destroy(&curve);
        sfb_opts_destroy(&o);
        return rc;
    }
    zsys_handler_set(NULL);
    struct sigaction sa = {.sa_handler = s_on_signal}; /* no SA_RESTART: recv returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (sub == NULL || (curve && sfb_curve_apply_client(curve, sub, key) != 0) ||
        zsock_connect(sub, "%s", sfb_opts_str(o, "events")) != 0) {
        fprintf(stderr, "%s: cannot connect to %s\n", S_PROC, sfb_opts_str(o, "events"));
        zsock_destroy(&sub);
        sfb_curve_destroy(&curve);
        sfb_opts_destroy(&o);
        return 1;
    }
    zsock_set_rcvtimeo(sub, 200);
    s_subscribe(sub, argc, argv);
    s_loop(sub);
    zsock_destroy(&sub);
    sfb_curve_destroy(&curve);
    sfb_opts_destroy(&o);
    return 0;
}
