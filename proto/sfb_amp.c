/* sfb_amp.c - see sfb_amp.h. Mirrors upstream common/amp (path.go, armor_encoder.go,
 * armor_decoder.go). Base64 is done here rather than with OpenSSL because the decoders must
 * match Go's encoding/base64 quirks exactly (skipped newlines, tolerated trailing bits). The
 * armor decoder carries a small port of golang.org/x/net/html's tokenizer, limited to what
 * decides which text lies inside <pre> elements (see s_html_next). */
#include "sfb_amp.h"

#include "sfb_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 (Go encoding/base64 semantics) ------------------------------------------------- */

static const char s_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char s_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
s_b64_encode(sfb_buf_t *out, const unsigned char *p, size_t n, bool url, bool pad)
{
    const char *alpha = url ? s_b64_url : s_b64_std;
    char *o = sfb_buf_reserve(out, (n + 2) / 3 * 4);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        unsigned v = (unsigned)p[i] << 16;
        if (left > 1)
            v |= (unsigned)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        o[k++] = alpha[v >> 18 & 63];
        o[k++] = alpha[v >> 12 & 63];
        if (left > 1)
            o[k++] = alpha[v >> 6 & 63];
        else if (pad)
            o[k++] = '=';
        if (left > 2)
            o[k++] = alpha[v & 63];
        else if (pad)
            o[k++] = '=';
    }
    out->len += k;
    out->data[out->len] = '\0';
}

