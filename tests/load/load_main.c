/* load_main.c - sfb-load: HTTP load generator for the broker benchmarks (BENCHMARKS.md).
 * Parses options, raises RLIMIT_NOFILE, runs one scenario for a bounded time and prints one
 * JSON object with rates, latency percentiles, errors and (hold scenario) broker RSS.
 * Talks only to the addresses it is given (the bench uses 127.0.0.x). Single-threaded. */
#include "load_scen.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define S_MAX_TARGETS 16
#define S_MAX_SRCS 64
#define S_MAX_PIDS 64
#define S_DRAIN_NS 1000000000ull /* after the window: let in-flight answers arrive */

static void
s_usage(void)
{
    fprintf(stderr,
            "usage: sfb-load --scenario get|proxy|client|rendezvous|hold [options]\n"
            "  --host A          server address (127.0.0.1)\n"
            "  --ports P[,P..]   server ports, connections spread round robin (8080)\n"
            "  --src N           bind to N source addresses 127.0.0.2.. (0: kernel's choice)\n"
            "  --conns N         connections (get/proxy/client; 50)\n"
            "  --proxies N --clients M   rendezvous loops (200, 50)\n"
            "  --hold N          hold: polls to hold (10000)\n"
            "  --connect-rate R  hold: connections per second (20000)\n"
            "  --duration S      measured seconds (5); hold: upper bound of the run (60)\n"
            "  --warmup S        unmeasured seconds before the window (0.5)\n"
            "  --path P          get: path (/hello)\n"
            "  --nat N --pattern P   proxy NAT (unknown) and AcceptedRelayPattern\n"
            "  --offer-file F --answer-file F   captured /client and /answer bodies\n"
            "  --rss-pids P[,P..]  hold: broker processes whose VmRSS is summed\n"
            "  --debug-expect N  hold: sample once /debug shows N (default --hold; for N\n"
            "                    split over several sfb-load processes)\n");
    exit(2);
}

static char *
s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    static char buf[100001];
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char *copy = malloc(*len + 1);
    if (copy == NULL)
        exit(2);
    memcpy(copy, buf, *len);
    copy[*len] = '\0';
    return copy;
}

static load_scenario_t
s_scenario(const char *name)
{
    static const char *names[] = {"get", "proxy", "client", "rendezvous", "hold"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return (load_scenario_t)i;
    fprintf(stderr, "sfb-load: unknown scenario %s\n", name);
    exit(2);
}

static size_t
s_int_list(const char *s, int *out, size_t max)
{
    size_t n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end)
        out[n++] = (int)strtol(s, &end, 10);
    return n;
}

typedef struct {
    load_opts_t o;                             /* the scenario's options */
    struct sockaddr_in targets[S_MAX_TARGETS]; /* servers */
    size_t ntargets;                           /* entries */
    struct in_addr srcs[S_MAX_SRCS];           /* source addresses */
    size_t nsrc;                               /* entries */
    int pids[S_MAX_PIDS];                      /* --rss-pids */
} s_cfg_t;

static const struct option s_long_opts[] = {{"scenario", 1, 0, 's'},
                                            {"host", 1, 0, 'H'},
                                            {"ports", 1, 0, 'p'},
                                            {"src", 1, 0, 'S'},
                                            {"conns", 1, 0, 'c'},
                                            {"proxies", 1, 0, 'P'},
                                            {"clients", 1, 0, 'C'},
                                            {"hold", 1, 0, 'h'},
                                            {"connect-rate", 1, 0, 'r'},
                                            {"duration", 1, 0, 'd'},
                                            {"warmup", 1, 0, 'w'},
                                            {"path", 1, 0, 'u'},
                                            {"nat", 1, 0, 'n'},
                                            {"pattern", 1, 0, 'a'},
                                            {"offer-file", 1, 0, 'o'},
                                            {"answer-file", 1, 0, 'A'},
                                            {"rss-pids", 1, 0, 'R'},
                                            {"debug-expect", 1, 0, 'E'},
                                            {0, 0, 0, 0}};

static void
s_defaults(load_opts_t *o)
{
    *o = (load_opts_t){.conns = 50,
                       .proxies = 200,
                       .clients = 50,
                       .hold = 10000,
                       .connect_rate = 20000,
                       .duration_s = -1,
                       .warmup_s = 0.5,
                       .path = "/hello",
                       .host = "127.0.0.1",
                       .nat = "unknown",
                       .pattern = "snowflake.torproject.net$"};
}

