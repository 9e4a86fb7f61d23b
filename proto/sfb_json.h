/* sfb_json.h - the Snowflake JSON messages of spec §3, decoded with jansson (strict: invalid
 * UTF-8, NUL escapes and trailing garbage are refused) under the Go-JSON rules of spec §3.1
 * that real peers rely on: keys match case-insensitively, unknown keys are ignored, the last
 * duplicate wins, null leaves the zero value, wrong JSON types are errors. Encoders emit the
 * exact bytes Go's encoding/json produces (field order fixed, <>& and U+2028/9 escaped).
 * Called by the frontend (and tests); pure functions, thread-safe. Decoded strings are owned
 * by the result struct and freed by its _dispose. */
#ifndef SFB_JSON_H
#define SFB_JSON_H

#include "sfb_buf.h"
#include "sfb_types.h"

#include <stdbool.h>
#include <stdint.h>

/** A proxy poll request (spec §3.2). */
typedef struct {
    char *sid;              /* owned, non-empty */
    size_t sid_len;         /* bytes */
    sfb_proxy_type_t ptype; /* unrecognised types are UNKNOWN */
    sfb_nat_t nat;          /* "" is UNKNOWN */
    int64_t clients;        /* as sent, may be negative */
    bool has_pattern;       /* AcceptedRelayPattern present and a string */
    char *pattern;          /* owned; "" when absent */
    size_t pattern_len;     /* bytes */
} sfb_proxy_poll_t;

/** Decode a proxy poll body. Returns SFB_OK, or SFB_BAD_SYNTAX (not JSON / not an object),
 *  SFB_BAD_TYPE (a field of the wrong JSON type), SFB_BAD_VERSION (major not "1"),
 *  SFB_BAD_VALUE (no Sid, invalid NAT). On error *out is left disposed (nothing to free). */
sfb_rc_t sfb_proxy_poll_decode(const char *body, size_t len, sfb_proxy_poll_t *out);
void sfb_proxy_poll_dispose(sfb_proxy_poll_t *p);

/** A proxy answer request (spec §3.4). */
typedef struct {
    char *sid;         /* owned, non-empty */
    size_t sid_len;    /* bytes */
    char *answer;      /* owned, non-empty, opaque */
    size_t answer_len; /* bytes */
} sfb_proxy_answer_t;

/** Decode a /answer body (without the raw "a=candidate" check, which the caller does first).
 *  Returns SFB_OK, SFB_BAD_SYNTAX, SFB_BAD_TYPE, SFB_BAD_VERSION or SFB_BAD_VALUE. */
sfb_rc_t sfb_proxy_answer_decode(const char *body, size_t len, sfb_proxy_answer_t *out);
void sfb_proxy_answer_dispose(sfb_proxy_answer_t *a);

/** A current-format client poll request (spec §3.6), "1.0\n{...}". */
typedef struct {
    char *offer;                           /* owned, non-empty, opaque */
    size_t offer_len;                      /* bytes */
    sfb_nat_t nat;                         /* "" is UNKNOWN */
    unsigned char fp[SFB_FINGERPRINT_MAX]; /* raw fingerprint; default when absent */
    size_t fp_len;                         /* 20 or 32 */
} sfb_client_poll_t;

/** Decode a client poll body. On failure return the spec §3.6 error text to put in
 *  {"error": ...} (a static string that never echoes input) and leave *out disposed; on
 *  success return NULL. */
const char *sfb_client_poll_decode(const char *body, size_t len, sfb_client_poll_t *out);
void sfb_client_poll_dispose(sfb_client_poll_t *c);

/** Append `s` (len bytes) to `out` as a JSON string literal, quotes included, escaped exactly
 *  as Go's encoding/json does (spec §3.1; invalid UTF-8 becomes \ufffd). */
void sfb_json_append_string(sfb_buf_t *out, const char *s, size_t len);

/** Append a proxy poll response: {"Status":..,"Offer":..,"NAT":..,"RelayURL":..}. `nat` may be
 *  NULL for the empty string (no-match and rejected forms). */
void sfb_json_proxy_response(sfb_buf_t *out, const char *status, const char *offer,
                             size_t offer_len, const char *nat, const char *relay_url,
                             size_t relay_len);

/** Append a client poll response: {"answer":".."} when `answer` is non-NULL, else
 *  {"error":".."}. Both keys are omitempty as in Go, so an empty answer falls back to the
 *  error and "{}" results when both are empty. */
void sfb_json_client_response(sfb_buf_t *out, const char *answer, size_t answer_len,
                              const char *error);

#endif
