/* md_selftest.c - runs metricsd's module tests: --list, --test NAME, or all. */
#include "md_selftest.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(void);
} s_tests[] = {
    {"md_agg", md_agg_test},           {"md_catchup", md_catchup_test}, {"md_ckpt", md_ckpt_test},
    {"md_evjson", md_evjson_test},     {"md_prom", md_prom_test},       {"md_recv", md_recv_test},
    {"md_report", md_report_test},     {"md_server", md_server_test},   {"md_set", md_set_test},
    {"md_statslog", md_statslog_test},
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
