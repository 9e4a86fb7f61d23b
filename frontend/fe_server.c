/* fe_server.c - see fe_server.h. */
#include "fe_server.h"

#include "fe_tls.h"
#include "sfb_alloc.h"
#include "sfb_log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_BACKLOG 4096
#define S_ACCEPT_BURST 64

/* One open connection, so that its close can be counted. Heap-allocated, because the h2o
 * socket outlives any pool we could use; freed when the socket closes or at destroy. */
typedef struct {
    h2o_linklist_t link; /* in server->conns */
    fe_server_t *server; /* owner */
    h2o_socket_t *sock;  /* the accepted socket (owned by h2o) */
} s_conn_t;

struct fe_server {
    h2o_context_t *ctx;          /* borrowed */
    h2o_accept_ctx_t accept_ctx; /* what h2o_accept() needs; ssl_ctx owned */
    h2o_socket_t *listener;      /* NULL once stopped */
    bool reading;                /* the listener is being read (accepting) */
    size_t max_conns;            /* cap on open connections; 0: none */
    h2o_linklist_t conns;        /* s_conn_t of every open connection */
    h2o_timeout_entry_t retry;   /* resumes accepting a second after an accept() failure */
    fe_server_stats_t stats;     /* counters */
    sfb_ratelim_t rl;            /* for the cap and accept() warnings */
    char *cert;                  /* owned copy, or NULL for plain HTTP */
    char *key;                   /* owned copy */
    SSL_CTX **retired;           /* contexts replaced by reloads, freed at destroy */
    size_t n_retired;            /* entries in retired */
};

/* Split Go-style "HOST:PORT" into host (may be "") and port. Return false if malformed. */
static bool
s_split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= psize)
        return false;
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= hsize || memchr(h, '[', hl) || memchr(h, ']', hl))
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return true;
}

static int
s_resolve(const char *addr, struct addrinfo **res)
{
    char host[256], port[32];
    if (!s_split_addr(addr, host, sizeof host, port, sizeof port)) {
        sfb_log(SFB_ERROR, "fe.server", "invalid --addr \"%s\": want HOST:PORT", addr);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    if (host[0] == '\0') { /* like Go: all addresses, dual-stack when possible */
        hints.ai_family = AF_INET6;
        if (getaddrinfo(NULL, port, &hints, res) == 0)
            return 0;
        hints.ai_family = AF_INET;
    }
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
    if (rc != 0) {
        sfb_log(SFB_ERROR, "fe.server", "cannot resolve --addr \"%s\": %s", addr, gai_strerror(rc));
        return -1;
    }
    return 0;
}

int
fe_server_check_addr(const char *addr)
{
    struct addrinfo *res;
    if (s_resolve(addr, &res) != 0)
        return -1;
    freeaddrinfo(res);
    return 0;
}

static int
s_listen_one(const struct addrinfo *ai, bool reuseport)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
        goto fail;
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, S_BACKLOG) != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

static void s_on_accept(h2o_socket_t *listener, const char *err);

static bool
s_is_full(const fe_server_t *server)
{
    return server->max_conns != 0 && server->stats.open >= server->max_conns;
}

/* Stop reading the listener: h2o's epoll is level-triggered, so a listener that cannot accept
 * (at the cap, or EMFILE) must not stay readable or the loop spins. */
static void
s_pause(fe_server_t *server)
{
    if (server->listener == NULL || !server->reading)
        return;
    h2o_socket_read_stop(server->listener);
    server->reading = false;
}

static void
s_resume(fe_server_t *server)
{
    if (server->listener == NULL || server->reading || s_is_full(server) ||
        h2o_timeout_is_linked(&server->retry))
        return;
    server->reading = true;
    h2o_socket_read_start(server->listener, s_on_accept);
}

static void
s_on_retry(h2o_timeout_entry_t *entry)
{
    s_resume(H2O_STRUCT_FROM_MEMBER(fe_server_t, retry, entry));
}

/* h2o calls this from the socket's disposal, whichever side closed it. */
static void
s_on_conn_close(void *data)
{
    s_conn_t *c = data;
    fe_server_t *server = c->server;
    h2o_linklist_unlink(&c->link);
    free(c);
    server->stats.open--;
    s_resume(server);
}

static void
s_track(fe_server_t *server, h2o_socket_t *sock)
{
    s_conn_t *c = sfb_xcalloc(1, sizeof *c);
    c->server = server;
    c->sock = sock;
    h2o_linklist_insert(&server->conns, &c->link);
    sock->on_close.cb = s_on_conn_close;
    sock->on_close.data = c;
    server->stats.accepted++;
    if (++server->stats.open > server->stats.peak)
        server->stats.peak = server->stats.open;
}

/* accept() failed for a reason other than an empty queue: out of descriptors or memory.
 * Pause for a second (or until a connection closes) instead of spinning on the listener. */
