/* md_report.h - the stats log block of spec §8.5 with the HEAD rules of §8.4 and §8.6: binning
 * (round up to a multiple of 8) and country lists (bin first, then count descending, code
 * ascending). Pure formatting; called on metricsd's receiving thread at each interval end and
 * by tests. Thread-safe as long as the stats are not reset meanwhile. */
#ifndef MD_REPORT_H
#define MD_REPORT_H

#include "md_cc.h"
#include "md_stats.h"
#include "sfb_buf.h"

#include <stdbool.h>
#include <stdint.h>

/** Return `n` rounded up to a multiple of 8 (0 stays 0; saturates near 2^64). */
uint64_t md_bin(uint64_t n);

/** Append the country list of `counts` (one entry per md_cc slot; zero entries are absent):
 *  "CC=N" joined by ",", binned first if `binned`, sorted by the printed count descending,
 *  then by code ascending (byte order). Appends nothing for an empty map. */
void md_report_countries(const uint64_t counts[MD_CC_SLOTS], bool binned, sfb_buf_t *out);

/** Append the first line "snowflake-stats-end YYYY-MM-DD HH:MM:SS (N s)\n" for an interval
 *  ending at `end_ms` (UTC, ms since the epoch) that lasted `len_ms`. */
void md_report_end_line(uint64_t end_ms, uint64_t len_ms, sfb_buf_t *out);

/** Append the whole §8.5 block for `stats`, in the upstream order, binned exactly where the
 *  spec says; every line ends with "\n", empty lists keep the space after the key. */
void md_report_block(const md_stats_t *stats, uint64_t end_ms, uint64_t len_ms, sfb_buf_t *out);

#endif
