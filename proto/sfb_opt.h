/* sfb_opt.h - one option table per process drives --help, parsing (getopt_long_only, so
 * -addr and --addr both work like Go flags), range checks, an optional --config FILE (the
 * command line wins), the startup summary and --check-config. Not thread-safe; parse once
 * at startup. Every binary also gets --help, --version, --check-config, --config and
 * --log-level. */
#ifndef SFB_OPT_H
#define SFB_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SFB_OPT_STR,      /* any string */
    SFB_OPT_UINT,     /* unsigned decimal within [min, max] */
    SFB_OPT_BOOL,     /* -flag, -flag=true|false */
    SFB_OPT_DURATION, /* Go duration ("10s", "500ms", "1h30m"), kept in ms, within [min, max] */
    SFB_OPT_REFUSED,  /* accepted by upstream only: refused with `help` as the reason */
} sfb_opt_type_t;

typedef struct {
    const char *name;    /* long name without dashes */
    sfb_opt_type_t type; /* value kind */
    const char *def;     /* default as text; NULL means unset */
    uint64_t min;        /* UINT/DURATION lower bound (ms for durations) */
    uint64_t max;        /* UINT/DURATION upper bound; 0 means no bound */
    const char *help;    /* one line for --help; for REFUSED, what replaced the flag */
} sfb_opt_t;

typedef struct sfb_opts sfb_opts_t;

/** What the caller should do after sfb_opts_parse(). */
typedef enum {
    SFB_OPTS_RUN,   /* values are valid: run */
    SFB_OPTS_CHECK, /* --check-config: validate files, then exit 0 or 1 */
    SFB_OPTS_EXIT,  /* --help or --version printed: exit 0 */
    SFB_OPTS_ERROR, /* a one-line error was printed: exit 2 */
} sfb_opts_action_t;

/** Parse argv against `table` (n entries). `process` names the binary in messages, `about`
 *  is the first line of --help. Always returns an object in *out (destroy it). */
sfb_opts_action_t sfb_opts_parse(const sfb_opt_t *table, size_t n, const char *process,
                                 const char *about, int argc, char **argv, sfb_opts_t **out);
/** Destroy the values and set *opts_p to NULL. Accepts NULL and &NULL. */
void sfb_opts_destroy(sfb_opts_t **opts_p);

/** Return the string value of `name`, or NULL if unset. Borrowed from `opts`. */
const char *sfb_opts_str(const sfb_opts_t *opts, const char *name);
/** Return the value of UINT option `name` (0 if unset). */
uint64_t sfb_opts_uint(const sfb_opts_t *opts, const char *name);
/** Return the value of BOOL option `name`. */
bool sfb_opts_bool(const sfb_opts_t *opts, const char *name);
/** Return the value of DURATION option `name` in milliseconds. */
uint64_t sfb_opts_ms(const sfb_opts_t *opts, const char *name);
/** Return true if `name` was given on the command line or in the config file. */
bool sfb_opts_is_set(const sfb_opts_t *opts, const char *name);
/** Log the effective configuration at notice level, one line. */
void sfb_opts_log_summary(const sfb_opts_t *opts);

/** Parse a Go duration ("300ms", "1.5s", "1h2m") into milliseconds. Return false if invalid
 *  or negative. A bare "0" is accepted. */
bool sfb_duration_parse(const char *s, uint64_t *ms_out);

#endif
