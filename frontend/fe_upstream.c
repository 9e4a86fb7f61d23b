/* fe_upstream.c - see fe_upstream.h. The ZMQ_FD wiring follows notes/dependencies.md §2:
 * a dup()ed fd watched with H2O_SOCKET_FLAG_DONT_READ, drained until a recv finds nothing,
 * and drained again at the end of every loop turn that sent (ZMQ_FD is edge-like; h2o's
 * epoll is level-triggered).
 * Watched HTTP connections are found through one registry per thread (s_watching), shared by
 * every instance of that thread: each entry is a held request, which names its upstream. */
#include "fe_upstream.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <czmq.h>
#include <errno.h>
#include <unistd.h>

#define S_HWM 10000            /* queued frames each way before sends fail fast / reads lag */
#define S_LINGER_MS 200        /* let shutdown CANCELs leave before the socket closes */
#define S_MAX_DEADLINES 8      /* distinct deadline values (one h2o_timeout_t each) */
#define S_CANCEL_BACKLOG S_HWM /* CANCELs kept for resending after the queue was full */

typedef enum {
    S_HELD,     /* in the table, waiting */
    S_FINISHED, /* callback ran or is running; nothing more to do */
} s_state_t;

/* One held request. Lives in the request's pool; s_on_dispose unlinks it. */
typedef struct {
    fe_upstream_t *up;            /* owner */
    h2o_req_t *req;               /* the held request (never touched after dispose) */
    uint64_t req_id;              /* key in up->held */
    sfb_msg_type_t type;          /* request type, to check the reply's type */
    s_state_t state;              /* see above */
    h2o_timeout_entry_t deadline; /* the frontend's own deadline */
    h2o_socket_t *watched;        /* connection socket read for EOF, or NULL */
    fe_up_cb cb;                  /* finisher */
    void *data;                   /* for cb */
} s_held_t;

typedef struct {
    uint64_t ms;         /* timeout value */
    h2o_timeout_t timer; /* entries of that value */
} s_deadline_t;

struct fe_upstream {
    h2o_context_t *ctx;                      /* borrowed */
    const char *peer;                        /* "matcher" or "metricsd" (literal) */
    bool cancels;                            /* send CANCELs */
    zsock_t *dealer;                         /* towards the matcher */
    void *raw;                               /* zsock_resolve(dealer) */
    h2o_socket_t *zfd;                       /* dup of ZMQ_FD, DONT_READ */
    h2o_timeout_entry_t drain_entry;         /* drain later in this loop turn */
    zhashx_t *held;                          /* req_id -> s_held_t */
    uint64_t next_id;                        /* next req_id (never 0) */
    s_deadline_t deadlines[S_MAX_DEADLINES]; /* initialised timers */
    size_t n_deadlines;                      /* entries in use */
    size_t max_held;                         /* cap on held requests; 0: none */
    uint64_t *cancel_ids;                    /* ring of req_ids whose CANCEL found no room */
    size_t cancel_head;                      /* oldest entry in cancel_ids */
    size_t cancel_len;                       /* entries in cancel_ids */
    h2o_timeout_entry_t cancel_entry;        /* retries them every 100 ms while any wait */
    sfb_buf_t out;                           /* encode buffer */
    fe_upstream_stats_t stats;               /* counters */
    sfb_ratelim_t rl;                        /* for peer-triggerable warnings */
};

