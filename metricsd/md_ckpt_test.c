/* md_ckpt_test.c - atomic checkpoint files. */
#include "md_ckpt.h"
#include "md_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_save_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/md_ckpt_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(md_ckpt_check_dir(dir), 0);
    sfb_buf_t b;
    sfb_buf_init(&b);
    assert_int_equal(md_ckpt_load(dir, 1024, &b), 0); /* none yet */
    assert_int_equal(md_ckpt_save(dir, "first", 5), 0);
    assert_int_equal(md_ckpt_save(dir, "second\0x", 8), 0);
    assert_int_equal(md_ckpt_load(dir, 1024, &b), 1);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "second\0x", 8);
    sfb_buf_reset(&b);
    assert_int_equal(md_ckpt_load(dir, 4, &b), -1); /* over the size limit */
    char path[256];
    snprintf(path, sizeof path, "%s/%s.tmp", dir, MD_CKPT_FILE);
    assert_int_not_equal(access(path, F_OK), 0); /* no temporary left behind */
    snprintf(path, sizeof path, "%s/%s", dir, MD_CKPT_FILE);
    assert_int_equal(md_ckpt_check_dir(path), -1); /* a file is not a directory */
    assert_int_equal(md_ckpt_save("/nonexistent/dir", "x", 1), -1);
    unlink(path);
    rmdir(dir);
    sfb_buf_dispose(&b);
}

int
md_ckpt_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load),
    };
    return cmocka_run_group_tests_name("md_ckpt", tests, NULL, NULL);
}
