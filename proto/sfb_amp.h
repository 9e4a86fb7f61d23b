/* sfb_amp.h - AMP cache rendezvous encodings (spec §5): the request path codec and the
 * HTML armor of responses. The frontend decodes paths and encodes armor; the encoders of
 * paths and the armor decoder serve tests and fuzzing. Pure functions, thread-safe. */
#ifndef SFB_AMP_H
#define SFB_AMP_H

#include "sfb_buf.h"
#include "sfb_types.h"

#include <stddef.h>

/** Decode `path` (the part after "/amp/client/", already percent-decoded) per spec §5.1 and
 *  append the data to `out`. Returns SFB_OK, or SFB_BAD_VALUE (missing/unknown format
 *  indicator, missing data) or SFB_BAD_SYNTAX (bad base64url). On failure `out` is left as
 *  it was. */
sfb_rc_t sfb_amp_path_decode(const char *path, size_t len, sfb_buf_t *out);

/** Append "0" + base64url(nonce) + "/" + base64url(data) (no padding) to `out`. */
void sfb_amp_path_encode(const void *data, size_t len, const unsigned char *nonce, size_t nonce_len,
                         sfb_buf_t *out);

/** Append the whole AMP HTML document armoring `data` (spec §5.2) to `out`. */
void sfb_amp_armor_encode(const void *data, size_t len, sfb_buf_t *out);

/** Decode an AMP armored HTML document (spec §5.3) and append the data to `out`.
 *  Returns SFB_OK or SFB_BAD_SYNTAX / SFB_BAD_VERSION. On failure `out` is left as it was. */
sfb_rc_t sfb_amp_armor_decode(const char *html, size_t len, sfb_buf_t *out);

#endif
