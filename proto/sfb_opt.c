/* sfb_opt.c - see sfb_opt.h. */
#include "sfb_opt.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built-in options every binary has, appended after the process table. */
enum { OPT_HELP, OPT_VERSION, OPT_CHECK, OPT_CONFIG, OPT_LOGLEVEL, OPT_BUILTIN_COUNT };
static const sfb_opt_t s_builtin[OPT_BUILTIN_COUNT] = {
    {"help", SFB_OPT_BOOL, NULL, 0, 0, "print this help and exit"},
    {"version", SFB_OPT_BOOL, NULL, 0, 0, "print the version and exit"},
    {"check-config", SFB_OPT_BOOL, NULL, 0, 0, "validate flags and files, then exit 0 or 1"},
    {"config", SFB_OPT_STR, NULL, 0, 0, "read 'name value' lines from FILE (flags win)"},
    {"log-level", SFB_OPT_STR, "notice", 0, 0, "error, warn, notice, info or debug"},
};

typedef struct {
    const sfb_opt_t *def; /* borrowed table entry */
    char *text;           /* current value as text, owned; NULL if unset */
    uint64_t num;         /* parsed UINT/DURATION value, or BOOL as 0/1 */
    bool set;             /* given by the command line or the config file */
} s_value_t;

struct sfb_opts {
    const char *process; /* borrowed */
    size_t n;            /* entries in values */
    s_value_t *values;   /* table entries, then the built-ins */
};

bool
sfb_duration_parse(const char *s, uint64_t *ms_out)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
                 {"s", 1e3},   {"m", 6e4},   {"h", 3.6e6}};
    if (s == NULL || *s == '\0')
        return false;
    if (strcmp(s, "0") == 0) {
        *ms_out = 0;
        return true;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return false;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno != 0 || v < 0)
            return false;
        p = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, l) == 0 && l > best_len) {
                best = i;
                best_len = l;
            }
        }
        if (best_len == 0)
            return false;
        total += v * units[best].ms;
        p += best_len;
    }
    if (total > 1e15)
        return false;
    *ms_out = (uint64_t)llround(total);
    return true;
}

static bool
s_parse_bool(const char *s, uint64_t *out)
{
    if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "t") == 0 ||
        strcmp(s, "TRUE") == 0 || strcmp(s, "True") == 0 || strcmp(s, "T") == 0) {
        *out = 1;
        return true;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "f") == 0 ||
        strcmp(s, "FALSE") == 0 || strcmp(s, "False") == 0 || strcmp(s, "F") == 0) {
        *out = 0;
        return true;
    }
    return false;
}

/* Store `text` as the value of `v`; print a one-line error and return false if invalid. */
static bool
s_assign(sfb_opts_t *opts, s_value_t *v, const char *text)
{
    const sfb_opt_t *d = v->def;
    uint64_t num = 0;
    char *end;
    switch (d->type) {
    case SFB_OPT_STR:
        break;
    case SFB_OPT_BOOL:
        if (!s_parse_bool(text, &num)) {
            fprintf(stderr, "%s: invalid boolean value \"%s\" for -%s\n", opts->process, text,
                    d->name);
            return false;
        }
        break;
    case SFB_OPT_UINT:
        errno = 0;
        num = text && *text ? strtoull(text, &end, 10) : 0;
        if (text == NULL || *text == '\0' || *end != '\0' || errno != 0 || text[0] == '-' ||
            num < d->min || (d->max != 0 && num > d->max)) {
            fprintf(stderr, "%s: invalid value \"%s\" for -%s (want %llu..%llu)\n", opts->process,
                    text ? text : "", d->name, (unsigned long long)d->min,
                    (unsigned long long)d->max);
            return false;
        }
        break;
    case SFB_OPT_DURATION:
        if (!sfb_duration_parse(text, &num) || num < d->min || (d->max != 0 && num > d->max)) {
            fprintf(stderr, "%s: invalid duration \"%s\" for -%s\n", opts->process,
                    text ? text : "", d->name);
            return false;
        }
        break;
    case SFB_OPT_REFUSED:
        fprintf(stderr, "%s: -%s is not supported here: %s\n", opts->process, d->name, d->help);
        return false;
    }
    free(v->text);
    v->text = text ? sfb_xstrdup(text) : NULL;
    v->num = num;
    return true;
}

