/* fuzz_geoip.c - the frontend's Tor geoip file loader (spec §9) on arbitrary files, used as
 * the IPv4 and the IPv6 table, then lookups: no crash, and a failed load keeps the old data. */
#include "fe_geoip.h"
#include "sfb_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/fuzz_geoip.%d", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    fe_geoip_t *g = fe_geoip_new();
    char cc[3];
    int v4 = fe_geoip_load_tor(g, path, NULL);
    fe_geoip_lookup(g, "1.2.3.4", cc);
    if (v4 != 0 && strcmp(cc, "??") != 0)
        abort(); /* nothing loaded, nothing found */
    fe_geoip_load_tor(g, NULL, path);
    fe_geoip_lookup(g, "2001:db8::1", cc);
    fe_geoip_lookup(g, "::ffff:10.0.0.1", cc);
    fe_geoip_destroy(&g);
    unlink(path);
    return 0;
}
