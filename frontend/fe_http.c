/* fe_http.c - see fe_http.h. Response bytes follow spec §2 and the upstream captures in
 * spec/captures/gobroker-78cf8e6-responses.txt. */
#include "fe_http.h"

#include "fe_clientip.h"
#include "fe_origin.h"
#include "fe_path.h"
#include "sfb_alloc.h"
#include "sfb_amp.h"
#include "sfb_json.h"
#include "sfb_log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define S_TEXT "text/plain; charset=utf-8"
#define S_PROM_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define S_NO_PROXIES "no snowflake proxies currently available"
#define S_TIMED_OUT "timed out waiting for answer!"
#define S_UNKNOWN_BRIDGE "bridge with requested fingerprint is unknown to the broker"
#define S_BAD_AMP_PATH "cannot decode URL path"
#define S_MAX_FWD_HEADERS 16

struct fe_http {
    fe_http_config_t cfg;    /* copied */
    fe_upstream_t *up;       /* matcher; borrowed */
    fe_upstream_t *metricsd; /* reports; borrowed; NULL without --metricsd */
    const fe_geoip_t *geoip; /* borrowed; NULL without a database */
};

typedef struct {
    h2o_handler_t super; /* h2o's part; must be first */
    fe_http_t *http;     /* borrowed */
} s_handler_t;

/* What a held request needs when its outcome arrives (lives in the request pool). */
typedef struct {
    fe_http_t *http;  /* borrowed */
    fe_route_t route; /* PROXY, CLIENT, AMP_CLIENT, ANSWER, DEBUG, METRICS or PROMETHEUS */
    bool legacy;      /* legacy /client body: answer with status codes (spec §2.6) */
} s_held_ctx_t;

/* ---- responses ------------------------------------------------------------------------- */

static const char *
s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Unknown";
}

static void
s_header(h2o_req_t *req, const char *lc_name, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, lc_name, strlen(lc_name), 1, name, value,
                          strlen(value));
}

static void
s_cors(h2o_req_t *req)
{
    s_header(req, "access-control-allow-origin", "Access-Control-Allow-Origin", "*");
    s_header(req, "access-control-allow-headers", "Access-Control-Allow-Headers",
             "Origin, X-Session-ID");
}

/* Send the response; h2o_send_inline copies `body`. Content-Length is always set, so an empty
 * body is "Content-Length: 0" rather than chunked. `ctype` NULL sends no Content-Type. */
static void
s_send(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = s_reason(status);
    req->res.content_length = len;
    if (ctype != NULL)
        s_header(req, "content-type", "Content-Type", ctype);
    h2o_send_inline(req, body, len);
}

static void
s_send_empty(h2o_req_t *req, int status)
{
    s_send(req, status, NULL, "", 0);
}

static void
s_send_buf(h2o_req_t *req, int status, const char *ctype, const sfb_buf_t *b)
{
    s_send(req, status, ctype, b->data ? b->data : "", b->len);
}

/* Go's http.NotFound / http.Error(w, "404 page not found", 404). */
static void
s_not_found(h2o_req_t *req)
{
    s_header(req, "x-content-type-options", "X-Content-Type-Options", "nosniff");
    s_send(req, 404, S_TEXT, H2O_STRLIT("404 page not found\n"));
}

static void
s_redirect(h2o_req_t *req, const fe_path_t *path)
{
    h2o_iovec_t loc = h2o_strdup(&req->pool, path->location.data, path->location.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, "Location", loc.base,
                   loc.len);
    bool get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (!get) { /* http.Redirect writes a body only for GET, a Content-Type for GET and HEAD */
        s_send(req, 301, head ? "text/html; charset=utf-8" : NULL, "", 0);
        return;
    }
    sfb_buf_t body;
    sfb_buf_init(&body);
    fe_path_redirect_body(path->location.data, path->location.len, &body);
    s_send_buf(req, 301, "text/html; charset=utf-8", &body);
    sfb_buf_dispose(&body);
}

