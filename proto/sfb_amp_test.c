/* sfb_amp_test.c - AMP rendezvous encodings (spec §5): every path example of §5.1, the exact
 * armored bodies of §5.2, every decoder vector of §5.3, round trips around the element size
 * limits, and hostile HTML that must fail cleanly. */
#include "sfb_amp.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A literal that may hold NULs, as (pointer, length) arguments. */
#define S_LIT(lit) (lit), sizeof(lit) - 1

/* The spec's START text, written out independently of sfb_amp.c. */
static const char s_start[] =
    "<!doctype html>\n<html amp>\n<head>\n<meta charset=\"utf-8\">\n"
    "<script async src=\"https://cdn.ampproject.org/v0.js\"></script>\n"
    "<link rel=\"canonical\" href=\"#\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;"
    "-moz-animation:-amp-start 8s steps(1,end) 0s 1 normal both;-ms-animation:-amp-start 8s "
    "steps(1,end) 0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}"
    "@-webkit-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}"
    "@-moz-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}"
    "@-ms-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}"
    "@-o-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}"
    "@keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}</style>"
    "<noscript><style amp-boilerplate>body{-webkit-animation:none;-moz-animation:none;"
    "-ms-animation:none;animation:none}</style></noscript>\n"
    "</head>\n<body>\n";

static void
s_path_ok(const char *path, size_t len, const void *want, size_t want_len)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_rc_t rc = sfb_amp_path_decode(path, len, &b);
    if (rc != SFB_OK)
        fail_msg("[%s] rc %s", path, sfb_rc_str(rc));
    if (b.len != want_len || (want_len > 0 && memcmp(b.data, want, want_len) != 0))
        fail_msg("[%s] decoded %zu bytes, want %zu", path, b.len, want_len);
    sfb_buf_dispose(&b);
}

static void
s_path_err(const char *path, size_t len, sfb_rc_t want)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_buf_puts(&b, "keep");
    sfb_rc_t rc = sfb_amp_path_decode(path, len, &b);
    if (rc != want)
        fail_msg("[%s] rc %s, want %s", path, sfb_rc_str(rc), sfb_rc_str(want));
    assert_int_equal(b.len, 4); /* a failed decode leaves `out` as it was */
    assert_string_equal(b.data, "keep");
    sfb_buf_dispose(&b);
}

#define PATH_OK(path, want) s_path_ok(S_LIT(path), S_LIT(want))
#define PATH_ERR(path, rc) s_path_err(S_LIT(path), (rc))

static void
test_path_decode(void **state)
{
    (void)state;
    /* §5.1 examples */
    PATH_OK("0/YWJj", "abc");
    PATH_OK("0///YWJj", "abc");
    PATH_OK("0foobar/YWJj", "abc");
    PATH_OK("0/foobar/YWJj", "abc");
    PATH_OK("0/", "");
    PATH_OK("0foobar/", "");
    PATH_ERR("", SFB_BAD_VALUE);        /* missing format indicator */
    PATH_ERR("0", SFB_BAD_VALUE);       /* missing data */
    PATH_ERR("0foobar", SFB_BAD_VALUE); /* missing data */
    PATH_ERR("/0/YWJj", SFB_BAD_VALUE); /* unknown format indicator '/' */
    PATH_ERR("1/YWJj", SFB_BAD_VALUE);
    PATH_OK("0lgWHcwhXFjUm/VGhpcyBpcyBwYXRoLWVuY29kZWQgZGF0YS4", "This is path-encoded data.");
    PATH_OK("0AAAAAAAAAAAA/MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9",
            "1.0\n{\"offer\": \"fake\", \"nat\": \"unknown\"}");
    /* Go's RawURLEncoding: URL alphabet, '=' invalid, \r \n skipped, trailing bits tolerated */
    PATH_OK("0/-_-_", "\xfb\xff\xbf");
    PATH_ERR("0/+A", SFB_BAD_SYNTAX);
    PATH_OK("0/+/", ""); /* the data after the last slash is empty */
    PATH_ERR("0/a+b", SFB_BAD_SYNTAX);
    PATH_ERR("0/YWJj=", SFB_BAD_SYNTAX);
    PATH_ERR("0/YQ==", SFB_BAD_SYNTAX);
    PATH_ERR("0/YWJjZ", SFB_BAD_SYNTAX); /* one leftover character carries no byte */
    PATH_ERR("0/YW Jj", SFB_BAD_SYNTAX);
    PATH_OK("0/YW\r\nJj\n", "abc");
    PATH_OK("0/YQ", "a");
    PATH_OK("0/YR", "a"); /* non-zero trailing bits */
    PATH_OK("0/YWI", "ab");
    PATH_ERR("0/YW\0Jj", SFB_BAD_SYNTAX);
    PATH_OK("0\0/YWJj", "abc");
}

