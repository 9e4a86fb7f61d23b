/* sfb_selftest.c - runs proto's module tests: --list, --test NAME, or all. */
#include "sfb_selftest.h"
#include "sfb_testrun.h"

static const sfb_testrun_t s_tests[] = {
    {"sfb_amp", sfb_amp_test},     {"sfb_buf", sfb_buf_test},   {"sfb_curve", sfb_curve_test},
    {"sfb_event", sfb_event_test}, {"sfb_json", sfb_json_test}, {"sfb_log", sfb_log_test},
    {"sfb_msg", sfb_msg_test},     {"sfb_opt", sfb_opt_test},   {"sfb_types", sfb_types_test},
    {"sfb_zmon", sfb_zmon_test},
};

int
main(int argc, char **argv)
{
    return sfb_testrun_main(s_tests, sizeof s_tests / sizeof s_tests[0], argc, argv);
}
