/* load_hist.c - log-linear latency histogram (see load_hist.h). */
#include "load_hist.h"

#include <string.h>

void
load_hist_init(load_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

/* Bucket of `v`: values below LOAD_HIST_SUB map one to one; above, the top five significant
 * bits after the leading one pick the sub-bucket inside the value's power of two. */
static unsigned
s_index(uint64_t v)
{
    if (v < LOAD_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 5 */
    unsigned sub = (unsigned)(v >> (msb - 5)) & (LOAD_HIST_SUB - 1);
    unsigned idx = (msb - 4) * LOAD_HIST_SUB + sub;
    return idx < LOAD_HIST_EXP * LOAD_HIST_SUB ? idx : LOAD_HIST_EXP * LOAD_HIST_SUB - 1;
}

/* Largest value that lands in bucket `idx`. */
static uint64_t
s_upper(unsigned idx)
{
    if (idx < LOAD_HIST_SUB)
        return idx;
    unsigned msb = idx / LOAD_HIST_SUB + 4, sub = idx % LOAD_HIST_SUB;
    uint64_t lo = ((uint64_t)(LOAD_HIST_SUB + sub)) << (msb - 5);
    return lo + (1ull << (msb - 5)) - 1;
}

void
load_hist_add(load_hist_t *h, uint64_t ns)
{
    h->buckets[s_index(ns)]++;
    h->count++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t
load_hist_quantile(const load_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LOAD_HIST_EXP * LOAD_HIST_SUB; i++) {
        seen += h->buckets[i];
        if (seen > rank) {
            uint64_t up = s_upper(i);
            return up < h->max_ns ? up : h->max_ns;
        }
    }
    return h->max_ns;
}

void
load_hist_merge(load_hist_t *dst, const load_hist_t *src)
{
    for (unsigned i = 0; i < LOAD_HIST_EXP * LOAD_HIST_SUB; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
}
