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

int
sfb_buf_test(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_append_grows_and_terminates)};
    return cmocka_run_group_tests_name("sfb_buf", tests, NULL, NULL);
}