/* Check the parsed options and derive the addresses; exit 2 on a usage error. */
static void
s_finish(s_cfg_t *cfg, const char *host, const char *ports, int nsrc, bool ok)
{
    load_opts_t *o = &cfg->o;
    int nports[S_MAX_TARGETS];
    if (!ok || nsrc < 0 || nsrc > S_MAX_SRCS)
        s_usage();
    o->rss_pids = cfg->pids;
    if (o->debug_expect == 0)
        o->debug_expect = o->hold;
    if (o->duration_s < 0)
        o->duration_s = o->scenario == LOAD_SC_HOLD ? 60 : 5;
    cfg->ntargets = s_int_list(ports, nports, S_MAX_TARGETS);
    for (size_t i = 0; i < cfg->ntargets; i++) {
        cfg->targets[i] =
            (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)nports[i])};
        if (inet_pton(AF_INET, host, &cfg->targets[i].sin_addr) != 1)
            s_usage();
    }
    for (int i = 0; i < nsrc; i++)
        cfg->srcs[i].s_addr = htonl(0x7f000002u + (uint32_t)i);
    cfg->nsrc = (size_t)nsrc;
    bool needs_offer = o->scenario == LOAD_SC_CLIENT || o->scenario == LOAD_SC_RENDEZVOUS;
    if ((needs_offer && o->offer_body == NULL) ||
        (o->scenario == LOAD_SC_RENDEZVOUS && o->answer_body == NULL)) {
        fprintf(stderr, "sfb-load: this scenario needs --offer-file (and --answer-file)\n");
        exit(2);
    }
}

static void
s_parse(int argc, char **argv, s_cfg_t *cfg)
{
    load_opts_t *o = &cfg->o;
    s_defaults(o);
    const char *host = "127.0.0.1", *ports = "8080";
    int nsrc = 0, opt;
    bool have_scenario = false;
    while ((opt = getopt_long(argc, argv, "", s_long_opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            o->scenario = s_scenario(optarg), have_scenario = true;
            break;
        case 'H':
            host = optarg;
            break;
        case 'p':
            ports = optarg;
            break;
        case 'S':
            nsrc = atoi(optarg);
            break;
        case 'c':
            o->conns = strtoul(optarg, NULL, 10);
            break;
        case 'P':
            o->proxies = strtoul(optarg, NULL, 10);
            break;
        case 'C':
            o->clients = strtoul(optarg, NULL, 10);
            break;
        case 'h':
            o->hold = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o->connect_rate = atof(optarg);
            break;
        case 'd':
            o->duration_s = atof(optarg);
            break;
        case 'w':
            o->warmup_s = atof(optarg);
            break;
        case 'u':
            o->path = optarg;
            break;
        case 'n':
            o->nat = optarg;
            break;
        case 'a':
            o->pattern = optarg;
            break;
        case 'o':
            o->offer_body = s_read_file(optarg, &o->offer_len);
            break;
        case 'A':
            o->answer_body = s_read_file(optarg, &o->answer_len);
            break;
        case 'R':
            o->nrss = s_int_list(optarg, cfg->pids, S_MAX_PIDS);
            break;
        case 'E':
            o->debug_expect = strtoul(optarg, NULL, 10);
            break;
        default:
            s_usage();
        }
    }
    s_finish(cfg, host, ports, nsrc, have_scenario && optind == argc);
}

static void
s_raise_nofile(size_t need)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= need + 64)
        return;
    rl.rlim_cur = need + 64 > rl.rlim_max ? rl.rlim_max : need + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need + 64)
        fprintf(stderr, "sfb-load: RLIMIT_NOFILE %llu < %zu connections: raise ulimit -Hn\n",
                (unsigned long long)rl.rlim_max, need);
}

static size_t
s_conn_count(const load_opts_t *o)
{
    switch (o->scenario) {
    case LOAD_SC_RENDEZVOUS:
        return o->proxies + o->clients;
    case LOAD_SC_HOLD:
        return o->hold + 1; /* + the /debug connection */
    case LOAD_SC_GET:
    case LOAD_SC_PROXY:
    case LOAD_SC_CLIENT:
        break;
    }
    return o->conns;
}

/* Run the looping scenarios: the window, then a short drain. */
static void
s_run_loop(load_run_t *r, size_t nconns)
{
    for (size_t i = 0; i < nconns; i++)
        load_engine_open(r->eng);
    uint64_t now;
    while ((now = load_now_ns()) < r->t_end_ns)
        load_engine_poll(r->eng, 10);
    r->running = false;
    size_t busy = 1;
    while (busy > 0 && load_now_ns() < r->t_end_ns + S_DRAIN_NS) {
        load_engine_poll(r->eng, 10);
        busy = 0;
        for (size_t i = 0; i < load_engine_opened(r->eng); i++)
            busy += load_engine_conn(r->eng, i)->busy;
    }
}

