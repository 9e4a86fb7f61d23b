/* md_server.c - see md_server.h. */
#include "md_server.h"

#include "sfb_alloc.h"
#include "sfb_log.h"
#include "sfb_msg.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

#define S_MOD "md.server"
#define S_ENVELOPE_BYTES 64 /* msgpack array header, version, type, req_id, bool, str header */
#define S_TEXT_MAX (SFB_MSG_MAX_BYTES - S_ENVELOPE_BYTES)
#define S_FRAMES_MAX 8 /* routing frames kept per request */

struct md_server {
    zsock_t *router;          /* ROUTER on --listen */
    const md_statslog_t *log; /* borrowed */
    const md_prom_t *prom;    /* borrowed */
    md_health_t *health;      /* borrowed */
    sfb_buf_t text;           /* reply text scratch */
    sfb_buf_t frame;          /* encoded reply scratch */
    sfb_ratelim_t rl;         /* warnings */
};

md_server_t *
md_server_new(const char *endpoint, const md_statslog_t *log, const md_prom_t *prom,
              md_health_t *health, sfb_curve_t *curve)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    if (router == NULL)
        return NULL;
    zsock_set_router_mandatory(router, 1);
    zsock_set_sndhwm(router, 1000);
    zsock_set_rcvhwm(router, 1000);
    zsock_set_maxmsgsize(router, 4096); /* requests are tiny */
    sfb_curve_warn_exposed(curve, "--listen ROUTER", endpoint);
    if (curve != NULL && sfb_curve_apply_server(curve, router, "--listen ROUTER") != 0) {
        zsock_destroy(&router);
        return NULL;
    }
    if (zsock_bind(router, "%s", endpoint) < 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot bind ROUTER to %s: %s", endpoint, zmq_strerror(errno));
        zsock_destroy(&router);
        return NULL;
    }
    md_server_t *s = sfb_xcalloc(1, sizeof *s);
    s->router = router;
    s->log = log;
    s->prom = prom;
    s->health = health;
    s->rl.interval_ms = 60000;
    sfb_buf_init(&s->text);
    sfb_buf_init(&s->frame);
    return s;
}

void
md_server_destroy(md_server_t **server_p)
{
    if (server_p == NULL || *server_p == NULL)
        return;
    md_server_t *s = *server_p;
    zsock_destroy(&s->router);
    sfb_buf_dispose(&s->text);
    sfb_buf_dispose(&s->frame);
    free(s);
    *server_p = NULL;
}

void *
md_server_socket(md_server_t *server)
{
    return zsock_resolve(server->router);
}

bool
md_server_report(md_server_t *s, sfb_report_kind_t kind, sfb_buf_t *out)
{
    bool truncated = false, found = false;
    sfb_buf_reset(out);
    switch (kind) {
    case SFB_REPORT_STATS_LOG:
        found = md_statslog_read(s->log, S_TEXT_MAX, out, &truncated);
        break;
    case SFB_REPORT_PROMETHEUS:
        md_prom_format(s->prom, out);
        found = true;
        if (out->len > S_TEXT_MAX) { /* keep whole lines: still valid exposition text */
            size_t cut = S_TEXT_MAX;
            while (cut > 0 && out->data[cut - 1] != '\n')
                cut--;
            out->len = cut;
            out->data[cut] = '\0';
            truncated = true;
        }
        break;
    }
    if (truncated) {
        md_health_add(s->health, MD_H_TRUNCATED, 1);
        sfb_log_ratelim(&s->rl, SFB_WARN, S_MOD, "report cut to %zu bytes", out->len);
    }
    return found;
}

/* Send the routing frames then the reply; every part DONTWAIT. Return 0 or -1. */
static int
s_send(md_server_t *s, zmq_msg_t *route, int nroute)
{
    void *sock = zsock_resolve(s->router);
    for (int i = 0; i < nroute; i++)
        if (zmq_send(sock, zmq_msg_data(&route[i]), zmq_msg_size(&route[i]),
                     ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
            return -1; /* nothing of this message was queued if the first part failed; a later
                          failure cannot happen once the first part was accepted */
    return zmq_send(sock, s->frame.data, s->frame.len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void
s_answer(md_server_t *s, zmq_msg_t *route, int nroute, const void *body, size_t len)
{
    sfb_msg_t req;
    sfb_rc_t rc = sfb_msg_decode(body, len, &req);
    if (rc != SFB_OK || req.type != SFB_MSG_REPORT_GET) {
        md_health_add(s->health, MD_H_BAD_REQUESTS, 1);
        sfb_log_ratelim(&s->rl, SFB_WARN, S_MOD, "refused a frame: %s",
                        rc != SFB_OK ? sfb_rc_str(rc) : "not a REPORT_GET");
        return;
    }
    sfb_msg_t rep = {.type = SFB_MSG_REPORT_REPLY, .req_id = req.req_id};
    rep.u.report_reply.found = md_server_report(s, req.u.report_get, &s->text);
    rep.u.report_reply.text = (sfb_str_t){s->text.data ? s->text.data : "", s->text.len};
    sfb_buf_reset(&s->frame);
    sfb_msg_encode(&rep, &s->frame);
    if (s_send(s, route, nroute) != 0) {
        md_health_add(s->health, MD_H_REPLY_DROPS, 1);
        sfb_log_ratelim(&s->rl, SFB_WARN, S_MOD, "reply dropped: %s", zmq_strerror(errno));
        return;
    }
    md_health_add(s->health, MD_H_REQUESTS, 1);
}

void
md_server_drain(md_server_t *s)
{
    void *sock = zsock_resolve(s->router);
    for (;;) {
        zmq_msg_t parts[S_FRAMES_MAX];
        int n = 0, more = 1;
        bool overflow = false;
        while (more) { /* a multipart message arrives whole, so only the first recv can fail */
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&parts[i]);
                return;
            }
            more = zmq_msg_more(&m);
            if (n < S_FRAMES_MAX) {
                zmq_msg_init(&parts[n]);
                zmq_msg_move(&parts[n++], &m);
            } else {
                overflow = true;
            }
            zmq_msg_close(&m);
        }
        /* parts[0..n-2] route the reply (the identity, plus an empty delimiter from a REQ
         * peer); parts[n-1] is the request. */
        if (overflow || n < 2)
            md_health_add(s->health, MD_H_BAD_REQUESTS, 1);
        else
            s_answer(s, parts, n - 1, zmq_msg_data(&parts[n - 1]), zmq_msg_size(&parts[n - 1]));
        for (int i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
    }
}