static s_value_t *
s_find(const sfb_opts_t *opts, const char *name)
{
    for (size_t i = 0; i < opts->n; i++)
        if (strcmp(opts->values[i].def->name, name) == 0)
            return &opts->values[i];
    return NULL;
}

static void
s_usage(const sfb_opts_t *opts, const char *about)
{
    printf("%s\nusage: %s [flags]\n\n", about, opts->process);
    for (size_t i = 0; i < opts->n; i++) {
        const sfb_opt_t *d = opts->values[i].def;
        if (d->type == SFB_OPT_REFUSED)
            continue;
        const char *arg = d->type == SFB_OPT_BOOL       ? ""
                          : d->type == SFB_OPT_DURATION ? " DURATION"
                          : d->type == SFB_OPT_UINT     ? " N"
                                                        : " VALUE";
        printf("  -%s%s\n      %s", d->name, arg, d->help);
        if (d->def && !(d->type == SFB_OPT_BOOL && strcmp(d->def, "false") == 0))
            printf(" (default \"%s\")", d->def);
        printf("\n");
    }
}

/* Apply 'name value' / 'name=value' lines of `path` to options not set on the command line. */
static bool
s_load_config(sfb_opts_t *opts, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open config file %s\n", opts->process, path);
        return false;
    }
    char line[4096];
    bool ok = true;
    unsigned lineno = 0;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        while (*p == '-')
            p++;
        char *val = p + strcspn(p, " \t=");
        if (*val != '\0')
            *val++ = '\0';
        val += strspn(val, " \t=");
        s_value_t *v = s_find(opts, p);
        if (v == NULL || v - opts->values >= (ptrdiff_t)(opts->n - OPT_BUILTIN_COUNT)) {
            fprintf(stderr, "%s: %s:%u: unknown option \"%s\"\n", opts->process, path, lineno, p);
            ok = false;
        } else if (!v->set) {
            ok = s_assign(opts, v, v->def->type == SFB_OPT_BOOL && *val == '\0' ? NULL : val);
            v->set = ok;
        }
    }
    fclose(f);
    return ok;
}

static sfb_opts_t *
s_new(const sfb_opt_t *table, size_t n, const char *process)
{
    sfb_opts_t *opts = sfb_xcalloc(1, sizeof *opts);
    opts->process = process;
    opts->n = n + OPT_BUILTIN_COUNT;
    opts->values = sfb_xcalloc(opts->n, sizeof *opts->values);
    for (size_t i = 0; i < opts->n; i++) {
        s_value_t *v = &opts->values[i];
        v->def = i < n ? &table[i] : &s_builtin[i - n];
        if (v->def->def && v->def->type != SFB_OPT_REFUSED && !s_assign(opts, v, v->def->def))
            abort(); /* a bad default is our bug, caught by every test run */
    }
    return opts;
}

static sfb_opts_action_t
s_finish(sfb_opts_t *opts, const char *about)
{
    if (sfb_opts_bool(opts, "help")) {
        s_usage(opts, about);
        return SFB_OPTS_EXIT;
    }
    if (sfb_opts_bool(opts, "version")) {
        printf("%s %s\n", opts->process, SFB_VERSION);
        return SFB_OPTS_EXIT;
    }
    const char *cfg = sfb_opts_str(opts, "config");
    if (cfg && !s_load_config(opts, cfg))
        return SFB_OPTS_ERROR;
    sfb_level_t level;
    if (!sfb_log_level_parse(sfb_opts_str(opts, "log-level"), &level)) {
        fprintf(stderr, "%s: invalid -log-level \"%s\"\n", opts->process,
                sfb_opts_str(opts, "log-level"));
        return SFB_OPTS_ERROR;
    }
    sfb_log_set_level(level);
    return sfb_opts_bool(opts, "check-config") ? SFB_OPTS_CHECK : SFB_OPTS_RUN;
}

