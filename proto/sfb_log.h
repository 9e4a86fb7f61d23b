/* sfb_log.h - one-line logging to stderr with a last-chance IP address scrubber.
 * Line format: "2026-11-29T20:15:03Z notice matcher mt.router: text". Every line goes through
 * sfb_log_scrub() unless unsafe logging is on (ARCHITECTURE §3). Thread-safe: each line is
 * formatted into a local buffer and written with one write(2). */
#ifndef SFB_LOG_H
#define SFB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SFB_ERROR = 0, /* the process or a subsystem is going down */
    SFB_WARN,      /* an operator should look; normal operation produces none */
    SFB_NOTICE,    /* start, stop, effective config, heartbeat */
    SFB_INFO,      /* per event; off by default */
    SFB_DEBUG,     /* for developers */
} sfb_level_t;

/** Set the process name printed on every line (borrowed: must outlive logging). */
void sfb_log_set_process(const char *name);
/** Print only lines at `level` or more severe. Default SFB_NOTICE. */
void sfb_log_set_level(sfb_level_t level);
/** Parse "error", "warn", "notice", "info" or "debug". Return false if unknown. */
bool sfb_log_level_parse(const char *s, sfb_level_t *out);
/** Turn off address scrubbing (--unsafe-logging). Logs a warning saying so. */
void sfb_log_set_unsafe(bool unsafe);
/** Return true if `level` would be printed (to skip costly formatting). */
bool sfb_log_enabled(sfb_level_t level);

/** Log one line. `module` names the subsystem ("mt.router"). */
void sfb_log(sfb_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Return `addr` when unsafe logging is on, else the constant "[scrubbed]". */
const char *sfb_safe_addr(const char *addr);

/** Replace, in place, every IPv4 address (with an optional :port) and every IPv6 address in
 *  the NUL-terminated `text` of buffer size `size` by "[scrubbed]". The result is truncated
 *  to fit `size`. Return the new length. */
size_t sfb_log_scrub(char *text, size_t size);

/** Copy at most `max_in` bytes of untrusted `in` into `out` (size `out_size`), escaping bytes
 *  outside printable ASCII as \xHH. Always NUL-terminates. Return `out`. */
char *sfb_log_escape(const char *in, size_t max_in, char *out, size_t out_size);

/** Rate limit for lines a peer can trigger: at most one line per `interval_ms`; the next
 *  printed line reports how many were suppressed. Zero-initialise with the interval set. */
typedef struct {
    uint64_t interval_ms; /* minimum spacing of printed lines */
    uint64_t last_ms;     /* monotonic time of the last printed line */
    uint64_t suppressed;  /* lines dropped since then */
} sfb_ratelim_t;

/** Log like sfb_log(), unless `rl` suppresses the line. Not thread-safe per limiter. */
void sfb_log_ratelim(sfb_ratelim_t *rl, sfb_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Monotonic clock in milliseconds. */
uint64_t sfb_now_ms(void);
/** Wall clock in milliseconds since the Unix epoch. */
uint64_t sfb_wall_ms(void);

/** Log file:line of a bug that we recover from (Tor's BUG()). Evaluates to `cond`. */
#define SFB_BUG(cond)                                                                              \
    ((cond) ? (sfb_log(SFB_WARN, "bug", "%s:%d: %s", __FILE__, __LINE__, #cond), true) : false)

#endif