static uint64_t
s_rand(uint64_t *s)
{
    /* xorshift64*: deterministic, so failures reproduce */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void
s_fill(unsigned char *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(s_rand(seed) >> 56);
}

static void
test_path_encode(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    static const unsigned char zero[9];
    const char *req = "1.0\n{\"offer\": \"fake\", \"nat\": \"unknown\"}";
    sfb_amp_path_encode(req, strlen(req), zero, sizeof zero, &b);
    assert_string_equal(b.data,
                        "0AAAAAAAAAAAA/MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9");
    sfb_buf_reset(&b);
    sfb_amp_path_encode("\xfb\xff\xbf", 3, (const unsigned char *)"\xff", 1, &b);
    assert_string_equal(b.data, "0_w/-_-_");
    uint64_t seed = 0x5eed;
    for (size_t len = 0; len < 64; len++) {
        unsigned char data[64], nonce[9];
        s_fill(data, len, &seed);
        s_fill(nonce, sizeof nonce, &seed);
        sfb_buf_reset(&b);
        sfb_amp_path_encode(data, len, nonce, sizeof nonce, &b);
        assert_null(memchr(b.data, '=', b.len));
        s_path_ok(b.data, b.len, data, len);
    }
    sfb_buf_dispose(&b);
}

/* Check that `body` is START + `elements` + END. */
static void
s_expect_armor(const char *data, const char *elements)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_amp_armor_encode(data, strlen(data), &b);
    size_t start_len = sizeof s_start - 1, el_len = strlen(elements);
    const char *end = "</body>\n</html>";
    assert_int_equal(b.len, start_len + el_len + strlen(end));
    assert_memory_equal(b.data, s_start, start_len);
    if (memcmp(b.data + start_len, elements, el_len) != 0)
        fail_msg("elements [%.*s], want [%s]", (int)el_len, b.data + start_len, elements);
    assert_string_equal(b.data + start_len + el_len, end);
    sfb_buf_dispose(&b);
}

static void
test_armor_encode_exact(void **state)
{
    (void)state;
    s_expect_armor("{\"error\":\"no snowflake proxies currently available\"}",
                   "<pre>\n0eyJlcnJvciI6Im5vIHNub3dmbGFrZSB\nwcm94aWVzIGN1cnJlbnRseSBhdmFpbGF\n"
                   "ibGUifQ==\n</pre>\n");
    s_expect_armor("{\"error\":\"cannot decode URL path\"}",
                   "<pre>\n0eyJlcnJvciI6ImNhbm5vdCBkZWNvZGU\ngVVJMIHBhdGgifQ==\n</pre>\n");
    s_expect_armor("This was encoded with AMP armor.",
                   "<pre>\n0VGhpcyB3YXMgZW5jb2RlZCB3aXRoIEF\nNUCBhcm1vci4=\n</pre>\n");
    s_expect_armor("", "<pre>\n0\n</pre>\n");
    s_expect_armor("a", "<pre>\n0YQ==\n</pre>\n");
}

/* Check the element layout of a large armored body: 32-byte lines, at most 992 lines per
 * <pre>, only the very last line short. */
static void
s_check_layout(const sfb_buf_t *b, size_t stream_len)
{
    const char *p = b->data + sizeof s_start - 1;
    size_t total = 0, elements = 0;
    while (strncmp(p, "<pre>\n", 6) == 0) {
        p += 6;
        elements++;
        size_t lines = 0;
        while (strncmp(p, "</pre>\n", 7) != 0) {
            const char *nl = strchr(p, '\n');
            assert_non_null(nl);
            size_t line = (size_t)(nl - p);
            total += line;
            lines++;
            assert_true(line == 32 || total == stream_len);
            p = nl + 1;
        }
        assert_true(lines <= 992);
        assert_true(lines == 992 || total == stream_len);
        p += 7;
    }
    assert_int_equal(total, stream_len);
    assert_int_equal(elements, (stream_len + 32 * 992 - 1) / (32 * 992));
    assert_string_equal(p, "</body>\n</html>");
}

