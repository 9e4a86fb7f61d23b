/* md_cc.c - see md_cc.h. */
#include "md_cc.h"

#include <string.h>

static const char s_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789?";
#define S_N 37

static int
s_index(char c)
{
    const char *p = c ? strchr(s_alphabet, c) : NULL;
    return p ? (int)(p - s_alphabet) : -1;
}

size_t
md_cc_slot(const char *cc)
{
    int a = cc && cc[0] ? s_index(cc[0]) : -1;
    int b = a >= 0 ? s_index(cc[1]) : -1;
    if (a < 0 || b < 0 || cc[2] != '\0')
        return (size_t)(S_N - 1) * S_N + (S_N - 1); /* "??" */
    return (size_t)a * S_N + (size_t)b;
}

char *
md_cc_name(size_t slot, char out[3])
{
    if (slot >= MD_CC_SLOTS)
        slot = MD_CC_SLOTS - 1;
    out[0] = s_alphabet[slot / S_N];
    out[1] = s_alphabet[slot % S_N];
    out[2] = '\0';
    return out;
}
