/* sfb_selftest.h - the module tests of proto/, one cmocka group each, run by sfb_selftest.
 * Each returns the number of failed cases (0 on success). */
#ifndef SFB_SELFTEST_H
#define SFB_SELFTEST_H

int sfb_amp_test(void);
int sfb_buf_test(void);
int sfb_curve_test(void);
int sfb_event_test(void);
int sfb_json_test(void);
int sfb_log_test(void);
int sfb_msg_test(void);
int sfb_opt_test(void);
int sfb_types_test(void);
int sfb_zmon_test(void);

#endif
