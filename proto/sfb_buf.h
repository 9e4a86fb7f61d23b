/* sfb_buf.h - a growable byte buffer, embedded by its owner (init/dispose). Not thread-safe.
 * The data is always NUL-terminated so it can be printed, but may contain NULs. */
#ifndef SFB_BUF_H
#define SFB_BUF_H

#include <stddef.h>

typedef struct {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes in use, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
} sfb_buf_t;

/** Initialise an empty buffer. */
void sfb_buf_init(sfb_buf_t *b);
/** Free the storage and leave an empty buffer. */
void sfb_buf_dispose(sfb_buf_t *b);
/** Drop the contents, keep the storage. */
void sfb_buf_reset(sfb_buf_t *b);
/** Make room for `extra` more bytes and return a pointer to the end. */
char *sfb_buf_reserve(sfb_buf_t *b, size_t extra);
/** Append `len` bytes. */
void sfb_buf_append(sfb_buf_t *b, const void *data, size_t len);
/** Append `len` bytes of `data` to the sfb_buf_t `buf` and return 0: the signature of
 *  msgpack-c's packer write callback, which calls it for every few bytes it packs. */
int sfb_buf_write(void *buf, const char *data, size_t len);
/** Append a NUL-terminated string. */
void sfb_buf_puts(sfb_buf_t *b, const char *s);
/** Append one byte. */
void sfb_buf_putc(sfb_buf_t *b, char c);
/** Append printf-formatted text. */
void sfb_buf_printf(sfb_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
