/* mt_tagkey_test.c - IP tag keys with a fake clock and a temporary state dir: tags equal
 * within an interval and different across intervals, stable across a reload from disk, the
 * file's mode, size and rotation, a corrupted or stale file, memory-only mode, an unusable
 * state dir, and the tag checked against OpenSSL's HMAC() with the key read from the file. */
#include "mt_selftest.h"
#include "mt_tagkey.h"
#include "sfb_test.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (24ull * 3600 * 1000)
#define T0 (20000 * DAY_MS + 1234) /* somewhere in interval 20000 */

typedef struct {
    char dir[64];   /* temporary state dir */
    char file[128]; /* dir/tag-key */
} s_fix_t;

static int
s_setup(void **state)
{
    static s_fix_t fix;
    snprintf(fix.dir, sizeof fix.dir, "/tmp/mt-tagkey-XXXXXX");
    assert_non_null(mkdtemp(fix.dir));
    snprintf(fix.file, sizeof fix.file, "%s/%s", fix.dir, MT_TAGKEY_FILE);
    *state = &fix;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s.tmp", f->file);
    unlink(path);
    unlink(f->file);
    rmdir(f->dir);
    return 0;
}

static void
s_tag(mt_tagkey_t *tk, const char *addr, uint64_t now, unsigned char tag[SFB_EVENT_TAG_BYTES])
{
    mt_tagkey_tag(tk, addr, strlen(addr), now, tag);
}

/* Read the key file; return its size. */
static size_t
s_read_file(const char *path, unsigned char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, size);
    close(fd);
    return n < 0 ? 0 : (size_t)n;
}

/* Run `tk_new` with stderr captured into `out`, so a test can check a warning. */
static mt_tagkey_t *
s_new_capturing(const char *dir, uint64_t now, char *out, size_t size)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    mt_tagkey_t *tk = mt_tagkey_new(dir, DAY_MS, now);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return tk;
}

static void
test_stable_within_interval(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0);
    assert_non_null(tk);
    assert_true(mt_tagkey_is_persistent(tk));
    assert_int_equal(mt_tagkey_interval(tk), 20000);
    unsigned char a[8], b[8], c[8];
    s_tag(tk, "192.0.2.7", T0, a);
    s_tag(tk, "192.0.2.7", T0 + DAY_MS - 1235, b); /* last ms of the interval */
    s_tag(tk, "192.0.2.8", T0, c);
    assert_memory_equal(a, b, 8);
    assert_memory_not_equal(a, c, 8);
    s_tag(tk, "2001:db8::1", T0, b);
    assert_memory_not_equal(a, b, 8);
    mt_tagkey_destroy(&tk);
    assert_null(tk);
    mt_tagkey_destroy(&tk);
}

static void
test_rotation(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0);
    unsigned char a[8], b[8], c[8], d[8];
    s_tag(tk, "192.0.2.7", T0, a);
    s_tag(tk, "192.0.2.7", T0 + DAY_MS, b); /* next interval: a new key */
    assert_int_equal(mt_tagkey_interval(tk), 20001);
    assert_memory_not_equal(a, b, 8);
    s_tag(tk, "192.0.2.7", T0, c); /* clock stepped back: the old key is never recreated */
    assert_int_equal(mt_tagkey_interval(tk), 20001);
    assert_memory_equal(b, c, 8);
    s_tag(tk, "192.0.2.7", T0 + 5 * DAY_MS, d); /* intervals may be skipped */
    assert_int_equal(mt_tagkey_interval(tk), 20005);
    assert_memory_not_equal(b, d, 8);
    mt_tagkey_destroy(&tk);
    /* the file followed the rotations: a restart in interval 20005 keeps the tags */
    tk = mt_tagkey_new(f->dir, DAY_MS, T0 + 5 * DAY_MS + 77);
    s_tag(tk, "192.0.2.7", T0 + 5 * DAY_MS + 99, c);
    assert_memory_equal(c, d, 8);
    mt_tagkey_destroy(&tk);
    /* a clock that jumped far ahead and came back does not keep the future key */
    tk = mt_tagkey_new(f->dir, DAY_MS, T0 + 400 * DAY_MS);
    s_tag(tk, "192.0.2.7", T0 + 400 * DAY_MS, a);
    s_tag(tk, "192.0.2.7", T0 + 5 * DAY_MS, c);
    assert_int_equal(mt_tagkey_interval(tk), 20005);
    assert_memory_not_equal(a, c, 8);
    assert_memory_not_equal(c, d, 8); /* and the destroyed key of 20005 is not recreated */
    mt_tagkey_destroy(&tk);
}

