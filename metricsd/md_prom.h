/* md_prom.h - the cumulative Prometheus counters of spec §8.9 (never reset, like upstream's
 * registry) and their text exposition (format 0.0.4, as client_golang writes it: families
 * sorted by name, series by label values, labels by name, Go %g values, families without
 * series omitted). Writers: metricsd's receiving thread only (relaxed atomic increments).
 * Readers: any thread, lock-free (the REPORT_GET server and the HTTP endpoint). */
#ifndef MD_PROM_H
#define MD_PROM_H

#include "md_cc.h"
#include "sfb_buf.h"
#include "sfb_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Relay-pattern families (spec §4.9). */
typedef enum {
    MD_RELAY_WITH = 0, /* poll sent AcceptedRelayPattern */
    MD_RELAY_WITHOUT,  /* poll did not */
    MD_RELAY_REJECTED, /* poll refused by the relay check */
} md_relay_t;
#define MD_RELAY_COUNT 3

/** Client poll status label. */
typedef enum {
    MD_CLIENT_DENIED = 0,
    MD_CLIENT_MATCHED,
    MD_CLIENT_TIMEOUT,
} md_client_status_t;
#define MD_CLIENT_STATUS_COUNT 3

typedef struct md_prom md_prom_t;

/** Create zeroed counters. Never NULL. */
md_prom_t *md_prom_new(void);
/** Destroy and set *prom_p to NULL. Accepts NULL and &NULL. */
void md_prom_destroy(md_prom_t **prom_p);

/** snowflake_proxy_total{cc,nat,type}++ (exact; first poll of a tag per interval). */
void md_prom_proxy_total(md_prom_t *prom, size_t cc_slot, sfb_nat_t nat, sfb_proxy_type_t type);
/** snowflake_rounded_proxy_poll_total{nat,status,type}++, status "matched" or "idle". */
void md_prom_proxy_poll(md_prom_t *prom, sfb_nat_t nat, sfb_proxy_type_t type, bool matched);
/** One of the three relay-url families {nat,type}++. */
void md_prom_relay(md_prom_t *prom, md_relay_t which, sfb_nat_t nat, sfb_proxy_type_t type);
/** snowflake_rounded_client_poll_total{cc,nat,rendezvous_method,status}++. */
void md_prom_client_poll(md_prom_t *prom, size_t cc_slot, sfb_nat_t nat, sfb_method_t method,
                         md_client_status_t status);
/** snowflake_rounded_proxy_answer_total++: {type=<type>,status="success"} when `success`,
 *  else {type="",status="timeout"} as upstream HEAD does for "client gone". */
void md_prom_answer(md_prom_t *prom, bool success, sfb_proxy_type_t type);

/** A sample of snowflake_available_proxies older than this (metricsd's monotonic clock) is not
 *  exposed: the matcher is gone or not answering, and a frozen gauge would mislead. */
#define MD_PROM_AVAILABLE_STALE_MS 5000

/** Set the gauge snowflake_available_proxies{nat,type} to the matcher's counts (POOL_REPLY),
 *  sampled at monotonic `mono_ms`. A series appears once it has been non-zero, and then stays,
 *  at 0 when empty, as upstream's GaugeVec does. Readers may see cells of two consecutive
 *  samples at once; each cell is always one sample's value. */
void md_prom_available(md_prom_t *prom, const uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT],
                       uint64_t mono_ms);

/** Append the exposition text of every family that has a series. */
void md_prom_format(const md_prom_t *prom, sfb_buf_t *out);

/** Append one family with a single unlabelled series ("# HELP", "# TYPE", value). `type` is
 *  "counter" or "gauge". For metricsd's own health figures. */
void md_prom_format_simple(sfb_buf_t *out, const char *name, const char *help, const char *type,
                           uint64_t value);

/** Format `v` like Go's strconv.FormatFloat(v, 'g', -1, 64) ("8", "1e+06", "1.234567e+06")
 *  into `out` (at least 32 bytes). Return `out`. */
char *md_prom_fmt_g(double v, char *out, size_t size);

#endif
