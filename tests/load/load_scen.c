/* load_scen.c - the scenarios of sfb-load (see load_scen.h): request formatting, response
 * classification, the rendezvous state machine and the held-poll memory run. */
#include "load_scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_REQ_MAX (128 * 1024)
#define S_DEBUG_EVERY_NS 200000000ull /* HOLD: /debug poll period */
#define S_SETTLE_NS 15000000000ull    /* HOLD: give up waiting for /debug to show them all */

enum { S_ROLE_PROXY = 0, S_ROLE_CLIENT, S_ROLE_GET, S_ROLE_DEBUG };
enum { S_ST_POLL = 0, S_ST_ANSWER };

static char s_req[S_REQ_MAX]; /* the request being formatted */
static unsigned s_nonce;      /* makes Sids unique across runs against one broker */
static uint64_t s_last_debug_ns, s_debug_start_ns;

static const struct {
    const char *needle;
    load_body_t cls;
} s_classes[] = {
    {"\"no match\"", LOAD_B_NO_MATCH},
    {"\"client match\"", LOAD_B_CLIENT_MATCH},
    {"\"incorrect relay pattern\"", LOAD_B_BAD_RELAY},
    {"\"success\"", LOAD_B_SUCCESS},
    {"\"client gone\"", LOAD_B_CLIENT_GONE},
    {"{\"answer\"", LOAD_B_ANSWER},
    {"no snowflake proxies", LOAD_B_NO_PROXIES},
    {"timed out waiting", LOAD_B_TIMED_OUT},
};

load_body_t
load_body_class(const char *body, size_t len)
{
    size_t n = len < 64 ? len : 64; /* every class shows in the first bytes */
    for (size_t i = 0; i < sizeof s_classes / sizeof s_classes[0]; i++)
        if (memmem(body, n, s_classes[i].needle, strlen(s_classes[i].needle)) != NULL)
            return s_classes[i].cls;
    return LOAD_B_OTHER;
}

const char *
load_body_name(load_body_t b)
{
    static const char *names[LOAD_B_COUNT] = {"no_match",   "client_match", "bad_relay",
                                              "success",    "client_gone",  "answer",
                                              "no_proxies", "timed_out",    "other"};
    return names[b];
}

uint64_t
load_rss_kb(const int *pids, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "VmRSS:", 6) == 0)
                sum += strtoull(line + 6, NULL, 10);
        fclose(f);
    }
    return sum;
}

/* Sid number `n` of connection `id`: 22 characters, like a real 16-byte base64 Sid. */
static void
s_sid(char out[23], uint32_t id, uint64_t n)
{
    snprintf(out, 23, "%06x%06x%010llx", s_nonce & 0xffffff, id & 0xffffff,
             (unsigned long long)(n & 0xffffffffffull));
}

