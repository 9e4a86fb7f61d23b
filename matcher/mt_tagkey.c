/* mt_tagkey.c - see mt_tagkey.h. HMAC (RFC 2104) is built here from libcrypto's low-level
 * SHA-256 with the inner and outer padded-key states computed once per key: OpenSSL 3.0's
 * EVP_MAC and HMAC() allocate on every call (measured: 2 and 13 allocations per tag), and the
 * event path must not. The padded-key states are as secret as the key and are wiped with it.
 * mt_tagkey_test checks the tags against OpenSSL's HMAC(). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: allocation-free, still in 3.x */

#include "mt_tagkey.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY_BYTES 32
#define S_MAGIC "SFBTAGK1"
#define S_MAGIC_BYTES 8
#define S_CHECKED_BYTES (MT_TAGKEY_FILE_BYTES - 8) /* bytes covered by the checksum */

struct mt_tagkey {
    char *path;                     /* state_dir/tag-key, or NULL: memory only */
    char *tmp_path;                 /* path + ".tmp" */
    uint64_t interval_ms;           /* stats interval length */
    uint64_t index;                 /* interval the key belongs to */
    unsigned char key[S_KEY_BYTES]; /* K_index */
    SHA256_CTX inner;               /* SHA-256 state after (K ^ ipad) */
    SHA256_CTX outer;               /* SHA-256 state after (K ^ opad) */
};

/* ---- key material ------------------------------------------------------------------------ */

static void
s_random(unsigned char *out, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
        } else if (n < 0 && errno != EINTR) {
            if (RAND_priv_bytes(out, (int)len) == 1)
                return;
            /* no randomness at all: tagging with a guessable key would defeat its purpose */
            sfb_log(SFB_ERROR, "mt.tagkey", "no random bytes for the tag key: %s", strerror(errno));
            abort();
        }
    }
}

/* Set the key and precompute the HMAC pads (the key is shorter than SHA-256's block). */
static void
s_set_key(mt_tagkey_t *tk, const unsigned char *key, uint64_t index)
{
    unsigned char pad[SHA256_CBLOCK];
    OPENSSL_cleanse(&tk->inner, sizeof tk->inner); /* the old key's states: gone for good */
    OPENSSL_cleanse(&tk->outer, sizeof tk->outer);
    memcpy(tk->key, key, S_KEY_BYTES);
    tk->index = index;
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < S_KEY_BYTES; i++)
        pad[i] ^= key[i];
    SHA256_Init(&tk->inner);
    SHA256_Update(&tk->inner, pad, sizeof pad);
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < S_KEY_BYTES; i++)
        pad[i] ^= key[i];
    SHA256_Init(&tk->outer);
    SHA256_Update(&tk->outer, pad, sizeof pad);
    OPENSSL_cleanse(pad, sizeof pad);
}

/* ---- the state file ----------------------------------------------------------------------- */

static void
s_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
s_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void
s_checksum(const unsigned char *rec, unsigned char out[8])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(rec, S_CHECKED_BYTES, md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, sizeof md); /* cannot happen; a zero checksum just fails to verify */
    memcpy(out, md, 8);
}

static int
s_write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Overwrite the previous key file in place before it is replaced, so the old key does not
 * linger in its freed blocks (best effort: journaling, copy-on-write file systems and SSD
 * wear levelling may keep copies). A crash right after leaves a corrupt file, which only
 * makes the next start generate a new key, as it would for a stale one. */
static void
s_wipe_old(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned char zero[MT_TAGKEY_FILE_BYTES] = {0};
    if (s_write_all(fd, zero, sizeof zero) == 0)
        (void)fsync(fd);
    close(fd);
}

