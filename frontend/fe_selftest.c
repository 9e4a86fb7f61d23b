/* fe_selftest.c - runs frontend's module tests: --list, --test NAME, or all. */
#include "fe_selftest.h"
#include "sfb_testrun.h"

static const sfb_testrun_t s_tests[] = {
    {"fe_clientip", fe_clientip_test}, {"fe_geoip", fe_geoip_test}, {"fe_limits", fe_limits_test},
    {"fe_origin", fe_origin_test},     {"fe_path", fe_path_test},   {"fe_sdp", fe_sdp_test},
};

int
main(int argc, char **argv)
{
    return sfb_testrun_main(s_tests, sizeof s_tests / sizeof s_tests[0], argc, argv);
}
