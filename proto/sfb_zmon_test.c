/* sfb_zmon_test.c - the monitor counts a handshake each way on a plain ROUTER: a plain DEALER
 * is accepted, a DEALER that insists on CURVE is refused (mechanism mismatch), and the hook
 * runs once per refusal. */
#include "sfb_selftest.h"
#include "sfb_test.h"
#include "sfb_zmon.h"

#include <czmq.h>
#include <stdatomic.h>

static _Atomic int s_hook_calls;

static void
s_hook(void *arg)
{
    (void)arg;
    atomic_fetch_add(&s_hook_calls, 1);
}

/* Wait at most 3 s for `cond` over the monitor's counters. */
static bool
s_wait(sfb_zmon_t *m, bool refused)
{
    sfb_zmon_stats_t st;
    for (int i = 0; i < 300; i++) {
        sfb_zmon_stats(m, &st);
        if (refused ? sfb_zmon_refused(m) > 0 : st.accepted > 0)
            return true;
        zclock_sleep(10);
    }
    return false;
}

static void
test_counts_accepted_and_refused(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    sfb_zmon_t *m = sfb_zmon_new(s_hook, NULL);
    assert_non_null(m);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_int_equal(sfb_zmon_watch(m, router, "test"), 0);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *plain = zsock_new_dealer(NULL);
    assert_int_equal(zsock_connect(plain, "tcp://127.0.0.1:%d", port), 0);
    assert_true(s_wait(m, false));
    assert_int_equal(sfb_zmon_refused(m), 0);
    char pub[41], sec[41];
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    zsock_t *curve = zsock_new(ZMQ_DEALER);
    zsock_set_curve_serverkey(curve, pub);
    zsock_set_curve_publickey(curve, pub);
    zsock_set_curve_secretkey(curve, sec);
    assert_int_equal(zsock_connect(curve, "tcp://127.0.0.1:%d", port), 0);
    assert_true(s_wait(m, true));
    zsock_destroy(&curve);
    zsock_destroy(&plain);
    zsock_destroy(&router); /* before the monitor, as its contract says */
    uint64_t refused = sfb_zmon_refused(m);
    sfb_zmon_destroy(&m); /* joins the thread: every counted refusal has run the hook */
    sfb_zmon_destroy(&m);
    assert_true((uint64_t)atomic_load(&s_hook_calls) >= refused);
}

int
sfb_zmon_test(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_counts_accepted_and_refused)};
    return cmocka_run_group_tests_name("sfb_zmon", tests, NULL, NULL);
}