static void
s_proxy_response(h2o_req_t *req, const char *status, const sfb_msg_proxy_reply_t *match)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    if (match != NULL)
        sfb_json_proxy_response(&b, status, match->offer.ptr, match->offer.len,
                                sfb_nat_str(match->nat), match->relay_url.ptr,
                                match->relay_url.len);
    else
        sfb_json_proxy_response(&b, status, "", 0, NULL, "", 0);
    s_send_buf(req, 200, S_TEXT, &b);
    sfb_buf_dispose(&b);
}

/* A client poll result in the request's form: current JSON, legacy status codes (spec §2.6),
 * or AMP armor (spec §2.7). Exactly one of answer / error is non-NULL. */
static void
s_client_result(h2o_req_t *req, fe_route_t route, bool legacy, const char *answer,
                size_t answer_len, const char *error)
{
    if (legacy) {
        if (answer != NULL)
            s_send(req, 200, S_TEXT, answer, answer_len);
        else if (strcmp(error, S_NO_PROXIES) == 0)
            s_send_empty(req, 503);
        else if (strcmp(error, S_TIMED_OUT) == 0)
            s_send_empty(req, 504);
        else
            s_send_empty(req, 500); /* upstream panics here; an empty 500 instead */
        return;
    }
    sfb_buf_t json;
    sfb_buf_init(&json);
    sfb_json_client_response(&json, answer, answer_len, error);
    if (route == FE_ROUTE_AMP_CLIENT) {
        sfb_buf_t html;
        sfb_buf_init(&html);
        sfb_amp_armor_encode(json.data, json.len, &html);
        s_header(req, "cache-control", "Cache-Control", "max-age=15");
        s_send_buf(req, 200, "text/html", &html);
        sfb_buf_dispose(&html);
    } else {
        s_send_buf(req, 200, S_TEXT, &json);
    }
    sfb_buf_dispose(&json);
}

/* ---- outcomes of held requests ----------------------------------------------------------- */

static void
s_on_proxy_done(h2o_req_t *req, fe_up_outcome_t outcome, const sfb_msg_t *reply)
{
    if (outcome != FE_UP_REPLY) {
        s_proxy_response(req, "no match", NULL);
        return;
    }
    const sfb_msg_proxy_reply_t *r = &reply->u.proxy_reply;
    switch (r->status) {
    case SFB_PROXY_NO_MATCH:
        s_proxy_response(req, "no match", NULL);
        return;
    case SFB_PROXY_MATCH:
        s_proxy_response(req, "client match", r);
        return;
    case SFB_PROXY_BAD_RELAY:
        s_proxy_response(req, "incorrect relay pattern", NULL);
        return;
    case SFB_PROXY_INTERNAL:
        s_send_empty(req, 500);
        return;
    }
    s_send_empty(req, 500);
}

static void
s_on_client_done(h2o_req_t *req, const s_held_ctx_t *c, fe_up_outcome_t outcome,
                 const sfb_msg_t *reply)
{
    if (outcome != FE_UP_REPLY) {
        s_client_result(req, c->route, c->legacy, NULL, 0, S_TIMED_OUT);
        return;
    }
    const sfb_msg_client_reply_t *r = &reply->u.client_reply;
    switch (r->status) {
    case SFB_CLIENT_ANSWER:
        s_client_result(req, c->route, c->legacy, r->answer.ptr, r->answer.len, NULL);
        return;
    case SFB_CLIENT_NO_PROXIES:
        s_client_result(req, c->route, c->legacy, NULL, 0, S_NO_PROXIES);
        return;
    case SFB_CLIENT_TIMEOUT:
        s_client_result(req, c->route, c->legacy, NULL, 0, S_TIMED_OUT);
        return;
    case SFB_CLIENT_UNKNOWN_BRIDGE:
        s_client_result(req, c->route, c->legacy, NULL, 0, S_UNKNOWN_BRIDGE);
        return;
    }
    s_send_empty(req, 500);
}

