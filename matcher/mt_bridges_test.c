/* mt_bridges_test.c - bridge list: spec §11.3 vectors and the §4.8 parsing rules. */
#include "mt_bridges.h"
#include "mt_selftest.h"
#include "sfb_test.h"
#include "sfb_types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mt_bridge_t *
s_find(const mt_bridges_t *b, const char *hex)
{
    unsigned char fp[SFB_FINGERPRINT_MAX];
    size_t n = sfb_fingerprint_decode(hex, strlen(hex), fp);
    assert_true(n == 20 || n == 32);
    return mt_bridges_lookup(b, fp, n);
}

static int
s_parse(const char *text, mt_bridges_t **out)
{
    char err[128];
    return mt_bridges_parse(text, strlen(text), out, err, sizeof err);
}

/* spec §11.3: default list */
static void
test_default_list(void **state)
{
    (void)state;
    mt_bridges_t *b = mt_bridges_new_default("wss://snowflake.torproject.org");
    const mt_bridge_t *d = s_find(b, SFB_DEFAULT_FINGERPRINT);
    assert_non_null(d);
    assert_string_equal(d->name, "default");
    assert_string_equal(d->relay_url, "wss://snowflake.torproject.org");
    assert_non_null(s_find(b, "2b280b23e1107bb62abfc40ddcc8824814f80a72"));
    assert_null(s_find(b, "8838024498816A039FCBBAB14E6F40A0843051FA"));
    assert_null(mt_bridges_lookup(b, (const unsigned char *)"abc", 3));
    mt_bridges_destroy(&b);
    assert_null(b);
    mt_bridges_destroy(&b);
}

/* spec §11.3: the 11-line imaginary list */
static void
test_imaginary_list(void **state)
{
    (void)state;
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text,
                                "{\"displayName\":\"default\", \"webSocketAddress\":\"wss://"
                                "snowflake.torproject.org\", \"fingerprint\":\"%s\"}\n",
                                SFB_DEFAULT_FINGERPRINT);
    for (int i = 1; i <= 10; i++)
        o += (size_t)snprintf(text + o, sizeof text - o,
                              "{\"displayName\":\"imaginary-%d\", \"webSocketAddress\":\"wss://"
                              "imaginary-%d-snowflake.torproject.org\", \"fingerprint\":"
                              "\"2B280B23E1107BB62ABFC40DDCC8824814F80B%02d\"}%s",
                              i, i, i - 1, i < 10 ? "\n" : "");
    mt_bridges_t *b = NULL;
    assert_int_equal(s_parse(text, &b), 0);
    assert_int_equal(mt_bridges_size(b), 11);
    const mt_bridge_t *x = s_find(b, "2B280B23E1107BB62ABFC40DDCC8824814F80B07");
    assert_non_null(x);
    assert_string_equal(x->name, "imaginary-8");
    assert_string_equal(x->relay_url, "wss://imaginary-8-snowflake.torproject.org");
    mt_bridges_destroy(&b);
}

static void
test_upstream_test_file_and_replace(void **state)
{
    (void)state;
    const char *text =
        "{\"displayName\":\"flakey\", \"webSocketAddress\":\"wss://snowflake.torproject.net\", "
        "\"fingerprint\":\"2B280B23E1107BB62ABFC40DDCC8824814F80A72\"}\n"
        "{\"displayName\":\"second\", \"webSocketAddress\":\"wss://02.snowflake.torproject.net\", "
        "\"fingerprint\":\"8838024498816A039FCBBAB14E6F40A0843051FA\"}\n";
    mt_bridges_t *b = mt_bridges_new_default("wss://x/");
    assert_int_equal(s_parse(text, &b), 0); /* replaces the whole list */
    assert_int_equal(mt_bridges_size(b), 2);
    assert_string_equal(s_find(b, SFB_DEFAULT_FINGERPRINT)->relay_url,
                        "wss://snowflake.torproject.net");
    assert_string_equal(s_find(b, "8838024498816a039fcbbab14e6f40a0843051fa")->name, "second");
    /* a list without the default drops it */
    assert_int_equal(s_parse("{\"fingerprint\":\"8838024498816A039FCBBAB14E6F40A0843051FA\"}", &b),
                     0);
    assert_null(s_find(b, SFB_DEFAULT_FINGERPRINT));
    mt_bridges_destroy(&b);
}

