/* fe_clientip.h - the remote (client or proxy) address of an HTTP request, by upstream's
 * util.GetClientIp rule (spec §2.12, realclientip-go v1.0.0): Forwarded leftmost non-private,
 * then X-Forwarded-For leftmost non-private, then the TCP peer. Called by fe_http for every
 * request; pure functions, thread-safe. The result is canonical Go text (IPv4-mapped IPv6 as
 * dotted IPv4, IPv6 in RFC 5952 form, "%zone" kept). */
#ifndef FE_CLIENTIP_H
#define FE_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

/** Room for the longest result: an IPv6 text, "%", and a zone, plus the NUL. */
#define FE_CLIENTIP_MAX 128

/** One header value (not NUL-terminated), borrowed from the request. */
typedef struct {
    const char *ptr; /* header value */
    size_t len;      /* bytes */
} fe_hdr_t;

/** Parse `text` (len bytes) as realclientip's ParseIPAddr does: an optional ":port" (Go
 *  SplitHostPort), one pair of [], an optional "%zone", then an IPv4 or IPv6 address that is
 *  not unspecified. On success write the canonical text to out (FE_CLIENTIP_MAX bytes), set
 *  *is_private for addresses in the upstream private/local list, and return true. */
bool fe_clientip_parse(const char *text, size_t len, char *out, bool *is_private);

/** Write the client address to out (FE_CLIENTIP_MAX bytes) and return its length (0 when no
 *  rule gives an address). With trusted_hops == 0 only the TCP peer `remote` ("ip:port" or
 *  "[v6]:port", may be NULL) counts; otherwise the Forwarded values fwd[0..n_fwd) and the
 *  X-Forwarded-For values xff[0..n_xff), in header order, are tried first (spec §2.12). */
size_t fe_clientip_resolve(unsigned trusted_hops, const fe_hdr_t *fwd, size_t n_fwd,
                           const fe_hdr_t *xff, size_t n_xff, const char *remote, char *out);

#endif
