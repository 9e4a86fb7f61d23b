/* sfb_alloc.h - allocation that never returns NULL. Out of memory is the one deliberate abort
 * (STYLE.md §4): it logs and aborts, as Tor, CZMQ, h2o and Redis do. Thread-safe. */
#ifndef SFB_ALLOC_H
#define SFB_ALLOC_H

#include <stddef.h>

/** Allocate `size` bytes (at least 1). Never NULL: aborts on OOM. */
void *sfb_xmalloc(size_t size);
/** Allocate `n * size` zeroed bytes, checking the product for overflow. Never NULL. */
void *sfb_xcalloc(size_t n, size_t size);
/** Resize `p` to `size` bytes. Never NULL. */
void *sfb_xrealloc(void *p, size_t size);
/** Duplicate the NUL-terminated `s`. Never NULL. */
char *sfb_xstrdup(const char *s);
/** Duplicate `len` bytes of `s` and NUL-terminate the copy. Never NULL. */
char *sfb_xmemdup0(const void *s, size_t len);

#endif
