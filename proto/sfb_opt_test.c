/* sfb_opt_test.c - option tables: Go-style flags, durations, ranges, refusals, config files. */
#include "sfb_opt.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
static const sfb_opt_t s_table[] = {
    {"addr",          SFB_OPT_STR,      ":443", 0, 0,     "listen address"},
    {"disable-tls",   SFB_OPT_BOOL,     "false", 0, 0,    "plain HTTP"},
    {"trusted-hops",  SFB_OPT_UINT,     "0",    0, 16,    "forwarding hops"},
    {"proxy-timeout", SFB_OPT_DURATION, "10s",  1, 0,     "hold"},
    {"acme-email",    SFB_OPT_REFUSED,  NULL,   0, 0,     "use --cert/--key"},
};
/* clang-format on */
#define N (sizeof s_table / sizeof s_table[0])

static sfb_opts_action_t
s_parse(sfb_opts_t **o, int argc, const char **argv)
{
    return sfb_opts_parse(s_table, N, "t", "test", argc, (char **)argv, o);
}

static void
test_defaults_and_go_style(void **state)
{
    (void)state;
    sfb_opts_t *o;
    const char *argv[] = {
        "t",    "-addr", "127.0.0.1:8080", "--disable-tls", "-trusted-hops=2", "-proxy-timeout",
        "1m30s"};
    assert_int_equal(s_parse(&o, 7, argv), SFB_OPTS_RUN);
    assert_string_equal(sfb_opts_str(o, "addr"), "127.0.0.1:8080");
    assert_true(sfb_opts_bool(o, "disable-tls"));
    assert_int_equal(sfb_opts_uint(o, "trusted-hops"), 2);
    assert_int_equal(sfb_opts_ms(o, "proxy-timeout"), 90000);
    assert_true(sfb_opts_is_set(o, "addr"));
    sfb_opts_destroy(&o);
    assert_null(o);

    const char *argv2[] = {"t", "-disable-tls=false"};
    assert_int_equal(s_parse(&o, 2, argv2), SFB_OPTS_RUN);
    assert_false(sfb_opts_bool(o, "disable-tls"));
    assert_int_equal(sfb_opts_ms(o, "proxy-timeout"), 10000);
    assert_false(sfb_opts_is_set(o, "addr"));
    sfb_opts_destroy(&o);
}

static void
test_errors(void **state)
{
    (void)state;
    sfb_opts_t *o;
    const char *bad[][3] = {{"t", "-nope", ""},           {"t", "-trusted-hops", "17"},
                            {"t", "-trusted-hops", "-1"}, {"t", "-proxy-timeout", "10"},
                            {"t", "-acme-email", "a@b"},  {"t", "-disable-tls=maybe", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = bad[i][2][0] ? 3 : 2;
        assert_int_equal(s_parse(&o, argc, bad[i]), SFB_OPTS_ERROR);
        sfb_opts_destroy(&o);
    }
    const char *check[] = {"t", "--check-config"};
    assert_int_equal(s_parse(&o, 2, check), SFB_OPTS_CHECK);
    sfb_opts_destroy(&o);
}

static void
test_config_file_and_precedence(void **state)
{
    (void)state;
    char path[] = "/tmp/sfb_opt_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\naddr 1.2.3.4:1\n-trusted-hops=3\ndisable-tls\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sfb_opts_t *o;
    const char *argv[] = {"t", "-config", path, "-addr", ":9"};
    assert_int_equal(s_parse(&o, 5, argv), SFB_OPTS_RUN);
    assert_string_equal(sfb_opts_str(o, "addr"), ":9");
    assert_int_equal(sfb_opts_uint(o, "trusted-hops"), 3);
    assert_true(sfb_opts_bool(o, "disable-tls"));
    sfb_opts_destroy(&o);
    unlink(path);
}

static void
test_durations(void **state)
{
    (void)state;
    uint64_t ms;
    assert_true(sfb_duration_parse("500ms", &ms));
    assert_int_equal(ms, 500);
    assert_true(sfb_duration_parse("1.5s", &ms));
    assert_int_equal(ms, 1500);
    assert_true(sfb_duration_parse("24h", &ms));
    assert_int_equal(ms, 86400000);
    assert_true(sfb_duration_parse("0", &ms));
    assert_int_equal(ms, 0);
    assert_false(sfb_duration_parse("", &ms));
    assert_false(sfb_duration_parse("5", &ms));
    assert_false(sfb_duration_parse("-1s", &ms));
    assert_false(sfb_duration_parse("1x", &ms));
}

int
sfb_opt_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_go_style),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_config_file_and_precedence),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests_name("sfb_opt", tests, NULL, NULL);
}
