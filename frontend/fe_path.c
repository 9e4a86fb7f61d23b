/* fe_path.c - see fe_path.h. Helpers are named after the Go functions they reproduce
 * (net/url unescape, escape, validEncoded; net/http cleanPath, ServeMux.findHandler). */
#include "fe_path.h"

#include <stdbool.h>
#include <string.h>

static const char s_amp_prefix[] = "/amp/client/";

void
fe_path_init(fe_path_t *p)
{
    p->route = FE_ROUTE_NOT_FOUND;
    sfb_buf_init(&p->location);
    sfb_buf_init(&p->amp);
}

void
fe_path_dispose(fe_path_t *p)
{
    sfb_buf_dispose(&p->location);
    sfb_buf_dispose(&p->amp);
}

static int
s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* url.unescape(s, encodePath): every '%' must start a two-digit hex escape. */
static bool
s_unescape(const char *s, size_t len, sfb_buf_t *out)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            sfb_buf_putc(out, s[i]);
            continue;
        }
        if (i + 2 >= len)
            return false;
        int hi = s_hex(s[i + 1]), lo = s_hex(s[i + 2]);
        if (hi < 0 || lo < 0)
            return false;
        sfb_buf_putc(out, (char)(hi << 4 | lo));
        i += 2;
    }
    return true;
}

static bool
s_is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* !shouldEscape(c, encodePath) */
static bool
s_path_safe(unsigned char c)
{
    return s_is_alnum(c) || (c != '\0' && strchr("-_.~$&+,/:;=@", c) != NULL);
}

/* url.escape(s, encodePath) */
static void
s_escape(const char *s, size_t len, sfb_buf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (s_path_safe(c)) {
            sfb_buf_putc(out, (char)c);
        } else {
            sfb_buf_putc(out, '%');
            sfb_buf_putc(out, hex[c >> 4]);
            sfb_buf_putc(out, hex[c & 15]);
        }
    }
}

/* url.validEncoded(s, encodePath) */
static bool
s_valid_encoded(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!s_path_safe(c) && (c == '\0' || strchr("!'()*[]%", c) == NULL))
            return false;
    }
    return true;
}

/* path.Clean for a rooted path, then net/http cleanPath's trailing-slash rule. */
static void
s_clean_path(const char *p, size_t len, sfb_buf_t *out)
{
    sfb_buf_reset(out);
    sfb_buf_putc(out, '/');
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            i++;
        size_t start = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - start;
        if (n == 0 || (n == 1 && p[start] == '.'))
            continue;
        if (n == 2 && p[start] == '.' && p[start + 1] == '.') {
            while (out->len > 1 && out->data[out->len - 1] != '/')
                out->len--;
            if (out->len > 1)
                out->len--; /* the slash before the dropped element */
            out->data[out->len] = '\0';
            continue;
        }
        if (out->len > 1)
            sfb_buf_putc(out, '/');
        sfb_buf_append(out, p + start, n);
    }
    if (len > 0 && p[len - 1] == '/' && out->len > 1)
        sfb_buf_putc(out, '/');
}

/* Match a cleaned, escaped path against the routes; *exact as Go's exactMatch(). */
static fe_route_t
s_match(const char *path, size_t len, bool *exact)
{
    static const struct {
        const char *name;
        fe_route_t route;
    } exacts[] = {
        {"robots.txt", FE_ROUTE_ROBOTS},     {"proxy", FE_ROUTE_PROXY},
        {"client", FE_ROUTE_CLIENT},         {"answer", FE_ROUTE_ANSWER},
        {"debug", FE_ROUTE_DEBUG},           {"metrics", FE_ROUTE_METRICS},
        {"prometheus", FE_ROUTE_PROMETHEUS},
    };
    sfb_buf_t seg[3];
    size_t nseg = 0, slashes = 0, i = 1;
    bool done = false;
    *exact = false;
    fe_route_t r = FE_ROUTE_NOT_FOUND;
    for (size_t k = 0; k < 3; k++)
        sfb_buf_init(&seg[k]);
    for (size_t k = 0; k < len; k++)
        slashes += path[k] == '/';
    while (!done && nseg < 3 && i <= len) { /* the first three segments, unescaped */
        const char *slash = memchr(path + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - path) : len;
        s_unescape(path + i, end - i, &seg[nseg]);
        sfb_buf_putc(&seg[nseg], '\0');
        nseg++;
        done = slash == NULL;
        i = end + 1;
    }
    if (slashes == 1) {
        for (size_t k = 0; k < sizeof exacts / sizeof exacts[0]; k++) {
            if (seg[0].len == strlen(exacts[k].name) + 1 &&
                memcmp(seg[0].data, exacts[k].name, seg[0].len) == 0) {
                r = exacts[k].route;
                *exact = true;
            }
        }
    } else if (nseg == 3 && strcmp(seg[0].data, "amp") == 0 && strcmp(seg[1].data, "client") == 0 &&
               seg[0].len == 4 && seg[1].len == 7) {
        r = FE_ROUTE_AMP_CLIENT;
        *exact = slashes == 3 && path[len - 1] == '/';
    }
    for (size_t k = 0; k < 3; k++)
        sfb_buf_dispose(&seg[k]);
    return r;
}

