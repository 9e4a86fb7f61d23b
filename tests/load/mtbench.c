/* mtbench.c - sfb-mtbench: drives snowflake-matcher alone over ZeroMQ, as many frontends
 * would, with no HTTP in the way. One DEALER; `--window` rendezvous cycles in flight, each:
 * PROXY_POLL (fresh Sid) + CLIENT_OFFER -> PROXY_REPLY(match) -> PROXY_ANSWER ->
 * ANSWER_REPLY + CLIENT_REPLY(answer). Counts requests handled (3 per rendezvous) per second
 * and the latency of the immediate hop (answer -> answer reply) and of whole cycles.
 * `--rate R` paces new cycles to R rendezvous/s (for latency at a given load).
 * Prints one JSON object. Single-threaded (plus libzmq's I/O thread).
 * usage: sfb-mtbench --endpoint EP [--duration S] [--window W] [--rate R] */
#include "load_hist.h"
#include "load_http.h" /* load_now_ns */
#include "sfb_msg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define S_KIND_BITS 2
#define S_SLOT_BITS 18
#define S_MAX_WINDOW (1u << S_SLOT_BITS)
enum { S_K_POLL = 0, S_K_OFFER = 1, S_K_ANSWER = 2 };

typedef struct {
    uint64_t offer_ns; /* when the cycle's offer was sent */
} s_slot_t;

typedef struct {
    void *sock;                  /* the DEALER */
    sfb_buf_t out;               /* encoding buffer */
    uint64_t seq;                /* request counter, high bits of req_id */
    s_slot_t *slots;             /* per cycle in flight */
    uint64_t t_measure, t_end;   /* window */
    uint64_t requests, cycles;   /* replies in the window: requests, complete rendezvous */
    uint64_t denied, unexpected; /* NO_PROXIES replies; anything else off script */
    uint64_t send_fail;          /* zmq_send failures */
    load_hist_t hop;             /* answer->reply latencies in the window */
    load_hist_t cycle;           /* offer->client answer in the window */
} s_bench_t;

static const char s_offer[] = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 905511255586549622 2 IN "
                              "IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\n\"}";
static const char s_answer[] = "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\no=- 780663594013925534 2 "
                               "IN IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\na=setup:active\\r\\n\"}";

static uint64_t
s_req_id(s_bench_t *b, unsigned slot, unsigned kind)
{
    return (++b->seq << (S_SLOT_BITS + S_KIND_BITS)) | ((uint64_t)slot << S_KIND_BITS) | kind;
}

static void
s_send(s_bench_t *b, const sfb_msg_t *m)
{
    sfb_buf_reset(&b->out);
    sfb_msg_encode(m, &b->out);
    if (zmq_send(b->sock, b->out.data, b->out.len, 0) < 0)
        b->send_fail++;
}

/* Sid of the poll whose request id is `req_id` (so the match reply names it). */
static size_t
s_sid(char *out, uint64_t req_id)
{
    return (size_t)snprintf(out, 24, "p%021llx", (unsigned long long)req_id);
}

/* Proxy address of a poll: spread over a /16 so the matcher's IP tags see many proxies. */
static size_t
s_addr(char *out, uint64_t n)
{
    return (size_t)snprintf(out, 24, "10.%u.%u.%u", (unsigned)(n >> 16) & 255,
                            (unsigned)(n >> 8) & 255, (unsigned)n & 255);
}