static int
s_fsync_dir(const char *path)
{
    char *dir = sfb_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Write the key file: temporary file (0600), fsync, wipe the old one, rename, fsync the dir. */
static int
s_save(const mt_tagkey_t *tk)
{
    unsigned char rec[MT_TAGKEY_FILE_BYTES];
    memcpy(rec, S_MAGIC, S_MAGIC_BYTES);
    s_put64(rec + 8, tk->interval_ms);
    s_put64(rec + 16, tk->index);
    memcpy(rec + 24, tk->key, S_KEY_BYTES);
    s_checksum(rec, rec + S_CHECKED_BYTES);
    int rc = -1;
    int fd = open(tk->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        rc = fchmod(fd, 0600) == 0 && s_write_all(fd, rec, sizeof rec) == 0 && fsync(fd) == 0 ? 0
                                                                                              : -1;
        if (close(fd) < 0)
            rc = -1;
    }
    OPENSSL_cleanse(rec, sizeof rec);
    if (rc == 0) {
        s_wipe_old(tk->path);
        rc = rename(tk->tmp_path, tk->path) == 0 && s_fsync_dir(tk->path) == 0 ? 0 : -1;
    }
    if (rc < 0) {
        sfb_log(SFB_WARN, "mt.tagkey", "cannot write %s: %s (removing the old key file)", tk->path,
                strerror(errno));
        (void)unlink(tk->tmp_path);
        s_wipe_old(tk->path); /* an old interval's key must not survive a failed rotation */
        (void)unlink(tk->path);
    }
    return rc;
}

typedef enum { S_LOAD_OK, S_LOAD_ABSENT, S_LOAD_STALE, S_LOAD_CORRUPT } s_load_t;

/* Read the key file into tk if it holds the key of interval `index`. */
static s_load_t
s_load(mt_tagkey_t *tk, uint64_t index)
{
    int fd = open(tk->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? S_LOAD_ABSENT : S_LOAD_CORRUPT;
    unsigned char rec[MT_TAGKEY_FILE_BYTES + 1], sum[8];
    ssize_t n = read(fd, rec, sizeof rec);
    close(fd);
    s_load_t rc = S_LOAD_CORRUPT;
    if (n == MT_TAGKEY_FILE_BYTES && memcmp(rec, S_MAGIC, S_MAGIC_BYTES) == 0) {
        s_checksum(rec, sum);
        if (memcmp(sum, rec + S_CHECKED_BYTES, sizeof sum) == 0) {
            rc = S_LOAD_STALE;
            if (s_get64(rec + 8) == tk->interval_ms && s_get64(rec + 16) == index) {
                s_set_key(tk, rec + 24, index);
                rc = S_LOAD_OK;
            }
        }
    }
    OPENSSL_cleanse(rec, sizeof rec);
    return rc;
}

/* Replace the key by a fresh one for interval `index`, wiping the old one. */
static int
s_new_key(mt_tagkey_t *tk, uint64_t index)
{
    unsigned char key[S_KEY_BYTES];
    s_random(key, sizeof key);
    s_set_key(tk, key, index);
    OPENSSL_cleanse(key, sizeof key);
    return tk->path ? s_save(tk) : 0;
}

/* ---- public --------------------------------------------------------------------------------- */

static int
s_open_dir(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        sfb_log(SFB_ERROR, "mt.tagkey", "cannot create --state-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

mt_tagkey_t *
mt_tagkey_new(const char *state_dir, uint64_t interval_ms, uint64_t now_ms)
{
    if (SFB_BUG(interval_ms == 0))
        return NULL;
    mt_tagkey_t *tk = sfb_xcalloc(1, sizeof *tk);
    tk->interval_ms = interval_ms;
    uint64_t index = now_ms / interval_ms;
    if (state_dir == NULL || *state_dir == '\0') {
        sfb_log(SFB_NOTICE, "mt.tagkey",
                "no --state-dir: the IP tag key is kept in memory only, so a restart changes "
                "the tags within the current stats interval (unique-IP counts then overcount)");
        s_new_key(tk, index);
        return tk;
    }
    size_t len = strlen(state_dir) + sizeof "/" MT_TAGKEY_FILE ".tmp";
    tk->path = sfb_xmalloc(len);
    tk->tmp_path = sfb_xmalloc(len);
    snprintf(tk->path, len, "%s/%s", state_dir, MT_TAGKEY_FILE);
    snprintf(tk->tmp_path, len, "%s/%s.tmp", state_dir, MT_TAGKEY_FILE);
    if (s_open_dir(state_dir) < 0)
        goto fail;
    switch (s_load(tk, index)) {
    case S_LOAD_OK:
        sfb_log(SFB_NOTICE, "mt.tagkey", "reusing the IP tag key of interval %llu from %s",
                (unsigned long long)index, tk->path);
        return tk;
    case S_LOAD_CORRUPT:
        sfb_log(SFB_WARN, "mt.tagkey",
                "%s is unreadable or corrupted: making a new IP tag key (tags change within "
                "this stats interval)",
                tk->path);
        break;
    case S_LOAD_ABSENT:
    case S_LOAD_STALE:
        break;
    }
    if (s_new_key(tk, index) < 0)
        goto fail;
    sfb_log(SFB_NOTICE, "mt.tagkey", "new IP tag key for interval %llu in %s",
            (unsigned long long)index, tk->path);
    return tk;
fail:
    mt_tagkey_destroy(&tk);
    return NULL;
}

void
mt_tagkey_destroy(mt_tagkey_t **tk_p)
{
    if (tk_p == NULL || *tk_p == NULL)
        return;
    mt_tagkey_t *tk = *tk_p;
    free(tk->path);
    free(tk->tmp_path);
    OPENSSL_cleanse(tk, sizeof *tk);
    free(tk);
    *tk_p = NULL;
}

void
mt_tagkey_tag(mt_tagkey_t *tk, const void *addr, size_t addr_len, uint64_t now_ms,
              unsigned char tag[SFB_EVENT_TAG_BYTES])
{
    uint64_t index = now_ms / tk->interval_ms;
    /* A clock stepping back into the previous interval keeps the key (an old key is never
     * recreated); one further back means the clock had jumped ahead, and keeping that key
     * would link tags across many intervals. */
    if (index > tk->index || index + 1 < tk->index) {
        s_new_key(tk, index); /* a failed write is logged; the key is then in memory only */
        sfb_log(SFB_NOTICE, "mt.tagkey", "stats interval %llu: new IP tag key, old key wiped",
                (unsigned long long)index);
    }
    unsigned char inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
    SHA256_CTX c = tk->inner;
    SHA256_Update(&c, addr, addr_len);
    SHA256_Final(inner, &c);
    c = tk->outer;
    SHA256_Update(&c, inner, sizeof inner);
    SHA256_Final(mac, &c);
    memcpy(tag, mac, SFB_EVENT_TAG_BYTES);
    OPENSSL_cleanse(&c, sizeof c);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(mac, sizeof mac);
}

uint64_t
mt_tagkey_interval(const mt_tagkey_t *tk)
{
    return tk->index;
}

bool
mt_tagkey_is_persistent(const mt_tagkey_t *tk)
{
    return tk->path != NULL;
}
