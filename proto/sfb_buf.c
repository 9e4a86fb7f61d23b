/* sfb_buf.c - see sfb_buf.h. */
#include "sfb_buf.h"

#include "sfb_alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sfb_buf_init(sfb_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
sfb_buf_dispose(sfb_buf_t *b)
{
    free(b->data);
    sfb_buf_init(b);
}

void
sfb_buf_reset(sfb_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *
sfb_buf_reserve(sfb_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + extra + 1)
            cap *= 2;
        b->data = sfb_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

/* The one copy routine, inlined into both entry points: sfb_buf_write runs for every few
 * bytes msgpack-c packs, where a further call would cost more than the copy. */
static inline void
s_append(sfb_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap)
        sfb_buf_reserve(b, len);
    char *p = b->data + b->len;
    const char *d = data;
    /* msgpack-c writes 1 to ~16 bytes at a time (sfb_buf_write): copy such runs with
     * fixed-size moves (two that may overlap) instead of a call to memcpy */
    if (len >= 8 && len <= 16) {
        uint64_t head, tail;
        memcpy(&head, d, 8);
        memcpy(&tail, d + len - 8, 8);
        memcpy(p, &head, 8);
        memcpy(p + len - 8, &tail, 8);
    } else if (len >= 4 && len < 8) {
        uint32_t head, tail;
        memcpy(&head, d, 4);
        memcpy(&tail, d + len - 4, 4);
        memcpy(p, &head, 4);
        memcpy(p + len - 4, &tail, 4);
    } else if (len < 4) {
        for (size_t i = 0; i < len; i++)
            p[i] = d[i];
    } else {
        memcpy(p, d, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
}

void
sfb_buf_append(sfb_buf_t *b, const void *data, size_t len)
{
    s_append(b, data, len);
}

int
sfb_buf_write(void *buf, const char *data, size_t len)
{
    s_append(buf, data, len);
    return 0;
}

void
sfb_buf_puts(sfb_buf_t *b, const char *s)
{
    sfb_buf_append(b, s, strlen(s));
}

void
sfb_buf_putc(sfb_buf_t *b, char c)
{
    sfb_buf_append(b, &c, 1);
}

void
sfb_buf_printf(sfb_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    char *p = sfb_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
