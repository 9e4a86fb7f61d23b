/* mt_pool_test.c - the heap: upstream TestSnowflakeHeap, Go tie order, negative clamp,
 * removal, and a randomised comparison against a sorted reference. */
#include "mt_pool.h"
#include "mt_selftest.h"
#include "sfb_test.h"

#include <stdlib.h>

static void
s_init(mt_pool_node_t *n, int64_t key, void *owner)
{
    n->key = key;
    n->index = MT_POOL_NONE;
    n->owner = owner;
}

/* spec §11.2 TestSnowflakeHeap */
static void
test_upstream_heap(void **state)
{
    (void)state;
    mt_pool_t *pool = mt_pool_new();
    mt_pool_node_t n[4];
    int64_t keys[] = {4, 5, 3, 1};
    for (int i = 0; i < 4; i++) {
        s_init(&n[i], keys[i], NULL);
        mt_pool_push(pool, &n[i]);
    }
    assert_int_equal(mt_pool_size(pool), 4);
    assert_int_equal(n[3].index, 0);
    assert_int_equal(mt_pool_remove(pool, &n[3]), 0);
    assert_int_equal(n[3].index, MT_POOL_NONE);
    int64_t want[] = {3, 4, 5};
    for (int i = 0; i < 3; i++) {
        mt_pool_node_t *p = mt_pool_pop(pool);
        assert_non_null(p);
        assert_int_equal(p->key, want[i]);
        assert_int_equal(p->index, MT_POOL_NONE);
        assert_int_equal(mt_pool_size(pool), (size_t)(2 - i));
    }
    assert_null(mt_pool_pop(pool));
    mt_pool_destroy(&pool);
    assert_null(pool);
    mt_pool_destroy(&pool);
}

/* spec §4.2: with equal keys, pushing A,B,C,D pops A,D,C,B */
static void
test_go_tie_order(void **state)
{
    (void)state;
    mt_pool_t *pool = mt_pool_new();
    mt_pool_node_t n[4];
    const char *names = "ABCD";
    for (int i = 0; i < 4; i++) {
        s_init(&n[i], 7, (void *)(names + i));
        mt_pool_push(pool, &n[i]);
    }
    const char *want = "ADCB";
    for (int i = 0; i < 4; i++)
        assert_int_equal(*(const char *)mt_pool_pop(pool)->owner, want[i]);
    mt_pool_destroy(&pool);
}

static void
test_negative_clamped(void **state)
{
    (void)state;
    mt_pool_t *pool = mt_pool_new();
    mt_pool_node_t a, b;
    s_init(&a, 0, &a);
    s_init(&b, -100, &b);
    mt_pool_push(pool, &a);
    mt_pool_push(pool, &b);
    assert_int_equal(b.key, 0);
    /* equal keys now: b does not jump ahead of a */
    assert_ptr_equal(mt_pool_pop(pool), &a);
    assert_ptr_equal(mt_pool_pop(pool), &b);
    mt_pool_destroy(&pool);
}

static void
test_remove_foreign(void **state)
{
    (void)state;
    mt_pool_t *p1 = mt_pool_new(), *p2 = mt_pool_new();
    mt_pool_node_t a, b;
    s_init(&a, 1, NULL);
    s_init(&b, 2, NULL);
    assert_int_equal(mt_pool_remove(p1, &a), -1);
    mt_pool_push(p1, &a);
    mt_pool_push(p2, &b);
    assert_int_equal(mt_pool_remove(p1, &b), -1);
    assert_int_equal(mt_pool_remove(p1, &a), 0);
    assert_int_equal(mt_pool_remove(p1, &a), -1);
    assert_int_equal(mt_pool_size(p2), 1);
    mt_pool_destroy(&p1);
    mt_pool_destroy(&p2);
    assert_int_equal(b.index, MT_POOL_NONE);
}

static int
s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void
test_random_against_sorted(void **state)
{
    (void)state;
    enum { N = 2000 };
    static mt_pool_node_t nodes[N];
    static int64_t ref[N];
    unsigned seed = 12345;
    mt_pool_t *pool = mt_pool_new();
    for (int i = 0; i < N; i++) {
        s_init(&nodes[i], (int64_t)(rand_r(&seed) % 50), NULL);
        mt_pool_push(pool, &nodes[i]);
    }
    size_t nref = 0;
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            assert_int_equal(mt_pool_remove(pool, &nodes[i]), 0);
        else
            ref[nref++] = nodes[i].key;
    }
    qsort(ref, nref, sizeof ref[0], s_cmp);
    for (size_t i = 0; i < nref; i++) {
        mt_pool_node_t *p = mt_pool_pop(pool);
        assert_non_null(p);
        assert_int_equal(p->key, ref[i]);
    }
    assert_int_equal(mt_pool_size(pool), 0);
    mt_pool_destroy(&pool);
}

int
mt_pool_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_heap),         cmocka_unit_test(test_go_tie_order),
        cmocka_unit_test(test_negative_clamped),      cmocka_unit_test(test_remove_foreign),
        cmocka_unit_test(test_random_against_sorted),
    };
    return cmocka_run_group_tests_name("mt_pool", tests, NULL, NULL);
}
