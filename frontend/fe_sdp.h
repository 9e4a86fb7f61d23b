/* fe_sdp.h - the client address hidden in an offer (spec §4.4 step 2, upstream HEAD): when a
 * rendezvous carries no usable peer address (AMP cache, SQS), the client's country comes from
 * the best ICE candidate of its SDP offer. Pure function; thread-safe. */
#ifndef FE_SDP_H
#define FE_SDP_H

#include <stdbool.h>
#include <stddef.h>

/** Parse `offer` (len bytes: a JSON session description {"type":..,"sdp":..}) and write the
 *  address of its best candidate into `out` (size out_size, NUL-terminated): candidates of the
 *  media sections ordered by type preference (host 126 > prflx 110 > srflx 100 > relay 0),
 *  then by ICE priority, both descending; only IP literals count. Return false (out = "") when
 *  anything is missing or malformed, including a non-string type or sdp. */
bool fe_sdp_client_addr(const char *offer, size_t len, char *out, size_t out_size);

#endif
