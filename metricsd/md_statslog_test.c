/* md_statslog_test.c - appending blocks, reading them back whole or bounded, restarts. */
#include "md_selftest.h"
#include "md_statslog.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B1 "snowflake-stats-end 2025-05-29 00:00:00 (86400 s)\nsnowflake-ips CA=1\n"
#define B2 "snowflake-stats-end 2025-05-30 00:00:00 (86400 s)\nsnowflake-ips \n"

static void
test_append_read(void **state)
{
    (void)state;
    char path[] = "/tmp/md_statslog_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    md_statslog_t *log = md_statslog_open(path);
    assert_non_null(log);
    sfb_buf_t b;
    sfb_buf_init(&b);
    bool cut;
    assert_true(md_statslog_read(log, 1 << 20, &b, &cut)); /* empty but present */
    assert_int_equal(b.len, 0);
    assert_false(
        md_statslog_last_block_is(log, "snowflake-stats-end 2025-05-29 00:00:00 (86400 s)\n"));
    assert_int_equal(md_statslog_append(log, B1, strlen(B1)), 0);
    assert_int_equal(md_statslog_append(log, B2, strlen(B2)), 0);
    assert_true(
        md_statslog_last_block_is(log, "snowflake-stats-end 2025-05-30 00:00:00 (86400 s)\n"));
    assert_true(md_statslog_read(log, 1 << 20, &b, &cut));
    assert_string_equal(b.data, B1 B2);
    assert_false(cut);
    assert_true(md_statslog_read(log, strlen(B2) + 10, &b, &cut)); /* newest whole block */
    assert_string_equal(b.data, B2);
    assert_true(cut);
    md_statslog_destroy(&log);
    assert_null(log);

    log = md_statslog_open(path); /* a restart remembers the last block */
    assert_true(
        md_statslog_last_block_is(log, "snowflake-stats-end 2025-05-30 00:00:00 (86400 s)\n"));
    unlink(path);
    assert_false(md_statslog_read(log, 1 << 20, &b, &cut)); /* unreadable: not found */
    md_statslog_destroy(&log);

    log = md_statslog_open(NULL); /* stdout: nothing to serve */
    assert_false(md_statslog_read(log, 1 << 20, &b, &cut));
    assert_false(md_statslog_last_block_is(log, ""));
    md_statslog_destroy(&log);
    assert_null(md_statslog_open("/nonexistent/dir/file"));
    sfb_buf_dispose(&b);
}

int
md_statslog_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_read),
    };
    return cmocka_run_group_tests_name("md_statslog", tests, NULL, NULL);
}
