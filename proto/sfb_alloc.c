/* sfb_alloc.c - see sfb_alloc.h. */
#include "sfb_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_oom(size_t size)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
sfb_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        s_oom(size);
    return p;
}

void *
sfb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        s_oom(n * size);
    return p;
}

void *
sfb_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (q == NULL)
        s_oom(size);
    return q;
}

char *
sfb_xstrdup(const char *s)
{
    return sfb_xmemdup0(s, strlen(s));
}

char *
sfb_xmemdup0(const void *s, size_t len)
{
    char *p = sfb_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