static void
s_round_trip(size_t len, uint64_t *seed)
{
    unsigned char *data = malloc(len ? len : 1);
    assert_non_null(data);
    s_fill(data, len, seed);
    sfb_buf_t armored, back;
    sfb_buf_init(&armored);
    sfb_buf_init(&back);
    sfb_amp_armor_encode(data, len, &armored);
    s_check_layout(&armored, 1 + (len + 2) / 3 * 4);
    sfb_rc_t rc = sfb_amp_armor_decode(armored.data, armored.len, &back);
    if (rc != SFB_OK)
        fail_msg("length %zu: rc %s", len, sfb_rc_str(rc));
    assert_int_equal(back.len, len);
    if (len > 0)
        assert_memory_equal(back.data, data, len);
    sfb_buf_dispose(&armored);
    sfb_buf_dispose(&back);
    free(data);
}

static void
test_armor_round_trip(void **state)
{
    (void)state;
    uint64_t seed = 0xA4F0C0DEull;
    for (size_t len = 0; len < 64; len++)
        s_round_trip(len, &seed);
    for (int d = -10; d < 10; d++) {
        s_round_trip((size_t)(32768 + d), &seed);
        s_round_trip((size_t)(65536 + d), &seed);
    }
}

static void
s_armor_ok(const char *html, size_t len, const char *want)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_rc_t rc = sfb_amp_armor_decode(html, len, &b);
    if (rc != SFB_OK)
        fail_msg("[%s] rc %s", html, sfb_rc_str(rc));
    if (b.len != strlen(want) || (b.len > 0 && memcmp(b.data, want, b.len) != 0))
        fail_msg("[%s] decoded [%s], want [%s]", html, b.data ? b.data : "", want);
    sfb_buf_dispose(&b);
}

static void
s_armor_err(const char *html, size_t len, sfb_rc_t want)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_buf_puts(&b, "keep");
    sfb_rc_t rc = sfb_amp_armor_decode(html, len, &b);
    if (rc != want)
        fail_msg("[%s] rc %s, want %s", html, sfb_rc_str(rc), sfb_rc_str(want));
    assert_string_equal(b.data, "keep");
    assert_int_equal(b.len, 4);
    sfb_buf_dispose(&b);
}

#define ARMOR_OK(html, want) s_armor_ok(S_LIT(html), (want))
#define ARMOR_ERR(html, rc) s_armor_err(S_LIT(html), (rc))

