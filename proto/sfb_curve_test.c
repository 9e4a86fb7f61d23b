/* sfb_curve_test.c - key files (generated, loaded, refused), allow-list directories, the
 * loopback rule, and one CURVE handshake of each kind on 127.0.0.1: an allowed client gets
 * through, a client with another key and a client without CURVE are refused and counted. */
#include "sfb_curve.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];   /* temporary directory */
    char path[128]; /* scratch path inside it */
} s_tmp_t;

static int
s_setup(void **state)
{
    s_tmp_t *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/sfb-curve-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    *state = t;
    return 0;
}

static int
s_teardown(void **state)
{
    s_tmp_t *t = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    int rc = system(cmd);
    free(t);
    return rc == 0 ? 0 : -1;
}

static const char *
s_path(s_tmp_t *t, const char *name)
{
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    return t->path;
}

static void
s_write(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void
test_keygen_then_load(void **state)
{
    s_tmp_t *t = *state;
    char err[256], key[SFB_CURVE_KEY_TXT];
    assert_int_equal(sfb_curve_keygen(s_path(t, "a"), err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(s_path(t, "a_secret"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(sfb_curve_keygen(s_path(t, "a"), err, sizeof err), -1); /* no overwrite */
    assert_non_null(strstr(err, "exists"));
    sfb_curve_t *c = sfb_curve_new(s_path(t, "a"), err, sizeof err);
    assert_non_null(c);
    assert_int_equal(sfb_curve_load_public(s_path(t, "a"), key, err, sizeof err), 0);
    assert_string_equal(key, sfb_curve_public_txt(c));
    assert_int_equal(sfb_curve_refused(c), 0);
    sfb_curve_destroy(&c);
    sfb_curve_destroy(&c);                                     /* &NULL is fine */
    c = sfb_curve_new(s_path(t, "a_secret"), err, sizeof err); /* the secret file itself */
    assert_non_null(c);
    sfb_curve_destroy(&c);
}

static void
test_bad_files_are_errors(void **state)
{
    s_tmp_t *t = *state;
    char err[256], key[SFB_CURVE_KEY_TXT];
    assert_null(sfb_curve_new(s_path(t, "missing"), err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    assert_null(sfb_curve_new(t->dir, err, sizeof err)); /* a directory */
    s_write(s_path(t, "empty"), "", 0);
    assert_null(sfb_curve_new(t->path, err, sizeof err));
    assert_int_equal(sfb_curve_load_public(t->path, key, err, sizeof err), -1);
    static const char junk[] = "\x00\xff\x7f\n\n  \t=\"\x01garbage\n/curve\n";
    s_write(s_path(t, "junk"), junk, sizeof junk);
    assert_null(sfb_curve_new(t->path, err, sizeof err));
    assert_int_equal(sfb_curve_load_public(t->path, key, err, sizeof err), -1);
    static const char badz85[] = "curve\n    public-key = \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"
                                 "~~~~~~~~~\"\n";
    s_write(s_path(t, "badz85"), badz85, strlen(badz85));
    assert_int_equal(sfb_curve_load_public(t->path, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "Z85"));
    /* a public certificate alone cannot serve as this process's certificate */
    assert_int_equal(sfb_curve_keygen(s_path(t, "pub"), err, sizeof err), 0);
    assert_int_equal(unlink(s_path(t, "pub_secret")), 0);
    assert_null(sfb_curve_new(s_path(t, "pub"), err, sizeof err));
    assert_non_null(strstr(err, "secret-key"));
}

static void
test_mismatched_pair_is_refused(void **state)
{
    s_tmp_t *t = *state;
    char err[256], pa[SFB_CURVE_KEY_TXT], pb[SFB_CURVE_KEY_TXT], sb[SFB_CURVE_KEY_TXT];
    assert_int_equal(zmq_curve_keypair(pa, sb), 0); /* sb does not belong to pa ... */
    assert_int_equal(zmq_curve_keypair(pb, sb), 0); /* ... but to pb */
    char text[256];
    int n = snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                     pa, sb);
    s_write(s_path(t, "mixed_secret"), text, (size_t)n);
    assert_null(sfb_curve_new(s_path(t, "mixed"), err, sizeof err));
    assert_non_null(strstr(err, "does not belong"));
}

static void
test_allow_dir(void **state)
{
    s_tmp_t *t = *state;
    char err[256], allow[96], copy[256];
    snprintf(allow, sizeof allow, "%s/allow", t->dir);
    assert_int_equal(sfb_curve_check_allow_dir(allow, err, sizeof err), -1); /* absent */
    assert_int_equal(mkdir(allow, 0700), 0);
    assert_int_equal(sfb_curve_check_allow_dir(allow, err, sizeof err), -1); /* empty */
    assert_non_null(strstr(err, "no public certificate"));
    assert_int_equal(sfb_curve_keygen(s_path(t, "allow/fe1"), err, sizeof err), 0);
    assert_int_equal(sfb_curve_keygen(s_path(t, "allow/fe2"), err, sizeof err), 0);
    s_write(s_path(t, "allow/README"), "not a cert\n", 11); /* skipped */
    assert_int_equal(sfb_curve_check_allow_dir(allow, err, sizeof err), 2);
    snprintf(copy, sizeof copy, "cp '%s/allow/fe1' '%s/allow/fe1-again'", t->dir, t->dir);
    assert_int_equal(system(copy), 0);
    assert_int_equal(sfb_curve_check_allow_dir(allow, err, sizeof err), -1);
    assert_non_null(strstr(err, "same key"));
}

static void
test_local_endpoints(void **state)
{
    (void)state;
    static const char *local[] = {"ipc:///tmp/x.ipc",          "inproc://x",
                                  "tcp://127.0.0.1:5555",      "tcp://127.1.2.3:1",
                                  "tcp://localhost:5555",      "tcp://[::1]:5555",
                                  "tcp://[::ffff:127.0.0.1]:9"};
    static const char *exposed[] = {
        "tcp://*:5555",     "tcp://0.0.0.0:5555", "tcp://[::]:5555",  "tcp://10.0.0.1:80",
        "tcp://eth0:5555",  "tcp://:5555",        "ws://127.0.0.1:1", "pgm://x",
        "tcp://128.0.0.1:1"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++)
        assert_true(sfb_curve_endpoint_is_local(local[i]));
    for (size_t i = 0; i < sizeof exposed / sizeof *exposed; i++)
        assert_false(sfb_curve_endpoint_is_local(exposed[i]));
}

/* Connect a DEALER (CURVE with `cert`, or plain if NULL) and return whether `hello` reaches
 * the ROUTER within a second. */
static bool
s_reaches(zsock_t *router, const char *ep, const sfb_curve_t *cert, const char *server_key)
{
    zsock_t *d = zsock_new(ZMQ_DEALER);
    if (cert != NULL)
        assert_int_equal(sfb_curve_apply_client(cert, d, server_key), 0);
    assert_int_equal(zsock_connect(d, "%s", ep), 0);
    zstr_send(d, "hello");
    zsock_set_rcvtimeo(router, 1000);
    zmsg_t *m = zmsg_recv(router);
    bool ok = m != NULL;
    zmsg_destroy(&m);
    zsock_destroy(&d);
    return ok;
}

/* Wait at most 3 s for the refusal count to pass `n`. */
static bool
s_refused_beyond(const sfb_curve_t *c, uint64_t n)
{
    for (int i = 0; i < 300 && sfb_curve_refused(c) <= n; i++)
        zclock_sleep(10);
    return sfb_curve_refused(c) > n;
}

static void
test_handshakes(void **state)
{
    s_tmp_t *t = *state;
    char err[256], allow[96];
    zsys_handler_set(NULL);
    snprintf(allow, sizeof allow, "%s/allow", t->dir);
    assert_int_equal(mkdir(allow, 0700), 0);
    assert_int_equal(sfb_curve_keygen(s_path(t, "server"), err, sizeof err), 0);
    assert_int_equal(sfb_curve_keygen(s_path(t, "allow/good"), err, sizeof err), 0);
    assert_int_equal(sfb_curve_keygen(s_path(t, "bad"), err, sizeof err), 0);
    sfb_curve_t *server = sfb_curve_new(s_path(t, "server"), err, sizeof err);
    sfb_curve_t *good = sfb_curve_new(s_path(t, "allow/good"), err, sizeof err);
    sfb_curve_t *bad = sfb_curve_new(s_path(t, "bad"), err, sizeof err);
    assert_true(server && good && bad);
    assert_int_equal(sfb_curve_serve(server, allow, NULL, NULL, err, sizeof err), 0);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_int_equal(sfb_curve_apply_server(server, router, "test ROUTER"), 0);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    const char *key = sfb_curve_public_txt(server);
    assert_true(s_reaches(router, ep, good, key));
    assert_false(s_reaches(router, ep, bad, key));
    assert_true(s_refused_beyond(server, 0));
    sfb_zmon_stats_t st;
    sfb_curve_stats(server, &st);
    assert_true(st.refused_auth > 0);
    assert_true(st.accepted > 0);
    uint64_t before = sfb_curve_refused(server);
    assert_false(s_reaches(router, ep, NULL, NULL)); /* no CURVE at all */
    assert_true(s_refused_beyond(server, before));
    assert_false(s_reaches(router, ep, good, sfb_curve_public_txt(bad))); /* wrong server key */
    zsock_destroy(&router);
    sfb_curve_destroy(&server);
    sfb_curve_destroy(&good);
    sfb_curve_destroy(&bad);
}

int
sfb_curve_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keygen_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_are_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_pair_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_allow_dir, s_setup, s_teardown),
        cmocka_unit_test(test_local_endpoints),
        cmocka_unit_test_setup_teardown(test_handshakes, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("sfb_curve", tests, NULL, NULL);
}
