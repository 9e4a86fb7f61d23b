/* fe_limits.h - the frontend's file descriptor budget: raise RLIMIT_NOFILE's soft limit to the
 * hard limit at startup, and size the connection cap so that accept() never meets EMFILE.
 * Called once from main before the loop runs; not thread-safe. */
#ifndef FE_LIMITS_H
#define FE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Descriptors kept for everything but HTTP connections: the listener, epoll, libzmq's
 *  sockets, pipes and I/O thread, the geoip files, stdio. */
#define FE_LIMITS_FD_RESERVE 128

/** Raise the soft RLIMIT_NOFILE to the hard limit (to fs.nr_open if the hard limit is
 *  unlimited). Return the soft limit in effect afterwards (unchanged if raising failed), or
 *  0 if it cannot be read. */
uint64_t fe_limits_raise_nofile(void);

/** Return the connection cap for `requested` (0: as many as the descriptors allow) under a
 *  soft limit of `nofile` descriptors: min(requested, nofile - FE_LIMITS_FD_RESERVE), at
 *  least 1. Set *clamped when a non-zero `requested` had to be lowered. */
size_t fe_limits_max_connections(uint64_t requested, uint64_t nofile, bool *clamped);

/** Raise RLIMIT_NOFILE, size the connection cap for `requested` under it (warning when it
 *  had to be lowered) and log both at notice level. Return the cap. */
size_t fe_limits_apply(uint64_t requested);

#endif
