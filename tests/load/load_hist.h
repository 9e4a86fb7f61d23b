/* load_hist.h - a latency histogram for the load tools: log-linear buckets (32 per power of
 * two, so any recorded value is within ~3 % of its bucket's lower bound), fixed size, no
 * allocation after _init. Owned by one thread; not thread-safe. */
#ifndef LOAD_HIST_H
#define LOAD_HIST_H

#include <stdint.h>

#define LOAD_HIST_SUB 32 /* buckets per power of two */
#define LOAD_HIST_EXP 40 /* powers of two covered: up to ~2^40 ns (18 minutes) */

typedef struct {
    uint64_t count;                                  /* values recorded */
    uint64_t max_ns;                                 /* largest value */
    uint64_t buckets[LOAD_HIST_EXP * LOAD_HIST_SUB]; /* counts per bucket */
} load_hist_t;

/** Empty the histogram. */
void load_hist_init(load_hist_t *h);
/** Record one latency of `ns` nanoseconds. */
void load_hist_add(load_hist_t *h, uint64_t ns);
/** Return the value at quantile `q` (0..1) in nanoseconds (the bucket's upper bound, so a
 *  percentile is never reported lower than measured), or 0 if nothing was recorded. */
uint64_t load_hist_quantile(const load_hist_t *h, double q);
/** Add every count of `src` into `dst`. */
void load_hist_merge(load_hist_t *dst, const load_hist_t *src);

#endif
