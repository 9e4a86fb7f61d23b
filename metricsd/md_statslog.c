/* md_statslog.c - see md_statslog.h. */
#include "md_statslog.h"

#include "sfb_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY "snowflake-stats-end "
#define S_TAIL_BYTES (64 * 1024)

struct md_statslog {
    char *path;               /* owned; NULL for stdout */
    int fd;                   /* append descriptor */
    _Atomic uint64_t size;    /* bytes of complete blocks */
    char last_first_line[96]; /* first line of the last block, "" if none */
};

static ssize_t
s_pread_all(int fd, char *p, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Offset of the last line in [p, p+len) that starts with S_KEY, or -1. */
static ssize_t
s_last_block(const char *p, size_t len)
{
    size_t klen = strlen(S_KEY);
    for (size_t i = len; i-- > 0;)
        if ((i == 0 || p[i - 1] == '\n') && len - i >= klen && memcmp(p + i, S_KEY, klen) == 0)
            return (ssize_t)i;
    return -1;
}

static void
s_remember_last(md_statslog_t *log, uint64_t size)
{
    size_t n = size > S_TAIL_BYTES ? S_TAIL_BYTES : (size_t)size;
    char *buf = sfb_xmalloc(n + 1);
    ssize_t got = s_pread_all(log->fd, buf, n, (off_t)(size - n));
    ssize_t at = got > 0 ? s_last_block(buf, (size_t)got) : -1;
    if (at >= 0) {
        const char *nl = memchr(buf + at, '\n', (size_t)(got - at));
        size_t l = nl ? (size_t)(nl - (buf + at)) + 1 : 0;
        if (l > 0 && l < sizeof log->last_first_line) {
            memcpy(log->last_first_line, buf + at, l);
            log->last_first_line[l] = '\0';
        }
    }
    free(buf);
}

md_statslog_t *
md_statslog_open(const char *path)
{
    md_statslog_t *log = sfb_xcalloc(1, sizeof *log);
    atomic_init(&log->size, 0);
    if (path == NULL) {
        log->fd = STDOUT_FILENO;
        return log;
    }
    log->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (log->fd < 0 || fstat(log->fd, &st) != 0) {
        int e = errno;
        if (log->fd >= 0)
            close(log->fd);
        free(log);
        errno = e;
        return NULL;
    }
    log->path = sfb_xstrdup(path);
    atomic_store(&log->size, (uint64_t)st.st_size);
    s_remember_last(log, (uint64_t)st.st_size);
    return log;
}

void
md_statslog_destroy(md_statslog_t **log_p)
{
    if (log_p == NULL || *log_p == NULL)
        return;
    md_statslog_t *log = *log_p;
    if (log->path)
        close(log->fd);
    free(log->path);
    free(log);
    *log_p = NULL;
}

int
md_statslog_append(md_statslog_t *log, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) { /* one write(2) unless the kernel returns short */
        ssize_t n = write(log->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    int e = errno;
    if (done < len || (log->path && fsync(log->fd) != 0)) {
        e = done < len ? e : errno;
        if (log->path && ftruncate(log->fd, (off_t)atomic_load(&log->size)) != 0)
            e = errno;
        errno = e;
        return -1;
    }
    const char *nl = memchr(data, '\n', len);
    size_t l = nl ? (size_t)(nl - data) + 1 : 0;
    if (l > 0 && l < sizeof log->last_first_line && strncmp(data, S_KEY, strlen(S_KEY)) == 0) {
        memcpy(log->last_first_line, data, l);
        log->last_first_line[l] = '\0';
    }
    atomic_fetch_add(&log->size, len);
    return 0;
}

bool
md_statslog_last_block_is(const md_statslog_t *log, const char *first_line)
{
    return log->path && strcmp(log->last_first_line, first_line) == 0;
}

bool
md_statslog_read(const md_statslog_t *log, size_t max_bytes, sfb_buf_t *out, bool *truncated)
{
    sfb_buf_reset(out);
    *truncated = false;
    if (log == NULL || log->path == NULL)
        return false;
    int fd = open(log->path, O_RDONLY | O_CLOEXEC); /* per call: a removed file is a 404 */
    if (fd < 0)
        return false;
    uint64_t size = atomic_load(&log->size);
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < size)
        size = (uint64_t)st.st_size; /* truncated behind our back */
    size_t n = size > max_bytes ? max_bytes : (size_t)size;
    char *p = sfb_buf_reserve(out, n);
    ssize_t got = s_pread_all(fd, p, n, (off_t)(size - n));
    close(fd);
    if (got < 0)
        return false;
    out->len = (size_t)got;
    out->data[out->len] = '\0';
    if (n < size) { /* drop the partial oldest block */
        *truncated = true;
        const char *q = strstr(out->data, "\n" S_KEY);
        size_t skip = q ? (size_t)(q - out->data) + 1 : out->len;
        memmove(out->data, out->data + skip, out->len - skip);
        out->len -= skip;
        out->data[out->len] = '\0';
    }
    return true;
}
