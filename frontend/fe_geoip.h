/* fe_geoip.h - address -> country code, where an address is first seen (the frontend).
 * Sources: Tor's geoip text files (spec §9, Debian's tor-geoipdb) and MaxMind .mmdb files
 * through libmaxminddb. Loaded once at startup (and on SIGHUP into a new object); lookups are
 * read-only and may run from any thread. */
#ifndef FE_GEOIP_H
#define FE_GEOIP_H

#include <stdbool.h>

typedef struct fe_geoip fe_geoip_t;

/** Create an empty database: every lookup gives "??". Never NULL. */
fe_geoip_t *fe_geoip_new(void);
/** Destroy the database and set *geoip_p to NULL. Accepts NULL and &NULL. */
void fe_geoip_destroy(fe_geoip_t **geoip_p);

/** Load Tor-format files: `v4_path` ("INTLOW,INTHIGH,CC" lines) and `v6_path`
 *  ("V6LOW,V6HIGH,CC"); '#' comments and blank lines are skipped; any other line that does
 *  not split into exactly three fields fails the whole load. Either path may be NULL.
 *  Return 0, or -1 (and log why) leaving the previous tables in place. */
int fe_geoip_load_tor(fe_geoip_t *geoip, const char *v4_path, const char *v6_path);

/** Open a MaxMind database (country/iso_code). It takes precedence over Tor tables.
 *  Return 0, or -1 (and log why). */
int fe_geoip_load_mmdb(fe_geoip_t *geoip, const char *path);

/** Return true if any source is loaded. */
bool fe_geoip_is_loaded(const fe_geoip_t *geoip);

/** Write the two-letter country code of the textual address `addr` into `cc`, or "??" when
 *  unknown, unparsable or empty. IPv4-mapped IPv6 addresses use the IPv4 table. */
void fe_geoip_lookup(const fe_geoip_t *geoip, const char *addr, char cc[3]);

#endif
