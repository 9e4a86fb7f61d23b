/* md_statslog.h - the stats log (--metrics-log): interval blocks appended with one write(2)
 * and an fsync, and read back whole for REPORT_GET. Without a path, blocks go to stdout (as
 * upstream does) and reads report "not found". Appends happen on metricsd's receiving
 * thread; md_statslog_read() may run on any thread at the same time: it never reads past the
 * end of the last complete block (published through an atomic size). */
#ifndef MD_STATSLOG_H
#define MD_STATSLOG_H

#include "sfb_buf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct md_statslog md_statslog_t;

/** Open `path` for appending (created 0644), or stdout when `path` is NULL. Return NULL with
 *  errno set if the file cannot be opened. */
md_statslog_t *md_statslog_open(const char *path);
/** Close and set *log_p to NULL. Accepts NULL and &NULL. */
void md_statslog_destroy(md_statslog_t **log_p);
/** Append `len` bytes with one write(2), then fsync. On failure, cut the file back to its
 *  previous size and return -1 (errno set); return 0 on success. */
int md_statslog_append(md_statslog_t *log, const char *data, size_t len);
/** Return true if the last block in the file starts with the line `first_line` (including
 *  its "\n"): that block was already written before a restart. */
bool md_statslog_last_block_is(const md_statslog_t *log, const char *first_line);
/** Replace `out` with the log's content. If it exceeds `max_bytes`, keep the newest whole
 *  blocks that fit and set *truncated. Return false if there is no log file or it cannot be
 *  read (REPORT_REPLY found=false). */
bool md_statslog_read(const md_statslog_t *log, size_t max_bytes, sfb_buf_t *out, bool *truncated);

#endif
