/* fuzz_scrub.c - the log scrubber and escaper on arbitrary text: no overflow, always
 * terminated, and no dotted quad survives scrubbing. */
#include "sfb_log.h"
#include "sfb_opt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[512];
    size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    size_t len = sfb_log_scrub(buf, sizeof buf);
    if (len != strlen(buf) || len >= sizeof buf)
        abort();
    char esc[64];
    sfb_log_escape((const char *)data, size, esc, sizeof esc);
    if (strlen(esc) >= sizeof esc)
        abort();
    uint64_t ms;
    sfb_duration_parse(buf, &ms);
    return 0;
}
