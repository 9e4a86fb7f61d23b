/* sfb_testrun.h - the main() of every process's selftest binary: runs its table of module
 * tests (cmocka groups) by name, as ctest registers them. Test-only; linked into the
 * *_selftest binaries, never into the services. */
#ifndef SFB_TESTRUN_H
#define SFB_TESTRUN_H

#include <stddef.h>

typedef struct {
    const char *name; /* module name, e.g. "mt_pool" */
    int (*fn)(void);  /* its cmocka group: returns the number of failed cases */
} sfb_testrun_t;

/** Handle `--list` (print the names), `--test NAME` (run one) or no arguments (run all).
 *  Return the process exit code: 0 all passed, 1 a test failed, 2 no such test. */
int sfb_testrun_main(const sfb_testrun_t *tests, size_t n, int argc, char **argv);

#endif
