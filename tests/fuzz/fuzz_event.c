/* fuzz_event.c - sfb_event_decode on arbitrary bodies; round trip of what decodes. */
#include "sfb_event.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfb_event_t ev;
    if (sfb_event_decode(data, size, &ev) != SFB_OK)
        return 0;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_event_encode(&ev, &b);
    sfb_event_t again;
    if (sfb_event_decode(b.data, b.len, &again) != SFB_OK || again.seq != ev.seq ||
        again.kind != ev.kind || again.outcome != ev.outcome || strcmp(again.cc, ev.cc) != 0 ||
        again.has_tag != ev.has_tag)
        abort();
    sfb_buf_dispose(&b);
    return 0;
}