static void
test_reload_and_file(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0);
    unsigned char a[8], b[8], rec[MT_TAGKEY_FILE_BYTES + 1];
    s_tag(tk, "192.0.2.7", T0, a);
    mt_tagkey_destroy(&tk); /* as after kill -9: only the file remains */
    struct stat st;
    assert_int_equal(stat(f->file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(s_read_file(f->file, rec, sizeof rec), MT_TAGKEY_FILE_BYTES);
    char tmp_path[160];
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", f->file);
    assert_int_not_equal(access(tmp_path, F_OK), 0);
    tk = mt_tagkey_new(f->dir, DAY_MS, T0 + 3600 * 1000);
    s_tag(tk, "192.0.2.7", T0 + 3600 * 1000, b);
    assert_memory_equal(a, b, 8);
    mt_tagkey_destroy(&tk);
    /* a restart in a later interval makes a new key and overwrites the stale one */
    tk = mt_tagkey_new(f->dir, DAY_MS, T0 + DAY_MS);
    s_tag(tk, "192.0.2.7", T0 + DAY_MS, b);
    assert_memory_not_equal(a, b, 8);
    unsigned char rec2[MT_TAGKEY_FILE_BYTES + 1];
    assert_int_equal(s_read_file(f->file, rec2, sizeof rec2), MT_TAGKEY_FILE_BYTES);
    assert_memory_not_equal(rec + 24, rec2 + 24, 32);
    mt_tagkey_destroy(&tk);
    /* another --metrics-interval makes interval indexes mean something else: new key */
    tk = mt_tagkey_new(f->dir, DAY_MS / 2, T0 + DAY_MS);
    assert_non_null(tk);
    s_tag(tk, "192.0.2.7", T0 + DAY_MS, a);
    assert_memory_not_equal(a, b, 8);
    mt_tagkey_destroy(&tk);
}

static void
test_matches_openssl_hmac(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0);
    unsigned char rec[MT_TAGKEY_FILE_BYTES], tag[8], md[EVP_MAX_MD_SIZE];
    assert_int_equal(s_read_file(f->file, rec, sizeof rec), MT_TAGKEY_FILE_BYTES);
    assert_memory_equal(rec, "SFBTAGK1", 8);
    static const char *const addrs[] = {
        "192.0.2.7", "2001:db8::1", "x",
        ("longer than one 64-byte SHA-256 block, to cover multi-block input as well: "
         "0123456789abcdef")};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        unsigned int len = 0;
        HMAC(EVP_sha256(), rec + 24, 32, (const unsigned char *)addrs[i], strlen(addrs[i]), md,
             &len);
        s_tag(tk, addrs[i], T0, tag);
        assert_int_equal(len, 32);
        assert_memory_equal(tag, md, 8);
    }
    mt_tagkey_destroy(&tk);
}

static void
test_corrupted_file(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0);
    unsigned char a[8], b[8], c[8], rec[MT_TAGKEY_FILE_BYTES];
    s_tag(tk, "192.0.2.7", T0, a);
    mt_tagkey_destroy(&tk);
    assert_int_equal(s_read_file(f->file, rec, sizeof rec), MT_TAGKEY_FILE_BYTES);
    rec[30] ^= 1; /* one flipped key bit: the checksum catches it */
    int fd = open(f->file, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, rec, sizeof rec), (ssize_t)sizeof rec);
    close(fd);
    char log[1024];
    tk = s_new_capturing(f->dir, T0, log, sizeof log);
    assert_non_null(tk);
    assert_non_null(strstr(log, "warn"));
    assert_non_null(strstr(log, "corrupted"));
    s_tag(tk, "192.0.2.7", T0, b);
    assert_memory_not_equal(a, b, 8);
    mt_tagkey_destroy(&tk);
    tk = mt_tagkey_new(f->dir, DAY_MS, T0); /* the new key was saved intact */
    s_tag(tk, "192.0.2.7", T0, c);
    assert_memory_equal(b, c, 8);
    mt_tagkey_destroy(&tk);
    fd = open(f->file, O_WRONLY | O_TRUNC); /* truncated file */
    close(fd);
    tk = s_new_capturing(f->dir, T0, log, sizeof log);
    assert_non_null(strstr(log, "corrupted"));
    mt_tagkey_destroy(&tk);
}

static void
test_memory_only(void **state)
{
    (void)state;
    char log[1024];
    mt_tagkey_t *tk = s_new_capturing(NULL, T0, log, sizeof log);
    assert_non_null(tk);
    assert_non_null(strstr(log, "restart changes"));
    assert_false(mt_tagkey_is_persistent(tk));
    unsigned char a[8], b[8];
    s_tag(tk, "192.0.2.7", T0, a);
    s_tag(tk, "192.0.2.7", T0 + 1000, b);
    assert_memory_equal(a, b, 8);
    s_tag(tk, "192.0.2.7", T0 + DAY_MS, b);
    assert_memory_not_equal(a, b, 8);
    mt_tagkey_destroy(&tk);
    mt_tagkey_t *other = mt_tagkey_new("", DAY_MS, T0); /* each start: its own key */
    s_tag(other, "192.0.2.7", T0, b);
    assert_memory_not_equal(a, b, 8);
    mt_tagkey_destroy(&other);
}

static void
test_unusable_dir(void **state)
{
    s_fix_t *f = *state;
    mt_tagkey_t *tk = mt_tagkey_new(f->dir, DAY_MS, T0); /* creates the file */
    mt_tagkey_destroy(&tk);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/sub", f->file); /* below a regular file */
    char log[1024];
    assert_null(s_new_capturing(bad, T0, log, sizeof log));
    assert_non_null(strstr(log, "state-dir"));
}

int
mt_tagkey_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stable_within_interval, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rotation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reload_and_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_matches_openssl_hmac, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_file, s_setup, s_teardown),
        cmocka_unit_test(test_memory_only),
        cmocka_unit_test_setup_teardown(test_unusable_dir, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("mt_tagkey", tests, NULL, NULL);
}
