/* evbench.c - sfb-evbench: measures snowflake-metricsd's event ingest. It stands in for the
 * matcher: an XPUB bound on --pub (same send HWM as the matcher's PUB) that waits until
 * metricsd has subscribed, then publishes --events events (proto/sfb_event.h, consecutive
 * sequence numbers, the current time) as fast as it can or paced to --rate events/s, then one
 * last event after a pause so that a loss at the tail shows as a gap too. It reads metricsd's
 * own figures (events counted, events missed, unique-set size) from --prometheus-addr and
 * metricsd's VmRSS from /proc/--pid, and prints one JSON object. Single-threaded.
 * usage: sfb-evbench --pub EP --prom HOST:PORT --pid PID [--events N] [--rate R]
 *                    [--mix all|poll] [--unique] */
#include "load_http.h" /* load_now_ns */
#include "sfb_event.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_SNDHWM 100000 /* matcher/mt_pub.c */
#define S_SETTLE_NS 10000000000ull

typedef struct {
    uint64_t events, missed, set_entries, set_bytes; /* metricsd's figures */
} s_figures_t;

static uint64_t
s_prom_value(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += nl)
        if ((p == text || p[-1] == '\n') && p[nl] == ' ')
            return (uint64_t)(strtod(p + nl + 1, NULL) + 0.5); /* Go %g form: 1.5e+06 */
    return 0;
}

/* GET /metrics from metricsd's Prometheus endpoint (loopback). Return 0 or -1. */
static int
s_figures(const char *hostport, s_figures_t *f)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    static char buf[1 << 20];
    size_t len = 0;
    ssize_t n = write(fd, req, sizeof req - 1);
    while (n >= 0 && len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    f->events = s_prom_value(buf, "snowflake_metricsd_events_total");
    f->missed = s_prom_value(buf, "snowflake_metricsd_missed_events_total");
    f->set_entries = s_prom_value(buf, "snowflake_metricsd_unique_set_entries");
    f->set_bytes = s_prom_value(buf, "snowflake_metricsd_unique_set_bytes");
    return len > 0 ? 0 : -1;
}

