/* md_set.h - a set of 64-bit keys (open addressing, linear probing) for the per-interval
 * "seen this tag" markers of spec §8.1. 8 bytes per slot, at most 3/4 full; Fibonacci hashing
 * picks the home slot, so keys need not be well mixed.
 * Not thread-safe: owned by metricsd's receiving thread; readers use the counters instead. */
#ifndef MD_SET_H
#define MD_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct md_set md_set_t;

/** Create an empty set. Never NULL (OOM aborts). */
md_set_t *md_set_new(void);
/** Destroy the set and set *set_p to NULL. Accepts NULL and &NULL. */
void md_set_destroy(md_set_t **set_p);
/** Grow the table so `n` keys fit without resizing. Call before bulk inserts whose order
 *  follows the hash (e.g. restoring a saved set), which would otherwise cluster. */
void md_set_reserve(md_set_t *set, size_t n);
/** Add `key`. Return true if it was not in the set yet. */
bool md_set_add(md_set_t *set, uint64_t key);
/** Return true if `key` is in the set. */
bool md_set_has(const md_set_t *set, uint64_t key);
/** Return the number of keys. */
size_t md_set_size(const md_set_t *set);
/** Return the bytes of memory the table uses. */
size_t md_set_bytes(const md_set_t *set);
/** Remove every key. Keeps the table unless it is far larger than needed. */
void md_set_clear(md_set_t *set);
/** Call fn(key, arg) for every key, in no particular order. */
void md_set_foreach(const md_set_t *set, void (*fn)(uint64_t key, void *arg), void *arg);

#endif