/* The Location of a redirect: url.URL{Path: path, RawQuery: query}.String() as http.Redirect
 * then writes it (already clean, ASCII only after escaping). */
static void
s_location(fe_path_t *p, const char *path, size_t len, const char *query, size_t qlen)
{
    s_escape(path, len, &p->location);
    if (qlen > 0) {
        sfb_buf_putc(&p->location, '?');
        sfb_buf_append(&p->location, query, qlen);
    }
    p->route = FE_ROUTE_REDIRECT;
}

fe_route_t
fe_path_route(const char *target, size_t len, fe_path_t *p)
{
    sfb_buf_reset(&p->location);
    sfb_buf_reset(&p->amp);
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    const char *query = q ? q + 1 : "";
    size_t qlen = q ? len - plen - 1 : 0;
    sfb_buf_t decoded, escaped, cleaned;
    sfb_buf_init(&decoded);
    sfb_buf_init(&escaped);
    sfb_buf_init(&cleaned);
    p->route = FE_ROUTE_BAD_REQUEST;
    if (plen == 0 || target[0] != '/' || !s_unescape(target, plen, &decoded))
        goto done;
    if (s_valid_encoded(target, plen))
        sfb_buf_append(&escaped, target, plen);
    else
        s_escape(decoded.data, decoded.len, &escaped);
    s_clean_path(escaped.data, escaped.len, &cleaned);
    bool exact;
    p->route = s_match(cleaned.data, cleaned.len, &exact);
    if (!exact && cleaned.data[cleaned.len - 1] != '/') {
        sfb_buf_putc(&cleaned, '/');
        bool exact2;
        if (s_match(cleaned.data, cleaned.len, &exact2) != FE_ROUTE_NOT_FOUND && exact2) {
            sfb_buf_t c2;
            sfb_buf_init(&c2);
            s_clean_path(decoded.data, decoded.len, &c2);
            if (c2.data[c2.len - 1] != '/')
                sfb_buf_putc(&c2, '/');
            s_location(p, c2.data, c2.len, query, qlen);
            sfb_buf_dispose(&c2);
            goto done;
        }
        cleaned.len--;
        cleaned.data[cleaned.len] = '\0';
    }
    if (cleaned.len != escaped.len || memcmp(cleaned.data, escaped.data, cleaned.len) != 0) {
        s_location(p, cleaned.data, cleaned.len, query, qlen);
        goto done;
    }
    if (p->route == FE_ROUTE_AMP_CLIENT) {
        size_t pre = sizeof s_amp_prefix - 1;
        if (decoded.len >= pre && memcmp(decoded.data, s_amp_prefix, pre) == 0)
            sfb_buf_append(&p->amp, decoded.data + pre, decoded.len - pre);
        else
            p->route = FE_ROUTE_NOT_FOUND;
    }
done:
    sfb_buf_dispose(&decoded);
    sfb_buf_dispose(&escaped);
    sfb_buf_dispose(&cleaned);
    return p->route;
}

void
fe_path_redirect_body(const char *location, size_t len, sfb_buf_t *out)
{
    sfb_buf_puts(out, "<a href=\"");
    for (size_t i = 0; i < len; i++) {
        switch (location[i]) {
        case '&':
            sfb_buf_puts(out, "&amp;");
            break;
        case '\'':
            sfb_buf_puts(out, "&#39;");
            break;
        case '<':
            sfb_buf_puts(out, "&lt;");
            break;
        case '>':
            sfb_buf_puts(out, "&gt;");
            break;
        case '"':
            sfb_buf_puts(out, "&#34;");
            break;
        default:
            sfb_buf_putc(out, location[i]);
        }
    }
    sfb_buf_puts(out, "\">Moved Permanently</a>.\n\n");
}
