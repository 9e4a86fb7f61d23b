/* md_ckpt.h - the checkpoint file in --state-dir: written atomically (temporary file, fsync,
 * rename, fsync of the directory) so a crash leaves either the old or the new checkpoint,
 * never a torn one. Called from metricsd's receiving thread and at startup. */
#ifndef MD_CKPT_H
#define MD_CKPT_H

#include "sfb_buf.h"

#include <stdbool.h>
#include <stddef.h>

/** File name of the checkpoint inside the state directory. */
#define MD_CKPT_FILE "metricsd.state"

/** Replace DIR/MD_CKPT_FILE with `len` bytes of `data`. Return 0, or -1 with errno set. */
int md_ckpt_save(const char *dir, const void *data, size_t len);
/** Append the content of DIR/MD_CKPT_FILE to `out`. Return 1 if read, 0 if there is no
 *  checkpoint, -1 on a read error (errno set) or a file over `max_bytes`. */
int md_ckpt_load(const char *dir, size_t max_bytes, sfb_buf_t *out);
/** Check that `dir` exists and is a writable directory. Return 0 or -1 with errno set. */
int md_ckpt_check_dir(const char *dir);

#endif