static void
test_armor_decode_vectors(void **state)
{
    (void)state;
    const char *hello = "hello world\n";
    /* §5.3, upstream armor_test.go TestArmorDecoder */
    ARMOR_OK("\n<pre>\n0\n</pre>\n", "");
    ARMOR_OK("\n<pre>\n0aGVsbG8gd29ybGQK\n</pre>\n", hello);
    ARMOR_ERR("\n<pre>\n1aGVsbG8gd29ybGQK\n</pre>\n", SFB_BAD_VERSION);
    ARMOR_OK("\n0aGVsbG8gd29ybGQK\nblah blah blah\n<pre>\n0aGVsbG8gd29ybGQK\n</pre>\n"
             "0aGVsbG8gd29ybGQK\nblah blah blah\n",
             hello);
    ARMOR_OK("\n<pre>\n0QUJDREV\nGR0hJSkt\nMTU5PUFF\nSU1RVVld\n</pre>\njunk\n<pre>\nYWVowMTI\n"
             "zNDU2Nzg\n5Cg\n=\n</pre>\n<pre>\n=\n</pre>\n",
             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n");
    ARMOR_ERR("\naGVsbG8gd29ybGQK\nblah blah blah\naGVsbG8gd29ybGQK\naGVsbG8gd29ybGQK\n"
              "blah blah blah\n",
              SFB_BAD_SYNTAX);
    ARMOR_ERR("\naGVsbG8gd29ybGQK\nblah blah blah\n<pre>   </pre>\naGVsbG8gd29ybGQK\n"
              "aGVsbG8gd29ybGQK<pre></pre>\nblah blah blah\n",
              SFB_BAD_SYNTAX);
    ARMOR_OK("blah <pre>0aGVsb<p>G8gd29</p>ybGQK</pre>", hello);
    ARMOR_ERR("blah <!-- <pre>aGVsbG8gd29ybGQK</pre> -->", SFB_BAD_SYNTAX);
    ARMOR_OK("blah <pre>\x20"
             "0\x09"
             "aG\x0aV\x0csb\x0dG8\x20gd29ybGQK</pre>",
             hello);
    ARMOR_ERR("\n<pre>\n0QUJDREV\nGR0hJSkt\nMTU5PUFF\nSU1RVVld\n</pre>\njunk\n<pre>\nYWVowMTI\n"
              "zNDU2Nzg\n5Cg\n=\n</pre>\n",
              SFB_BAD_SYNTAX);                                                 /* bad padding */
    ARMOR_ERR("blah <pre></pre><pre>0aGVsbG8gd29ybGQK", SFB_BAD_SYNTAX);       /* missing </pre> */
    ARMOR_ERR("blah <pre>0aGVsb<pre>G8gd29</pre>ybGQK</pre>", SFB_BAD_SYNTAX); /* nested */
    /* upstream's disabled per-chunk padding case: strict here (data after padding) */
    ARMOR_ERR("<pre>0QQ==</pre><pre>Qg==</pre>", SFB_BAD_SYNTAX);
}

static void
test_armor_decode_html(void **state)
{
    (void)state;
    const char *hello = "hello world\n";
    ARMOR_OK("<PRE>0aGVsbG8gd29ybGQK</Pre>", hello);
    ARMOR_OK("<pre class=\"x>y\">0aGVsbG8gd29ybGQK</pre >", hello);
    ARMOR_OK("<pre>0aGVsbG8gd29ybGQK</pre foo=bar>", hello);
    ARMOR_ERR("</pre><pre>0aGVsbG8gd29ybGQK</pre>", SFB_BAD_SYNTAX); /* stray </pre> */
    ARMOR_ERR("<pre>0aGVsbG8gd29ybGQK</pre></pre>", SFB_BAD_SYNTAX);
    /* comments and other markup inside a pre are not text */
    ARMOR_OK("<!doctype html><?xml x?><pre>0aGVs<!-- x -->bG8<!---->gd2</>9y<!x>bGQK</pre>", hello);
    ARMOR_OK("<pre>0aGVs<!-- a --!>bG8gd29ybGQK</pre>", hello);
    ARMOR_OK("<pre>0aGVs</ junk>bG8gd29ybGQK</pre>", hello);
    ARMOR_ERR("<pre>0aGVs <3 bG8gd29ybGQK</pre>", SFB_BAD_SYNTAX); /* "<3" is text */
    ARMOR_OK("a < b <pre>0aGVsbG8gd29ybGQK</pre> c<", hello);
    /* raw-text elements hide tags; their text still counts inside a pre */
    ARMOR_OK("<script><pre></script><style>x</pre></STYLE><pre>0aGVsbG8gd29ybGQK</pre>", hello);
    ARMOR_OK("<pre>0aGVs<title>bG8gd29</title>ybGQK</pre>", hello);
    ARMOR_ERR("<pre>0aGVsbG8gd29ybGQK<textarea></pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<plaintext><pre>0aGVsbG8gd29ybGQK</pre>", SFB_BAD_SYNTAX);
    /* self-closing start tags open nothing, unless the '/' is an attribute's value */
    ARMOR_ERR("<pre/>0aGVsbG8gd29ybGQK</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre a=\"/\"/>0aGVsbG8gd29ybGQK</pre>", SFB_BAD_SYNTAX);
    ARMOR_OK("<pre a=/>0aGVsbG8gd29ybGQK</pre>", hello);
    ARMOR_OK("<pre a=b/>0aGVsbG8gd29ybGQK</pre>", hello);
    ARMOR_ERR("<pre a=1 A=/>0aGVsbG8gd29ybGQK</pre>", SFB_BAD_SYNTAX); /* repeated key dropped */
    ARMOR_OK("<pre a=1 b=/>0aGVsbG8gd29ybGQK</pre>", hello);
    /* truncated markup at the end of input */
    ARMOR_ERR("<pre>0aGVsbG8gd29ybGQK</pre", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0aGVsbG8gd29ybGQK<", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0aGVsbG8gd29ybGQK<!--", SFB_BAD_SYNTAX);
    ARMOR_OK("<pre>0aGVsbG8gd29ybGQK</pre><!-- unterminated", hello);
    ARMOR_OK("<pre>0aGVsbG8gd29ybGQK</pre><p", hello);
    ARMOR_ERR("<pr", SFB_BAD_SYNTAX);
    ARMOR_ERR("", SFB_BAD_SYNTAX);
    s_armor_err(NULL, 0, SFB_BAD_SYNTAX);
    /* version first: a wrong version wins over a later HTML error */
    ARMOR_ERR("<pre>1aGVs</pre></pre>", SFB_BAD_VERSION);
    ARMOR_ERR("<pre>\n\n</pre><pre>x</pre>", SFB_BAD_VERSION);
    /* base64: standard alphabet, '=' padding required, trailing bits tolerated */
    ARMOR_OK("<pre>0QUJD</pre>", "ABC");
    ARMOR_OK("<pre>0QR==</pre>", "A");
    ARMOR_OK("<pre>0+/8=</pre>", "\xfb\xff");
    ARMOR_ERR("<pre>0QQ</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0Q===</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0QQ=</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0QQ==QUJD</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0-_8=</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0QUJD&amp;</pre>", SFB_BAD_SYNTAX);
    ARMOR_ERR("<pre>0QU\0JD</pre>", SFB_BAD_SYNTAX);
}

/* Upstream caps every token at 32 KiB (SetMaxBuf); the encoder's elements stay below it. */
static void
test_armor_decode_limits(void **state)
{
    (void)state;
    sfb_buf_t html, b;
    sfb_buf_init(&html);
    sfb_buf_init(&b);
    /* one 40001-byte text token is refused */
    sfb_buf_puts(&html, "<pre>0");
    for (int i = 0; i < 40000; i++)
        sfb_buf_putc(&html, 'A');
    sfb_buf_puts(&html, "</pre>");
    assert_int_equal(sfb_amp_armor_decode(html.data, html.len, &b), SFB_BAD_SYNTAX);
    /* the same text split in two tokens by a bogus comment is fine */
    sfb_buf_reset(&html);
    sfb_buf_puts(&html, "<pre>0");
    for (int i = 0; i < 40000; i++)
        sfb_buf_puts(&html, i == 30000 ? "<!>A" : "A");
    sfb_buf_puts(&html, "</pre>");
    assert_int_equal(sfb_amp_armor_decode(html.data, html.len, &b), SFB_OK);
    assert_int_equal(b.len, 30000);
    assert_int_equal(b.data[0], 0);
    sfb_buf_dispose(&html);
    sfb_buf_dispose(&b);
}

/* Random HTML-ish and path-ish input never crashes or leaks (run under ASan in CI). */
static void
test_hostile_input(void **state)
{
    (void)state;
    static const char *const atoms[] = {"<",  ">",  "/", "pre",    "PRE", "!--",  "-->", "=",
                                        "\"", "'",  " ", "\n",     "0",   "QUJD", "==",  "a",
                                        "<!", "</", "?", "script", "\0",  "\xff", "-",   "&"};
    uint64_t seed = 42;
    sfb_buf_t b;
    sfb_buf_init(&b);
    for (int iter = 0; iter < 20000; iter++) {
        char in[256];
        size_t len = 0, atoms_n = s_rand(&seed) % 24;
        for (size_t k = 0; k < atoms_n; k++) {
            const char *a = atoms[s_rand(&seed) % (sizeof atoms / sizeof atoms[0])];
            size_t alen = a[0] == '\0' ? 1 : strlen(a);
            memcpy(in + len, a, alen);
            len += alen;
        }
        sfb_buf_reset(&b);
        sfb_rc_t rc = sfb_amp_armor_decode(in, len, &b);
        assert_true(rc == SFB_OK || b.len == 0);
        sfb_buf_reset(&b);
        rc = sfb_amp_path_decode(in, len, &b);
        assert_true(rc == SFB_OK || b.len == 0);
    }
    sfb_buf_dispose(&b);
}

int
sfb_amp_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_decode),          cmocka_unit_test(test_path_encode),
        cmocka_unit_test(test_armor_encode_exact),   cmocka_unit_test(test_armor_round_trip),
        cmocka_unit_test(test_armor_decode_vectors), cmocka_unit_test(test_armor_decode_html),
        cmocka_unit_test(test_armor_decode_limits),  cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests_name("sfb_amp", tests, NULL, NULL);
}
