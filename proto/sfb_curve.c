/* sfb_curve.c - see sfb_curve.h. Key files are parsed here with zconfig (the zcert format)
 * rather than zcert_load, which cannot say why a file is refused and turns an invalid key into
 * zeros. Socket options go through zmq_setsockopt, whose errors we check: CZMQ's zsock_set_*
 * setters assert on a bad value. */
#include "sfb_curve.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MOD "sfb.curve"
#define S_FILE_MAX_BYTES 16384 /* a certificate is a few hundred bytes */
#define S_PATH_MAX 240         /* zcert's own buffers hold 256 bytes with "_secret" */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* libzmq 4.3 DRAFT option, accepted by Debian's build */
#endif

struct sfb_curve {
    uint8_t public_key[32];             /* this process's public key */
    uint8_t secret_key[32];             /* and its secret key; wiped on destroy */
    char public_txt[SFB_CURVE_KEY_TXT]; /* public key, Z85 */
    zactor_t *auth;                     /* zauth, once serving */
    sfb_zmon_t *mon;                    /* refusal counter, once serving */
};

static int s_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL && err_len > 0)
        vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Load a zcert-format file after checking it is a readable, small, regular file. */
static zconfig_t *
s_load(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (strlen(path) > S_PATH_MAX) {
        s_err(err, err_len, "%.40s...: path too long", path);
        return NULL;
    }
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        s_err(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > S_FILE_MAX_BYTES) {
        s_err(err, err_len, "%s: not a certificate file", path);
        return NULL;
    }
    /* read it ourselves: CZMQ 4.2.1's zconfig_load leaks its zfile on a syntax error */
    char text[S_FILE_MAX_BYTES + 1];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, S_FILE_MAX_BYTES, f) : 0;
    bool read_ok = f != NULL && !ferror(f);
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    zconfig_t *root = read_ok ? zconfig_str_load(text) : NULL;
    explicit_bzero(text, n); /* may hold a secret key */
    if (root == NULL)
        s_err(err, err_len, "%s: not a certificate file (ZPL syntax)", path);
    return root;
}

/* Decode the Z85 key at `item` ("curve/public-key" or "curve/secret-key") of `root`. */
static int
s_key(zconfig_t *root, const char *item, const char *path, uint8_t out[32], char *err,
      size_t err_len)
{
    const char *txt = zconfig_get(root, item, NULL);
    if (txt == NULL)
        return s_err(err, err_len, "%s: no %s", path, item);
    if (strlen(txt) != 40 || zmq_z85_decode(out, txt) == NULL)
        return s_err(err, err_len, "%s: %s is not a 40-character Z85 key", path, item);
    return 0;
}

sfb_curve_t *
sfb_curve_new(const char *cert_path, char *err, size_t err_len)
{
    char secret_path[S_PATH_MAX + 16];
    snprintf(secret_path, sizeof secret_path, "%s_secret", cert_path);
    const char *path = access(secret_path, F_OK) == 0 ? secret_path : cert_path;
    zconfig_t *root = s_load(path, err, err_len);
    if (root == NULL)
        return NULL;
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
        sfb_log(SFB_WARN, S_MOD, "%s holds a secret key but others may read it (chmod 600)", path);
    sfb_curve_t *c = sfb_xcalloc(1, sizeof *c);
    char derived[SFB_CURVE_KEY_TXT], secret_txt[SFB_CURVE_KEY_TXT];
    if (s_key(root, "curve/public-key", path, c->public_key, err, err_len) != 0 ||
        s_key(root, "curve/secret-key", path, c->secret_key, err, err_len) != 0)
        goto fail;
    zmq_z85_encode(c->public_txt, c->public_key, 32);
    zmq_z85_encode(secret_txt, c->secret_key, 32);
    if (zmq_curve_public(derived, secret_txt) != 0 || strcmp(derived, c->public_txt) != 0) {
        s_err(err, err_len, "%s: the public key does not belong to the secret key", path);
        goto fail;
    }
    explicit_bzero(secret_txt, sizeof secret_txt);
    zconfig_destroy(&root);
    return c;
fail:
    explicit_bzero(secret_txt, sizeof secret_txt);
    zconfig_destroy(&root);
    sfb_curve_destroy(&c);
    return NULL;
}