static void
s_send_poll(load_run_t *r, load_conn_t *c)
{
    char sid[23];
    s_sid(sid, c->id, ++c->token);
    char body[512];
    int bl = snprintf(body, sizeof body,
                      "{\"Sid\":\"%s\",\"Version\":\"1.3\",\"Type\":\"standalone\",\"NAT\":\"%s\","
                      "\"Clients\":0,\"AcceptedRelayPattern\":\"%s\"}",
                      sid, r->o->nat, r->o->pattern);
    int n = snprintf(s_req, sizeof s_req,
                     "POST /proxy HTTP/1.1\r\nHost: %s\r\nUser-Agent: sfb-load\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     r->o->host, bl, body);
    c->state = S_ST_POLL;
    load_conn_send(r->eng, c, s_req, (size_t)n);
}

/* POST /answer: the captured answer body with the Sid of c's last poll. */
static void
s_send_answer(load_run_t *r, load_conn_t *c)
{
    const char *a = r->o->answer_body, *key = "\"Sid\":\"";
    const char *p = memmem(a, r->o->answer_len, key, strlen(key));
    const char *q = p ? memchr(p + strlen(key), '"', r->o->answer_len - (size_t)(p - a) - 7) : NULL;
    if (q == NULL) {
        fprintf(stderr, "sfb-load: the answer body has no Sid\n");
        exit(2);
    }
    char sid[23];
    s_sid(sid, c->id, c->token);
    size_t pre = (size_t)(p - a) + strlen(key), post = r->o->answer_len - (size_t)(q - a);
    size_t bl = pre + strlen(sid) + post;
    int n = snprintf(s_req, sizeof s_req,
                     "POST /answer HTTP/1.1\r\nHost: %s\r\nUser-Agent: sfb-load\r\n"
                     "Content-Length: %zu\r\n\r\n%.*s%s%.*s",
                     r->o->host, bl, (int)pre, a, sid, (int)post, q);
    c->state = S_ST_ANSWER;
    load_conn_send(r->eng, c, s_req, (size_t)n);
}

static void
s_send_offer(load_run_t *r, load_conn_t *c)
{
    int n = snprintf(s_req, sizeof s_req,
                     "POST /client HTTP/1.1\r\nHost: %s\r\nUser-Agent: sfb-load\r\n"
                     "Content-Length: %zu\r\n\r\n%.*s",
                     r->o->host, r->o->offer_len, (int)r->o->offer_len, r->o->offer_body);
    load_conn_send(r->eng, c, s_req, (size_t)n);
}

static void
s_send_get(load_run_t *r, load_conn_t *c, const char *path)
{
    int n = snprintf(s_req, sizeof s_req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, r->o->host);
    load_conn_send(r->eng, c, s_req, (size_t)n);
}

/* The next request of a connection in a looping scenario. */
static void
s_next(load_run_t *r, load_conn_t *c)
{
    if (!r->running || !c->connected)
        return;
    switch (c->role) {
    case S_ROLE_PROXY:
        if (c->state == S_ST_ANSWER)
            s_send_answer(r, c);
        else
            s_send_poll(r, c);
        return;
    case S_ROLE_CLIENT:
        s_send_offer(r, c);
        return;
    case S_ROLE_GET:
        s_send_get(r, c, r->o->path);
        return;
    case S_ROLE_DEBUG:
        return; /* the hold tick paces it */
    }
}

static int
s_role_of(const load_run_t *r, const load_conn_t *c)
{
    switch (r->o->scenario) {
    case LOAD_SC_GET:
        return S_ROLE_GET;
    case LOAD_SC_PROXY:
        return S_ROLE_PROXY;
    case LOAD_SC_CLIENT:
        return S_ROLE_CLIENT;
    case LOAD_SC_RENDEZVOUS:
        return c->id < r->o->proxies ? S_ROLE_PROXY : S_ROLE_CLIENT;
    case LOAD_SC_HOLD:
        return c->id < r->o->hold ? S_ROLE_PROXY : S_ROLE_DEBUG;
    }
    return S_ROLE_GET;
}

static void
s_on_connected(void *ctx, load_conn_t *c)
{
    load_run_t *r = ctx;
    c->role = s_role_of(r, c);
    if (c->role == S_ROLE_DEBUG) {
        s_last_debug_ns = s_debug_start_ns = load_now_ns();
        s_send_get(r, c, "/debug");
        return;
    }
    if (r->o->scenario == LOAD_SC_HOLD) {
        s_send_poll(r, c);
        r->held++;
        return;
    }
    if (c->role == S_ROLE_PROXY && c->state == S_ST_ANSWER)
        c->state = S_ST_POLL; /* the answer's poll died with the old connection */
    s_next(r, c);
}

static bool
s_in_window(const load_run_t *r, uint64_t now)
{
    return now >= r->t_measure_ns && now < r->t_end_ns;
}

static void
s_on_debug(load_run_t *r, const char *body, size_t len)
{
    const char *key = "current snowflakes available: ";
    const char *p = memmem(body, len, key, strlen(key));
    if (p != NULL)
        r->debug_held = strtoull(p + strlen(key), NULL, 10);
}

static void
s_on_response(void *ctx, load_conn_t *c, int status, const char *body, size_t len,
              uint64_t latency_ns)
{
    load_run_t *r = ctx;
    if (c->role == S_ROLE_DEBUG) {
        s_on_debug(r, body, len);
        return;
    }
    uint64_t now = load_now_ns();
    load_body_t cls = load_body_class(body, len);
    r->bodies[cls]++;
    bool ok = status >= 200 && status < 300;
    if (!ok)
        r->non2xx++;
    if (r->o->scenario == LOAD_SC_HOLD) {
        if (r->hold_sampled_ns == 0)
            r->early++;
        load_conn_close(r->eng, c);
        return;
    }
    bool win = s_in_window(r, now);
    if (ok && win) {
        r->done++;
        if (r->o->scenario != LOAD_SC_RENDEZVOUS)
            load_hist_add(&r->hist, latency_ns);
        else if (cls == LOAD_B_ANSWER) {
            r->rendezvous++;
            load_hist_add(&r->hist, latency_ns);
        }
    }
    if (c->role == S_ROLE_PROXY)
        c->state = cls == LOAD_B_CLIENT_MATCH && c->state == S_ST_POLL ? S_ST_ANSWER : S_ST_POLL;
    s_next(r, c);
}

static bool
s_on_error(void *ctx, load_conn_t *c, load_err_t err)
{
    load_run_t *r = ctx;
    (void)c;
    if (r->running)
        r->errors[err]++;
    if (r->o->scenario == LOAD_SC_HOLD)
        return false;
    return r->running;
}

load_callbacks_t
load_scen_callbacks(load_run_t *r)
{
    s_nonce = (unsigned)getpid() * 2654435761u ^ (unsigned)load_now_ns();
    return (load_callbacks_t){s_on_connected, s_on_response, s_on_error, r};
}

/* HOLD, before the sample: open more connections, then poll /debug until all are pooled. */
static void
s_hold_fill(load_run_t *r, uint64_t now)
{
    size_t n = r->o->hold, opened = load_engine_opened(r->eng);
    if (opened < n) {
        double due = (double)(now - r->t0_ns) / 1e9 * r->o->connect_rate;
        size_t want = due >= (double)n ? n : (size_t)due + 1;
        for (size_t i = 0; opened < want && i < 5000; i++, opened++)
            load_engine_open(r->eng);
        return;
    }
    if (r->held < n)
        return; /* connects still in progress */
    if (opened == n) {
        load_engine_open(r->eng); /* the /debug connection */
        return;
    }
    load_conn_t *d = load_engine_conn(r->eng, n);
    if (r->debug_held >= r->o->debug_expect ||
        (s_debug_start_ns && now - s_debug_start_ns > S_SETTLE_NS)) {
        r->rss_held_kb = load_rss_kb(r->o->rss_pids, r->o->nrss);
        r->hold_sampled_ns = now;
        load_conn_close(r->eng, d); /* or h2o's keep-alive timeout closes it during the hold */
        return;
    }
    if (d->connected && !d->busy && now - s_last_debug_ns > S_DEBUG_EVERY_NS) {
        s_last_debug_ns = now;
        s_send_get(r, d, "/debug");
    }
}

bool
load_scen_hold_tick(load_run_t *r, uint64_t now)
{
    if (now >= r->t_end_ns)
        return false;
    if (r->hold_sampled_ns == 0) {
        s_hold_fill(r, now);
        return true;
    }
    uint64_t finished = r->early, errs = 0;
    for (int i = 0; i < LOAD_B_COUNT; i++)
        finished += r->bodies[i];
    for (int i = 0; i < LOAD_E_COUNT; i++)
        errs += r->errors[i];
    finished -= r->early; /* early answers are in bodies too */
    return finished + errs < r->o->hold;
}
