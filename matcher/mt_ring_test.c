/* mt_ring_test.c - the event ring: oldest/newest, the event and byte caps, bodies wrapping
 * around the arena end, range reads with their limits, sequence restarts, bodies that cannot
 * fit, a disabled ring, and a randomised comparison against a plain reference list. */
#include "mt_ring.h"
#include "mt_selftest.h"
#include "sfb_test.h"

#include <stdlib.h>
#include <string.h>

/* Body of event `seq`: `len` bytes derived from seq, so any mix-up shows. */
static void
s_body(uint64_t seq, size_t len, unsigned char *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(seq * 31 + i * 7 + 1);
}

static size_t
s_len(uint64_t seq)
{
    return 5 + (size_t)(seq * 13 % 17); /* 5..21 bytes */
}

static void
s_push(mt_ring_t *ring, uint64_t seq)
{
    unsigned char b[64];
    s_body(seq, s_len(seq), b);
    mt_ring_push(ring, seq, b, s_len(seq));
}

/* Check that `buf` holds exactly the bodies of seqs first .. first + n - 1. */
static void
s_check_bodies(const sfb_buf_t *buf, uint64_t first, size_t n)
{
    size_t at = 0;
    for (uint64_t s = first; s < first + n; s++) {
        unsigned char want[64];
        s_body(s, s_len(s), want);
        assert_true(at + s_len(s) <= buf->len);
        assert_memory_equal(buf->data + at, want, s_len(s));
        at += s_len(s);
    }
    assert_int_equal(at, buf->len);
}

