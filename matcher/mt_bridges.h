/* mt_bridges.h - the bridge list (spec §4.8): raw fingerprint -> relay URL, loaded from a
 * newline-delimited JSON file. Immutable once built; the matcher swaps whole lists on SIGHUP.
 * Owned by the matcher loop; not thread-safe. */
#ifndef MT_BRIDGES_H
#define MT_BRIDGES_H

#include <stddef.h>

typedef struct mt_bridges mt_bridges_t;

/** One bridge; strings owned by the list. */
typedef struct {
    const char *name;      /* displayName (unused by matching) */
    const char *relay_url; /* webSocketAddress, sent to matched proxies */
} mt_bridge_t;

/** Create the built-in list: the default bridge (SFB_DEFAULT_FINGERPRINT) with `relay_url`.
 *  Never NULL (OOM aborts). */
mt_bridges_t *mt_bridges_new_default(const char *relay_url);
/** Parse a bridge list from `text` (len bytes) into a new list in *out. Each line is read as its
 *  first JSON value, which must be an object with only the keys displayName, webSocketAddress and
 *  fingerprint (case-insensitive, string or null values); the fingerprint must be hex of 20 or 32
 *  bytes. An empty line, a bad line or a line over 65535 bytes fails the whole parse. Return 0,
 *  or -1 with a one-line reason (no file content) in `err` and *out unchanged. */
int mt_bridges_parse(const char *text, size_t len, mt_bridges_t **out, char *err, size_t err_size);
/** Read the file at `path` and parse it as mt_bridges_parse() does. Return 0 or -1 (with err). */
int mt_bridges_load(const char *path, mt_bridges_t **out, char *err, size_t err_size);
/** Destroy the list and set *bridges_p to NULL. Accepts NULL and &NULL. */
void mt_bridges_destroy(mt_bridges_t **bridges_p);
/** Look up a raw fingerprint (20 or 32 bytes). Return the bridge (borrowed from the list) or
 *  NULL if unknown. */
const mt_bridge_t *mt_bridges_lookup(const mt_bridges_t *bridges, const unsigned char *fp,
                                     size_t fp_len);
/** Return the number of bridges. */
size_t mt_bridges_size(const mt_bridges_t *bridges);

#endif