static void
s_answer_status(h2o_req_t *req, bool success)
{
    if (success)
        s_send(req, 200, S_TEXT, H2O_STRLIT("{\"Status\":\"success\"}"));
    else
        s_send(req, 200, S_TEXT, H2O_STRLIT("{\"Status\":\"client gone\"}"));
}

/* spec §2.9/§2.10 with the reports kept by metricsd: the stats log (else Go's 404, as upstream
 * without -metrics-log) or the Prometheus text (else an empty 503). CORS is already set for
 * /metrics. */
static void
s_on_report_done(h2o_req_t *req, fe_route_t route, fe_up_outcome_t outcome, const sfb_msg_t *reply)
{
    bool found = outcome == FE_UP_REPLY && reply->u.report_reply.found;
    const sfb_str_t *text = found ? &reply->u.report_reply.text : NULL;
    if (route == FE_ROUTE_METRICS && found)
        s_send(req, 200, S_TEXT, text->ptr, text->len);
    else if (route == FE_ROUTE_METRICS)
        s_not_found(req);
    else if (found)
        s_send(req, 200, S_PROM_TEXT, text->ptr, text->len);
    else
        s_send_empty(req, 503);
}

static void
s_on_done(h2o_req_t *req, void *data, fe_up_outcome_t outcome, const sfb_msg_t *reply)
{
    const s_held_ctx_t *c = data; /* CORS headers were added before forwarding */
    switch (c->route) {
    case FE_ROUTE_PROXY:
        s_on_proxy_done(req, outcome, reply);
        return;
    case FE_ROUTE_CLIENT:
    case FE_ROUTE_AMP_CLIENT:
        s_on_client_done(req, c, outcome, reply);
        return;
    case FE_ROUTE_ANSWER:
        s_answer_status(req, outcome == FE_UP_REPLY && reply->u.answer_reply == SFB_ANSWER_SUCCESS);
        return;
    case FE_ROUTE_DEBUG:
        if (outcome == FE_UP_REPLY)
            s_send(req, 200, S_TEXT, reply->u.debug_text.ptr, reply->u.debug_text.len);
        else
            s_send_empty(req, 503);
        return;
    case FE_ROUTE_METRICS:
    case FE_ROUTE_PROMETHEUS:
        s_on_report_done(req, c->route, outcome, reply);
        return;
    default:
        break;
    }
    (void)SFB_BUG(true);
    s_send_empty(req, 500);
}

/* Forward `msg` to the matcher, or to metricsd for reports; if the peer cannot take it,
 * answer at once with the endpoint's "unavailable" form (spec: proxies no match, clients no
 * proxies, answers client gone, /metrics 404, /debug and /prometheus 503). */
static void
s_forward(fe_http_t *http, h2o_req_t *req, sfb_msg_t *msg, fe_route_t route, bool legacy)
{
    s_held_ctx_t *c = h2o_mem_alloc_pool(&req->pool, sizeof *c);
    *c = (s_held_ctx_t){.http = http, .route = route, .legacy = legacy};
    bool report = route == FE_ROUTE_METRICS || route == FE_ROUTE_PROMETHEUS;
    fe_upstream_t *up = report ? http->metricsd : http->up;
    uint64_t deadline = report                    ? http->cfg.report_deadline_ms
                        : route == FE_ROUTE_PROXY ? http->cfg.proxy_deadline_ms
                                                  : http->cfg.client_deadline_ms;
    if (up != NULL && fe_upstream_forward(up, req, msg, deadline, s_on_done, c) == 0)
        return;
    switch (route) {
    case FE_ROUTE_PROXY:
        s_proxy_response(req, "no match", NULL);
        return;
    case FE_ROUTE_CLIENT:
    case FE_ROUTE_AMP_CLIENT:
        s_client_result(req, route, legacy, NULL, 0, S_NO_PROXIES);
        return;
    case FE_ROUTE_ANSWER:
        s_answer_status(req, false);
        return;
    case FE_ROUTE_METRICS:
        s_not_found(req);
        return;
    default:
        s_send_empty(req, 503);
        return;
    }
}

