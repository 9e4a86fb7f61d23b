/* md_stats.c - see md_stats.h. Relaxed ordering is enough: there is one writer, and each
 * reader only needs every cell to be a value it once held (no cross-cell consistency is
 * promised to concurrent readers; the interval report is built on the writer thread). */
#include "md_stats.h"

#include "sfb_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

struct md_stats {
    _Atomic uint64_t counters[MD_COUNTER_COUNT];      /* md_counter_t */
    _Atomic uint64_t maps[MD_MAP_COUNT][MD_CC_SLOTS]; /* md_map_t x country slot */
};

md_stats_t *
md_stats_new(void)
{
    md_stats_t *stats = sfb_xcalloc(1, sizeof *stats);
    md_stats_reset(stats);
    return stats;
}

void
md_stats_destroy(md_stats_t **stats_p)
{
    if (stats_p == NULL || *stats_p == NULL)
        return;
    free(*stats_p);
    *stats_p = NULL;
}

void
md_stats_add(md_stats_t *stats, md_counter_t c, uint64_t n)
{
    if ((unsigned)c < MD_COUNTER_COUNT)
        atomic_fetch_add_explicit(&stats->counters[c], n, memory_order_relaxed);
}

void
md_stats_cc_add(md_stats_t *stats, md_map_t m, size_t slot, uint64_t n)
{
    if ((unsigned)m < MD_MAP_COUNT && slot < MD_CC_SLOTS)
        atomic_fetch_add_explicit(&stats->maps[m][slot], n, memory_order_relaxed);
}

uint64_t
md_stats_get(const md_stats_t *stats, md_counter_t c)
{
    if ((unsigned)c >= MD_COUNTER_COUNT)
        return 0;
    return atomic_load_explicit(&stats->counters[c], memory_order_relaxed);
}

uint64_t
md_stats_cc_get(const md_stats_t *stats, md_map_t m, size_t slot)
{
    if ((unsigned)m >= MD_MAP_COUNT || slot >= MD_CC_SLOTS)
        return 0;
    return atomic_load_explicit(&stats->maps[m][slot], memory_order_relaxed);
}

void
md_stats_cc_copy(const md_stats_t *stats, md_map_t m, uint64_t out[MD_CC_SLOTS])
{
    for (size_t i = 0; i < MD_CC_SLOTS; i++)
        out[i] = md_stats_cc_get(stats, m, i);
}

void
md_stats_reset(md_stats_t *stats)
{
    for (size_t i = 0; i < MD_COUNTER_COUNT; i++)
        atomic_store_explicit(&stats->counters[i], 0, memory_order_relaxed);
    for (size_t m = 0; m < MD_MAP_COUNT; m++)
        for (size_t i = 0; i < MD_CC_SLOTS; i++)
            atomic_store_explicit(&stats->maps[m][i], 0, memory_order_relaxed);
}
