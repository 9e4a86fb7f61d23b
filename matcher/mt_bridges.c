/* mt_bridges.c - see mt_bridges.h. Line splitting follows Go's bufio.ScanLines (a final
 * newline does not start another line; one '\r' before '\n' is dropped) and each line follows
 * Go's json.Decoder with DisallowUnknownFields. Deliberate differences, all stricter: invalid
 * UTF-8 and \u0000 are refused (jansson), and an over-long line fails the load (upstream
 * silently stops reading there). */
#include "mt_bridges.h"

#include "sfb_alloc.h"
#include "sfb_types.h"

#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define S_MAX_LINE_BYTES 65535
#define S_MAX_FILE_BYTES (64u * 1024 * 1024)

struct mt_bridges {
    zhashx_t *map; /* hex of the raw fingerprint (lower case) -> mt_bridge_t *, owned */
};

static void
s_bridge_free(void **item_p)
{
    mt_bridge_t *b = *item_p;
    if (b == NULL)
        return;
    free((char *)b->name);
    free((char *)b->relay_url);
    free(b);
    *item_p = NULL;
}

static mt_bridges_t *
s_new(void)
{
    mt_bridges_t *bridges = sfb_xcalloc(1, sizeof *bridges);
    bridges->map = zhashx_new();
    assert(bridges->map);
    zhashx_set_destructor(bridges->map, s_bridge_free);
    return bridges;
}

/* Lower-case hex of the raw bytes: the same key whatever case the file used. */
static void
s_key(const unsigned char *fp, size_t len, char out[2 * SFB_FINGERPRINT_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[fp[i] >> 4];
        out[2 * i + 1] = hex[fp[i] & 15];
    }
    out[2 * len] = '\0';
}

static void
s_put(mt_bridges_t *bridges, const unsigned char *fp, size_t fp_len, const char *name,
      const char *url)
{
    char key[2 * SFB_FINGERPRINT_MAX + 1];
    s_key(fp, fp_len, key);
    mt_bridge_t *b = sfb_xcalloc(1, sizeof *b);
    b->name = sfb_xstrdup(name);
    b->relay_url = sfb_xstrdup(url);
    zhashx_update(bridges->map, key, b); /* a later duplicate replaces an earlier one */
}

mt_bridges_t *
mt_bridges_new_default(const char *relay_url)
{
    mt_bridges_t *bridges = s_new();
    unsigned char fp[SFB_FINGERPRINT_MAX];
    size_t n = sfb_fingerprint_decode(SFB_DEFAULT_FINGERPRINT, strlen(SFB_DEFAULT_FINGERPRINT), fp);
    s_put(bridges, fp, n, "default", relay_url);
    return bridges;
}

/* Go's bytes.EqualFold of a JSON key against an ASCII field name, including the two non-ASCII
 * runes that fold to ASCII letters of our names: U+212A KELVIN SIGN (k), U+017F LONG S (s). */
static bool
s_key_is(const char *key, const char *name)
{
    const unsigned char *k = (const unsigned char *)key;
    for (; *name; name++) {
        char c = (char)(*name | 0x20);
        if ((*k | 0x20) == c && *k < 0x80) {
            k++;
        } else if (c == 'k' && k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa) {
            k += 3;
        } else if (c == 's' && k[0] == 0xc5 && k[1] == 0xbf) {
            k += 2;
        } else {
            return false;
        }
    }
    return *k == '\0';
}

/* Decode one line into name/url/fingerprint. Return NULL or a static reason. */
static const char *
s_parse_line(const char *line, size_t len, mt_bridges_t *bridges)
{
    static const char *const fields[3] = {"displayName", "webSocketAddress", "fingerprint"};
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
    if (root == NULL)
        return "not JSON";
    const char *values[3] = {"", "", ""};
    const char *why = NULL;
    const char *key;
    json_t *val;
    if (json_is_null(root))
        why = "bad fingerprint";
    else if (!json_is_object(root))
        why = "not a JSON object";
    json_object_foreach(root, key, val)
    {
        int f = 0;
        while (f < 3 && !s_key_is(key, fields[f]))
            f++;
        if (f == 3) {
            why = "unknown key";
            break;
        }
        if (json_is_string(val))
            values[f] = json_string_value(val);
        else if (json_is_null(val))
            values[f] = "";
        else {
            why = "value is not a string";
            break;
        }
    }
    unsigned char fp[SFB_FINGERPRINT_MAX];
    size_t fp_len = why ? 0 : sfb_fingerprint_decode(values[2], strlen(values[2]), fp);
    if (why == NULL && fp_len == 0)
        why = "bad fingerprint";
    if (why == NULL)
        s_put(bridges, fp, fp_len, values[0], values[1]);
    json_decref(root);
    return why;
}

int
mt_bridges_parse(const char *text, size_t len, mt_bridges_t **out, char *err, size_t err_size)
{
    mt_bridges_t *bridges = s_new();
    size_t off = 0;
    unsigned lineno = 0;
    while (off < len) {
        const char *line = text + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t line_len = nl ? (size_t)(nl - line) : len - off;
        off += line_len + (nl ? 1 : 0);
        lineno++;
        if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;
        const char *why = line_len > S_MAX_LINE_BYTES ? "line too long"
                          : line_len == 0             ? "empty line"
                                                      : s_parse_line(line, line_len, bridges);
        if (why != NULL) {
            snprintf(err, err_size, "bridge list line %u: %s", lineno, why);
            mt_bridges_destroy(&bridges);
            return -1;
        }
    }
    mt_bridges_destroy(out);
    *out = bridges;
    return 0;
}

int
mt_bridges_load(const char *path, mt_bridges_t **out, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "cannot open bridge list: %s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = sfb_xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap && cap < S_MAX_FILE_BYTES) {
            cap *= 2;
            buf = sfb_xrealloc(buf, cap);
        } else if (len == cap) {
            break;
        }
    }
    bool bad = ferror(f) || len >= S_MAX_FILE_BYTES;
    fclose(f);
    int rc = -1;
    if (bad)
        snprintf(err, err_size, "cannot read bridge list (or larger than %u bytes)",
                 S_MAX_FILE_BYTES);
    else
        rc = mt_bridges_parse(buf, len, out, err, err_size);
    free(buf);
    return rc;
}

void
mt_bridges_destroy(mt_bridges_t **bridges_p)
{
    if (bridges_p == NULL || *bridges_p == NULL)
        return;
    zhashx_destroy(&(*bridges_p)->map);
    free(*bridges_p);
    *bridges_p = NULL;
}

const mt_bridge_t *
mt_bridges_lookup(const mt_bridges_t *bridges, const unsigned char *fp, size_t fp_len)
{
    if (fp_len != 20 && fp_len != 32)
        return NULL;
    char key[2 * SFB_FINGERPRINT_MAX + 1];
    s_key(fp, fp_len, key);
    return zhashx_lookup(bridges->map, key);
}

size_t
mt_bridges_size(const mt_bridges_t *bridges)
{
    return zhashx_size(bridges->map);
}
