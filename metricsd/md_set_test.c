/* md_set_test.c - the unique-key set: membership, key 0, growth, clear, iteration. */
#include "md_selftest.h"
#include "md_set.h"
#include "sfb_test.h"

static void
s_count(uint64_t key, void *arg)
{
    (void)key;
    (*(size_t *)arg)++;
}

static void
test_add_has_clear(void **state)
{
    (void)state;
    md_set_t *set = md_set_new();
    assert_true(md_set_add(set, 42));
    assert_false(md_set_add(set, 42));
    assert_true(md_set_add(set, 0));
    assert_false(md_set_add(set, 0));
    assert_true(md_set_has(set, 0));
    assert_true(md_set_has(set, 42));
    assert_false(md_set_has(set, 43));
    assert_int_equal(md_set_size(set), 2);
    for (uint64_t i = 1; i <= 100000; i++) /* force several resizes, with colliding low bits */
        md_set_add(set, i << 20);
    assert_int_equal(md_set_size(set), 100002);
    for (uint64_t i = 1; i <= 100000; i++)
        assert_true(md_set_has(set, i << 20));
    size_t n = 0;
    md_set_foreach(set, s_count, &n);
    assert_int_equal(n, 100002);
    size_t big = md_set_bytes(set);
    md_set_clear(set);
    assert_int_equal(md_set_size(set), 0);
    assert_false(md_set_has(set, 42));
    assert_false(md_set_has(set, 0));
    md_set_clear(set); /* a quiet interval after a busy one gives the memory back */
    assert_true(md_set_bytes(set) < big);
    md_set_reserve(set, 10000);
    size_t reserved = md_set_bytes(set);
    for (uint64_t i = 1; i <= 10000; i++)
        md_set_add(set, i);
    assert_int_equal(md_set_bytes(set), reserved); /* no resize */
    md_set_destroy(&set);
    assert_null(set);
    md_set_destroy(&set);
}

int
md_set_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_has_clear),
    };
    return cmocka_run_group_tests_name("md_set", tests, NULL, NULL);
}
