/* sfb_types.h - the small vocabularies shared by every process: NAT types, proxy types,
 * rendezvous methods, and result codes. Pure functions; thread-safe. */
#ifndef SFB_TYPES_H
#define SFB_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/** Result codes of parsers and decoders. Bad input yields one of these, never an abort. */
typedef enum {
    SFB_OK = 0,
    SFB_TRUNCATED,   /* input ended early */
    SFB_BAD_SYNTAX,  /* not the expected encoding (JSON, msgpack, base64, ...) */
    SFB_BAD_TYPE,    /* a field has the wrong type, or a message kind is unknown */
    SFB_BAD_VERSION, /* unsupported protocol or message version */
    SFB_BAD_VALUE,   /* a field is missing, empty or out of range */
    SFB_TOO_BIG,     /* a length exceeds its limit */
} sfb_rc_t;

/** Return a static name for `rc` ("ok", "truncated", ...). */
const char *sfb_rc_str(sfb_rc_t rc);

/** NAT type as reported by proxies and clients (spec §3.2, §3.6). */
typedef enum {
    SFB_NAT_UNKNOWN = 0,
    SFB_NAT_RESTRICTED,
    SFB_NAT_UNRESTRICTED,
} sfb_nat_t;
#define SFB_NAT_COUNT 3

/** Proxy implementation type (spec §3.2); anything unrecognised is UNKNOWN. */
typedef enum {
    SFB_PROXY_UNKNOWN = 0,
    SFB_PROXY_STANDALONE,
    SFB_PROXY_WEBEXT,
    SFB_PROXY_BADGE,
    SFB_PROXY_IPTPROXY,
} sfb_proxy_type_t;
#define SFB_PROXY_TYPE_COUNT 5

/** Rendezvous method of a client poll (spec §3.8). */
typedef enum {
    SFB_METHOD_HTTP = 0,
    SFB_METHOD_AMPCACHE,
    SFB_METHOD_SQS,
} sfb_method_t;
#define SFB_METHOD_COUNT 3

/** Return the wire name of `nat` ("unknown", "restricted", "unrestricted"). */
const char *sfb_nat_str(sfb_nat_t nat);
/** Parse a NAT name per spec §3.2: "" and "unknown" give UNKNOWN. Return false if invalid. */
bool sfb_nat_parse(const char *s, size_t len, sfb_nat_t *out);
/** Return the wire name of `type` ("standalone", ..., "unknown"). */
const char *sfb_proxy_type_str(sfb_proxy_type_t type);
/** Map a proxy's Type string to its type; anything not recognised (case-sensitive) is UNKNOWN. */
sfb_proxy_type_t sfb_proxy_type_parse(const char *s, size_t len);
/** Return the wire name of `method` ("http", "ampcache", "sqs"). */
const char *sfb_method_str(sfb_method_t method);

/** Return true if `s` (len bytes) is a country code as carried between processes: two
 *  ASCII letters, "??" for an address the database does not know, or "" when no
 *  geolocation database is loaded (upstream then keeps no proxy IP statistics, spec §8.2). */
bool sfb_cc_is_valid(const char *s, size_t len);

/** Default bridge (spec §3.8). */
#define SFB_DEFAULT_FINGERPRINT "2B280B23E1107BB62ABFC40DDCC8824814F80A72"
#define SFB_DEFAULT_RELAY_URL "wss://snowflake.torproject.net/"
/** Longest raw bridge fingerprint in bytes (spec §3.6: 20 or 32). */
#define SFB_FINGERPRINT_MAX 32

/** Decode hex (either case) into `out`; accept only 20 or 32 bytes. Return the byte count,
 *  or 0 if `hex` is not valid hex of one of those lengths. */
size_t sfb_fingerprint_decode(const char *hex, size_t len, unsigned char out[SFB_FINGERPRINT_MAX]);

#endif
