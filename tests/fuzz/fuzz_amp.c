/* fuzz_amp.c - AMP path decoding and armor decoding on arbitrary input, and
 * armor_decode(armor_encode(x)) == x. */
#include "sfb_amp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfb_buf_t out, html, back;
    sfb_buf_init(&out);
    sfb_buf_init(&html);
    sfb_buf_init(&back);
    sfb_amp_path_decode((const char *)data, size, &out);
    sfb_buf_reset(&out);
    sfb_amp_armor_decode((const char *)data, size, &out);
    sfb_amp_armor_encode(data, size, &html);
    if (sfb_amp_armor_decode(html.data, html.len, &back) != SFB_OK || back.len != size ||
        (size && memcmp(back.data, data, size) != 0))
        abort();
    sfb_buf_reset(&out);
    static const unsigned char nonce[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    sfb_amp_path_encode(data, size, nonce, sizeof nonce, &out);
    sfb_buf_reset(&back);
    if (sfb_amp_path_decode(out.data, out.len, &back) != SFB_OK || back.len != size ||
        (size && memcmp(back.data, data, size) != 0))
        abort();
    sfb_buf_dispose(&out);
    sfb_buf_dispose(&html);
    sfb_buf_dispose(&back);
    return 0;
}