void
sfb_curve_destroy(sfb_curve_t **curve_p)
{
    if (curve_p == NULL || *curve_p == NULL)
        return;
    sfb_curve_t *c = *curve_p;
    zactor_destroy(&c->auth);
    sfb_zmon_destroy(&c->mon);
    explicit_bzero(c->secret_key, sizeof c->secret_key);
    free(c);
    *curve_p = NULL;
}

/* Start zauth with every signal blocked, so that no signal can interrupt its poll: zauth
 * ends on an interrupted poll, and then no client could ever be authenticated. */
static zactor_t *
s_auth_new(const char *allow_dir)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    zactor_t *auth = zactor_new(zauth, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (auth != NULL && (zstr_sendx(auth, "CURVE", allow_dir, NULL) != 0 || zsock_wait(auth) != 0))
        zactor_destroy(&auth);
    return auth;
}

int
sfb_curve_serve(sfb_curve_t *c, const char *allow_dir, sfb_zmon_fn *on_refused, void *arg,
                char *err, size_t err_len)
{
    if (SFB_BUG(c->auth != NULL))
        return s_err(err, err_len, "already serving");
    int n = sfb_curve_check_allow_dir(allow_dir, err, err_len);
    if (n < 0)
        return -1;
    if ((c->mon = sfb_zmon_new(on_refused, arg)) == NULL)
        return s_err(err, err_len, "cannot start the handshake monitor");
    if ((c->auth = s_auth_new(allow_dir)) == NULL) {
        sfb_zmon_destroy(&c->mon);
        return s_err(err, err_len, "cannot start zauth");
    }
    sfb_log(SFB_NOTICE, S_MOD, "CURVE on: %d allowed client keys in %s, server key %s", n,
            allow_dir, c->public_txt);
    return 0;
}