/* ---- requests -------------------------------------------------------------------------- */

static size_t
s_collect_headers(h2o_req_t *req, const char *lc_name, fe_hdr_t *out, size_t max)
{
    size_t n = 0;
    ssize_t i = -1;
    while (n < max &&
           (i = h2o_find_header_by_str(&req->headers, lc_name, strlen(lc_name), i)) != -1) {
        out[n].ptr = req->headers.entries[i].value.base;
        out[n].len = req->headers.entries[i].value.len;
        n++;
    }
    return n;
}

/* The remote address by the client-IP rule, into out (FE_CLIENTIP_MAX bytes). */
static size_t
s_remote_addr(fe_http_t *http, h2o_req_t *req, char *out)
{
    struct sockaddr_storage ss;
    char remote[FE_CLIENTIP_MAX + 16] = "", host[INET6_ADDRSTRLEN];
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl > 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(remote, sizeof remote, "%s:%u", host, ntohs(a->sin_port));
    } else if (sl > 0 && ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(remote, sizeof remote, "[%s]:%u", host, ntohs(a->sin6_port));
    }
    fe_hdr_t fwd[S_MAX_FWD_HEADERS], xff[S_MAX_FWD_HEADERS];
    size_t nf = 0, nx = 0;
    if (http->cfg.trusted_hops > 0) {
        nf = s_collect_headers(req, "forwarded", fwd, S_MAX_FWD_HEADERS);
        nx = s_collect_headers(req, "x-forwarded-for", xff, S_MAX_FWD_HEADERS);
    }
    return fe_clientip_resolve(http->cfg.trusted_hops, fwd, nf, xff, nx, remote, out);
}

static bool
s_body(h2o_req_t *req, const char **body, size_t *len)
{
    *body = req->entity.base != NULL ? req->entity.base : "";
    *len = req->entity.base != NULL ? req->entity.len : 0;
    if (*len > FE_HTTP_BODY_LIMIT) {
        s_send_empty(req, 400);
        return false;
    }
    return true;
}

static void
s_proxy(fe_http_t *http, h2o_req_t *req)
{
    const char *body;
    size_t len;
    if (!s_body(req, &body, &len))
        return;
    sfb_proxy_poll_t poll;
    if (sfb_proxy_poll_decode(body, len, &poll) != SFB_OK) {
        s_send_empty(req, 400);
        return;
    }
    char addr[FE_CLIENTIP_MAX];
    s_remote_addr(http, req, addr);
    fe_origin_t o;
    fe_origin_proxy(&o, http->geoip, addr);
    sfb_log(SFB_INFO, "fe.http", "proxy poll from %s (%s)", sfb_safe_addr(addr), o.cc);
    sfb_msg_t m = {.type = SFB_MSG_PROXY_POLL};
    m.u.poll = (sfb_msg_poll_t){.sid = {poll.sid, poll.sid_len},
                                .ptype = poll.ptype,
                                .nat = poll.nat,
                                .clients = poll.clients,
                                .has_pattern = poll.has_pattern,
                                .pattern = {poll.pattern ? poll.pattern : "", poll.pattern_len},
                                .addr = {o.addr, o.addr_len}};
    memcpy(m.u.poll.cc, o.cc, sizeof m.u.poll.cc);
    s_forward(http, req, &m, FE_ROUTE_PROXY, false);
    sfb_proxy_poll_dispose(&poll);
}

