/* md_selftest.c - runs metricsd's module tests: --list, --test NAME, or all. */
#include "md_selftest.h"
#include "sfb_testrun.h"

static const sfb_testrun_t s_tests[] = {
    {"md_agg", md_agg_test},           {"md_catchup", md_catchup_test}, {"md_ckpt", md_ckpt_test},
    {"md_evjson", md_evjson_test},     {"md_prom", md_prom_test},       {"md_recv", md_recv_test},
    {"md_report", md_report_test},     {"md_server", md_server_test},   {"md_set", md_set_test},
    {"md_statslog", md_statslog_test},
};

int
main(int argc, char **argv)
{
    return sfb_testrun_main(s_tests, sizeof s_tests / sizeof s_tests[0], argc, argv);
}
