/* mt_selftest.h - the module tests of matcher/, one cmocka group each, run by mt_selftest.
 * Each returns the number of failed cases (0 on success). */
#ifndef MT_SELFTEST_H
#define MT_SELFTEST_H

int mt_bridges_test(void);
int mt_core_test(void);
int mt_pool_test(void);
int mt_pub_test(void);
int mt_relay_test(void);
int mt_ring_test(void);
int mt_tagkey_test(void);

#endif
