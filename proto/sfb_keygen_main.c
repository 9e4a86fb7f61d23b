/* sfb_keygen_main.c - snowflake-keygen PATH: write a new CURVE certificate pair for the
 * internal links, PATH (public: copy it to the peers that must know this process) and
 * PATH_secret (mode 0600: stays with the process, for its --curve-cert PATH). Prints the
 * public key. Refuses to overwrite. Single-threaded; opens no socket. */
#include "sfb_curve.h"

#include <stdio.h>
#include <string.h>

#define S_PROC "snowflake-keygen"

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s PATH\n"
            "Write a new ZeroMQ CURVE certificate: PATH (public key, for the peers' --curve-allow\n"
            "directory or --matcher-key/--metricsd-key) and PATH_secret (mode 0600, for this\n"
            "process's --curve-cert PATH). Existing files are never overwritten.\n",
            S_PROC);
}

int
main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-help") == 0 || strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        s_usage(stdout);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-version") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("%s %s\n", S_PROC, SFB_VERSION);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        s_usage(stderr);
        return 2;
    }
    char err[512], key[SFB_CURVE_KEY_TXT];
    if (sfb_curve_keygen(argv[1], err, sizeof err) != 0 ||
        sfb_curve_load_public(argv[1], key, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", S_PROC, err);
        return 1;
    }
    printf("%s: wrote %s and %s_secret; public key %s\n", S_PROC, argv[1], argv[1], key);
    return 0;
}