static void
s_run_hold(load_run_t *r)
{
    r->rss_before_kb = load_rss_kb(r->o->rss_pids, r->o->nrss);
    uint64_t now;
    while (load_scen_hold_tick(r, now = load_now_ns()))
        load_engine_poll(r->eng, 10);
    r->running = false;
}

static void
s_print(const load_run_t *r, size_t nconns)
{
    const load_opts_t *o = r->o;
    double win = (double)(r->t_end_ns - r->t_measure_ns) / 1e9;
    uint64_t errs = 0;
    for (int i = 0; i < LOAD_E_COUNT; i++)
        errs += r->errors[i];
    static const char *scen[] = {"get", "proxy", "client", "rendezvous", "hold"};
    printf("{\"scenario\":\"%s\",\"conns\":%zu,\"seconds\":%.3f,\"requests\":%llu,"
           "\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
           "\"errors\":%llu,\"non2xx\":%llu,",
           scen[o->scenario], nconns, win, (unsigned long long)r->done, (double)r->done / win,
           (double)load_hist_quantile(&r->hist, 0.5) / 1e3,
           (double)load_hist_quantile(&r->hist, 0.99) / 1e3,
           (double)load_hist_quantile(&r->hist, 0.999) / 1e3, (double)r->hist.max_ns / 1e3,
           (unsigned long long)(errs + r->non2xx + r->early), (unsigned long long)r->non2xx);
    static const char *enames[LOAD_E_COUNT] = {"connect", "closed", "parse", "too_big", "io"};
    printf("\"conn_errors\":{");
    for (int i = 0; i < LOAD_E_COUNT; i++)
        printf("%s\"%s\":%llu", i ? "," : "", enames[i], (unsigned long long)r->errors[i]);
    printf("},\"bodies\":{");
    for (int i = 0; i < LOAD_B_COUNT; i++)
        printf("%s\"%s\":%llu", i ? "," : "", load_body_name((load_body_t)i),
               (unsigned long long)r->bodies[i]);
    uint64_t total = 0;
    for (int i = 0; i < LOAD_B_COUNT; i++)
        total += r->bodies[i];
    printf("},\"total\":%llu,\"rendezvous\":%llu,\"rendezvous_per_s\":%.1f",
           (unsigned long long)total, (unsigned long long)r->rendezvous,
           (double)r->rendezvous / win);
    if (o->scenario == LOAD_SC_HOLD) {
        double per =
            o->hold ? ((double)r->rss_held_kb - (double)r->rss_before_kb) * 1024.0 / (double)o->hold
                    : 0;
        printf(",\"hold\":%zu,\"held\":%llu,\"debug_held\":%llu,\"early\":%llu,"
               "\"rss_before_kb\":%llu,\"rss_held_kb\":%llu,\"bytes_per_held\":%.0f",
               o->hold, (unsigned long long)r->held, (unsigned long long)r->debug_held,
               (unsigned long long)r->early, (unsigned long long)r->rss_before_kb,
               (unsigned long long)r->rss_held_kb, per);
    }
    printf("}\n");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    static s_cfg_t cfg;
    s_parse(argc, argv, &cfg);
    size_t nconns = s_conn_count(&cfg.o);
    s_raise_nofile(nconns);
    static load_run_t run;
    run.o = &cfg.o;
    load_hist_init(&run.hist);
    load_callbacks_t cb = load_scen_callbacks(&run);
    run.eng = load_engine_new(cfg.targets, cfg.ntargets, cfg.srcs, cfg.nsrc, nconns, &cb);
    run.running = true;
    run.t0_ns = load_now_ns();
    if (cfg.o.scenario == LOAD_SC_HOLD) {
        run.t_measure_ns = run.t0_ns;
        run.t_end_ns = run.t0_ns + (uint64_t)(cfg.o.duration_s * 1e9);
        s_run_hold(&run);
    } else {
        run.t_measure_ns = run.t0_ns + (uint64_t)(cfg.o.warmup_s * 1e9);
        run.t_end_ns = run.t_measure_ns + (uint64_t)(cfg.o.duration_s * 1e9);
        s_run_loop(&run, nconns);
    }
    s_print(&run, nconns);
    load_engine_destroy(&run.eng);
    return 0;
}
