/* md_evjson.h - one event body (a msgpack map, proto/sfb_event.h) as one line of JSON for
 * snowflake-events: keys in the map's order, strings escaped, binary values (the IP tag) as
 * lowercase hex, integers and booleans as such. Pure; thread-safe. */
#ifndef MD_EVJSON_H
#define MD_EVJSON_H

#include "sfb_buf.h"
#include "sfb_types.h"

#include <stddef.h>

/** Append the JSON object for `body` (no newline) to `out`. Return SFB_OK, or the decode
 *  error (SFB_TOO_BIG, SFB_BAD_SYNTAX, SFB_BAD_TYPE when it is not a map with string keys);
 *  `out` is unchanged on error. */
sfb_rc_t md_evjson_format(const void *body, size_t len, sfb_buf_t *out);

#endif
