/* sfb_json.c - see sfb_json.h. Decoding runs in two passes: jansson validates the whole body
 * (strict syntax, UTF-8, number ranges, depth), then a small scanner walks the members of the
 * now known-valid top-level object in wire order and hands each interesting value back to
 * jansson. The second pass exists because a jansson object keeps one slot per exact key at
 * the position of its FIRST occurrence, so iterating it cannot reproduce Go's "members apply
 * in wire order" rule: {"sid":"a","Sid":"b","sid":"c"} must give "c", not "b".
 *
 * Deliberate deviations from Go's encoding/json, all of them stricter than Go:
 * - jansson refuses invalid UTF-8, "\u0000" and lone surrogates anywhere in the body, where Go
 *   accepts them (invalid bytes become U+FFFD). No real peer sends them, and refusing keeps NULs
 *   and broken text out of every later stage (msgpack, logs, the matcher).
 * - jansson refuses numbers beyond int64/double range anywhere (Go errs only when such a number
 *   lands in a typed field) and nesting deeper than 2048 (Go allows 10000).
 * - Syntax errors get a fixed Go-like text that never echoes input (Go quotes the bad byte). */
#include "sfb_json.h"

#include "sfb_alloc.h"
#include "sfb_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go-JSON object decoding --------------------------------------------------------------- */

#define S_ERR_EOF "unexpected end of JSON input"
#define S_ERR_SYNTAX "invalid character looking for beginning of value"
#define S_ERR_TRAILING "invalid character after top-level value"

typedef enum {
    S_KIND_STRING,     /* Go string: JSON string only; null leaves the value unchanged */
    S_KIND_INT64,      /* Go int: JSON integer only (1.0, 1e2 and "1" are type errors) */
    S_KIND_STRING_PTR, /* Go *string: like STRING, but null resets it to nil */
} s_kind_t;

typedef struct {
    const char *name; /* Go field name or json tag, ASCII */
    s_kind_t kind;    /* Go type of the field */
} s_field_t;

typedef struct {
    char *str;   /* owned copy; NULL is "" for STRING and nil for STRING_PTR */
    size_t len;  /* bytes in str */
    int64_t num; /* INT64 value, 0 when absent */
} s_value_t;

typedef enum {
    S_DEC_OK,
    S_DEC_SYNTAX,     /* not one JSON value */
    S_DEC_TOP_TYPE,   /* valid JSON, but neither an object nor null */
    S_DEC_FIELD_TYPE, /* a known field holds a value of the wrong JSON type */
} s_dec_rc_t;

typedef struct {
    s_dec_rc_t rc;           /* outcome */
    const char *syntax_text; /* S_DEC_SYNTAX: fixed Go-like text */
    json_type bad_type;      /* TOP_TYPE / FIELD_TYPE: the JSON type met (first one, as Go) */
    size_t bad_field;        /* FIELD_TYPE: index into the field table */
} s_dec_result_t;

static const char *
s_syntax_text(const json_error_t *err, const char *text, size_t len)
{
    switch (json_error_code(err)) {
    case json_error_premature_end_of_input:
        /* jansson also files a stray NUL byte under "end of input". */
        return memchr(text, '\0', len) == NULL ? S_ERR_EOF : S_ERR_SYNTAX;
    case json_error_end_of_input_expected:
        return S_ERR_TRAILING;
    default:
        return S_ERR_SYNTAX;
    }
}

/* Return whether the JSON key `key` names field `name` under Go's rule: Unicode simple case
 * folding. The only non-ASCII runes that fold to ASCII letters are U+017F (long s ~ s) and
 * U+212A (Kelvin sign ~ k); 'ı' and 'İ' do not fold to 'i'. */
static bool
s_key_matches(const char *key, size_t len, const char *name)
{
    const unsigned char *k = (const unsigned char *)key;
    size_t i = 0;
    for (; *name != '\0'; name++) {
        char want = (char)(*name | 0x20); /* field names are ASCII letters */
        if (i >= len)
            return false;
        if (k[i] < 0x80) {
            if ((char)(k[i] | 0x20) != want) /* only want and its upper case qualify */
                return false;
            i++;
        } else if (want == 's' && len - i >= 2 && k[i] == 0xC5 && k[i + 1] == 0xBF) {
            i += 2;
        } else if (want == 'k' && len - i >= 3 && k[i] == 0xE2 && k[i + 1] == 0x84 &&
                   k[i + 2] == 0xAA) {
            i += 3;
        } else {
            return false;
        }
    }
    return i == len;
}

