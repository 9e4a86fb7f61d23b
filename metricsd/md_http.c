/* md_http.c - see md_http.h. */
#include "md_http.h"

#include "sfb_alloc.h"
#include "sfb_buf.h"
#include "sfb_log.h"

#include <h2o.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_MOD "md.http"

typedef struct {
    h2o_handler_t super; /* must be first: h2o calls us with this pointer */
    md_http_t *http;     /* back pointer */
} s_handler_t;

struct md_http {
    h2o_globalconf_t config;   /* h2o configuration */
    h2o_context_t ctx;         /* h2o context of the thread */
    h2o_accept_ctx_t accept;   /* accept context */
    h2o_socket_t *listener;    /* listening socket */
    const md_prom_t *prom;     /* borrowed */
    const md_health_t *health; /* borrowed */
    pthread_t thread;          /* the HTTP thread */
    atomic_bool stop;          /* set by md_http_destroy */
};

int
md_http_split(const char *hostport, char *host, size_t host_size, char *port, size_t port_size)
{
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || colon[1] == '\0')
        return -1;
    const char *h = hostport;
    size_t hl = (size_t)(colon - hostport);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl >= host_size || strlen(colon + 1) >= port_size)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int
s_listen(const char *hostport)
{
    char host[256], port[16];
    if (md_http_split(hostport, host, sizeof host, port, sizeof port) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "bad -prometheus-addr \"%s\": want HOST:PORT", hostport);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot resolve \"%s\": %s", hostport, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        sfb_log(SFB_ERROR, S_MOD, "cannot listen on %s: %s", hostport, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static int
s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    md_http_t *http = ((s_handler_t *)self)->http;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1; /* 404 from h2o */
    sfb_buf_t b;
    sfb_buf_init(&b);
    md_health_format(http->health, &b);
    md_prom_format(http->prom, &b);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = b.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_send_inline(req, b.data ? b.data : "", b.len); /* copies into the request pool */
    sfb_buf_dispose(&b);
    return 0;
}

static void
s_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    md_http_t *http = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(&http->accept, sock);
}

static void *
s_run(void *arg)
{
    md_http_t *http = arg;
    while (!atomic_load(&http->stop))
        h2o_evloop_run(http->ctx.loop, 100); /* -1 on EINTR: just go round again */
    return NULL;
}

md_http_t *
md_http_new(const char *hostport, const md_prom_t *prom, const md_health_t *health)
{
    int fd = s_listen(hostport);
    if (fd < 0)
        return NULL;
    md_http_t *http = sfb_xcalloc(1, sizeof *http);
    http->prom = prom;
    http->health = health;
    atomic_init(&http->stop, false);
    h2o_config_init(&http->config);
    http->config.server_name = h2o_iovec_init(H2O_STRLIT("snowflake-metricsd"));
    h2o_hostconf_t *host =
        h2o_config_register_host(&http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/metrics", 0);
    s_handler_t *handler = (s_handler_t *)h2o_create_handler(path, sizeof *handler);
    handler->super.on_req = s_on_req;
    handler->http = http;
    h2o_context_init(&http->ctx, h2o_evloop_create(), &http->config);
    http->accept.ctx = &http->ctx;
    http->accept.hosts = http->config.hosts;
    http->listener = h2o_evloop_socket_create(http->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    http->listener->data = http;
    h2o_socket_read_start(http->listener, s_on_accept);
    if (pthread_create(&http->thread, NULL, s_run, http) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot start the HTTP thread");
        h2o_socket_close(http->listener);
        h2o_evloop_t *loop = http->ctx.loop;
        h2o_context_dispose(&http->ctx);
        h2o_evloop_destroy(loop);
        h2o_config_dispose(&http->config);
        free(http);
        return NULL;
    }
    sfb_log(SFB_NOTICE, S_MOD, "serving /metrics on %s", hostport);
    return http;
}

void
md_http_destroy(md_http_t **http_p)
{
    if (http_p == NULL || *http_p == NULL)
        return;
    md_http_t *http = *http_p;
    atomic_store(&http->stop, true);
    pthread_join(http->thread, NULL);
    h2o_socket_close(http->listener);
    h2o_evloop_t *loop = http->ctx.loop;
    h2o_context_dispose(&http->ctx); /* closes the queue's socket too */
    h2o_evloop_run(loop, 0);         /* socket closes complete on the next turn */
    h2o_evloop_destroy(loop);
    h2o_config_dispose(&http->config);
    free(http);
    *http_p = NULL;
}