static int
s_b64_value(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Append the j-1 bytes carried by a quantum of j (2..4) sextets. */
static void
s_b64_flush(sfb_buf_t *out, const unsigned char q[4], size_t j)
{
    unsigned v = (unsigned)q[0] << 18 | (unsigned)q[1] << 12 | (unsigned)q[2] << 6 | q[3];
    char b[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
    sfb_buf_append(out, b, j - 1);
}

static size_t
s_skip_newlines(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* Decode like Go's (non-strict) Encoding.Decode: '\r' and '\n' are skipped anywhere and
 * non-zero trailing bits are tolerated. With `pad` (StdEncoding) a final partial quantum needs
 * its '=' padding and nothing may follow the padding; without it (RawURLEncoding) '=' is an
 * invalid character and a final quantum of 2 or 3 characters stands alone. On failure return
 * false; `out` may then hold a partial result, which the caller discards. */
static bool
s_b64_decode(sfb_buf_t *out, const char *s, size_t n, bool url, bool pad)
{
    unsigned char q[4] = {0};
    size_t j = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i++];
        if (c == '\r' || c == '\n')
            continue;
        int v = s_b64_value(c, url);
        if (v >= 0) {
            q[j++] = (unsigned char)v;
            if (j == 4) {
                s_b64_flush(out, q, 4);
                memset(q, 0, sizeof q);
                j = 0;
            }
            continue;
        }
        if (!pad || c != '=' || j < 2)
            return false;
        if (j == 2) { /* "xx=" must be "xx==" */
            i = s_skip_newlines(s, i, n);
            if (i >= n || s[i] != '=')
                return false;
            i++;
        }
        if (s_skip_newlines(s, i, n) != n)
            return false; /* data after the padding */
        s_b64_flush(out, q, j);
        return true;
    }
    if (j == 0)
        return true;
    if (pad || j == 1)
        return false;
    s_b64_flush(out, q, j);
    return true;
}

/* ---- request path (spec §5.1) -------------------------------------------------------------- */

sfb_rc_t
sfb_amp_path_decode(const char *path, size_t len, sfb_buf_t *out)
{
    if (len == 0)
        return SFB_BAD_VALUE; /* missing format indicator */
    if (path[0] != '0')
        return SFB_BAD_VALUE; /* unknown format indicator */
    /* Everything up to and including the last '/' is a cache breaker; there must be one. */
    const char *slash = memrchr(path + 1, '/', len - 1);
    if (slash == NULL)
        return SFB_BAD_VALUE; /* missing data */
    size_t old_len = out->len;
    if (!s_b64_decode(out, slash + 1, len - (size_t)(slash + 1 - path), true, false)) {
        out->len = old_len;
        if (out->data != NULL)
            out->data[old_len] = '\0';
        return SFB_BAD_SYNTAX;
    }
    return SFB_OK;
}

void
sfb_amp_path_encode(const void *data, size_t len, const unsigned char *nonce, size_t nonce_len,
                    sfb_buf_t *out)
{
    sfb_buf_putc(out, '0');
    s_b64_encode(out, nonce, nonce_len, true, false);
    sfb_buf_putc(out, '/');
    s_b64_encode(out, data, len, true, false);
}

/* ---- armor encoder (spec §5.2) ------------------------------------------------------------- */

#define S_ARMOR_START                                                                              \
    "<!doctype html>\n"                                                                            \
    "<html amp>\n"                                                                                 \
    "<head>\n"                                                                                     \
    "<meta charset=\"utf-8\">\n"                                                                   \
    "<script async src=\"https://cdn.ampproject.org/v0.js\"></script>\n"                           \
    "<link rel=\"canonical\" href=\"#\">\n"                                                        \
    "<meta name=\"viewport\" content=\"width=device-width\">\n"                                    \
    "<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal "        \
    "both;-moz-animation:-amp-start 8s steps(1,end) 0s 1 normal both;-ms-animation:-amp-start "    \
    "8s steps(1,end) 0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal "           \
    "both}@-webkit-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@-moz-"      \
    "keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@-ms-keyframes "           \
    "-amp-start{from{visibility:hidden}to{visibility:visible}}@-o-keyframes "                      \
    "-amp-start{from{visibility:hidden}to{visibility:visible}}@keyframes "                         \
    "-amp-start{from{visibility:hidden}to{visibility:visible}}</style><noscript><style "           \
    "amp-boilerplate>body{-webkit-animation:none;-moz-animation:none;-ms-animation:none;"          \
    "animation:none}</style></noscript>\n"                                                         \
    "</head>\n"                                                                                    \
    "<body>\n"
#define S_ARMOR_END "</body>\n</html>"

/* Upstream caps the text of one element at 32 KiB so that a decoder buffers little; with one
 * whitespace byte per 32-byte chunk (and one at the start) that is 992 chunks. */
#define S_ELEMENT_SIZE_LIMIT (32 * 1024)
#define S_BYTES_PER_CHUNK 32
#define S_CHUNKS_PER_ELEMENT ((S_ELEMENT_SIZE_LIMIT - 1) / (S_BYTES_PER_CHUNK + 1))

/* Cut `p` into 32-byte lines inside <pre> elements, exactly as Go's elementEncoder. */
static void
s_element_encode(sfb_buf_t *out, const char *p, size_t n)
{
    size_t chunk = 0;  /* bytes in the current chunk */
    size_t chunks = 0; /* complete chunks in the current element */
    size_t i = 0;
    while (i < n) {
        if (chunk == 0 && chunks == 0)
            sfb_buf_puts(out, "<pre>\n");
        size_t take = S_BYTES_PER_CHUNK - chunk;
        if (take > n - i)
            take = n - i;
        sfb_buf_append(out, p + i, take);
        i += take;
        chunk += take;
        if (chunk == S_BYTES_PER_CHUNK) {
            chunk = 0;
            chunks++;
            sfb_buf_putc(out, '\n');
        }
        if (chunks == S_CHUNKS_PER_ELEMENT) {
            chunks = 0;
            sfb_buf_puts(out, "</pre>\n");
        }
    }
    if (chunk != 0)
        sfb_buf_puts(out, "\n</pre>\n");
    else if (chunks != 0)
        sfb_buf_puts(out, "</pre>\n");
}

void
sfb_amp_armor_encode(const void *data, size_t len, sfb_buf_t *out)
{
    sfb_buf_t stream;
    sfb_buf_init(&stream);
    sfb_buf_putc(&stream, '0'); /* format version, outside the base64 layer */
    s_b64_encode(&stream, data, len, false, true);
    sfb_buf_puts(out, S_ARMOR_START);
    s_element_encode(out, stream.data, stream.len);
    sfb_buf_puts(out, S_ARMOR_END);
    sfb_buf_dispose(&stream);
}

/* ---- HTML tokenizer (for the armor decoder) ------------------------------------------------ */

/* A port of x/net/html's Tokenizer over an in-memory document. It keeps that tokenizer's token
 * boundaries, raw-text elements (script, style, title, ...; plaintext runs to the end),
 * comments and bogus comments, "</>", self-closing detection (<pre/> opens nothing) and the
 * 32 KiB per-token limit that upstream sets with SetMaxBuf. It is simplified on purpose, since
 * the result only decides which text lies inside <pre>: character references (&amp;, &#48;)
 * are not decoded, so a '&' inside a pre fails base64 where Go might succeed; \r is not
 * normalised (it is whitespace here anyway); <script> ends at the first </script>, without
 * the "<!--" escape states. */
typedef enum {
    S_TT_ERROR, /* end of input (err == S_HTML_EOF) or a failure */
    S_TT_TEXT,
    S_TT_START,
    S_TT_END,
    S_TT_SELF_CLOSING,
    S_TT_COMMENT, /* comments, doctypes, bogus comments, "</>" */
} s_tt_t;

typedef enum { S_HTML_OK, S_HTML_EOF, S_HTML_TOO_BIG } s_html_err_t;

typedef struct {
    const char *p;       /* the document */
    size_t n;            /* its length */
    size_t start, end;   /* raw bytes of the current token; `end` is the read position */
    size_t data0, data1; /* text of a text token, or name of a tag */
    s_html_err_t err;    /* sticky, as in Go */
    char raw_tag[16];    /* lower-case element whose end tag closes raw text, or "" */
    size_t attrs_from;   /* where the current tag's attributes start */
    bool has_attr;       /* the current tag has at least one attribute */
    size_t key0, key1;   /* key span of its last attribute (empty key: key0 == key1) */
    size_t val1;         /* end of that attribute's value span, as Go computes it */
} s_html_t;

static unsigned char
s_read(s_html_t *z)
{
    if (z->end >= z->n) {
        z->err = S_HTML_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)z->p[z->end++];
    if (z->end - z->start >= S_ELEMENT_SIZE_LIMIT) {
        z->err = S_HTML_TOO_BIG;
        return 0;
    }
    return c;
}

static bool
s_is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f';
}

