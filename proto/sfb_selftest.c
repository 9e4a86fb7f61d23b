/* sfb_selftest.c - runs proto's module tests: --list, --test NAME, or all. */
#include "sfb_selftest.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(void);
} s_tests[] = {
    {"sfb_amp", sfb_amp_test},     {"sfb_buf", sfb_buf_test},   {"sfb_curve", sfb_curve_test},
    {"sfb_event", sfb_event_test}, {"sfb_json", sfb_json_test}, {"sfb_log", sfb_log_test},
    {"sfb_msg", sfb_msg_test},     {"sfb_opt", sfb_opt_test},   {"sfb_types", sfb_types_test},
    {"sfb_zmon", sfb_zmon_test},
};

int
main(int argc, char **argv)
{
    size_t n = sizeof s_tests / sizeof s_tests[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", s_tests[i].name);
        return 0;
    }
    const char *only = argc == 3 && strcmp(argv[1], "--test") == 0 ? argv[2] : NULL;
    int failed = 0, ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, s_tests[i].name) != 0)
            continue;
        failed += s_tests[i].fn();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no such test: %s\n", only ? only : "(none)");
        return 2;
    }
    return failed ? 1 : 0;
}