static uint64_t
s_rss_kb(int pid)
{
    char path[64], line[256];
    uint64_t kb = 0;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtoull(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Wait until metricsd's SUB has sent its subscriptions (3 topics), up to 5 s. */
static int
s_wait_subscribed(void *pub)
{
    int subs = 0;
    uint64_t end = load_now_ns() + 5000000000ull;
    while (subs < SFB_EV_KIND_COUNT && load_now_ns() < end) {
        zmq_pollitem_t it = {pub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        char m[64];
        if (zmq_recv(pub, m, sizeof m, ZMQ_DONTWAIT) > 0 && m[0] == 1)
            subs++;
    }
    usleep(100000);
    return subs >= SFB_EV_KIND_COUNT ? 0 : -1;
}

/* Event number i of the run. */
static void
s_event(sfb_event_t *ev, uint64_t i, bool poll_only, bool unique)
{
    static const sfb_event_kind_t kinds[3] = {SFB_EV_PROXY_POLL, SFB_EV_CLIENT_POLL,
                                              SFB_EV_PROXY_ANSWER};
    static const sfb_outcome_t outs[3] = {SFB_OUT_IDLE, SFB_OUT_DENIED, SFB_OUT_SUCCESS};
    unsigned k = poll_only ? 0 : (unsigned)(i % 3);
    ev->kind = kinds[k];
    ev->outcome = outs[k];
    ev->ptype = SFB_PROXY_STANDALONE;
    ev->nat = SFB_NAT_RESTRICTED;
    ev->method = SFB_METHOD_HTTP;
    ev->relay_pattern = true;
    memcpy(ev->cc, "DE", 3);
    ev->has_tag = ev->kind == SFB_EV_PROXY_POLL;
    uint64_t tag = unique ? i : i % 1000;
    tag *= 0x9e3779b97f4a7c15ull; /* tags look random, as HMAC outputs do */
    memcpy(ev->tag, &tag, sizeof ev->tag);
}

static void
s_publish(void *pub, sfb_event_t *ev, sfb_buf_t *b, uint64_t *send_fail)
{
    ev->ts_ms = (uint64_t)time(NULL) * 1000;
    sfb_buf_reset(b);
    sfb_event_encode(ev, b);
    const char *topic = sfb_event_topic(ev->kind);
    if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(pub, b->data, b->len, ZMQ_DONTWAIT) < 0)
        (*send_fail)++;
}

typedef struct {
    const char *pub_ep, *prom; /* endpoints */
    int pid;                   /* metricsd */
    uint64_t events;           /* to publish */
    double rate;               /* events/s, 0: as fast as possible */
    bool poll_only, unique;    /* event mix and tags */
} s_opts_t;

static void
s_parse(int argc, char **argv, s_opts_t *o)
{
    static const struct option lo[] = {
        {"pub", 1, 0, 'p'},  {"prom", 1, 0, 'P'}, {"pid", 1, 0, 'i'},    {"events", 1, 0, 'n'},
        {"rate", 1, 0, 'r'}, {"mix", 1, 0, 'm'},  {"unique", 0, 0, 'u'}, {0, 0, 0, 0}};
    *o = (s_opts_t){.events = 1000000};
    for (int opt; (opt = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (opt) {
        case 'p':
            o->pub_ep = optarg;
            break;
        case 'P':
            o->prom = optarg;
            break;
        case 'i':
            o->pid = atoi(optarg);
            break;
        case 'n':
            o->events = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            o->rate = atof(optarg);
            break;
        case 'm':
            o->poll_only = strcmp(optarg, "poll") == 0;
            break;
        case 'u':
            o->unique = true;
            break;
        default:
            o->pub_ep = NULL;
        }
    }
    if (o->pub_ep == NULL || o->prom == NULL || o->pid <= 0 || optind != argc) {
        fprintf(stderr, "usage: sfb-evbench --pub EP --prom HOST:PORT --pid PID [--events N] "
                        "[--rate R] [--mix all|poll] [--unique]\n");
        exit(2);
    }
}

int
main(int argc, char **argv)
{
    s_opts_t o;
    s_parse(argc, argv, &o);
    void *zctx = zmq_ctx_new(), *pub = zmq_socket(zctx, ZMQ_XPUB);
    int hwm = S_SNDHWM, linger = 2000;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pub, o.pub_ep) != 0 || s_wait_subscribed(pub) != 0) {
        fprintf(stderr, "sfb-evbench: no subscriber on %s\n", o.pub_ep);
        return 1;
    }
    s_figures_t f0 = {0}, f = {0};
    s_figures(o.prom, &f0);
    uint64_t rss0 = s_rss_kb(o.pid), send_fail = 0;
    sfb_event_t ev = {.epoch = ((uint64_t)getpid() << 32) ^ load_now_ns()};
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t t0 = load_now_ns();
    for (uint64_t i = 0; i < o.events; i++) {
        if (o.rate > 0 && (i & 63) == 0)
            while ((double)(load_now_ns() - t0) < (double)i * 1e9 / o.rate) {
            }
        s_event(&ev, i, o.poll_only, o.unique);
        ev.seq = i + 1;
        s_publish(pub, &ev, &b, &send_fail);
    }
    uint64_t t_pub = load_now_ns();
    usleep(300000);
    s_event(&ev, o.events, o.poll_only, false);
    ev.seq = o.events + 1;
    s_publish(pub, &ev, &b, &send_fail);
    /* ingest ends when every event is either counted or known missed (a loss at the very
     * end only shows once the last event arrives) */
    uint64_t t_main = 0;
    while (load_now_ns() - t_pub < S_SETTLE_NS && s_figures(o.prom, &f) == 0) {
        uint64_t seen = f.events - f0.events + f.missed - f0.missed;
        if (seen >= o.events && t_main == 0)
            t_main = load_now_ns();
        if (seen >= o.events + 1)
            break;
        usleep(10000);
    }
    double pub_s = (double)(t_pub - t0) / 1e9;
    double ingest_s = t_main ? (double)(t_main - t0) / 1e9 : 0;
    uint64_t counted = f.events - f0.events;
    printf("{\"bench\":\"metricsd\",\"events\":%llu,\"rate\":%.0f,\"publish_s\":%.3f,"
           "\"publish_per_s\":%.0f,\"send_fail\":%llu,\"counted\":%llu,\"missed\":%llu,"
           "\"ingest_per_s\":%.0f,\"set_entries\":%llu,\"set_bytes\":%llu,\"rss_before_kb\":%llu,"
           "\"rss_after_kb\":%llu}\n",
           (unsigned long long)o.events, o.rate, pub_s, (double)o.events / pub_s,
           (unsigned long long)send_fail, (unsigned long long)counted,
           (unsigned long long)(f.missed - f0.missed),
           ingest_s > 0 ? (double)(counted > 0 ? counted - 1 : 0) / ingest_s : 0,
           (unsigned long long)f.set_entries, (unsigned long long)f.set_bytes,
           (unsigned long long)rss0, (unsigned long long)s_rss_kb(o.pid));
    zmq_close(pub);
    zmq_ctx_term(zctx);
    sfb_buf_dispose(&b);
    return 0;
}
