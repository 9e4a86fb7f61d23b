/* sfb_types.c - see sfb_types.h. */
#include "sfb_types.h"

#include <string.h>

const char *
sfb_rc_str(sfb_rc_t rc)
{
    switch (rc) {
    case SFB_OK:
        return "ok";
    case SFB_TRUNCATED:
        return "truncated";
    case SFB_BAD_SYNTAX:
        return "bad syntax";
    case SFB_BAD_TYPE:
        return "bad type";
    case SFB_BAD_VERSION:
        return "bad version";
    case SFB_BAD_VALUE:
        return "bad value";
    case SFB_TOO_BIG:
        return "too big";
    }
    return "invalid rc";
}

static bool
s_eq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

const char *
sfb_nat_str(sfb_nat_t nat)
{
    switch (nat) {
    case SFB_NAT_UNKNOWN:
        return "unknown";
    case SFB_NAT_RESTRICTED:
        return "restricted";
    case SFB_NAT_UNRESTRICTED:
        return "unrestricted";
    }
    return "unknown";
}

bool
sfb_nat_parse(const char *s, size_t len, sfb_nat_t *out)
{
    if (len == 0 || s_eq(s, len, "unknown"))
        *out = SFB_NAT_UNKNOWN;
    else if (s_eq(s, len, "restricted"))
        *out = SFB_NAT_RESTRICTED;
    else if (s_eq(s, len, "unrestricted"))
        *out = SFB_NAT_UNRESTRICTED;
    else
        return false;
    return true;
}

const char *
sfb_proxy_type_str(sfb_proxy_type_t type)
{
    switch (type) {
    case SFB_PROXY_UNKNOWN:
        return "unknown";
    case SFB_PROXY_STANDALONE:
        return "standalone";
    case SFB_PROXY_WEBEXT:
        return "webext";
    case SFB_PROXY_BADGE:
        return "badge";
    case SFB_PROXY_IPTPROXY:
        return "iptproxy";
    }
    return "unknown";
}

sfb_proxy_type_t
sfb_proxy_type_parse(const char *s, size_t len)
{
    if (s_eq(s, len, "standalone"))
        return SFB_PROXY_STANDALONE;
    if (s_eq(s, len, "webext"))
        return SFB_PROXY_WEBEXT;
    if (s_eq(s, len, "badge"))
        return SFB_PROXY_BADGE;
    if (s_eq(s, len, "iptproxy"))
        return SFB_PROXY_IPTPROXY;
    return SFB_PROXY_UNKNOWN;
}

const char *
sfb_method_str(sfb_method_t method)
{
    switch (method) {
    case SFB_METHOD_HTTP:
        return "http";
    case SFB_METHOD_AMPCACHE:
        return "ampcache";
    case SFB_METHOD_SQS:
        return "sqs";
    }
    return "http";
}

static int
s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t
sfb_fingerprint_decode(const char *hex, size_t len, unsigned char out[SFB_FINGERPRINT_MAX])
{
    if (len != 40 && len != 64)
        return 0;
    for (size_t i = 0; i < len; i += 2) {
        int hi = s_hexval(hex[i]), lo = s_hexval(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return len / 2;
}

bool
sfb_cc_is_valid(const char *s, size_t len)
{
    if (len == 0)
        return true;
    if (len != 2)
        return false;
    if (s[0] == '?' && s[1] == '?')
        return true;
    for (size_t i = 0; i < 2; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}
