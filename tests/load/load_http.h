/* load_http.h - the HTTP/1.1 client engine of sfb-load: many keep-alive connections on one
 * epoll loop, one request in flight per connection, responses framed by Content-Length.
 * It is deliberately small (like wrk's core) so that the load side costs less CPU per request
 * than the server it measures, and about 100 bytes per idle connection, so that 100k held
 * polls fit. Single-threaded: every call and callback runs on the thread that calls
 * load_engine_poll(). */
#ifndef LOAD_HTTP_H
#define LOAD_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct load_engine load_engine_t;

typedef enum {
    LOAD_E_CONNECT = 0, /* socket(), bind() or connect() failed */
    LOAD_E_CLOSED,      /* the peer closed or reset while a request was in flight */
    LOAD_E_PARSE,       /* not an HTTP/1.x response with a Content-Length */
    LOAD_E_TOO_BIG,     /* response larger than LOAD_MAX_RESPONSE */
    LOAD_E_IO,          /* read() or write() failed */
} load_err_t;
#define LOAD_E_COUNT 5
#define LOAD_MAX_RESPONSE (256 * 1024)

/** One client connection. The scenario owns the fields marked "scenario". */
typedef struct {
    int fd;            /* -1 when closed */
    uint32_t id;       /* index in the engine, 0.. */
    bool connected;    /* TCP connect finished */
    bool busy;         /* a request is in flight */
    uint64_t sent_ns;  /* when the request in flight was handed to write() */
    char *wpend;       /* unwritten rest of a request (rare: short write), owned */
    size_t wlen, woff; /* its length and how much is already written */
    char *rbuf;        /* partial response kept between reads (rare), owned */
    size_t rlen, rcap; /* bytes in rbuf and its capacity */
    int role;          /* scenario: what this connection plays */
    int state;         /* scenario: where it is in its loop */
    uint64_t seq;      /* requests sent on it (load_conn_send counts) */
    uint64_t token;    /* scenario: e.g. the number of its current Sid */
} load_conn_t;

typedef struct {
    /** The connection is up: send its first request. */
    void (*on_connected)(void *ctx, load_conn_t *c);
    /** A complete response to the request in flight; latency_ns from its send. The callee
     *  may send the next request. `body` is valid during the call only. */
    void (*on_response)(void *ctx, load_conn_t *c, int status, const char *body, size_t len,
                        uint64_t latency_ns);
    /** The connection failed and is closed. Return true to reconnect it at once. */
    bool (*on_error)(void *ctx, load_conn_t *c, load_err_t err);
    void *ctx; /* passed to every callback */
} load_callbacks_t;

/** Create an engine for at most `max_conns` connections to the `ntargets` addresses (used
 *  round robin), each connection bound to one of the `nsrc` source addresses (round robin
 *  after the targets; 0: let the kernel choose). Never NULL (exits on setup failure). */
load_engine_t *load_engine_new(const struct sockaddr_in *targets, size_t ntargets,
                               const struct in_addr *srcs, size_t nsrc, size_t max_conns,
                               const load_callbacks_t *cb);
/** Close every connection and free the engine; set *eng_p to NULL. */
void load_engine_destroy(load_engine_t **eng_p);
/** Open the next connection (non-blocking connect). Return it, or NULL if max_conns are
 *  already open or the socket could not be created (counted through on_error). */
load_conn_t *load_engine_open(load_engine_t *eng);
/** Return the number of connections opened so far. */
size_t load_engine_opened(const load_engine_t *eng);
/** Return connection `i` (0 <= i < opened). */
load_conn_t *load_engine_conn(load_engine_t *eng, size_t i);
/** Wait up to timeout_ms for I/O and run the callbacks. Return the number of events. */
int load_engine_poll(load_engine_t *eng, int timeout_ms);
/** Write `len` bytes of request on `c` and mark it busy. A short write keeps a copy. */
void load_conn_send(load_engine_t *eng, load_conn_t *c, const char *req, size_t len);
/** Close `c` without reporting an error. */
void load_conn_close(load_engine_t *eng, load_conn_t *c);
/** Return a monotonic clock in nanoseconds. */
uint64_t load_now_ns(void);

#endif
