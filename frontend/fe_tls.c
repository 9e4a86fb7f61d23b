/* fe_tls.c - see fe_tls.h. */
#include "fe_tls.h"

#include "sfb_log.h"

#include <h2o.h>
#include <openssl/err.h>

static SSL_CTX *
s_fail(SSL_CTX *c, const char *what, const char *file)
{
    char err[256];
    ERR_error_string_n(ERR_get_error(), err, sizeof err);
    ERR_clear_error();
    sfb_log(SFB_ERROR, "fe.tls", "%s %s: %s", what, file, err);
    SSL_CTX_free(c);
    return NULL;
}

SSL_CTX *
fe_tls_ctx_new(const char *cert, const char *key)
{
    static const h2o_iovec_t alpn[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (c == NULL)
        return s_fail(NULL, "cannot create a TLS context for", cert);
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
        return s_fail(c, "cannot load certificate", cert);
    if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
        return s_fail(c, "cannot load private key", key);
    if (SSL_CTX_check_private_key(c) != 1)
        return s_fail(c, "private key does not match certificate", cert);
    h2o_ssl_register_alpn_protocols(c, alpn);
    return c;
}
