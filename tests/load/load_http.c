/* load_http.c - epoll HTTP/1.1 client engine of sfb-load (see load_http.h). Level-triggered
 * epoll; each connection is registered once for EPOLLIN and only asks for EPOLLOUT while a
 * connect or a short write is pending, so a request/response costs one write() and one read()
 * in the common case. */
#include "load_http.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_EVENTS 1024
#define S_SCRATCH (64 * 1024)

struct load_engine {
    int epfd;                    /* the epoll instance */
    struct sockaddr_in *targets; /* servers, round robin */
    size_t ntargets;             /* entries in targets */
    struct in_addr *srcs;        /* source addresses, round robin; may be empty */
    size_t nsrc;                 /* entries in srcs */
    load_conn_t *conns;          /* max_conns slots */
    size_t max_conns;            /* capacity */
    size_t opened;               /* slots in use */
    load_callbacks_t cb;         /* the scenario */
    char scratch[S_SCRATCH];     /* read buffer shared by every connection */
};

uint64_t
load_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *
s_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "sfb-load: out of memory\n");
        abort();
    }
    return q;
}

load_engine_t *
load_engine_new(const struct sockaddr_in *targets, size_t ntargets, const struct in_addr *srcs,
                size_t nsrc, size_t max_conns, const load_callbacks_t *cb)
{
    load_engine_t *e = s_xrealloc(NULL, sizeof *e);
    memset(e, 0, offsetof(load_engine_t, scratch));
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        perror("sfb-load: epoll_create1");
        exit(2);
    }
    e->targets = s_xrealloc(NULL, ntargets * sizeof *targets);
    memcpy(e->targets, targets, ntargets * sizeof *targets);
    e->ntargets = ntargets;
    e->srcs = s_xrealloc(NULL, (nsrc ? nsrc : 1) * sizeof *srcs);
    if (nsrc)
        memcpy(e->srcs, srcs, nsrc * sizeof *srcs);
    e->nsrc = nsrc;
    e->conns = s_xrealloc(NULL, max_conns * sizeof *e->conns);
    e->max_conns = max_conns;
    e->cb = *cb;
    return e;
}

static void
s_close_fd(load_engine_t *e, load_conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->connected = c->busy = false;
    c->rlen = c->wlen = c->woff = 0;
    free(c->wpend);
    c->wpend = NULL;
}

void
load_engine_destroy(load_engine_t **eng_p)
{
    load_engine_t *e = *eng_p;
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->opened; i++) {
        s_close_fd(e, &e->conns[i]);
        free(e->conns[i].rbuf);
    }
    close(e->epfd);
    free(e->conns);
    free(e->targets);
    free(e->srcs);
    free(e);
    *eng_p = NULL;
}

static int
s_watch(load_engine_t *e, load_conn_t *c, int op, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = c->id};
    return epoll_ctl(e->epfd, op, c->fd, &ev);
}

static void s_fail(load_engine_t *e, load_conn_t *c, load_err_t err);

/* Start a non-blocking connect on c. Return 0, or -1 with c closed (not reported). */
static int
s_connect(load_engine_t *e, load_conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (e->nsrc > 0) {
        /* the port is chosen at connect() time, per 4-tuple: 64k ports per source address
         * per server port instead of 64k in all */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr = e->srcs[(c->id / e->ntargets) % e->nsrc]};
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0)
            goto fail;
    }
    const struct sockaddr_in *dst = &e->targets[c->id % e->ntargets];
    if (connect(c->fd, (const struct sockaddr *)dst, sizeof *dst) < 0 && errno != EINPROGRESS)
        goto fail;
    if (s_watch(e, c, EPOLL_CTL_ADD, true) < 0)
        goto fail;
    return 0;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void
s_fail(load_engine_t *e, load_conn_t *c, load_err_t err)
{
    s_close_fd(e, c);
    if (!e->cb.on_error(e->cb.ctx, c, err))
        return;
    if (s_connect(e, c) < 0)
        s_fail(e, c, LOAD_E_CONNECT); /* the scenario bounds the retries */
}

load_conn_t *
load_engine_open(load_engine_t *e)
{
    if (e->opened == e->max_conns)
        return NULL;
    load_conn_t *c = &e->conns[e->opened];
    memset(c, 0, sizeof *c);
    c->id = (uint32_t)e->opened++;
    c->fd = -1;
    if (s_connect(e, c) < 0)
        s_fail(e, c, LOAD_E_CONNECT);
    return c;
}

size_t
load_engine_opened(const load_engine_t *e)
{
    return e->opened;
}

load_conn_t *
load_engine_conn(load_engine_t *e, size_t i)
{
    return &e->conns[i];
}

void
load_conn_close(load_engine_t *e, load_conn_t *c)
{
    s_close_fd(e, c);
}