static void
s_accept_failed(fe_server_t *server, int err)
{
    server->stats.accept_errors++;
    sfb_log_ratelim(&server->rl, SFB_WARN, "fe.server", "accept: %s; pausing for 1 s (%zu open)",
                    strerror(err), server->stats.open);
    s_pause(server);
    if (!h2o_timeout_is_linked(&server->retry))
        h2o_timeout_link(server->ctx->loop, &server->ctx->one_sec_timeout, &server->retry);
}

static void
s_on_accept(h2o_socket_t *listener, const char *err)
{
    fe_server_t *server = listener->data;
    if (err != NULL)
        return;
    for (int i = 0; i < S_ACCEPT_BURST; i++) {
        if (s_is_full(server)) {
            server->stats.pauses++;
            sfb_log_ratelim(&server->rl, SFB_WARN, "fe.server",
                            "%zu connections open (--max-connections): not accepting until one "
                            "closes",
                            server->stats.open);
            s_pause(server);
            return;
        }
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                s_accept_failed(server, errno);
            return;
        }
        s_track(server, sock);
        h2o_accept(&server->accept_ctx, sock);
    }
}

fe_server_t *
fe_server_new(h2o_context_t *ctx, const fe_server_config_t *cfg)
{
    fe_server_t *server = sfb_xcalloc(1, sizeof *server);
    server->ctx = ctx;
    server->accept_ctx.ctx = ctx;
    server->accept_ctx.hosts = ctx->globalconf->hosts;
    server->max_conns = cfg->max_connections;
    h2o_linklist_init_anchor(&server->conns);
    server->retry.cb = s_on_retry;
    server->rl.interval_ms = 10000;
    struct addrinfo *res = NULL;
    int fd = -1;
    if (cfg->cert != NULL) {
        server->cert = sfb_xstrdup(cfg->cert);
        server->key = sfb_xstrdup(cfg->key);
        if ((server->accept_ctx.ssl_ctx = fe_tls_ctx_new(cfg->cert, cfg->key)) == NULL)
            goto fail;
    }
    if (s_resolve(cfg->addr, &res) != 0)
        goto fail;
    int saved = 0;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        if ((fd = s_listen_one(ai, cfg->reuseport)) < 0)
            saved = errno;
    freeaddrinfo(res);
    if (fd < 0) {
        sfb_log(SFB_ERROR, "fe.server", "cannot listen on %s: %s", cfg->addr, strerror(saved));
        goto fail;
    }
    server->listener = h2o_evloop_socket_create(ctx->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    server->listener->data = server;
    s_resume(server);
    return server;
fail:
    fe_server_destroy(&server);
    return NULL;
}

int
fe_server_reload_tls(fe_server_t *server)
{
    if (server->cert == NULL)
        return 0;
    SSL_CTX *fresh = fe_tls_ctx_new(server->cert, server->key);
    if (fresh == NULL)
        return -1;
    /* The replaced context is kept until exit, not freed: h2o 2.2.5 restarts a server
     * handshake (async session resumption) with SSL_free() then SSL_new() on the same
     * SSL_CTX pointer without holding a reference, so freeing our reference here let the
     * next SSL_new() read a freed context (caught by ASan in test_operations.py). Reloads
     * are rare (certificate renewals); each keeps one context. */
    server->retired =
        sfb_xrealloc(server->retired, (server->n_retired + 1) * sizeof *server->retired);
    server->retired[server->n_retired++] = server->accept_ctx.ssl_ctx;
    server->accept_ctx.ssl_ctx = fresh;
    return 0;
}

void
fe_server_stop_accepting(fe_server_t *server)
{
    if (h2o_timeout_is_linked(&server->retry))
        h2o_timeout_unlink(&server->retry);
    if (server->listener == NULL)
        return;
    s_pause(server);
    h2o_socket_close(server->listener);
    server->listener = NULL;
}

void
fe_server_log_stats(const fe_server_t *server, const char *what)
{
    const fe_server_stats_t *st = &server->stats;
    sfb_log(SFB_NOTICE, "frontend",
            "%s (connections): accepted %llu, open %zu, peak %zu, cap pauses %llu, "
            "accept errors %llu",
            what, (unsigned long long)st->accepted, st->open, st->peak,
            (unsigned long long)st->pauses, (unsigned long long)st->accept_errors);
}

void
fe_server_stats(const fe_server_t *server, fe_server_stats_t *out)
{
    *out = server->stats;
}

void
fe_server_destroy(fe_server_t **server_p)
{
    if (server_p == NULL || *server_p == NULL)
        return;
    fe_server_t *server = *server_p;
    fe_server_stop_accepting(server);
    while (!h2o_linklist_is_empty(&server->conns)) { /* still open: stop counting them */
        s_conn_t *c = H2O_STRUCT_FROM_MEMBER(s_conn_t, link, server->conns.next);
        c->sock->on_close.cb = NULL;
        c->sock->on_close.data = NULL;
        h2o_linklist_unlink(&c->link);
        free(c);
    }
    SSL_CTX_free(server->accept_ctx.ssl_ctx);
    for (size_t i = 0; i < server->n_retired; i++)
        SSL_CTX_free(server->retired[i]);
    free(server->retired);
    free(server->cert);
    free(server->key);
    free(server);
    *server_p = NULL;
}
