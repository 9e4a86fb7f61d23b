/* sfb_testrun.c - see sfb_testrun.h. */
#include "sfb_testrun.h"

#include <stdio.h>
#include <string.h>

int
sfb_testrun_main(const sfb_testrun_t *tests, size_t n, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    const char *only = argc == 3 && strcmp(argv[1], "--test") == 0 ? argv[2] : NULL;
    int failed = 0, ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, tests[i].name) != 0)
            continue;
        failed += tests[i].fn();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no such test: %s\n", only ? only : "(none)");
        return 2;
    }
    return failed ? 1 : 0;
}