/* The scanners below only ever see text jansson has accepted as one JSON value, so they need
 * not validate; they still stop at `n` so that a mistake here cannot read out of bounds. */
static size_t
s_skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* p[i] is an opening quote: return the index just past the closing quote. */
static size_t
s_skip_string(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* Return the index just past the value starting at p[i]. */
static size_t
s_skip_value(const char *p, size_t i, size_t n)
{
    size_t depth = 0;
    do {
        if (i >= n)
            return n;
        if (p[i] == '"') {
            i = s_skip_string(p, i, n);
            continue;
        }
        if (p[i] == '{' || p[i] == '[') {
            depth++;
        } else if (p[i] == '}' || p[i] == ']') {
            if (depth == 0)
                return n;
            depth--;
        } else if (depth == 0) { /* a scalar runs up to the next delimiter */
            while (i < n && memchr(",}] \t\n\r", p[i], 7) == NULL)
                i++;
            return i;
        }
        i++;
    } while (depth > 0);
    return i;
}

/* Store the JSON value `v` into `val`, a field of Go type `kind`, the way Go's decoder does.
 * Return false on a type mismatch, leaving `val` unchanged (Go records the error and carries
 * on with the next member). */
static bool
s_apply(s_kind_t kind, s_value_t *val, const json_t *v)
{
    if (json_is_null(v)) {
        if (kind == S_KIND_STRING_PTR) {
            free(val->str);
            val->str = NULL;
            val->len = 0;
        }
        return true;
    }
    switch (kind) {
    case S_KIND_STRING:
    case S_KIND_STRING_PTR:
        if (!json_is_string(v))
            return false;
        free(val->str);
        val->len = json_string_length(v);
        val->str = sfb_xmemdup0(json_string_value(v), val->len);
        return true;
    case S_KIND_INT64:
        if (!json_is_integer(v))
            return false;
        val->num = (int64_t)json_integer_value(v);
        return true;
    }
    return false;
}

/* Apply one member (raw key and value spans) to the matching field, if any. Return false
 * only if jansson refuses a span it accepted as part of the whole body (a bug). */
static bool
s_member(const char *key, size_t key_len, const char *val, size_t val_len, const s_field_t *fields,
         size_t nfields, s_value_t *vals, s_dec_result_t *res)
{
    json_t *jkey = NULL;
    const char *k = key + 1; /* fast path: no escapes, so the raw bytes are the key */
    size_t klen = key_len >= 2 ? key_len - 2 : 0;
    if (memchr(key, '\\', key_len) != NULL) {
        jkey = json_loadb(key, key_len, JSON_DECODE_ANY, NULL);
        if (jkey == NULL || !json_is_string(jkey)) {
            json_decref(jkey);
            return false;
        }
        k = json_string_value(jkey);
        klen = json_string_length(jkey);
    }
    size_t f = 0;
    while (f < nfields && !s_key_matches(k, klen, fields[f].name))
        f++;
    json_decref(jkey);
    if (f == nfields)
        return true; /* unknown keys are ignored */
    json_t *jval = json_loadb(val, val_len, JSON_DECODE_ANY, NULL);
    if (jval == NULL)
        return false;
    if (!s_apply(fields[f].kind, &vals[f], jval) && res->rc == S_DEC_OK) {
        res->rc = S_DEC_FIELD_TYPE;
        res->bad_field = f;
        res->bad_type = json_typeof(jval);
    }
    json_decref(jval);
    return true;
}

/* Walk the members of the valid JSON object text p[0..n) in wire order. */
static bool
s_walk_members(const char *p, size_t n, const s_field_t *fields, size_t nfields, s_value_t *vals,
               s_dec_result_t *res)
{
    size_t i = s_skip_ws(p, 0, n);
    if (i >= n || p[i] != '{')
        return false;
    i = s_skip_ws(p, i + 1, n);
    if (i < n && p[i] == '}')
        return true;
    while (i < n && p[i] == '"') {
        size_t key = i;
        i = s_skip_string(p, i, n);
        size_t key_end = i;
        i = s_skip_ws(p, i, n);
        if (i >= n || p[i] != ':')
            return false;
        size_t val = s_skip_ws(p, i + 1, n);
        i = s_skip_value(p, val, n);
        if (i >= n ||
            !s_member(p + key, key_end - key, p + val, i - val, fields, nfields, vals, res))
            return false;
        i = s_skip_ws(p, i, n);
        if (i < n && p[i] == '}')
            return true;
        if (i >= n || p[i] != ',')
            return false;
        i = s_skip_ws(p, i + 1, n);
    }
    return false;
}

/* Apply the members of the parsed object `root` in order, as s_walk_members() would, unless
 * some field matches more than one key (case-insensitively): then return false having
 * changed nothing, and the caller walks the raw text instead. */
static bool
s_apply_tree(json_t *root, const s_field_t *fields, size_t nfields, s_value_t *vals,
             s_dec_result_t *res)
{
    unsigned seen[8] = {0};
    const char *key;
    json_t *v;
    if (SFB_BUG(nfields > sizeof seen / sizeof seen[0]))
        return false;
    json_object_foreach(root, key, v)
    {
        for (size_t f = 0; f < nfields; f++)
            if (s_key_matches(key, strlen(key), fields[f].name) && ++seen[f] > 1)
                return false;
    }
    json_object_foreach(root, key, v)
    {
        for (size_t f = 0; f < nfields; f++) {
            if (!s_key_matches(key, strlen(key), fields[f].name))
                continue;
            if (!s_apply(fields[f].kind, &vals[f], v) && res->rc == S_DEC_OK) {
                res->rc = S_DEC_FIELD_TYPE;
                res->bad_field = f;
                res->bad_type = json_typeof(v);
            }
            break;
        }
    }
    return true;
}

/* Decode `text` into `vals` (zeroed by the caller, one per field) with Go's semantics. The
 * caller frees vals[*].str whatever the outcome. */
static void
s_decode_object(const char *text, size_t len, const s_field_t *fields, size_t nfields,
                s_value_t *vals, s_dec_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->rc = S_DEC_OK;
    if (text == NULL)
        text = "";
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    bool duplicates = root == NULL && json_error_code(&err) == json_error_duplicate_key;
    if (duplicates) /* rare: valid JSON whose exact duplicates only the member walk can order */
        root = json_loadb(text, len, JSON_DECODE_ANY, &err);
    if (root == NULL) {
        res->rc = S_DEC_SYNTAX;
        res->syntax_text = s_syntax_text(&err, text, len);
        return;
    }
    json_type type = json_typeof(root);
    if (type == JSON_NULL || type != JSON_OBJECT) {
        json_decref(root);
        if (type != JSON_NULL) { /* Go: a top-level null leaves every field at zero */
            res->rc = S_DEC_TOP_TYPE;
            res->bad_type = type;
        }
        return;
    }
    /* With no key given twice (exactly or in another case), the parsed tree holds every
     * member once, in wire order: apply it directly instead of parsing members again. */
    if (!duplicates && s_apply_tree(root, fields, nfields, vals, res)) {
        json_decref(root);
        return;
    }
    json_decref(root);
    if (SFB_BUG(!s_walk_members(text, len, fields, nfields, vals, res))) {
        res->rc = S_DEC_SYNTAX;
        res->syntax_text = S_ERR_SYNTAX;
    }
}

static void
s_values_free(s_value_t *vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(vals[i].str);
}

static const char *
s_str(const s_value_t *v)
{
    return v->str != NULL ? v->str : "";
}

/* Take ownership of v's string ("" if absent) and clear v. */
static char *
s_take(s_value_t *v, size_t *len_out)
{
    char *s = v->str != NULL ? v->str : sfb_xstrdup("");
    *len_out = v->len;
    v->str = NULL;
    v->len = 0;
    return s;
}

static sfb_rc_t
s_dec_rc(const s_dec_result_t *res)
{
    switch (res->rc) {
    case S_DEC_OK:
        return SFB_OK;
    case S_DEC_SYNTAX:
    case S_DEC_TOP_TYPE:
        return SFB_BAD_SYNTAX;
    case S_DEC_FIELD_TYPE:
        return SFB_BAD_TYPE;
    }
    return SFB_BAD_SYNTAX;
}

/* Spec §3.2: the text before the first '.' must be exactly "1". */
static bool
s_major_is_one(const s_value_t *version)
{
    const char *v = s_str(version);
    return version->len >= 1 && v[0] == '1' && (version->len == 1 || v[1] == '.');
}

/* ---- proxy messages ------------------------------------------------------------------------ */

sfb_rc_t
sfb_proxy_poll_decode(const char *body, size_t len, sfb_proxy_poll_t *out)
{
    enum { SID, VERSION, TYPE, NAT, CLIENTS, PATTERN, NFIELDS };
    static const s_field_t fields[NFIELDS] = {
        [SID] = {"Sid", S_KIND_STRING},
        [VERSION] = {"Version", S_KIND_STRING},
        [TYPE] = {"Type", S_KIND_STRING},
        [NAT] = {"NAT", S_KIND_STRING},
        [CLIENTS] = {"Clients", S_KIND_INT64},
        [PATTERN] = {"AcceptedRelayPattern", S_KIND_STRING_PTR},
    };
    s_value_t v[NFIELDS] = {{0}};
    s_dec_result_t res;
    sfb_nat_t nat = SFB_NAT_UNKNOWN;
    memset(out, 0, sizeof *out);

    s_decode_object(body, len, fields, NFIELDS, v, &res);
    sfb_rc_t rc = s_dec_rc(&res);
    if (rc != SFB_OK)
        ;
    else if (!s_major_is_one(&v[VERSION]))
        rc = SFB_BAD_VERSION;
    else if (v[SID].len == 0)
        rc = SFB_BAD_VALUE;
    else if (!sfb_nat_parse(s_str(&v[NAT]), v[NAT].len, &nat))
        rc = SFB_BAD_VALUE;
    if (rc == SFB_OK) {
        out->sid = s_take(&v[SID], &out->sid_len);
        out->ptype = sfb_proxy_type_parse(s_str(&v[TYPE]), v[TYPE].len);
        out->nat = nat;
        out->clients = v[CLIENTS].num;
        out->has_pattern = v[PATTERN].str != NULL;
        out->pattern = s_take(&v[PATTERN], &out->pattern_len);
    }
    s_values_free(v, NFIELDS);
    return rc;
}

void
sfb_proxy_poll_dispose(sfb_proxy_poll_t *p)
{
    if (p == NULL)
        return;
    free(p->sid);
    free(p->pattern);
    memset(p, 0, sizeof *p);
}

sfb_rc_t
sfb_proxy_answer_decode(const char *body, size_t len, sfb_proxy_answer_t *out)
{
    enum { VERSION, SID, ANSWER, NFIELDS };
    static const s_field_t fields[NFIELDS] = {
        [VERSION] = {"Version", S_KIND_STRING},
        [SID] = {"Sid", S_KIND_STRING},
        [ANSWER] = {"Answer", S_KIND_STRING},
    };
    s_value_t v[NFIELDS] = {{0}};
    s_dec_result_t res;
    memset(out, 0, sizeof *out);

    s_decode_object(body, len, fields, NFIELDS, v, &res);
    sfb_rc_t rc = s_dec_rc(&res);
    if (rc != SFB_OK)
        ;
    else if (!s_major_is_one(&v[VERSION]))
        rc = SFB_BAD_VERSION;
    else if (v[SID].len == 0 || v[ANSWER].len == 0)
        rc = SFB_BAD_VALUE;
    if (rc == SFB_OK) {
        out->sid = s_take(&v[SID], &out->sid_len);
        out->answer = s_take(&v[ANSWER], &out->answer_len);
    }
    s_values_free(v, NFIELDS);
    return rc;
}

void
sfb_proxy_answer_dispose(sfb_proxy_answer_t *a)
{
    if (a == NULL)
        return;
    free(a->sid);
    free(a->answer);
    memset(a, 0, sizeof *a);
}

/* ---- client poll request ------------------------------------------------------------------- */

/* Go's UnmarshalTypeError texts, kept static so that no error ever echoes input. */
enum { S_GO_STRING, S_GO_NUMBER, S_GO_BOOL, S_GO_ARRAY, S_GO_OBJECT, S_GO_KINDS };

#define S_FIELD_ERR(what, field)                                                                   \
    "json: cannot unmarshal " what " into Go struct field ClientPollRequest." field                \
    " of type string"
#define S_FIELD_ERRS(field)                                                                        \
    {                                                                                              \
        S_FIELD_ERR("string", field), S_FIELD_ERR("number", field), S_FIELD_ERR("bool", field),    \
            S_FIELD_ERR("array", field), S_FIELD_ERR("object", field)                              \
    }
#define S_TOP_ERR(what)                                                                            \
    "json: cannot unmarshal " what " into Go value of type messages.ClientPollRequest"

static int
s_go_kind(json_type type)
{
    switch (type) {
    case JSON_OBJECT:
        return S_GO_OBJECT;
    case JSON_ARRAY:
        return S_GO_ARRAY;
    case JSON_STRING:
    case JSON_NULL:
        return S_GO_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return S_GO_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return S_GO_BOOL;
    }
    return S_GO_STRING;
}

enum { S_CP_OFFER, S_CP_NAT, S_CP_FINGERPRINT, S_CP_NFIELDS };

static const char *
s_client_json_error(const s_dec_result_t *res)
{
    static const char *const field_errs[S_CP_NFIELDS][S_GO_KINDS] = {
        [S_CP_OFFER] = S_FIELD_ERRS("offer"),
        [S_CP_NAT] = S_FIELD_ERRS("nat"),
        [S_CP_FINGERPRINT] = S_FIELD_ERRS("fingerprint"),
    };
    static const char *const top_errs[S_GO_KINDS] = {
        S_TOP_ERR("string"), S_TOP_ERR("number"), S_TOP_ERR("bool"),
        S_TOP_ERR("array"),  S_TOP_ERR("object"),
    };
    switch (res->rc) {
    case S_DEC_OK:
        return NULL;
    case S_DEC_SYNTAX:
        return res->syntax_text;
    case S_DEC_TOP_TYPE:
        return top_errs[s_go_kind(res->bad_type)];
    case S_DEC_FIELD_TYPE:
        if (SFB_BUG(res->bad_field >= S_CP_NFIELDS))
            return S_ERR_SYNTAX;
        return field_errs[res->bad_field][s_go_kind(res->bad_type)];
    }
    return S_ERR_SYNTAX;
}

/* Spec §3.6: "" means the default bridge; otherwise hex of 20 or 32 bytes. */
static bool
s_fingerprint(const s_value_t *fp, sfb_client_poll_t *out)
{
    if (fp->len == 0)
        out->fp_len = sfb_fingerprint_decode(SFB_DEFAULT_FINGERPRINT,
                                             strlen(SFB_DEFAULT_FINGERPRINT), out->fp);
    else
        out->fp_len = sfb_fingerprint_decode(fp->str, fp->len, out->fp);
    return out->fp_len != 0;
}

const char *
sfb_client_poll_decode(const char *body, size_t len, sfb_client_poll_t *out)
{
    static const s_field_t fields[S_CP_NFIELDS] = {
        [S_CP_OFFER] = {"offer", S_KIND_STRING},
        [S_CP_NAT] = {"nat", S_KIND_STRING},
        [S_CP_FINGERPRINT] = {"fingerprint", S_KIND_STRING},
    };
    memset(out, 0, sizeof *out);
    /* The version is everything before the first '\n', compared without trimming. */
    const char *nl = body != NULL ? memchr(body, '\n', len) : NULL;
    if (nl == NULL || nl - body != 3 || memcmp(body, "1.0", 3) != 0)
        return "unsupported message version";

    s_value_t v[S_CP_NFIELDS] = {{0}};
    s_dec_result_t res;
    sfb_nat_t nat = SFB_NAT_UNKNOWN;
    s_decode_object(nl + 1, len - (size_t)(nl + 1 - body), fields, S_CP_NFIELDS, v, &res);
    const char *err = s_client_json_error(&res);
    if (err == NULL && v[S_CP_OFFER].len == 0)
        err = "no supplied offer";
    if (err == NULL && !s_fingerprint(&v[S_CP_FINGERPRINT], out))
        err = "cannot decode fingerprint";
    if (err == NULL && !sfb_nat_parse(s_str(&v[S_CP_NAT]), v[S_CP_NAT].len, &nat))
        err = "invalid NAT type";
    if (err == NULL) {
        out->offer = s_take(&v[S_CP_OFFER], &out->offer_len);
        out->nat = nat;
    } else {
        memset(out, 0, sizeof *out);
    }
    s_values_free(v, S_CP_NFIELDS);
    return err;
}

void
sfb_client_poll_dispose(sfb_client_poll_t *c)
{
    if (c == NULL)
        return;
    free(c->offer);
    memset(c, 0, sizeof *c);
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* Return the length of the valid UTF-8 sequence at p (n bytes available), or 0 if the first
 * byte does not start one. Same acceptance as Go's utf8.DecodeRune: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t
s_utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

/* Append the escape for ASCII byte c, or return false if Go emits c raw. */
static bool
s_escape_ascii(sfb_buf_t *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"':
        sfb_buf_puts(out, "\\\"");
        return true;
    case '\\':
        sfb_buf_puts(out, "\\\\");
        return true;
    case '\n':
        sfb_buf_puts(out, "\\n");
        return true;
    case '\r':
        sfb_buf_puts(out, "\\r");
        return true;
    case '\t':
        sfb_buf_puts(out, "\\t");
        return true;
    /* Spec §3.1 (and Go >= 1.22) use the short forms for \b and \f; older Go wrote \u0008. */
    case '\b':
        sfb_buf_puts(out, "\\b");
        return true;
    case '\f':
        sfb_buf_puts(out, "\\f");
        return true;
    case '<':
    case '>':
    case '&':
        break;
    default:
        if (c >= 0x20)
            return false;
        break;
    }
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
    sfb_buf_append(out, u, sizeof u);
    return true;
}

void
sfb_json_append_string(sfb_buf_t *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, i = 0; /* p[run..i) is pending raw output */
    sfb_buf_putc(out, '"');
    while (i < len) {
        size_t n = p[i] < 0x80 ? 1 : s_utf8_len(p + i, len - i);
        if (n == 1) {
            sfb_buf_append(out, s + run, i - run);
            if (!s_escape_ascii(out, p[i]))
                sfb_buf_putc(out, (char)p[i]);
            run = ++i;
        } else if (n == 0) {
            sfb_buf_append(out, s + run, i - run);
            sfb_buf_puts(out, "\\ufffd"); /* one per invalid byte, as Go */
            run = ++i;
        } else if (n == 3 && p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8) {
            sfb_buf_append(out, s + run, i - run);
            sfb_buf_puts(out, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            run = i += 3;
        } else {
            i += n;
        }
    }
    sfb_buf_append(out, s + run, i - run);
    sfb_buf_putc(out, '"');
}

static void
s_append_cstr(sfb_buf_t *out, const char *s)
{
    sfb_json_append_string(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

void
sfb_json_proxy_response(sfb_buf_t *out, const char *status, const char *offer, size_t offer_len,
                        const char *nat, const char *relay_url, size_t relay_len)
{
    sfb_buf_puts(out, "{\"Status\":");
    s_append_cstr(out, status);
    sfb_buf_puts(out, ",\"Offer\":");
    sfb_json_append_string(out, offer != NULL ? offer : "", offer != NULL ? offer_len : 0);
    sfb_buf_puts(out, ",\"NAT\":");
    s_append_cstr(out, nat);
    sfb_buf_puts(out, ",\"RelayURL\":");
    sfb_json_append_string(out, relay_url != NULL ? relay_url : "",
                           relay_url != NULL ? relay_len : 0);
    sfb_buf_putc(out, '}');
}

void
sfb_json_client_response(sfb_buf_t *out, const char *answer, size_t answer_len, const char *error)
{
    /* Both fields are omitempty in Go, so an empty one is dropped (and "{}" is possible). */
    sfb_buf_putc(out, '{');
    if (answer != NULL && answer_len > 0) {
        sfb_buf_puts(out, "\"answer\":");
        sfb_json_append_string(out, answer, answer_len);
    } else if (error != NULL && error[0] != '\0') {
        sfb_buf_puts(out, "\"error\":");
        s_append_cstr(out, error);
    }
    sfb_buf_putc(out, '}');
}
