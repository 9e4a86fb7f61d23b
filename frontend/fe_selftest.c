/* fe_selftest.c - runs frontend's module tests: --list, --test NAME, or all. */
#include "fe_selftest.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(void);
} s_tests[] = {
    {"fe_clientip", fe_clientip_test}, {"fe_geoip", fe_geoip_test}, {"fe_limits", fe_limits_test},
    {"fe_origin", fe_origin_test},     {"fe_path", fe_path_test},   {"fe_sdp", fe_sdp_test},
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
