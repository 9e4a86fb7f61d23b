/* fe_tls.h - the frontend's TLS server contexts: TLS 1.2+, ALPN "http/1.1" only (Debian's
 * h2o 2.2.5 lacks the HTTP/2 rapid-reset fix, so h2 is never offered). Used at startup, by
 * --check-config and on SIGHUP; call from the loop thread. */
#ifndef FE_TLS_H
#define FE_TLS_H

#include <openssl/ssl.h>

/** Load the PEM certificate chain `cert` and private key `key` into a new server context.
 *  Return it (caller owns: SSL_CTX_free), or NULL after logging one line saying why. */
SSL_CTX *fe_tls_ctx_new(const char *cert, const char *key);

#endif
