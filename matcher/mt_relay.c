/* mt_relay.c - see mt_relay.h. Suffix tests are plain byte suffixes, not label-aware,
 * exactly as upstream (so "snowflake.torproject.net$" accepts "fakesnowflake..."). */
#include "mt_relay.h"

#include "sfb_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *suffix; /* borrowed */
    size_t len;         /* bytes of suffix */
    bool exact;         /* pattern started with '^' */
} s_view_t;

struct mt_relay {
    s_view_t view; /* suffix points into text */
    char *text;    /* owned copy of the suffix */
};

static s_view_t
s_parse(const char *p, size_t len)
{
    if (len > 0 && p[len - 1] == '$')
        len--;
    s_view_t v = {p, len, false};
    if (len > 0 && p[0] == '^') {
        v.exact = true;
        v.suffix = p + 1;
        v.len = len - 1;
    }
    return v;
}

static bool
s_has_suffix(const char *s, size_t len, const char *suffix, size_t suffix_len)
{
    /* suffix_len 0 first: an empty string may come with a NULL pointer */
    return suffix_len == 0 ||
           (len >= suffix_len && memcmp(s + len - suffix_len, suffix, suffix_len) == 0);
}

static bool
s_superset(const s_view_t *a, const s_view_t *b)
{
    if (a->exact)
        return b->exact && a->len == b->len &&
               (a->len == 0 || memcmp(a->suffix, b->suffix, a->len) == 0);
    return s_has_suffix(b->suffix, b->len, a->suffix, a->len);
}

mt_relay_t *
mt_relay_new(const char *pattern, size_t len)
{
    mt_relay_t *relay = sfb_xcalloc(1, sizeof *relay);
    s_view_t v = s_parse(len ? pattern : "", len);
    relay->text = sfb_xmemdup0(v.suffix, v.len);
    relay->view = (s_view_t){relay->text, v.len, v.exact};
    return relay;
}

void
mt_relay_destroy(mt_relay_t **relay_p)
{
    if (relay_p == NULL || *relay_p == NULL)
        return;
    free((*relay_p)->text);
    free(*relay_p);
    *relay_p = NULL;
}

bool
mt_relay_is_member(const mt_relay_t *relay, const char *s, size_t len)
{
    const s_view_t *v = &relay->view;
    if (v->exact)
        return len == v->len && (len == 0 || memcmp(s, v->suffix, len) == 0);
    return s_has_suffix(s, len, v->suffix, v->len);
}

bool
mt_relay_is_superset(const mt_relay_t *a, const mt_relay_t *b)
{
    return s_superset(&a->view, &b->view);
}

bool
mt_relay_accepts(const mt_relay_t *allowed, bool has_pattern, const char *pattern, size_t len)
{
    if (!has_pattern)
        return false;
    s_view_t proxy = s_parse(len ? pattern : "", len);
    return s_superset(&proxy, &allowed->view);
}