static void
s_start_cycle(s_bench_t *b, unsigned slot)
{
    char sid[24], addr[24];
    sfb_msg_t m = {.type = SFB_MSG_PROXY_POLL, .req_id = s_req_id(b, slot, S_K_POLL)};
    m.u.poll = (sfb_msg_poll_t){.ptype = SFB_PROXY_STANDALONE,
                                .nat = SFB_NAT_UNRESTRICTED,
                                .has_pattern = true,
                                .pattern = SFB_STR("snowflake.torproject.net$"),
                                .cc = "??"};
    m.u.poll.sid = (sfb_str_t){sid, s_sid(sid, m.req_id)};
    m.u.poll.addr = (sfb_str_t){addr, s_addr(addr, b->seq)};
    s_send(b, &m);
    sfb_msg_t o = {.type = SFB_MSG_CLIENT_OFFER, .req_id = s_req_id(b, slot, S_K_OFFER)};
    o.u.offer = (sfb_msg_offer_t){.offer = SFB_STR(s_offer),
                                  .nat = SFB_NAT_UNRESTRICTED,
                                  .method = SFB_METHOD_HTTP,
                                  .addr = SFB_STR("192.0.2.1"),
                                  .cc = "??"};
    o.u.offer.fp_len = sfb_fingerprint_decode(SFB_DEFAULT_FINGERPRINT,
                                              strlen(SFB_DEFAULT_FINGERPRINT), o.u.offer.fp);
    b->slots[slot].offer_ns = load_now_ns();
    s_send(b, &o);
}

static bool
s_in_window(const s_bench_t *b, uint64_t now)
{
    return now >= b->t_measure && now < b->t_end;
}

/* A reply arrived; return the slot whose cycle finished, or -1. */
static long
s_on_reply(s_bench_t *b, const sfb_msg_t *m, uint64_t now)
{
    unsigned slot = (unsigned)(m->req_id >> S_KIND_BITS) & (S_MAX_WINDOW - 1);
    bool win = s_in_window(b, now);
    b->requests += win;
    switch (m->type) {
    case SFB_MSG_PROXY_REPLY: {
        if (m->u.proxy_reply.status != SFB_PROXY_MATCH) {
            b->unexpected++;
            return -1;
        }
        /* the answer's request id carries its send time (µs): its reply gives the hop */
        char sid[24];
        uint64_t id = (load_now_ns() / 1000) << (S_SLOT_BITS + S_KIND_BITS) |
                      (uint64_t)slot << S_KIND_BITS | S_K_ANSWER;
        sfb_msg_t a = {.type = SFB_MSG_PROXY_ANSWER, .req_id = id};
        a.u.answer = (sfb_msg_answer_t){{sid, s_sid(sid, m->req_id)}, SFB_STR(s_answer)};
        s_send(b, &a);
        return -1;
    }
    case SFB_MSG_ANSWER_REPLY:
        if (win)
            load_hist_add(&b->hop, now - (m->req_id >> (S_SLOT_BITS + S_KIND_BITS)) * 1000);
        return -1;
    case SFB_MSG_CLIENT_REPLY:
        if (m->u.client_reply.status == SFB_CLIENT_NO_PROXIES) {
            b->denied++;
            return (long)slot;
        }
        if (m->u.client_reply.status != SFB_CLIENT_ANSWER) {
            b->unexpected++;
            return (long)slot;
        }
        if (win) {
            b->cycles++;
            load_hist_add(&b->cycle, now - b->slots[slot].offer_ns);
        }
        return (long)slot;
    default:
        b->unexpected++;
        return -1;
    }
}

static void
s_print(const s_bench_t *b, double win, unsigned window, double rate)
{
    printf("{\"bench\":\"matcher\",\"window\":%u,\"rate\":%.0f,\"seconds\":%.3f,"
           "\"requests\":%llu,\"ops_per_s\":%.1f,\"rendezvous\":%llu,\"rendezvous_per_s\":%.1f,"
           "\"hop_p50_us\":%.1f,\"hop_p99_us\":%.1f,\"hop_p999_us\":%.1f,"
           "\"cycle_p50_us\":%.1f,\"cycle_p99_us\":%.1f,\"denied\":%llu,\"unexpected\":%llu,"
           "\"send_fail\":%llu}\n",
           window, rate, win, (unsigned long long)b->requests, (double)b->requests / win,
           (unsigned long long)b->cycles, (double)b->cycles / win,
           (double)load_hist_quantile(&b->hop, 0.5) / 1e3,
           (double)load_hist_quantile(&b->hop, 0.99) / 1e3,
           (double)load_hist_quantile(&b->hop, 0.999) / 1e3,
           (double)load_hist_quantile(&b->cycle, 0.5) / 1e3,
           (double)load_hist_quantile(&b->cycle, 0.99) / 1e3, (unsigned long long)b->denied,
           (unsigned long long)b->unexpected, (unsigned long long)b->send_fail);
}

