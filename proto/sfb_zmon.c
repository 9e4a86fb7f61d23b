/* sfb_zmon.c - see sfb_zmon.h. libzmq sends monitor events from its I/O threads with a
 * blocking send on a PAIR socket, so the reading end is connected before the watched socket
 * binds and is drained at all times by a thread that does nothing else. Events carry the local
 * endpoint only (never the peer's address), so log lines hold no address. */
#include "sfb_zmon.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define S_MOD "sfb.curve"
#define S_MAX_WATCHED 8
#define S_EVENTS                                                                                   \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                             \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

typedef struct {
    zsock_t *pair; /* reading end of one socket's monitor (owned by the actor thread) */
    char *name;    /* log name of the watched socket */
} s_watched_t;

struct sfb_zmon {
    zactor_t *actor;                    /* the reading thread */
    sfb_zmon_fn *on_refused;            /* optional hook, called on the thread */
    void *arg;                          /* for on_refused */
    _Atomic uint64_t accepted;          /* see sfb_zmon_stats_t */
    _Atomic uint64_t refused_auth;      /* ... */
    _Atomic uint64_t refused_proto;     /* ... */
    _Atomic uint64_t refused_other;     /* ... */
    s_watched_t watched[S_MAX_WATCHED]; /* actor thread only */
    size_t n_watched;                   /* actor thread only */
    sfb_ratelim_t rl[3];                /* per kind of refusal; actor thread only */
};

static _Atomic unsigned s_next_id; /* makes inproc endpoints unique within the process */

static const char *
s_proto_reason(uint32_t code)
{
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "the peer does not use CURVE";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "CURVE handshake failed (wrong server key?)";
    default:
        return "protocol error";
    }
}

/* Count one monitor event; return without logging for successes. */
static void
s_count(sfb_zmon_t *m, const s_watched_t *w, uint16_t event, uint32_t value)
{
    const char *reason;
    char buf[64];
    int kind;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        atomic_fetch_add(&m->accepted, 1);
        return;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        atomic_fetch_add(&m->refused_auth, 1);
        kind = 0;
        snprintf(buf, sizeof buf, "client key not allowed (ZAP %u)", (unsigned)value);
        reason = buf;
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        atomic_fetch_add(&m->refused_proto, 1);
        kind = 1;
        reason = s_proto_reason(value);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        atomic_fetch_add(&m->refused_other, 1);
        kind = 2;
        reason = "handshake not completed (a peer without CURVE, or with a wrong server key, "
                 "may close first)";
    } else {
        return;
    }
    if (m->on_refused != NULL)
        m->on_refused(m->arg);
    sfb_log_ratelim(&m->rl[kind], SFB_WARN, S_MOD, "%s refused a peer: %s (%llu refused so far)",
                    w->name, reason, (unsigned long long)sfb_zmon_refused(m));
}

/* Read one event: [u16 event][u32 value] then the endpoint frame. */
static void
s_read_event(sfb_zmon_t *m, const s_watched_t *w)
{
    zmsg_t *msg = zmsg_recv(w->pair);
    zframe_t *head = msg ? zmsg_first(msg) : NULL;
    if (head != NULL && zframe_size(head) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy(&event, zframe_data(head), sizeof event);
        memcpy(&value, zframe_data(head) + 2, sizeof value);
        s_count(m, w, event, value);
    }
    zmsg_destroy(&msg);
}

/* WATCH endpoint name: connect a PAIR to the monitor endpoint. Return 0 or -1. */
static int
s_add(sfb_zmon_t *m, zmsg_t *cmd)
{
    char *endpoint = zmsg_popstr(cmd), *name = zmsg_popstr(cmd);
    int rc = -1;
    if (endpoint != NULL && name != NULL && m->n_watched < S_MAX_WATCHED) {
        zsock_t *pair = zsock_new(ZMQ_PAIR);
        if (pair != NULL && zsock_connect(pair, "%s", endpoint) == 0) {
            m->watched[m->n_watched++] = (s_watched_t){pair, sfb_xstrdup(name)};
            rc = 0;
        } else {
            zsock_destroy(&pair);
        }
    }
    zstr_free(&endpoint);
    zstr_free(&name);
    return rc;
}