/* Forward a decoded client poll (current, legacy or AMP). */
static void
s_client_offer(fe_http_t *http, h2o_req_t *req, const sfb_client_poll_t *cp, fe_route_t route,
               bool legacy)
{
    char addr[FE_CLIENTIP_MAX];
    s_remote_addr(http, req, addr);
    fe_origin_t o;
    fe_origin_client(&o, http->geoip, route == FE_ROUTE_AMP_CLIENT, addr, cp->offer, cp->offer_len);
    sfb_log(SFB_INFO, "fe.http", "client offer from %s (%s)", sfb_safe_addr(addr), o.cc);
    sfb_msg_t m = {.type = SFB_MSG_CLIENT_OFFER};
    m.u.offer = (sfb_msg_offer_t){.offer = {cp->offer, cp->offer_len},
                                  .nat = cp->nat,
                                  .fp_len = cp->fp_len,
                                  .method = route == FE_ROUTE_AMP_CLIENT ? SFB_METHOD_AMPCACHE
                                                                         : SFB_METHOD_HTTP,
                                  .legacy = legacy,
                                  .addr = {o.addr, o.addr_len}};
    memcpy(m.u.offer.cc, o.cc, sizeof m.u.offer.cc);
    memcpy(m.u.offer.fp, cp->fp, sizeof m.u.offer.fp);
    s_forward(http, req, &m, route, legacy);
}

static void
s_client(fe_http_t *http, h2o_req_t *req)
{
    const char *body;
    size_t len;
    if (!s_body(req, &body, &len))
        return;
    sfb_client_poll_t cp = {0};
    bool legacy = len > 0 && body[0] == '{';
    if (legacy) {
        /* spec §2.6: the body is the offer, the NAT comes from Snowflake-NAT-Type */
        ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("snowflake-nat-type"), -1);
        h2o_iovec_t nat = i >= 0 ? req->headers.entries[i].value : h2o_iovec_init("", 0);
        if (!sfb_nat_parse(nat.base, nat.len, &cp.nat)) {
            s_client_result(req, FE_ROUTE_CLIENT, true, NULL, 0, "invalid NAT type");
            return;
        }
        cp.offer = (char *)body;
        cp.offer_len = len;
        cp.fp_len = sfb_fingerprint_decode(H2O_STRLIT(SFB_DEFAULT_FINGERPRINT), cp.fp);
        s_client_offer(http, req, &cp, FE_ROUTE_CLIENT, true);
        return;
    }
    const char *err = sfb_client_poll_decode(body, len, &cp);
    if (err != NULL) {
        s_client_result(req, FE_ROUTE_CLIENT, false, NULL, 0, err);
        return;
    }
    s_client_offer(http, req, &cp, FE_ROUTE_CLIENT, false);
    sfb_client_poll_dispose(&cp);
}

static void
s_amp_client(fe_http_t *http, h2o_req_t *req, const fe_path_t *path)
{
    sfb_buf_t data;
    sfb_buf_init(&data);
    sfb_client_poll_t cp;
    const char *err = NULL;
    if (sfb_amp_path_decode(path->amp.data ? path->amp.data : "", path->amp.len, &data) != SFB_OK)
        err = S_BAD_AMP_PATH;
    else
        err = sfb_client_poll_decode(data.data ? data.data : "", data.len, &cp);
    if (err != NULL) {
        s_client_result(req, FE_ROUTE_AMP_CLIENT, false, NULL, 0, err);
    } else {
        s_client_offer(http, req, &cp, FE_ROUTE_AMP_CLIENT, false);
        sfb_client_poll_dispose(&cp);
    }
    sfb_buf_dispose(&data);
}

