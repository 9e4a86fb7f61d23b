/* hello.c - sfb-hello: the "physical limit" reference of the HTTP benchmarks. The same
 * libh2o-evloop, h2o settings and accept loop as snowflake-frontend (plain HTTP/1.1, no h2c,
 * 1 MiB body cap, bursts of 64 accepts), answering every request with a fixed 200 body and
 * nothing else: no JSON, no ZeroMQ, no matcher. Single-threaded; SIGINT/SIGTERM stop it.
 * usage: sfb-hello PORT [--reuseport] */
#include <h2o.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_BACKLOG 4096
#define S_ACCEPT_BURST 64
#define S_BODY "hello, world\n"

static volatile sig_atomic_t s_stop;
static h2o_globalconf_t s_config;
static h2o_context_t s_ctx;
static h2o_accept_ctx_t s_accept_ctx;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int
s_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = sizeof S_BODY - 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_send_inline(req, H2O_STRLIT(S_BODY));
    return 0;
}

static void
s_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    for (int i = 0; i < S_ACCEPT_BURST; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        h2o_accept(&s_accept_ctx, sock);
    }
}

static int
s_listen(int port, int reuseport)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, S_BACKLOG) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: sfb-hello PORT [--reuseport]\n");
        return 2;
    }
    int reuseport = argc > 2 && strcmp(argv[2], "--reuseport") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&s_config);
    s_config.server_name = h2o_iovec_init(H2O_STRLIT(""));
    s_config.http1.upgrade_to_http2 = 0;
    s_config.max_request_entity_size = 1024 * 1024;
    h2o_hostconf_t *host =
        h2o_config_register_host(&s_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(path, sizeof *h);
    h->on_req = s_on_req;
    h2o_context_init(&s_ctx, h2o_evloop_create(), &s_config);
    s_accept_ctx.ctx = &s_ctx;
    s_accept_ctx.hosts = s_config.hosts;

    int fd = s_listen(atoi(argv[1]), reuseport);
    if (fd < 0) {
        fprintf(stderr, "sfb-hello: cannot listen on 127.0.0.1:%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    h2o_socket_t *listener = h2o_evloop_socket_create(s_ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(listener, s_on_accept);
    while (!s_stop)
        if (h2o_evloop_run(s_ctx.loop, 1000) != 0 && errno != EINTR)
            break;
    h2o_socket_read_stop(listener);
    h2o_socket_close(listener);
    return 0;
}
