/* md_cc.h - country codes as dense slot numbers, so per-country counters are plain arrays of
 * atomics that a reader can scan without a lock. A code is two characters from [A-Z0-9?];
 * anything else (empty, lowercase, longer) is filed under "??". Pure; thread-safe. */
#ifndef MD_CC_H
#define MD_CC_H

#include <stddef.h>

/** Number of slots: 37 * 37 two-character codes. */
#define MD_CC_SLOTS (37 * 37)

/** Return the slot of the NUL-terminated code `cc`; codes outside [A-Z0-9?]{2} give "??". */
size_t md_cc_slot(const char *cc);
/** Write the two-character code of `slot` and a NUL into `out`. Return `out`. */
char *md_cc_name(size_t slot, char out[3]);

#endif