sfb_opts_action_t
sfb_opts_parse(const sfb_opt_t *table, size_t n, const char *process, const char *about, int argc,
               char **argv, sfb_opts_t **out)
{
    sfb_opts_t *opts = s_new(table, n, process);
    *out = opts;
    struct option *longopts = sfb_xcalloc(opts->n + 1, sizeof *longopts);
    for (size_t i = 0; i < opts->n; i++) {
        const sfb_opt_t *d = opts->values[i].def;
        longopts[i].name = d->name;
        longopts[i].has_arg = d->type == SFB_OPT_BOOL ? optional_argument : required_argument;
        longopts[i].val = 0x100 + (int)i;
    }
    sfb_opts_action_t action = SFB_OPTS_RUN;
    opterr = 0;
    optind = 1;
    for (;;) {
        int idx = -1;
        int c = getopt_long_only(argc, argv, ":h", longopts, &idx);
        if (c == -1)
            break;
        if (c == 'h') {
            c = 0x100 + (int)(opts->n - OPT_BUILTIN_COUNT) + OPT_HELP;
        } else if (c < 0x100) {
            const char *bad = argv[optind - 1];
            fprintf(stderr, "%s: %s: %s (see -help)\n", process,
                    c == ':' ? "flag needs an argument" : "flag provided but not defined", bad);
            action = SFB_OPTS_ERROR;
            break;
        }
        s_value_t *v = &opts->values[c - 0x100];
        if (!s_assign(opts, v, optarg)) {
            action = SFB_OPTS_ERROR;
            break;
        }
        v->set = true;
    }
    if (action == SFB_OPTS_RUN && optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see -help)\n", process, argv[optind]);
        action = SFB_OPTS_ERROR;
    }
    free(longopts);
    return action == SFB_OPTS_RUN ? s_finish(opts, about) : action;
}

void
sfb_opts_destroy(sfb_opts_t **opts_p)
{
    if (opts_p == NULL || *opts_p == NULL)
        return;
    sfb_opts_t *opts = *opts_p;
    for (size_t i = 0; i < opts->n; i++)
        free(opts->values[i].text);
    free(opts->values);
    free(opts);
    *opts_p = NULL;
}

const char *
sfb_opts_str(const sfb_opts_t *opts, const char *name)
{
    s_value_t *v = s_find(opts, name);
    return v ? v->text : NULL;
}

uint64_t
sfb_opts_uint(const sfb_opts_t *opts, const char *name)
{
    s_value_t *v = s_find(opts, name);
    return v ? v->num : 0;
}

bool
sfb_opts_bool(const sfb_opts_t *opts, const char *name)
{
    s_value_t *v = s_find(opts, name);
    return v && v->num != 0;
}

uint64_t
sfb_opts_ms(const sfb_opts_t *opts, const char *name)
{
    return sfb_opts_uint(opts, name);
}

bool
sfb_opts_is_set(const sfb_opts_t *opts, const char *name)
{
    s_value_t *v = s_find(opts, name);
    return v && v->set;
}

void
sfb_opts_log_summary(const sfb_opts_t *opts)
{
    char buf[1536];
    size_t o = 0;
    for (size_t i = 0; i < opts->n - OPT_BUILTIN_COUNT && o < sizeof buf; i++) {
        const s_value_t *v = &opts->values[i];
        if (v->text == NULL || v->def->type == SFB_OPT_REFUSED)
            continue;
        int w = snprintf(buf + o, sizeof buf - o, "%s%s=%s", o ? " " : "", v->def->name,
                         v->def->type == SFB_OPT_BOOL ? (v->num ? "true" : "false") : v->text);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    buf[sizeof buf - 1] = '\0';
    sfb_log(SFB_NOTICE, "opts", "effective config: %s", buf);
}