static bool
s_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char
s_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Compare p[a0..a1) with b[0..blen) ignoring ASCII case (Go's lower() is ASCII-only). */
static bool
s_span_eq(const char *p, size_t a0, size_t a1, const char *b, size_t blen)
{
    if (a1 - a0 != blen)
        return false;
    for (size_t i = 0; i < blen; i++)
        if (s_lower((unsigned char)p[a0 + i]) != s_lower((unsigned char)b[i]))
            return false;
    return true;
}

static void
s_skip_space(s_html_t *z)
{
    while (!z->err) {
        unsigned char c = s_read(z);
        if (z->err)
            return;
        if (!s_is_space(c)) {
            z->end--;
            return;
        }
    }
}

static void
s_read_until_close_angle(s_html_t *z)
{
    while (!z->err && s_read(z) != '>')
        ;
}

/* Go's readComment: "<!--" has been read. Ends at "-->", "--!>", "<!-->", "<!--->" or EOF. */
static void
s_read_comment(s_html_t *z)
{
    int dashes = 0;
    bool beginning = true;
    for (;;) {
        unsigned char c = s_read(z);
        if (z->err)
            return;
        if (c == '-') {
            dashes++;
            continue;
        }
        if (c == '>' && (dashes >= 2 || beginning))
            return;
        if (c == '!' && dashes >= 2) {
            c = s_read(z);
            if (z->err || c == '>')
                return;
            if (c == '-') {
                dashes = 1;
                beginning = false;
                continue;
            }
        }
        dashes = 0;
        beginning = false;
    }
}

/* "<!" has been read: a comment, else a doctype or bogus comment running to the next '>'. */
static void
s_read_markup_declaration(s_html_t *z)
{
    unsigned char c0 = s_read(z);
    if (z->err)
        return;
    unsigned char c1 = s_read(z);
    if (z->err)
        return;
    if (c0 == '-' && c1 == '-') {
        s_read_comment(z);
        return;
    }
    z->end -= 2;
    s_read_until_close_angle(z);
}

/* Go's readTagAttrVal for an unquoted value: return the end of the value span. */
static size_t
s_read_unquoted_value(s_html_t *z)
{
    for (;;) {
        unsigned char c = s_read(z);
        if (z->err)
            return z->end;
        if (s_is_space(c))
            return z->end - 1;
        if (c == '>')
            return --z->end;
    }
}

/* Go's readTagAttrKey + readTagAttrVal, keeping the spans self-closing detection needs. */
static void
s_read_attr(s_html_t *z)
{
    z->has_attr = true;
    z->key0 = z->end;
    for (;;) {
        unsigned char c = s_read(z);
        if (z->err) {
            z->key1 = z->end;
            break;
        }
        if (c == '=' && z->key0 + 1 == z->end)
            continue; /* a leading '=' is part of the name */
        if (c == '=' || s_is_space(c) || c == '/' || c == '>') {
            z->key1 = --z->end;
            break;
        }
    }
    z->val1 = z->end;
    s_skip_space(z);
    unsigned char c = s_read(z);
    if (z->err || c == '/')
        return;
    if (c != '=') {
        z->end--;
        return;
    }
    s_skip_space(z);
    unsigned char quote = s_read(z);
    if (z->err)
        return;
    if (quote == '>') {
        z->end--;
    } else if (quote == '\'' || quote == '"') {
        while (!z->err && s_read(z) != quote)
            ;
        z->val1 = z->err ? z->end : z->end - 1;
    } else {
        z->val1 = s_read_unquoted_value(z);
    }
}

/* Go's readTag: the first letter of the name has been read. */
static void
s_read_tag(s_html_t *z)
{
    z->data0 = z->end - 1;
    for (;;) {
        unsigned char c = s_read(z);
        if (z->err) {
            z->data1 = z->end;
            break;
        }
        if (s_is_space(c)) {
            z->data1 = z->end - 1;
            break;
        }
        if (c == '/' || c == '>') {
            z->data1 = --z->end;
            break;
        }
    }
    z->attrs_from = z->end;
    z->has_attr = false;
    s_skip_space(z);
    while (!z->err) {
        unsigned char c = s_read(z);
        if (z->err || c == '>')
            break;
        z->end--;
        s_read_attr(z);
        s_skip_space(z);
    }
}

/* Go keeps an attribute only if its key is non-empty and new in the tag (ASCII case folded).
 * Return whether the last attribute of the tag just read was kept. Only called for the rare
 * tag ending in "/>", so re-reading the attributes costs nothing in practice. */
static bool
s_last_attr_kept(const s_html_t *tag)
{
    if (!tag->has_attr || tag->key1 == tag->key0)
        return false;
    s_html_t z = *tag;
    z.end = z.attrs_from;
    for (;;) {
        s_skip_space(&z);
        unsigned char c = s_read(&z);
        if (z.err || c == '>')
            return true;
        z.end--;
        s_read_attr(&z);
        if (z.key0 >= tag->key0)
            return true; /* reached the last attribute: no earlier key matched */
        if (s_span_eq(z.p, z.key0, z.key1, tag->p + tag->key0, tag->key1 - tag->key0))
            return false;
    }
}

static s_tt_t
s_read_start_tag(s_html_t *z)
{
    static const char *const raw_tags[] = {"iframe", "noembed", "noframes", "noscript", "plaintext",
                                           "script", "style",   "textarea", "title",    "xmp"};
    s_read_tag(z);
    if (z->err)
        return S_TT_ERROR;
    for (size_t i = 0; i < sizeof raw_tags / sizeof raw_tags[0]; i++) {
        if (s_span_eq(z->p, z->data0, z->data1, raw_tags[i], strlen(raw_tags[i]))) {
            strcpy(z->raw_tag, raw_tags[i]);
            break;
        }
    }
    /* "/>" makes the tag self-closing unless the '/' ends the last kept attribute's value
     * (as in <p a=/>). */
    if (z->p[z->end - 2] == '/' && !(z->val1 == z->end - 1 && s_last_attr_kept(z)))
        return S_TT_SELF_CLOSING;
    return S_TT_START;
}

/* Go's readRawOrRCDATA: text up to (not including) the end tag of z->raw_tag. */
static void
s_read_raw_text(s_html_t *z)
{
    size_t len = strlen(z->raw_tag);
    while (!z->err) {
        if (s_read(z) != '<' || z->err)
            continue;
        unsigned char c = s_read(z);
        if (z->err)
            break;
        if (c != '/') {
            z->end--;
            continue;
        }
        size_t i = 0;
        while (i < len && !z->err) {
            if (s_lower(s_read(z)) != (unsigned char)z->raw_tag[i]) {
                if (!z->err)
                    z->end--;
                break;
            }
            i++;
        }
        if (i < len || z->err)
            continue;
        c = s_read(z);
        if (z->err)
            break;
        if (s_is_space(c) || c == '/' || c == '>') {
            z->end -= 3 + len; /* leave "</tag" + c for the next token */
            break;
        }
        z->end--;
    }
    z->data1 = z->end;
}

/* Go's Tokenizer.Next. */
static s_tt_t
s_html_next(s_html_t *z)
{
    z->start = z->data0 = z->data1 = z->end;
    if (z->err)
        return S_TT_ERROR;
    if (z->raw_tag[0] != '\0') {
        if (strcmp(z->raw_tag, "plaintext") == 0) {
            while (!z->err)
                s_read(z);
            z->data1 = z->end;
        } else {
            s_read_raw_text(z);
        }
        z->raw_tag[0] = '\0';
        if (z->data1 > z->data0)
            return S_TT_TEXT;
    }
    for (;;) {
        unsigned char c = s_read(z);
        if (z->err)
            break;
        if (c != '<')
            continue;
        c = s_read(z);
        if (z->err)
            break;
        if (!s_is_alpha(c) && c != '/' && c != '!' && c != '?') {
            z->end--; /* not markup: the '<' is text */
            continue;
        }
        if (z->end - 2 > z->start) { /* return the text before the markup first */
            z->end -= 2;
            z->data1 = z->end;
            return S_TT_TEXT;
        }
        if (s_is_alpha(c))
            return s_read_start_tag(z);
        if (c == '!') {
            s_read_markup_declaration(z);
            return S_TT_COMMENT;
        }
        if (c == '?') {
            s_read_until_close_angle(z);
            return S_TT_COMMENT;
        }
        c = s_read(z); /* after "</" */
        if (z->err)
            break;
        if (c == '>')
            return S_TT_COMMENT;
        if (s_is_alpha(c)) {
            s_read_tag(z);
            return z->err ? S_TT_ERROR : S_TT_END;
        }
        z->end--;
        s_read_until_close_angle(z);
        return S_TT_COMMENT;
    }
    if (z->start < z->end) {
        z->data1 = z->end;
        return S_TT_TEXT;
    }
    return S_TT_ERROR;
}

/* ---- armor decoder (spec §5.3) ------------------------------------------------------------- */

/* Append `text` without its ASCII whitespace (TAB, LF, FF, CR, SPACE), which is what
 * upstream's split-and-rejoin amounts to. */
static void
s_append_words(sfb_buf_t *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!s_is_space((unsigned char)text[i]))
            sfb_buf_putc(out, text[i]);
}

