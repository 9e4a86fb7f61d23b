/* fuzz_json.c - the Snowflake JSON decoders on arbitrary bodies, and the Go-style string
 * encoder: whatever it writes must parse back (jansson) to the input when that is UTF-8. */
#include "sfb_json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_string_round_trip(const char *s, size_t n)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_json_append_string(&b, s, n);
    json_error_t err;
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v == NULL || !json_is_string(v))
        abort(); /* the encoder must always produce a valid JSON string */
    json_t *raw = json_stringn(s, n);
    if (raw != NULL && !json_equal(raw, v))
        abort(); /* valid UTF-8 must survive unchanged */
    json_decref(raw);
    json_decref(v);
    sfb_buf_dispose(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    sfb_proxy_poll_t p;
    if (sfb_proxy_poll_decode(s, size, &p) == SFB_OK) {
        if (p.sid == NULL || p.sid_len == 0)
            abort();
        sfb_proxy_poll_dispose(&p);
    }
    sfb_proxy_answer_t a;
    if (sfb_proxy_answer_decode(s, size, &a) == SFB_OK)
        sfb_proxy_answer_dispose(&a);
    sfb_client_poll_t c;
    const char *err = sfb_client_poll_decode(s, size, &c);
    if (err == NULL) {
        if (c.offer_len == 0 || (c.fp_len != 20 && c.fp_len != 32))
            abort();
        sfb_client_poll_dispose(&c);
    }
    s_string_round_trip(s, size);
    return 0;
}
