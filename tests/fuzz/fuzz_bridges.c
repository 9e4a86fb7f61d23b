/* fuzz_bridges.c - the matcher's bridge list parser (spec §4.8) on arbitrary files. */
#include "mt_bridges.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_bridges_t *b = NULL;
    char err[256];
    if (mt_bridges_parse((const char *)data, size, &b, err, sizeof err) == 0) {
        if (b == NULL)
            abort();
        unsigned char fp[32] = {0};
        memcpy(fp, data, size < sizeof fp ? size : sizeof fp);
        mt_bridges_lookup(b, fp, 20);
        mt_bridges_lookup(b, fp, 32);
        mt_bridges_destroy(&b);
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        abort(); /* the error text must be terminated */
    }
    return 0;
}
