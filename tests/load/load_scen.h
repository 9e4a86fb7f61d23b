/* load_scen.h - the scenarios of sfb-load: what each connection sends and how it reads the
 * answers (docs/performance.md, BENCHMARKS.md). One run of one scenario per process; the
 * state lives in a load_run_t owned by main. Single-threaded. */
#ifndef LOAD_SCEN_H
#define LOAD_SCEN_H

#include "load_hist.h"
#include "load_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LOAD_SC_GET = 0,    /* GET --path on every connection (the hello-world reference) */
    LOAD_SC_PROXY,      /* POST /proxy polls, a fresh Sid each (idle or refused polls) */
    LOAD_SC_CLIENT,     /* POST /client with the captured offer (no proxy: immediate 200) */
    LOAD_SC_RENDEZVOUS, /* proxy loops and client loops that meet through the broker */
    LOAD_SC_HOLD,       /* N held proxy polls, broker RSS sampled once all are held */
} load_scenario_t;

/** Body classes the scenarios count (upstream bodies, spec §3). */
typedef enum {
    LOAD_B_NO_MATCH = 0, /* {"Status":"no match",...} */
    LOAD_B_CLIENT_MATCH, /* {"Status":"client match",...} */
    LOAD_B_BAD_RELAY,    /* {"Status":"incorrect relay pattern",...} */
    LOAD_B_SUCCESS,      /* {"Status":"success"} */
    LOAD_B_CLIENT_GONE,  /* {"Status":"client gone"} */
    LOAD_B_ANSWER,       /* {"answer":...} */
    LOAD_B_NO_PROXIES,   /* {"error":"no snowflake proxies currently available"} */
    LOAD_B_TIMED_OUT,    /* {"error":"timed out waiting for answer!"} */
    LOAD_B_OTHER,        /* anything else (the hello body, error forms) */
} load_body_t;
#define LOAD_B_COUNT 9

typedef struct {
    load_scenario_t scenario; /* what to run */
    size_t conns;             /* connections (GET/PROXY/CLIENT) */
    size_t proxies, clients;  /* RENDEZVOUS: proxy loops and client loops */
    size_t hold;              /* HOLD: polls to hold */
    size_t debug_expect;      /* HOLD: /debug count that means all are held (several processes) */
    double connect_rate;      /* HOLD: connections opened per second */
    double duration_s;        /* measured window (HOLD: the whole run's bound) */
    double warmup_s;          /* before the window: not counted */
    const char *path;         /* GET path */
    const char *host;         /* Host header */
    const char *nat;          /* proxy NAT */
    const char *pattern;      /* proxy AcceptedRelayPattern */
    const char *offer_body;   /* client poll body (captured) */
    size_t offer_len;         /* its length */
    const char *answer_body;  /* captured /answer body; its Sid is replaced */
    size_t answer_len;        /* its length */
    const int *rss_pids;      /* HOLD: broker processes to sample */
    size_t nrss;              /* entries in rss_pids */
} load_opts_t;

typedef struct {
    const load_opts_t *o;                /* borrowed */
    load_engine_t *eng;                  /* the connections */
    bool running;                        /* new requests may be sent */
    uint64_t t0_ns, t_measure_ns;        /* start, start of the window */
    uint64_t t_end_ns;                   /* end of the window */
    load_hist_t hist;                    /* latencies in the window */
    uint64_t done;                       /* responses in the window (2xx) */
    uint64_t non2xx;                     /* non-2xx responses (any time) */
    uint64_t errors[LOAD_E_COUNT];       /* connection errors (any time, before the end) */
    uint64_t bodies[LOAD_B_COUNT];       /* body classes (any time) */
    uint64_t rendezvous;                 /* client answers received in the window */
    uint64_t held, early;                /* HOLD: polls written; answered before the sample */
    uint64_t debug_held;                 /* HOLD: pooled proxies per the broker's /debug */
    uint64_t rss_before_kb, rss_held_kb; /* HOLD: summed VmRSS of rss_pids */
    uint64_t hold_sampled_ns;            /* HOLD: when the RSS was sampled (0: not yet) */
} load_run_t;

/** Return the callbacks that drive scenario run->o->scenario (ctx is run). */
load_callbacks_t load_scen_callbacks(load_run_t *run);
/** HOLD: open connections at the configured rate, watch /debug, sample RSS; call about every
 *  10 ms. Return false once the hold run is over. */
bool load_scen_hold_tick(load_run_t *run, uint64_t now_ns);
/** Return the sum of VmRSS (kB) of the given processes (0 for a process that is gone). */
uint64_t load_rss_kb(const int *pids, size_t n);
/** Return the class of a response body. */
load_body_t load_body_class(const char *body, size_t len);
/** Return the JSON name of a body class. */
const char *load_body_name(load_body_t b);

#endif