int
sfb_curve_apply_server(sfb_curve_t *c, void *sock, const char *name)
{
    void *raw = zsock_resolve(sock);
    int one = 1;
    const char *domain = SFB_CURVE_ZAP_DOMAIN;
    if (SFB_BUG(c->mon == NULL))
        return -1;
    if (zmq_setsockopt(raw, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_SECRETKEY, c->secret_key, 32) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_PUBLICKEY, c->public_key, 32) != 0 ||
        zmq_setsockopt(raw, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "%s: cannot set CURVE server options: %s", name,
                zmq_strerror(errno));
        return -1;
    }
    /* Without enforcement libzmq lets every CURVE client in if no ZAP handler answers. */
    if (zmq_setsockopt(raw, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        sfb_log(SFB_WARN, S_MOD, "%s: this libzmq cannot enforce ZAP: %s", name,
                zmq_strerror(errno));
    return sfb_zmon_watch(c->mon, sock, name);
}

int
sfb_curve_apply_client(const sfb_curve_t *c, void *sock, const char *server_key)
{
    void *raw = zsock_resolve(sock);
    uint8_t key[32];
    if (server_key == NULL || strlen(server_key) != 40 || zmq_z85_decode(key, server_key) == NULL) {
        sfb_log(SFB_ERROR, S_MOD, "invalid server public key");
        return -1;
    }
    if (zmq_setsockopt(raw, ZMQ_CURVE_SERVERKEY, key, 32) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_PUBLICKEY, c->public_key, 32) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_SECRETKEY, c->secret_key, 32) != 0) {
        sfb_log(SFB_ERROR, S_MOD, "cannot set CURVE client options: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

const char *
sfb_curve_public_txt(const sfb_curve_t *c)
{
    return c->public_txt;
}

void
sfb_curve_stats(const sfb_curve_t *c, sfb_zmon_stats_t *out)
{
    if (c != NULL && c->mon != NULL)
        sfb_zmon_stats(c->mon, out);
    else
        *out = (sfb_zmon_stats_t){0};
}

uint64_t
sfb_curve_refused(const sfb_curve_t *c)
{
    return c != NULL && c->mon != NULL ? sfb_zmon_refused(c->mon) : 0;
}

int
sfb_curve_load_public(const char *path, char key[SFB_CURVE_KEY_TXT], char *err, size_t err_len)
{
    zconfig_t *root = s_load(path, err, err_len);
    if (root == NULL)
        return -1;
    uint8_t bin[32];
    int rc = s_key(root, "curve/public-key", path, bin, err, err_len);
    if (rc == 0)
        zmq_z85_encode(key, bin, 32);
    zconfig_destroy(&root);
    return rc;
}

/* Load the public key of `path` into `seen` (a set of Z85 keys); -1 on a duplicate. A file
 * that is not a certificate is skipped, as zauth skips it. */
static int
s_allow_one(const char *path, zhashx_t *seen, char *err, size_t err_len)
{
    char key[SFB_CURVE_KEY_TXT], why[256];
    if (sfb_curve_load_public(path, key, why, sizeof why) != 0) {
        sfb_log(SFB_WARN, S_MOD, "allow-list: skipping %s", why);
        return 0;
    }
    if (zhashx_insert(seen, key, (void *)path) != 0)
        return s_err(err, err_len, "%s: the same key as %s (zauth would abort)", path,
                     (const char *)zhashx_lookup(seen, key));
    return 1;
}

int
sfb_curve_check_allow_dir(const char *dir, char *err, size_t err_len)
{
    struct stat st;
    if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return s_err(err, err_len, "%s: not a directory", dir ? dir : "(none)");
    zdir_t *zd = zdir_new(dir, NULL);
    if (zd == NULL)
        return s_err(err, err_len, "%s: cannot read the directory", dir);
    zfile_t **files = zdir_flatten(zd); /* what zcertstore reads, subdirectories included */
    zhashx_t *seen = zhashx_new();
    int n = 0;
    for (size_t i = 0; files[i] != NULL && n >= 0; i++) {
        const char *name = zfile_filename(files[i], NULL);
        size_t len = strlen(name);
        if (!zfile_is_regular(files[i]) || (len >= 7 && strcmp(name + len - 7, "_secret") == 0))
            continue;
        int rc = s_allow_one(name, seen, err, err_len);
        n = rc < 0 ? -1 : n + rc;
    }
    zhashx_destroy(&seen);
    zdir_flatten_free(&files);
    zdir_destroy(&zd);
    if (n == 0)
        return s_err(err, err_len, "%s: no public certificate in the directory", dir);
    return n;
}

int
sfb_curve_keygen(const char *path, char *err, size_t err_len)
{
    char secret_path[S_PATH_MAX + 16];
    if (strlen(path) > S_PATH_MAX)
        return s_err(err, err_len, "%.40s...: path too long", path);
    snprintf(secret_path, sizeof secret_path, "%s_secret", path);
    if (access(path, F_OK) == 0 || access(secret_path, F_OK) == 0)
        return s_err(err, err_len, "%s or %s exists already: not overwritten", path, secret_path);
    if (!zmq_has("curve"))
        return s_err(err, err_len, "this libzmq has no CURVE support");
    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return s_err(err, err_len, "cannot generate a key pair");
    zcert_set_meta(cert, "created-by", "snowflake-keygen");
    int rc = zcert_save_public(cert, path) == 0 && zcert_save_secret(cert, secret_path) == 0 &&
                     chmod(secret_path, 0600) == 0
                 ? 0
                 : s_err(err, err_len, "cannot write %s: %s", path, strerror(errno));
    zcert_destroy(&cert);
    return rc;
}

/* Return true if `host` (brackets removed) names the loopback interface. */
static bool
s_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

bool
sfb_curve_endpoint_is_local(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6, *colon = strrchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    return s_is_loopback(buf);
}

void
sfb_curve_warn_exposed(const sfb_curve_t *curve, const char *what, const char *endpoint)
{
    if (curve != NULL || endpoint == NULL || sfb_curve_endpoint_is_local(endpoint))
        return;
    sfb_log(SFB_WARN, S_MOD,
            "%s listens beyond loopback (%s) without CURVE: any host that reaches it can "
            "connect; use --curve-cert and --curve-allow (docs/deployment.md)",
            what, endpoint);
}
