/* mt_ring.c - see mt_ring.h. A body may wrap around the end of the arena; its length is the
 * distance to the next body's offset (or to the write position for the newest), modulo the
 * arena size, which is unambiguous because every body is non-empty and shorter than the arena. */
#include "mt_ring.h"

#include "sfb_alloc.h"

#include <stdlib.h>
#include <string.h>

struct mt_ring {
    unsigned char *arena; /* circular body bytes */
    size_t arena_bytes;   /* size of arena */
    uint32_t *off;        /* arena offset of each body, circular like the arena */
    size_t max_events;    /* size of off */
    size_t head;          /* index in off of the oldest event */
    size_t count;         /* events held */
    size_t write;         /* arena offset where the next body goes */
    size_t used;          /* body bytes held */
    uint64_t oldest;      /* seq of the oldest event, or of the next one when empty */
};

mt_ring_t *
mt_ring_new(size_t max_events, size_t arena_bytes)
{
    mt_ring_t *ring = sfb_xcalloc(1, sizeof *ring);
    if (arena_bytes > MT_RING_MAX_ARENA_BYTES)
        arena_bytes = MT_RING_MAX_ARENA_BYTES;
    if (max_events == 0 || arena_bytes == 0)
        max_events = arena_bytes = 0;
    ring->arena_bytes = arena_bytes;
    ring->max_events = max_events;
    /* malloc, not calloc-and-touch: pages are only committed as events fill them */
    ring->arena = arena_bytes ? sfb_xmalloc(arena_bytes) : NULL;
    ring->off = max_events ? sfb_xcalloc(max_events, sizeof *ring->off) : NULL;
    ring->oldest = 1; /* publishers number events from 1 */
    return ring;
}

void
mt_ring_destroy(mt_ring_t **ring_p)
{
    if (ring_p == NULL || *ring_p == NULL)
        return;
    mt_ring_t *ring = *ring_p;
    free(ring->arena);
    free(ring->off);
    free(ring);
    *ring_p = NULL;
}

/* Offset and length of the k-th event from the oldest (k < count). */
static size_t
s_entry(const mt_ring_t *ring, size_t k, size_t *len)
{
    size_t start = ring->off[(ring->head + k) % ring->max_events];
    size_t end =
        k + 1 < ring->count ? ring->off[(ring->head + k + 1) % ring->max_events] : ring->write;
    *len = (end + ring->arena_bytes - start) % ring->arena_bytes;
    return start;
}

static void
s_forget(mt_ring_t *ring, uint64_t next_seq)
{
    ring->count = 0;
    ring->used = 0;
    ring->oldest = next_seq;
}

static void
s_evict_oldest(mt_ring_t *ring)
{
    size_t len;
    s_entry(ring, 0, &len);
    ring->used -= len;
    ring->head = (ring->head + 1) % ring->max_events;
    ring->count--;
    ring->oldest++;
}

void
mt_ring_push(mt_ring_t *ring, uint64_t seq, const void *body, size_t len)
{
    if (seq != ring->oldest + ring->count)
        s_forget(ring, seq);
    if (len == 0 || len >= ring->arena_bytes) {
        s_forget(ring, seq + 1);
        return;
    }
    while (ring->count == ring->max_events || ring->used + len > ring->arena_bytes)
        s_evict_oldest(ring);
    size_t first = ring->arena_bytes - ring->write;
    if (first > len)
        first = len;
    memcpy(ring->arena + ring->write, body, first);
    memcpy(ring->arena, (const unsigned char *)body + first, len - first);
    ring->off[(ring->head + ring->count) % ring->max_events] = (uint32_t)ring->write;
    ring->write = (ring->write + len) % ring->arena_bytes;
    ring->used += len;
    ring->count++;
}

size_t
mt_ring_count(const mt_ring_t *ring)
{
    return ring->count;
}

uint64_t
mt_ring_oldest(const mt_ring_t *ring)
{
    return ring->oldest;
}

uint64_t
mt_ring_newest(const mt_ring_t *ring)
{
    return ring->oldest + ring->count - 1;
}

size_t
mt_ring_bytes(const mt_ring_t *ring)
{
    return ring->used;
}

size_t
mt_ring_read(const mt_ring_t *ring, uint64_t from_seq, size_t max_events, size_t max_bytes,
             sfb_buf_t *out, uint64_t *first_seq)
{
    uint64_t start = from_seq < ring->oldest ? ring->oldest : from_seq;
    if (start > ring->oldest + ring->count)
        start = ring->oldest + ring->count;
    *first_seq = start;
    size_t n = 0, bytes = 0;
    for (size_t k = (size_t)(start - ring->oldest); k < ring->count && n < max_events; k++) {
        size_t len, at = s_entry(ring, k, &len);
        if (bytes + len > max_bytes)
            break;
        size_t first = ring->arena_bytes - at;
        if (first > len)
            first = len;
        sfb_buf_append(out, ring->arena + at, first);
        sfb_buf_append(out, ring->arena, len - first);
        bytes += len;
        n++;
    }
    return n;
}
