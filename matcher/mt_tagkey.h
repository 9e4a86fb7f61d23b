/* mt_tagkey.h - the key behind the IP tags of proxy-poll events (docs/events.md "Tags"): one
 * random 32-byte key per stats interval (intervals of --metrics-interval aligned to the Unix
 * epoch), a tag = the first 8 bytes of HMAC-SHA256(key, address). The key is kept in
 * --state-dir/tag-key so a restart within an interval keeps the tags, and is replaced and wiped
 * at each interval boundary so tags of different intervals cannot be linked. Owned by the
 * publisher; not thread-safe. */
#ifndef MT_TAGKEY_H
#define MT_TAGKEY_H

#include "sfb_event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Name of the key file inside the state directory. */
#define MT_TAGKEY_FILE "tag-key"
/** Size of the key file: magic (8), interval_ms (8, LE), interval index (8, LE), key (32),
 *  then the first 8 bytes of SHA-256 over those 56 bytes. */
#define MT_TAGKEY_FILE_BYTES 64

typedef struct mt_tagkey mt_tagkey_t;

/** Create the key for the interval of `interval_ms` (> 0) that contains the wall-clock time
 *  `now_ms`. With a `state_dir` (created 0700 if missing), reuse `state_dir`/tag-key if it is
 *  intact and for that same interval and length; otherwise (absent, stale, or corrupted:
 *  the latter with a warning) make a new random key and write it (mode 0600, temporary file,
 *  fsync, rename). Without one (NULL or ""), keep the key in memory only and log a notice
 *  that a restart changes the tags. Return NULL (after logging why) if the state directory
 *  or file cannot be written. */
mt_tagkey_t *mt_tagkey_new(const char *state_dir, uint64_t interval_ms, uint64_t now_ms);
/** Wipe the key from memory, free, and set *tk_p to NULL (the file stays, for a restart).
 *  Accepts NULL and &NULL. */
void mt_tagkey_destroy(mt_tagkey_t **tk_p);

/** Write into `tag` the first SFB_EVENT_TAG_BYTES bytes of HMAC-SHA256(K, addr) where K is the
 *  key of the interval containing `now_ms` (pass the event's own timestamp). If now_ms is in
 *  a later interval than the current key, first replace the key by a fresh one, wipe the
 *  old one from memory and overwrite the file (a failed write is logged; the new key is then
 *  in memory only). If now_ms is in the interval just before the key's (the wall clock
 *  stepped back a little), keep the current key: an old key is never recreated. If it is
 *  further back (the clock had jumped ahead), make a new key for now_ms's interval. Does not
 *  allocate, except when it replaces the key. */
void mt_tagkey_tag(mt_tagkey_t *tk, const void *addr, size_t addr_len, uint64_t now_ms,
                   unsigned char tag[SFB_EVENT_TAG_BYTES]);
/** Return the index (start / interval_ms) of the interval the current key belongs to. */
uint64_t mt_tagkey_interval(const mt_tagkey_t *tk);
/** Return true if the key is kept in a state file. */
bool mt_tagkey_is_persistent(const mt_tagkey_t *tk);

#endif
