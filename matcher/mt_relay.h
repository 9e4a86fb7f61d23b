/* mt_relay.h - relay-pattern name matchers (upstream common/namematcher) and the proxy
 * acceptance check of spec §4.9. Immutable after creation; pure functions. */
#ifndef MT_RELAY_H
#define MT_RELAY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mt_relay mt_relay_t;

/** Parse `pattern` (len bytes): drop one trailing '$'; a leading '^' then makes the matcher
 *  exact and is dropped; the rest is the suffix. Never NULL (OOM aborts). */
mt_relay_t *mt_relay_new(const char *pattern, size_t len);
/** Destroy the matcher and set *relay_p to NULL. Accepts NULL and &NULL. */
void mt_relay_destroy(mt_relay_t **relay_p);
/** Return true if the name `s` matches: exact -> equal to the suffix; else ends with it. */
bool mt_relay_is_member(const mt_relay_t *relay, const char *s, size_t len);
/** Return true if every name `b` matches is matched by `a` (upstream IsSupersetOf). */
bool mt_relay_is_superset(const mt_relay_t *a, const mt_relay_t *b);
/** The §4.9 check: a proxy is accepted only if it sent a pattern (`has_pattern`) and the
 *  matcher of that pattern is a superset of `allowed`. Does not allocate. */
bool mt_relay_accepts(const mt_relay_t *allowed, bool has_pattern, const char *pattern, size_t len);

#endif
