/* fuzz_opts.c - option parsing on arbitrary --config files: every value goes through the
 * same checks as the command line; nothing crashes, the result is RUN or ERROR. */
#include "sfb_log.h"
#include "sfb_opt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* clang-format off */
static const sfb_opt_t s_table[] = {
    {"addr",          SFB_OPT_STR,      ":443",  0, 0,  "listen address"},
    {"disable-tls",   SFB_OPT_BOOL,     "false", 0, 0,  "plain HTTP"},
    {"trusted-hops",  SFB_OPT_UINT,     "0",     0, 16, "forwarding hops"},
    {"proxy-timeout", SFB_OPT_DURATION, "10s",   1, 0,  "hold"},
    {"acme-email",    SFB_OPT_REFUSED,  NULL,    0, 0,  "use --cert/--key"},
};
/* clang-format on */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/fuzz_opts.%d", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char *argv[] = {"fuzz", "-config", path, NULL};
    sfb_opts_t *o = NULL;
    sfb_opts_action_t a =
        sfb_opts_parse(s_table, sizeof s_table / sizeof s_table[0], "fuzz", "fuzz", 3, argv, &o);
    if (a != SFB_OPTS_RUN && a != SFB_OPTS_ERROR && a != SFB_OPTS_CHECK && a != SFB_OPTS_EXIT)
        abort();
    if (a == SFB_OPTS_RUN &&
        (sfb_opts_uint(o, "trusted-hops") > 16 || sfb_opts_ms(o, "proxy-timeout") < 1))
        abort(); /* range checks hold for config files too */
    sfb_opts_destroy(&o);
    unlink(path);
    return 0;
}