static void
s_answer(fe_http_t *http, h2o_req_t *req)
{
    const char *body;
    size_t len;
    if (!s_body(req, &body, &len))
        return;
    /* spec §2.5: a raw substring test on the whole body, before any JSON parsing */
    if (memmem(body, len, "a=candidate", 11) == NULL) {
        s_send_empty(req, 400);
        return;
    }
    sfb_proxy_answer_t a;
    if (sfb_proxy_answer_decode(body, len, &a) != SFB_OK) {
        s_send_empty(req, 400);
        return;
    }
    sfb_msg_t m = {.type = SFB_MSG_PROXY_ANSWER};
    m.u.answer = (sfb_msg_answer_t){{a.sid, a.sid_len}, {a.answer, a.answer_len}};
    s_forward(http, req, &m, FE_ROUTE_ANSWER, false);
    sfb_proxy_answer_dispose(&a);
}

static bool
s_is_cors_route(fe_route_t r)
{
    return r == FE_ROUTE_PROXY || r == FE_ROUTE_CLIENT || r == FE_ROUTE_ANSWER ||
           r == FE_ROUTE_DEBUG || r == FE_ROUTE_METRICS || r == FE_ROUTE_AMP_CLIENT;
}

static void
s_dispatch(fe_http_t *http, h2o_req_t *req, const fe_path_t *path)
{
    if (s_is_cors_route(path->route)) {
        s_cors(req);
        if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
            s_send_empty(req, 200);
            return;
        }
    }
    switch (path->route) {
    case FE_ROUTE_NOT_FOUND:
        s_not_found(req);
        return;
    case FE_ROUTE_BAD_REQUEST:
        req->http1_is_persistent = 0;
        s_send(req, 400, S_TEXT, H2O_STRLIT("400 Bad Request"));
        return;
    case FE_ROUTE_REDIRECT:
        s_redirect(req, path);
        return;
    case FE_ROUTE_ROBOTS:
        s_send(req, 200, S_TEXT, H2O_STRLIT("User-agent: *\nDisallow: /\n"));
        return;
    case FE_ROUTE_METRICS:
    case FE_ROUTE_PROMETHEUS: {
        sfb_msg_t m = {.type = SFB_MSG_REPORT_GET};
        m.u.report_get =
            path->route == FE_ROUTE_METRICS ? SFB_REPORT_STATS_LOG : SFB_REPORT_PROMETHEUS;
        s_forward(http, req, &m, path->route, false);
        return;
    }
    case FE_ROUTE_PROXY:
        s_proxy(http, req);
        return;
    case FE_ROUTE_CLIENT:
        s_client(http, req);
        return;
    case FE_ROUTE_AMP_CLIENT:
        s_amp_client(http, req, path);
        return;
    case FE_ROUTE_ANSWER:
        s_answer(http, req);
        return;
    case FE_ROUTE_DEBUG: {
        sfb_msg_t m = {.type = SFB_MSG_DEBUG};
        s_forward(http, req, &m, FE_ROUTE_DEBUG, false);
        return;
    }
    }
}

static int
s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    fe_http_t *http = ((s_handler_t *)self)->http;
    fe_path_t path;
    fe_path_init(&path);
    fe_path_route(req->path.base, req->path.len, &path);
    s_dispatch(http, req, &path);
    fe_path_dispose(&path);
    return 0;
}

fe_http_t *
fe_http_new(const fe_http_config_t *cfg)
{
    fe_http_t *http = sfb_xcalloc(1, sizeof *http);
    http->cfg = *cfg;
    return http;
}

void
fe_http_set_upstream(fe_http_t *http, fe_upstream_t *up)
{
    http->up = up;
}

void
fe_http_set_metricsd(fe_http_t *http, fe_upstream_t *up)
{
    http->metricsd = up;
}

void
fe_http_set_geoip(fe_http_t *http, const fe_geoip_t *geoip)
{
    http->geoip = geoip;
}

void
fe_http_destroy(fe_http_t **http_p)
{
    if (http_p == NULL || *http_p == NULL)
        return;
    free(*http_p);
    *http_p = NULL;
}

void
fe_http_register(fe_http_t *http, h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    s_handler_t *h = (s_handler_t *)h2o_create_handler(pathconf, sizeof *h);
    h->super.on_req = s_on_req;
    h->http = http;
}