void
load_conn_send(load_engine_t *e, load_conn_t *c, const char *req, size_t len)
{
    c->busy = true;
    c->seq++;
    c->sent_ns = load_now_ns();
    ssize_t n = write(c->fd, req, len);
    if (n == (ssize_t)len)
        return;
    if (n < 0 && errno != EAGAIN) {
        s_fail(e, c, LOAD_E_IO);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    c->wpend = s_xrealloc(NULL, len - done);
    memcpy(c->wpend, req + done, len - done);
    c->wlen = len - done;
    c->woff = 0;
    s_watch(e, c, EPOLL_CTL_MOD, true);
}

/* Writable: finish a connect, or the rest of a short write. */
static void
s_on_writable(load_engine_t *e, load_conn_t *c)
{
    if (!c->connected) {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err != 0) {
            s_fail(e, c, LOAD_E_CONNECT);
            return;
        }
        c->connected = true;
        s_watch(e, c, EPOLL_CTL_MOD, false);
        e->cb.on_connected(e->cb.ctx, c);
        return;
    }
    if (c->wpend == NULL) {
        s_watch(e, c, EPOLL_CTL_MOD, false);
        return;
    }
    ssize_t n = write(c->fd, c->wpend + c->woff, c->wlen - c->woff);
    if (n < 0 && errno != EAGAIN) {
        s_fail(e, c, LOAD_E_IO);
        return;
    }
    c->woff += n > 0 ? (size_t)n : 0;
    if (c->woff == c->wlen) {
        free(c->wpend);
        c->wpend = NULL;
        s_watch(e, c, EPOLL_CTL_MOD, false);
    }
}

/* Return the value of header `name` (lower case, with ':') in head[0..len), or NULL. */
static const char *
s_header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; p + nl < head + len;) {
        const char *eol = memchr(p, '\n', (size_t)(head + len - p));
        if (eol == NULL)
            return NULL;
        p = eol + 1;
        if (p + nl < head + len && strncasecmp(p, name, nl) == 0) {
            p += nl;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Parse buf[0..len): 1 complete (fields set), 0 need more, -1 malformed. */
static int
s_parse(const char *buf, size_t len, int *status, size_t *head_len, size_t *body_len,
        bool *close_after)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return len > 16384 ? -1 : 0;
    *head_len = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    *status = atoi(buf + 9);
    const char *cl = s_header(buf, *head_len, "content-length:");
    if (cl == NULL)
        return -1;
    char *stop;
    unsigned long long n = strtoull(cl, &stop, 10);
    if (stop == cl || n > LOAD_MAX_RESPONSE)
        return -1;
    *body_len = (size_t)n;
    const char *conn = s_header(buf, *head_len, "connection:");
    *close_after = conn != NULL && strncasecmp(conn, "close", 5) == 0;
    return len >= *head_len + *body_len ? 1 : 0;
}

/* Keep buf[0..len) in c->rbuf until the rest of the response arrives. */
static void
s_keep(load_conn_t *c, const char *buf, size_t len)
{
    if (c->rlen + len > c->rcap) {
        c->rcap = c->rlen + len + 4096;
        c->rbuf = s_xrealloc(c->rbuf, c->rcap);
    }
    if (buf != c->rbuf + c->rlen)
        memmove(c->rbuf + c->rlen, buf, len);
    c->rlen += len;
}

static void
s_on_readable(load_engine_t *e, load_conn_t *c)
{
    ssize_t n = read(c->fd, e->scratch, sizeof e->scratch);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        s_fail(e, c, n == 0 ? LOAD_E_CLOSED : LOAD_E_IO);
        return;
    }
    if (n < 0)
        return;
    const char *buf = e->scratch;
    size_t len = (size_t)n;
    if (c->rlen > 0) {
        s_keep(c, buf, len);
        buf = c->rbuf;
        len = c->rlen;
    }
    int status = 0;
    size_t head = 0, body = 0;
    bool close_after = false;
    int rc = s_parse(buf, len, &status, &head, &body, &close_after);
    if (rc < 0 || (rc == 0 && len > LOAD_MAX_RESPONSE)) {
        s_fail(e, c, rc < 0 ? LOAD_E_PARSE : LOAD_E_TOO_BIG);
        return;
    }
    if (rc == 0) {
        if (c->rlen == 0)
            s_keep(c, buf, len);
        return;
    }
    uint64_t lat = load_now_ns() - c->sent_ns;
    c->busy = false;
    c->rlen = 0;
    if (close_after) {
        /* the server ends keep-alive: reconnect first, so the scenario sees !connected and
         * sends its next request from on_connected */
        s_close_fd(e, c);
        if (s_connect(e, c) < 0)
            s_fail(e, c, LOAD_E_CONNECT);
    }
    e->cb.on_response(e->cb.ctx, c, status, buf + head, body, lat);
}

int
load_engine_poll(load_engine_t *e, int timeout_ms)
{
    struct epoll_event evs[S_EVENTS];
    int n = epoll_wait(e->epfd, evs, S_EVENTS, timeout_ms);
    for (int i = 0; i < n; i++) {
        load_conn_t *c = &e->conns[evs[i].data.u32];
        if (c->fd < 0)
            continue;
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            if (!c->connected || c->wpend != NULL) {
                s_on_writable(e, c);
                continue;
            }
        }
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            s_on_readable(e, c);
    }
    return n;
}