/* Keys are integers or pointers stored in the key slot itself. */
static size_t
s_key_hash(const void *key)
{
    uint64_t x = (uint64_t)(uintptr_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int
s_key_cmp(const void *a, const void *b)
{
    return a == b ? 0 : (a < b ? -1 : 1);
}

static zhashx_t *
s_table_new(void)
{
    zhashx_t *t = zhashx_new();
    zhashx_set_key_hasher(t, s_key_hash);
    zhashx_set_key_comparator(t, s_key_cmp);
    zhashx_set_key_duplicator(t, NULL);
    zhashx_set_key_destructor(t, NULL);
    return t;
}

static void *
s_id_key(uint64_t id)
{
    return (void *)(uintptr_t)id;
}

/* Watched connection sockets of this thread: h2o_socket_t * -> s_held_t. An h2o read callback
 * only gets the socket, whose data pointer HTTP/1 owns, so the held request (and through it
 * its upstream) is found here. HTTP/1 runs one request per connection at a time, so a socket
 * is watched for at most one held request. Created by the thread's first instance. */
static _Thread_local zhashx_t *s_watching;
static _Thread_local size_t s_instances; /* instances alive on this thread */

/* A send may have consumed the ZMQ_FD signal of a reply already queued: drain at the end of
 * this loop turn. One drain covers every send of the turn, so a burst of requests costs one
 * command check (libzmq's getpid + poll) instead of a ZMQ_EVENTS query per send. */
static void
s_drain_later(fe_upstream_t *up)
{
    if (!h2o_timeout_is_linked(&up->drain_entry))
        h2o_timeout_link(up->ctx->loop, &up->ctx->zero_timeout, &up->drain_entry);
}

/* Encode and send without blocking. Return 0 or -1 (EAGAIN: no matcher, or HWM). */
static int
s_send(fe_upstream_t *up, const sfb_msg_t *msg)
{
    sfb_buf_reset(&up->out);
    sfb_msg_encode(msg, &up->out);
    int rc = zmq_send(up->raw, up->out.data, up->out.len, ZMQ_DONTWAIT);
    s_drain_later(up);
    return rc < 0 ? -1 : 0;
}

/* Send the CANCELs that found the queue full, oldest first, until the queue refuses again.
 * Their requests went out before them, so they still arrive behind what they withdraw. */
static void
s_flush_cancels(fe_upstream_t *up)
{
    while (up->cancel_len > 0) {
        sfb_msg_t m = {.type = SFB_MSG_CANCEL, .req_id = up->cancel_ids[up->cancel_head]};
        if (s_send(up, &m) != 0)
            break;
        up->stats.cancels++;
        up->cancel_head = (up->cancel_head + 1) % S_CANCEL_BACKLOG;
        up->cancel_len--;
    }
    if (up->cancel_len > 0 && !h2o_timeout_is_linked(&up->cancel_entry))
        h2o_timeout_link(up->ctx->loop, &up->ctx->hundred_ms_timeout, &up->cancel_entry);
}

static void
s_on_cancel_entry(h2o_timeout_entry_t *entry)
{
    s_flush_cancels(H2O_STRUCT_FROM_MEMBER(fe_upstream_t, cancel_entry, entry));
}

/* A CANCEL must not be lost to a full queue: the request it withdraws may be in that queue,
 * and a paused peer would otherwise take it, long dead, as live when it resumes (a proxy
 * nobody answers for, matched to a real client). Keep it and retry; only a full backlog
 * loses one (counted). */
static void
s_send_cancel(fe_upstream_t *up, uint64_t req_id)
{
    sfb_msg_t m = {.type = SFB_MSG_CANCEL, .req_id = req_id};
    if (up->cancel_len == 0 && s_send(up, &m) == 0) {
        up->stats.cancels++;
        return;
    }
    if (up->cancel_len == S_CANCEL_BACKLOG) {
        up->stats.cancels_lost++;
        return;
    }
    up->cancel_ids[(up->cancel_head + up->cancel_len++) % S_CANCEL_BACKLOG] = req_id;
    s_flush_cancels(up);
}

static void
s_unwatch(s_held_t *h)
{
    if (h->watched == NULL)
        return;
    h2o_socket_read_stop(h->watched);
    zhashx_delete(s_watching, h->watched);
    h->watched = NULL;
}

/* Take h out of every table and timer, then run its callback (which responds). */
static void
s_finish(s_held_t *h, fe_up_outcome_t outcome, const sfb_msg_t *reply)
{
    fe_upstream_t *up = h->up;
    if (SFB_BUG(h->state != S_HELD))
        return;
    h->state = S_FINISHED;
    s_unwatch(h);
    h2o_timeout_unlink(&h->deadline);
    zhashx_delete(up->held, s_id_key(h->req_id));
    /* On our own deadline too: a request stuck in a broken link may still reach the matcher
     * later, and the CANCEL right behind it in the same pipe withdraws it at once. */
    if (up->cancels &&
        (outcome == FE_UP_PEER_GONE || outcome == FE_UP_SHUTDOWN || outcome == FE_UP_TIMEOUT))
        s_send_cancel(up, h->req_id);
    if (outcome == FE_UP_PEER_GONE)
        h->req->http1_is_persistent = 0;
    h->cb(h->req, h->data, outcome, reply);
}

static void
s_on_deadline(h2o_timeout_entry_t *entry)
{
    s_held_t *h = H2O_STRUCT_FROM_MEMBER(s_held_t, deadline, entry);
    h->up->stats.timeouts++;
    s_finish(h, FE_UP_TIMEOUT, NULL);
}

/* Runs when the request's pool is cleared, for whatever reason. Never touch h->req here. */
static void
s_on_dispose(void *p)
{
    s_held_t *h = p;
    if (h->state != S_HELD)
        return;
    h->state = S_FINISHED;
    if (h->watched != NULL)
        zhashx_delete(s_watching, h->watched); /* the connection is closing anyway */
    h2o_timeout_unlink(&h->deadline);
    zhashx_delete(h->up->held, s_id_key(h->req_id));
}

/* Readable while held: EOF or error means the peer went away. HTTP/1 has stopped reading
 * once the request was complete, so this is the only place that notices. */
static void
s_on_peer_read(h2o_socket_t *sock, const char *err)
{
    /* sock->data belongs to the HTTP/1 connection: find the held request by the socket */
    s_held_t *h = s_watching != NULL ? zhashx_lookup(s_watching, sock) : NULL;
    if (SFB_BUG(h == NULL)) {
        h2o_socket_read_stop(sock);
        return;
    }
    if (err != NULL) {
        s_finish(h, FE_UP_PEER_GONE, NULL);
        return;
    }
    if (sock->bytes_read > 0) {
        /* pipelined bytes: the peer is alive. Keep them in sock->input for HTTP/1 and stop
         * watching, so the buffer stays bounded. */
        s_unwatch(h);
    }
}

/* Keep the request usable if the input buffer moves while we read from the socket: h2o
 * consults only the method (HEAD check) when responding; the rest was copied already. */
static void
s_watch(s_held_t *h)
{
    h2o_req_t *req = h->req;
    if (req->conn->callbacks->get_socket == NULL)
        return;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || zhashx_lookup(s_watching, sock) != NULL)
        return;
    req->input.method = h2o_strdup(&req->pool, req->input.method.base, req->input.method.len);
    req->method = req->input.method;
    h->watched = sock;
    zhashx_insert(s_watching, sock, h);
    h2o_socket_read_start(sock, s_on_peer_read);
}

static h2o_timeout_t *
s_deadline_timer(fe_upstream_t *up, uint64_t ms)
{
    for (size_t i = 0; i < up->n_deadlines; i++)
        if (up->deadlines[i].ms == ms)
            return &up->deadlines[i].timer;
    if (SFB_BUG(up->n_deadlines == S_MAX_DEADLINES))
        return &up->deadlines[0].timer;
    s_deadline_t *d = &up->deadlines[up->n_deadlines++];
    d->ms = ms;
    h2o_timeout_init(up->ctx->loop, &d->timer, ms);
    return &d->timer;
}

int
fe_upstream_forward(fe_upstream_t *up, h2o_req_t *req, sfb_msg_t *msg, uint64_t deadline_ms,
                    fe_up_cb cb, void *data)
{
    if (up->max_held != 0 && zhashx_size(up->held) >= up->max_held) {
        up->stats.refused++;
        sfb_log_ratelim(&up->rl, SFB_WARN, "fe.upstream",
                        "%zu requests held for the %s (--max-pending): refusing new ones",
                        up->max_held, up->peer);
        return -1;
    }
    msg->req_id = up->next_id++;
    if (s_send(up, msg) != 0) {
        up->stats.send_failed++;
        return -1;
    }
    up->stats.sent++;
    s_held_t *h = h2o_mem_alloc_shared(&req->pool, sizeof *h, s_on_dispose);
    *h = (s_held_t){.up = up,
                    .req = req,
                    .req_id = msg->req_id,
                    .type = msg->type,
                    .state = S_HELD,
                    .cb = cb,
                    .data = data};
    h->deadline.cb = s_on_deadline;
    zhashx_insert(up->held, s_id_key(h->req_id), h);
    h2o_timeout_link(up->ctx->loop, s_deadline_timer(up, deadline_ms), &h->deadline);
    s_watch(h);
    return 0;
}

static sfb_msg_type_t
s_reply_type(sfb_msg_type_t req_type)
{
    switch (req_type) {
    case SFB_MSG_PROXY_POLL:
        return SFB_MSG_PROXY_REPLY;
    case SFB_MSG_CLIENT_OFFER:
        return SFB_MSG_CLIENT_REPLY;
    case SFB_MSG_PROXY_ANSWER:
        return SFB_MSG_ANSWER_REPLY;
    case SFB_MSG_DEBUG:
        return SFB_MSG_DEBUG_REPLY;
    case SFB_MSG_REPORT_GET:
        return SFB_MSG_REPORT_REPLY;
    case SFB_MSG_REPLAY_GET:
        return SFB_MSG_REPLAY_REPLY;
    case SFB_MSG_POOL_GET:
        return SFB_MSG_POOL_REPLY;
    case SFB_MSG_CANCEL:
    case SFB_MSG_PROXY_REPLY:
    case SFB_MSG_CLIENT_REPLY:
    case SFB_MSG_ANSWER_REPLY:
    case SFB_MSG_DEBUG_REPLY:
    case SFB_MSG_REPORT_REPLY:
    case SFB_MSG_REPLAY_REPLY:
    case SFB_MSG_POOL_REPLY:
        break;
    }
    return 0;
}

static void
s_handle_frame(fe_upstream_t *up, const void *frame, size_t len)
{
    sfb_msg_t msg;
    sfb_rc_t rc = sfb_msg_decode(frame, len, &msg);
    if (rc != SFB_OK || sfb_msg_is_request(msg.type)) {
        up->stats.bad_frames++;
        sfb_log_ratelim(&up->rl, SFB_WARN, "fe.upstream", "dropped %s frame: %s", up->peer,
                        rc != SFB_OK ? sfb_rc_str(rc) : "request type");
        return;
    }
    s_held_t *h = zhashx_lookup(up->held, s_id_key(msg.req_id));
    if (h == NULL) {
        up->stats.orphans++;
        return;
    }
    if (s_reply_type(h->type) != msg.type) {
        up->stats.bad_frames++;
        sfb_log_ratelim(&up->rl, SFB_WARN, "fe.upstream", "%s: reply type %d for request type %d",
                        up->peer, (int)msg.type, (int)h->type);
        return;
    }
    up->stats.replies++;
    s_finish(h, FE_UP_REPLY, &msg);
}

/* Receive until the socket has nothing: a recv that finds its pipe empty processes libzmq's
 * commands (reading the ZMQ_FD eventfd) and tries once more before EAGAIN, as ZMQ_EVENTS
 * would, so the fd is quiet afterwards unless something new came. Sends made while draining
 * happened before that last recv: the deferred drain they linked is not needed. */
static void
s_drain(fe_upstream_t *up)
{
    s_flush_cancels(up); /* ZMQ_FD also wakes us when the queue has room again */
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, up->raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (zmq_msg_more(&m)) { /* one frame per message is the protocol: drop the rest */
            up->stats.bad_frames++;
            do {
                zmq_msg_close(&m);
                zmq_msg_init(&m);
            } while (zmq_msg_recv(&m, up->raw, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m));
        } else {
            s_handle_frame(up, zmq_msg_data(&m), zmq_msg_size(&m));
        }
        zmq_msg_close(&m);
    }
    if (h2o_timeout_is_linked(&up->drain_entry))
        h2o_timeout_unlink(&up->drain_entry);
}