static void
test_empty(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(8, 1024);
    assert_int_equal(mt_ring_count(ring), 0);
    assert_int_equal(mt_ring_oldest(ring), 1);
    assert_int_equal(mt_ring_newest(ring), 0);
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t first = 99;
    assert_int_equal(mt_ring_read(ring, 5, 10, 1000, &b, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(b.len, 0);
    mt_ring_destroy(&ring);
    assert_null(ring);
    mt_ring_destroy(&ring);
    mt_ring_destroy(NULL);
}

static void
test_event_cap(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(4, 1024);
    for (uint64_t s = 1; s <= 10; s++)
        s_push(ring, s);
    assert_int_equal(mt_ring_count(ring), 4);
    assert_int_equal(mt_ring_oldest(ring), 7);
    assert_int_equal(mt_ring_newest(ring), 10);
    size_t bytes = s_len(7) + s_len(8) + s_len(9) + s_len(10);
    assert_int_equal(mt_ring_bytes(ring), bytes);
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t first;
    assert_int_equal(mt_ring_read(ring, 1, 100, 1 << 20, &b, &first), 4);
    assert_int_equal(first, 7); /* 1..6 were lost: first_seq says so */
    s_check_bodies(&b, 7, 4);
    sfb_buf_dispose(&b);
    mt_ring_destroy(&ring);
}

/* A 64-byte arena with 5..21-byte bodies: the byte cap binds and bodies wrap the end. */
static void
test_wrap_and_byte_cap(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(100, 64);
    sfb_buf_t b;
    sfb_buf_init(&b);
    for (uint64_t s = 1; s <= 500; s++) {
        s_push(ring, s);
        assert_true(mt_ring_bytes(ring) <= 64);
        assert_int_equal(mt_ring_newest(ring), s);
        /* everything that still fits is kept: one more old body would overflow */
        uint64_t old = mt_ring_oldest(ring);
        assert_true(old == 1 || mt_ring_bytes(ring) + s_len(old - 1) > 64);
        sfb_buf_reset(&b);
        uint64_t first;
        size_t n = mt_ring_read(ring, 0, 100, 1 << 20, &b, &first);
        assert_int_equal(n, mt_ring_count(ring));
        assert_int_equal(first, old);
        s_check_bodies(&b, first, n);
    }
    sfb_buf_dispose(&b);
    mt_ring_destroy(&ring);
}

static void
test_range_limits(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(16, 4096);
    for (uint64_t s = 1; s <= 10; s++)
        s_push(ring, s);
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t first;
    assert_int_equal(mt_ring_read(ring, 4, 3, 1 << 20, &b, &first), 3); /* event cap */
    assert_int_equal(first, 4);
    s_check_bodies(&b, 4, 3);
    sfb_buf_reset(&b);
    size_t cap = s_len(4) + s_len(5) + s_len(6) - 1; /* byte cap: 6 does not fit */
    assert_int_equal(mt_ring_read(ring, 4, 100, cap, &b, &first), 2);
    s_check_bodies(&b, 4, 2);
    sfb_buf_reset(&b);
    assert_int_equal(mt_ring_read(ring, 4, 100, s_len(4) - 1, &b, &first), 0);
    assert_int_equal(first, 4);
    assert_int_equal(mt_ring_read(ring, 10, 100, 1 << 20, &b, &first), 1);
    assert_int_equal(first, 10);
    sfb_buf_reset(&b);
    assert_int_equal(mt_ring_read(ring, 11, 100, 1 << 20, &b, &first), 0); /* up to date */
    assert_int_equal(first, 11);
    assert_int_equal(mt_ring_read(ring, 5000, 100, 1 << 20, &b, &first), 0); /* future */
    assert_int_equal(first, 11);
    assert_int_equal(mt_ring_read(ring, 3, 0, 1 << 20, &b, &first), 0); /* max 0: a probe */
    assert_int_equal(first, 3);
    assert_int_equal(b.len, 0);
    sfb_buf_dispose(&b);
    mt_ring_destroy(&ring);
}

static void
test_restart_and_oversize(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(16, 64);
    for (uint64_t s = 1; s <= 5; s++)
        s_push(ring, s);
    s_push(ring, 1); /* the sequence restarted: the old events are forgotten */
    assert_int_equal(mt_ring_count(ring), 1);
    assert_int_equal(mt_ring_oldest(ring), 1);
    s_push(ring, 2);
    unsigned char big[64] = {0};
    mt_ring_push(ring, 3, big, sizeof big); /* can never fit: everything up to 3 is lost */
    assert_int_equal(mt_ring_count(ring), 0);
    assert_int_equal(mt_ring_oldest(ring), 4);
    s_push(ring, 4);
    assert_int_equal(mt_ring_count(ring), 1);
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t first;
    assert_int_equal(mt_ring_read(ring, 2, 10, 1 << 20, &b, &first), 1);
    assert_int_equal(first, 4);
    s_check_bodies(&b, 4, 1);
    sfb_buf_dispose(&b);
    mt_ring_destroy(&ring);
}

static void
test_disabled(void **state)
{
    (void)state;
    mt_ring_t *ring = mt_ring_new(0, 0);
    for (uint64_t s = 1; s <= 3; s++)
        s_push(ring, s);
    assert_int_equal(mt_ring_count(ring), 0);
    assert_int_equal(mt_ring_oldest(ring), 4);
    sfb_buf_t b;
    sfb_buf_init(&b);
    uint64_t first;
    assert_int_equal(mt_ring_read(ring, 1, 10, 1000, &b, &first), 0);
    assert_int_equal(first, 4);
    sfb_buf_dispose(&b);
    mt_ring_destroy(&ring);
}

/* Random caps and random reads against "the last events that fit". */
static void
test_random_against_reference(void **state)
{
    (void)state;
    unsigned seed = 4242;
    sfb_buf_t b;
    sfb_buf_init(&b);
    for (int round = 0; round < 20; round++) {
        size_t max_events = 1 + (size_t)(rand_r(&seed) % 40);
        size_t arena = 22 + (size_t)(rand_r(&seed) % 400);
        mt_ring_t *ring = mt_ring_new(max_events, arena);
        for (uint64_t s = 1; s <= 1000; s++) {
            s_push(ring, s);
            uint64_t want_old = s + 1;
            size_t bytes = 0;
            while (want_old > 1 && s + 1 - want_old < max_events &&
                   bytes + s_len(want_old - 1) <= arena)
                bytes += s_len(--want_old);
            assert_int_equal(mt_ring_oldest(ring), want_old);
            assert_int_equal(mt_ring_bytes(ring), bytes);
            uint64_t back = (uint64_t)(rand_r(&seed) % 50), first;
            uint64_t from = s > back ? s - back : 0;
            size_t max = (size_t)(rand_r(&seed) % 10);
            sfb_buf_reset(&b);
            size_t n = mt_ring_read(ring, from, max, 1 << 20, &b, &first);
            uint64_t want_first = from < want_old ? want_old : from;
            assert_int_equal(first, want_first);
            size_t want_n = s + 1 - want_first < max ? (size_t)(s + 1 - want_first) : max;
            assert_int_equal(n, want_n);
            s_check_bodies(&b, first, n);
        }
        mt_ring_destroy(&ring);
    }
    sfb_buf_dispose(&b);
}

int
mt_ring_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_event_cap),
        cmocka_unit_test(test_wrap_and_byte_cap),
        cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_restart_and_oversize),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests_name("mt_ring", tests, NULL, NULL);
}