sfb_rc_t
sfb_amp_armor_decode(const char *html, size_t len, sfb_buf_t *out)
{
    s_html_t z;
    memset(&z, 0, sizeof z);
    z.p = html != NULL ? html : "";
    z.n = html != NULL ? len : 0;
    sfb_buf_t text;
    sfb_buf_init(&text);
    bool inside = false, html_ok = true;
    for (;;) {
        s_tt_t tt = s_html_next(&z);
        if (tt == S_TT_ERROR) {
            html_ok = z.err == S_HTML_EOF && !inside; /* else: missing </pre>, or too big */
            break;
        }
        if (tt == S_TT_TEXT && inside) {
            s_append_words(&text, z.p + z.data0, z.data1 - z.data0);
        } else if ((tt == S_TT_START || tt == S_TT_END) &&
                   s_span_eq(z.p, z.data0, z.data1, "pre", 3)) {
            if (inside == (tt == S_TT_START)) {
                html_ok = false; /* nested <pre>, or </pre> outside one */
                break;
            }
            inside = !inside;
        }
    }
    /* Upstream reads the version byte as soon as the first text arrives, so a wrong version
     * wins over an HTML error found later. */
    sfb_rc_t rc = SFB_OK;
    size_t old_len = out->len;
    if (text.len > 0 && text.data[0] != '0')
        rc = SFB_BAD_VERSION;
    else if (!html_ok || text.len == 0)
        rc = SFB_BAD_SYNTAX;
    else if (!s_b64_decode(out, text.data + 1, text.len - 1, false, true))
        rc = SFB_BAD_SYNTAX;
    if (rc != SFB_OK && out->data != NULL) {
        out->len = old_len;
        out->data[old_len] = '\0';
    }
    sfb_buf_dispose(&text);
    return rc;
}
