/* mt_selftest.c - runs the matcher's module tests: --list, --test NAME, or all. */
#include "mt_selftest.h"
#include "sfb_testrun.h"

static const sfb_testrun_t s_tests[] = {
    {"mt_bridges", mt_bridges_test}, {"mt_core", mt_core_test},   {"mt_pool", mt_pool_test},
    {"mt_pub", mt_pub_test},         {"mt_relay", mt_relay_test}, {"mt_ring", mt_ring_test},
    {"mt_tagkey", mt_tagkey_test},
};

int
main(int argc, char **argv)
{
    return sfb_testrun_main(s_tests, sizeof s_tests / sizeof s_tests[0], argc, argv);
}
