/* sfb_buf_test.c - growable buffer. */
#include "sfb_buf.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <string.h>

static void
test_append_grows_and_terminates(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        sfb_buf_puts(&b, "abc");
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.data[3000], '\0');
    sfb_buf_reset(&b);
    sfb_buf_printf(&b, "%d-%s", 42, "x");
    sfb_buf_putc(&b, '!');
    assert_string_equal(b.data, "42-x!");
    sfb_buf_append(&b, "\0z", 2);
    assert_int_equal(b.len, 7);
    sfb_buf_dispose(&b);
    assert_null(b.data);
}

/* Appends copy each length class their own way (< 4, 4-7, 8-16, longer): every length from
 * 0 to 40, at every offset across a growth of the buffer, lands intact and NUL-terminated,
 * through sfb_buf_append and through sfb_buf_write (msgpack-c's callback). */
static void
test_append_each_length(void **state)
{
    (void)state;
    char src[41], want[300];
    for (int i = 0; i < 41; i++)
        src[i] = (char)(0x80 + i);
    for (int via_write = 0; via_write < 2; via_write++) {
        for (size_t start = 250; start < 260; start++) { /* the first allocation is 256 bytes */
            for (size_t len = 0; len <= 40; len++) {
                sfb_buf_t b;
                sfb_buf_init(&b);
                memset(want, 'x', start);
                for (size_t k = 0; k < start; k++)
                    sfb_buf_putc(&b, 'x');
                memcpy(want + start, src, len);
                want[start + len] = '\0';
                if (via_write)
                    assert_int_equal(sfb_buf_write(&b, src, len), 0);
                else
                    sfb_buf_append(&b, src, len);
                assert_int_equal(b.len, start + len);
                assert_memory_equal(b.data, want, start + len + 1);
                sfb_buf_dispose(&b);
            }
        }
    }
}

int
sfb_buf_test(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_append_grows_and_terminates),
                                       cmocka_unit_test(test_append_each_length)};
    return cmocka_run_group_tests_name("sfb_buf", tests, NULL, NULL);
}