/* Handle a command from the owner; return false on $TERM. */
static bool
s_command(sfb_zmon_t *m, zsock_t *pipe)
{
    zmsg_t *cmd = zmsg_recv(pipe);
    char *verb = cmd ? zmsg_popstr(cmd) : NULL;
    bool go_on = verb != NULL && strcmp(verb, "$TERM") != 0;
    if (go_on && strcmp(verb, "WATCH") == 0)
        zsock_signal(pipe, s_add(m, cmd) == 0 ? 0 : 1);
    zstr_free(&verb);
    zmsg_destroy(&cmd);
    return go_on;
}

static void
s_actor(zsock_t *pipe, void *arg)
{
    sfb_zmon_t *m = arg;
    zsock_signal(pipe, 0);
    for (;;) {
        zmq_pollitem_t items[1 + S_MAX_WATCHED] = {{zsock_resolve(pipe), 0, ZMQ_POLLIN, 0}};
        for (size_t i = 0; i < m->n_watched; i++)
            items[1 + i] = (zmq_pollitem_t){zsock_resolve(m->watched[i].pair), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(items, 1 + (int)m->n_watched, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            break;
        for (size_t i = 0; i < m->n_watched; i++)
            if (items[1 + i].revents & ZMQ_POLLIN)
                s_read_event(m, &m->watched[i]);
        if ((items[0].revents & ZMQ_POLLIN) && !s_command(m, pipe))
            break;
    }
    for (size_t i = 0; i < m->n_watched; i++) {
        zsock_destroy(&m->watched[i].pair);
        free(m->watched[i].name);
    }
    m->n_watched = 0;
}

sfb_zmon_t *
sfb_zmon_new(sfb_zmon_fn *on_refused, void *arg)
{
    sfb_zmon_t *m = sfb_xcalloc(1, sizeof *m);
    m->on_refused = on_refused;
    m->arg = arg;
    for (size_t i = 0; i < sizeof m->rl / sizeof m->rl[0]; i++)
        m->rl[i].interval_ms = 10000;
    /* the thread inherits this mask: a signal must never interrupt it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->actor = zactor_new(s_actor, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (m->actor == NULL) {
        sfb_log(SFB_ERROR, S_MOD, "cannot start the handshake monitor thread");
        free(m);
        return NULL;
    }
    return m;
}

void
sfb_zmon_destroy(sfb_zmon_t **zmon_p)
{
    if (zmon_p == NULL || *zmon_p == NULL)
        return;
    sfb_zmon_t *m = *zmon_p;
    zactor_destroy(&m->actor);
    free(m);
    *zmon_p = NULL;
}

int
sfb_zmon_watch(sfb_zmon_t *m, void *sock, const char *name)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://sfb-zmon-%u", atomic_fetch_add(&s_next_id, 1));
    if (zmq_socket_monitor(zsock_resolve(sock), endpoint, S_EVENTS) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "%s: cannot monitor the socket: %s", name, zmq_strerror(errno));
        return -1;
    }
    if (zstr_sendx(m->actor, "WATCH", endpoint, name, NULL) != 0 || zsock_wait(m->actor) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "%s: cannot read the socket's monitor", name);
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        return -1;
    }
    return 0;
}

void
sfb_zmon_stats(const sfb_zmon_t *m, sfb_zmon_stats_t *out)
{
    sfb_zmon_t *mm = (sfb_zmon_t *)m; /* atomic loads take non-const pointers in C11 */
    out->accepted = atomic_load(&mm->accepted);
    out->refused_auth = atomic_load(&mm->refused_auth);
    out->refused_proto = atomic_load(&mm->refused_proto);
    out->refused_other = atomic_load(&mm->refused_other);
}

uint64_t
sfb_zmon_refused(const sfb_zmon_t *m)
{
    sfb_zmon_stats_t s;
    sfb_zmon_stats(m, &s);
    return s.refused_auth + s.refused_proto + s.refused_other;
}