static void
test_rules(void **state)
{
    (void)state;
    const char *fp = "\"2B280B23E1107BB62ABFC40DDCC8824814F80A72\"";
    char line[512];
    mt_bridges_t *b = NULL;
    /* keys are case-insensitive, Go folding included; trailing data after the value ignored */
    snprintf(line, sizeof line,
             "{\"DISPLAYNAME\":\"a\",\"websocketaddress\":\"wss://a/\",\"FingerPrint\":%s} junk",
             fp);
    assert_int_equal(s_parse(line, &b), 0);
    assert_string_equal(s_find(b, SFB_DEFAULT_FINGERPRINT)->relay_url, "wss://a/");
    snprintf(line, sizeof line,
             "{\"web\xc5\xbfoc\xe2\x84\xaa"
             "etAddress\":\"wss://k/\",\"fingerprint\":%s}",
             fp);
    assert_int_equal(s_parse(line, &b), 0);
    assert_string_equal(s_find(b, SFB_DEFAULT_FINGERPRINT)->relay_url, "wss://k/");
    /* null values are the zero value; CRLF line ends; 32-byte fingerprints */
    assert_int_equal(
        s_parse("{\"displayName\":null,\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"}\r\n"
                "{\"fingerprint\":"
                "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}\n",
                &b),
        0);
    assert_int_equal(mt_bridges_size(b), 2);
    assert_string_equal(s_find(b, SFB_DEFAULT_FINGERPRINT)->relay_url, "");
    /* an empty file loads an empty list, as upstream */
    assert_int_equal(s_parse("", &b), 0);
    assert_int_equal(mt_bridges_size(b), 0);
    mt_bridges_destroy(&b);

    mt_bridges_t *keep = mt_bridges_new_default("wss://keep/");
    const char *bad[] = {
        "{\"fingerprint\":" SFB_DEFAULT_FINGERPRINT "}",
        "{\"displayName\":\"x\",\"extra\":1,\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"}",
        "{\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT
        "\"}\n\n{\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"}",
        "{\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"}\n\n",
        "{\"fingerprint\":\"123123\"}",
        "{\"fingerprint\":\"zz280B23E1107BB62ABFC40DDCC8824814F80A72\"}",
        "{\"displayName\":\"x\"}",
        "{\"displayName\":1,\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"}",
        "[\"" SFB_DEFAULT_FINGERPRINT "\"]",
        "null",
        "   ",
        "{\"fingerprint\":\"" SFB_DEFAULT_FINGERPRINT "\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        assert_int_equal(mt_bridges_parse(bad[i], strlen(bad[i]), &keep, err, sizeof err), -1);
        assert_true(strncmp(err, "bridge list line ", 17) == 0);
    }
    assert_string_equal(s_find(keep, SFB_DEFAULT_FINGERPRINT)->relay_url, "wss://keep/");
    mt_bridges_destroy(&keep);
}

static void
test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/mt_bridges_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"fingerprint\":\"8838024498816A039FCBBAB14E6F40A0843051FA\","
                       "\"webSocketAddress\":\"wss://f/\"}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    mt_bridges_t *b = NULL;
    char err[128];
    assert_int_equal(mt_bridges_load(path, &b, err, sizeof err), 0);
    assert_string_equal(s_find(b, "8838024498816A039FCBBAB14E6F40A0843051FA")->relay_url,
                        "wss://f/");
    unlink(path);
    assert_int_equal(mt_bridges_load(path, &b, err, sizeof err), -1);
    assert_non_null(b);
    mt_bridges_destroy(&b);
}

int
mt_bridges_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_list),
        cmocka_unit_test(test_imaginary_list),
        cmocka_unit_test(test_upstream_test_file_and_replace),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests_name("mt_bridges", tests, NULL, NULL);
}