static void
s_on_zmq_readable(h2o_socket_t *sock, const char *err)
{
    (void)err;
    s_drain(sock->data); /* always end with a recv that finds nothing, or level-triggered epoll
                          * spins on the eventfd */
}

static void
s_on_drain_entry(h2o_timeout_entry_t *entry)
{
    s_drain(H2O_STRUCT_FROM_MEMBER(fe_upstream_t, drain_entry, entry));
}

fe_upstream_t *
fe_upstream_new(h2o_context_t *ctx, const fe_upstream_config_t *cfg)
{
    fe_upstream_t *up = sfb_xcalloc(1, sizeof *up);
    if (s_instances++ == 0)
        s_watching = s_table_new();
    up->ctx = ctx;
    up->peer = cfg->peer;
    up->cancels = cfg->cancels;
    up->next_id = 1;
    up->rl.interval_ms = 10000;
    sfb_buf_init(&up->out);
    up->held = s_table_new();
    up->drain_entry.cb = s_on_drain_entry;
    up->cancel_entry.cb = s_on_cancel_entry;
    up->cancel_ids = sfb_xcalloc(S_CANCEL_BACKLOG, sizeof *up->cancel_ids);
    up->dealer = zsock_new(ZMQ_DEALER);
    if (up->dealer == NULL) {
        sfb_log(SFB_ERROR, "fe.upstream", "cannot create the DEALER socket");
        goto fail;
    }
    /* options before connect: ZMQ_IMMEDIATE only affects later connects */
    zsock_set_immediate(up->dealer, 1);
    zsock_set_sndhwm(up->dealer, S_HWM);
    zsock_set_rcvhwm(up->dealer, S_HWM);
    zsock_set_linger(up->dealer, S_LINGER_MS);
    if (cfg->curve != NULL && sfb_curve_apply_client(cfg->curve, up->dealer, cfg->server_key) != 0)
        goto fail;
    if (zsock_connect(up->dealer, "%s", cfg->endpoint) != 0) {
        sfb_log(SFB_ERROR, "fe.upstream", "cannot connect to %s endpoint %s: %s", up->peer,
                cfg->endpoint, zmq_strerror(zmq_errno()));
        goto fail;
    }
    up->raw = zsock_resolve(up->dealer);
    int fd = dup(zsock_fd(up->dealer)); /* h2o closes its fd; libzmq keeps its own */
    if (fd < 0) {
        sfb_log(SFB_ERROR, "fe.upstream", "dup(ZMQ_FD): %s", strerror(errno));
        goto fail;
    }
    up->zfd = h2o_evloop_socket_create(ctx->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    up->zfd->data = up;
    h2o_socket_read_start(up->zfd, s_on_zmq_readable);
    s_drain(up);
    return up;
fail:
    fe_upstream_destroy(&up);
    return NULL;
}

static int
s_collect(fe_upstream_t *up, s_held_t ***list_out)
{
    size_t n = zhashx_size(up->held), i = 0;
    s_held_t **list = sfb_xcalloc(n + 1, sizeof *list);
    for (s_held_t *h = zhashx_first(up->held); h != NULL && i < n; h = zhashx_next(up->held))
        list[i++] = h;
    *list_out = list;
    return (int)i;
}

void
fe_upstream_shutdown(fe_upstream_t *up)
{
    s_held_t **list;
    int n = s_collect(up, &list);
    for (int i = 0; i < n; i++)
        if (list[i]->state == S_HELD)
            s_finish(list[i], FE_UP_SHUTDOWN, NULL);
    free(list);
}

void
fe_upstream_destroy(fe_upstream_t **up_p)
{
    if (up_p == NULL || *up_p == NULL)
        return;
    fe_upstream_t *up = *up_p;
    if (up->held != NULL && up->dealer != NULL && up->raw != NULL)
        fe_upstream_shutdown(up);
    if (h2o_timeout_is_linked(&up->drain_entry))
        h2o_timeout_unlink(&up->drain_entry);
    if (h2o_timeout_is_linked(&up->cancel_entry))
        h2o_timeout_unlink(&up->cancel_entry);
    free(up->cancel_ids);
    for (size_t i = 0; i < up->n_deadlines; i++)
        h2o_timeout_dispose(up->ctx->loop, &up->deadlines[i].timer);
    if (up->zfd != NULL) {
        h2o_socket_read_stop(up->zfd);
        h2o_socket_close(up->zfd);
    }
    zsock_destroy(&up->dealer);
    zhashx_destroy(&up->held);
    sfb_buf_dispose(&up->out);
    if (--s_instances == 0)
        zhashx_destroy(&s_watching);
    free(up);
    *up_p = NULL;
}

size_t
fe_upstream_held(const fe_upstream_t *up)
{
    return zhashx_size((zhashx_t *)up->held);
}

void
fe_upstream_set_max_held(fe_upstream_t *up, size_t max_held)
{
    up->max_held = max_held;
}

void
fe_upstream_stats(const fe_upstream_t *up, fe_upstream_stats_t *out)
{
    *out = up->stats;
}

void
fe_upstream_log_stats(const fe_upstream_t *up, const char *what)
{
    const fe_upstream_stats_t *st = &up->stats;
    sfb_log(SFB_NOTICE, "frontend",
            "%s (%s): sent %llu, send failures %llu, replies %llu, orphans %llu, "
            "bad frames %llu, timeouts %llu, cancels %llu (lost %llu), refused %llu",
            what, up->peer, (unsigned long long)st->sent, (unsigned long long)st->send_failed,
            (unsigned long long)st->replies, (unsigned long long)st->orphans,
            (unsigned long long)st->bad_frames, (unsigned long long)st->timeouts,
            (unsigned long long)st->cancels, (unsigned long long)st->cancels_lost,
            (unsigned long long)st->refused);
}
