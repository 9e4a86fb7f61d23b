/* fe_limits.c - see fe_limits.h. */
#include "fe_limits.h"

#include "sfb_log.h"

#include <stdio.h>
#include <sys/resource.h>

#define S_NR_OPEN_FALLBACK 1048576 /* Linux's default fs.nr_open */

/* The largest soft limit the kernel accepts when the hard limit is RLIM_INFINITY. */
static rlim_t
s_nr_open(void)
{
    unsigned long long v = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f != NULL) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v > 0 ? (rlim_t)v : S_NR_OPEN_FALLBACK;
}

uint64_t
fe_limits_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? s_nr_open() : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return rl.rlim_cur == RLIM_INFINITY ? (uint64_t)want : (uint64_t)rl.rlim_cur;
    struct rlimit raised = {.rlim_cur = want, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
        return (uint64_t)want;
    return (uint64_t)rl.rlim_cur;
}

size_t
fe_limits_max_connections(uint64_t requested, uint64_t nofile, bool *clamped)
{
    uint64_t room = nofile > FE_LIMITS_FD_RESERVE + 1 ? nofile - FE_LIMITS_FD_RESERVE : 1;
    *clamped = requested > room;
    uint64_t cap = requested == 0 || requested > room ? room : requested;
    return cap > SIZE_MAX ? SIZE_MAX : (size_t)cap;
}

size_t
fe_limits_apply(uint64_t requested)
{
    uint64_t nofile = fe_limits_raise_nofile();
    bool clamped;
    size_t cap = fe_limits_max_connections(requested, nofile, &clamped);
    if (clamped)
        sfb_log(SFB_WARN, "frontend", "--max-connections lowered to %zu: RLIMIT_NOFILE is %llu",
                cap, (unsigned long long)nofile);
    sfb_log(SFB_NOTICE, "frontend", "file descriptors: %llu, max connections %zu",
            (unsigned long long)nofile, cap);
    return cap;
}
