/* md_selftest.h - the module tests of metricsd/, one cmocka group each, run by md_selftest.
 * Each returns the number of failed cases (0 on success). */
#ifndef MD_SELFTEST_H
#define MD_SELFTEST_H

int md_agg_test(void);
int md_catchup_test(void);
int md_ckpt_test(void);
int md_evjson_test(void);
int md_prom_test(void);
int md_recv_test(void);
int md_report_test(void);
int md_server_test(void);
int md_set_test(void);
int md_statslog_test(void);

#endif