/* Receive and handle every reply that is ready (waiting up to timeout_ms for the first);
 * queue finished slots in *free_slots. */
static void
s_pump(s_bench_t *b, int timeout_ms, unsigned *free_slots, unsigned *nfree)
{
    zmq_pollitem_t it = {b->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return;
    for (int i = 0; i < 4096; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, b->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        sfb_msg_t m;
        long slot = -1;
        if (sfb_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == SFB_OK)
            slot = s_on_reply(b, &m, load_now_ns());
        else
            b->unexpected++;
        zmq_msg_close(&msg);
        if (slot >= 0)
            free_slots[(*nfree)++] = (unsigned)slot;
    }
}

int
main(int argc, char **argv)
{
    const char *ep = NULL;
    double duration = 5, warmup = 0.5, rate = 0;
    unsigned window = 256;
    static const struct option lo[] = {{"endpoint", 1, 0, 'e'}, {"duration", 1, 0, 'd'},
                                       {"window", 1, 0, 'w'},   {"rate", 1, 0, 'r'},
                                       {"warmup", 1, 0, 'W'},   {0, 0, 0, 0}};
    for (int opt; (opt = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (opt) {
        case 'e':
            ep = optarg;
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 'w':
            window = (unsigned)atoi(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'W':
            warmup = atof(optarg);
            break;
        default:
            ep = NULL, optind = argc + 1;
        }
    }
    if (ep == NULL || window == 0 || window >= S_MAX_WINDOW || optind != argc) {
        fprintf(stderr, "usage: sfb-mtbench --endpoint EP [--duration S] [--window W] "
                        "[--rate R] [--warmup S]\n");
        return 2;
    }
    static s_bench_t b;
    sfb_buf_init(&b.out);
    load_hist_init(&b.hop);
    load_hist_init(&b.cycle);
    b.slots = calloc(window, sizeof *b.slots);
    unsigned *free_slots = calloc(window, sizeof *free_slots), nfree = 0;
    void *zctx = zmq_ctx_new();
    b.sock = zmq_socket(zctx, ZMQ_DEALER);
    int hwm = 100000, linger = 0;
    zmq_setsockopt(b.sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b.sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b.sock, ZMQ_LINGER, &linger, sizeof linger);
    if (b.slots == NULL || free_slots == NULL || zmq_connect(b.sock, ep) != 0) {
        fprintf(stderr, "sfb-mtbench: cannot connect to %s\n", ep);
        return 1;
    }
    for (unsigned i = 0; i < window; i++)
        free_slots[nfree++] = i;
    uint64_t t0 = load_now_ns(), next_ns = t0, step_ns = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    b.t_measure = t0 + (uint64_t)(warmup * 1e9);
    b.t_end = b.t_measure + (uint64_t)(duration * 1e9);
    for (uint64_t now; (now = load_now_ns()) < b.t_end;) {
        while (nfree > 0 && (step_ns == 0 || now >= next_ns)) {
            s_start_cycle(&b, free_slots[--nfree]);
            next_ns += step_ns;
        }
        if (nfree > 0 && step_ns && next_ns > now && next_ns - now < 1000000) {
            /* sleep rather than spin, so libzmq's I/O thread on this core gets to run */
            struct timespec ts = {0, (long)(next_ns - now)};
            nanosleep(&ts, NULL);
            s_pump(&b, 0, free_slots, &nfree);
            continue;
        }
        int wait_ms = nfree > 0 && step_ns ? (int)((next_ns - now) / 1000000) : 5;
        s_pump(&b, wait_ms, free_slots, &nfree);
    }
    s_print(&b, duration, window, rate);
    zmq_close(b.sock);
    zmq_ctx_term(zctx);
    sfb_buf_dispose(&b.out);
    free(b.slots);
    free(free_slots);
    return 0;
}
