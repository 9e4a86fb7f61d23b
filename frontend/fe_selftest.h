/* fe_selftest.h - the module tests of frontend/, one cmocka group each, run by fe_selftest.
 * Each returns the number of failed cases (0 on success). */
#ifndef FE_SELFTEST_H
#define FE_SELFTEST_H

int fe_clientip_test(void);
int fe_geoip_test(void);
int fe_limits_test(void);
int fe_origin_test(void);
int fe_path_test(void);
int fe_sdp_test(void);

#endif
