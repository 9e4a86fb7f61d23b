/* fuzz_http.c - the frontend's request-target router (Go ServeMux rules) and client-IP rule
 * (spec §2.12) on arbitrary input. The input is split at the first NUL: target, then header
 * values separated by '\n' (Forwarded lines, then X-Forwarded-For after a blank line). */
#include "fe_clientip.h"
#include "fe_path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
s_split(const char *s, size_t n, fe_hdr_t *out, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n && k < max; i++) {
        if (i == n || s[i] == '\n') {
            out[k++] = (fe_hdr_t){s + start, i - start};
            start = i + 1;
        }
    }
    return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, '\0', size);
    size_t tlen = nul ? (size_t)(nul - s) : size;
    fe_path_t p;
    fe_path_init(&p);
    fe_route_t r = fe_path_route(s, tlen, &p);
    if (r == FE_ROUTE_REDIRECT) {
        sfb_buf_t body;
        sfb_buf_init(&body);
        fe_path_redirect_body(p.location.data ? p.location.data : "", p.location.len, &body);
        sfb_buf_dispose(&body);
    }
    fe_path_dispose(&p);
    if (nul == NULL)
        return 0;
    const char *h = nul + 1;
    size_t hn = size - tlen - 1;
    const char *blank = memmem(h, hn, "\n\n", 2);
    size_t fwd_len = blank ? (size_t)(blank - h) : hn;
    fe_hdr_t fwd[8], xff[8];
    size_t nf = s_split(h, fwd_len, fwd, 8);
    size_t nx = blank ? s_split(blank + 2, hn - fwd_len - 2, xff, 8) : 0;
    char out[FE_CLIENTIP_MAX];
    size_t n = fe_clientip_resolve(1, fwd, nf, xff, nx, "192.0.2.1:443", out);
    if (n >= FE_CLIENTIP_MAX || (n > 0 && strlen(out) != n))
        abort();
    bool priv;
    char one[FE_CLIENTIP_MAX];
    if (nf > 0 && fe_clientip_parse(fwd[0].ptr, fwd[0].len, one, &priv) &&
        strlen(one) >= FE_CLIENTIP_MAX)
        abort();
    return 0;
}
