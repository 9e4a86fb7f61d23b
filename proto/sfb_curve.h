/* sfb_curve.h - optional CURVE security on the internal ZeroMQ links (docs/deployment.md):
 * this process's certificate (CZMQ zcert files), the servers' public keys, and, for a process
 * that binds, one zauth actor that checks clients against an allow-list directory plus a
 * monitor (sfb_zmon) counting the handshakes refused. Plain links stay the default: a process
 * without --curve-cert never creates one. Created and configured by main after
 * zsys_handler_set(NULL); sfb_curve_apply_client() may then run on any thread. */
#ifndef SFB_CURVE_H
#define SFB_CURVE_H

#include "sfb_zmon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A Z85 key is 40 characters; buffers for one hold 41. */
#define SFB_CURVE_KEY_TXT 41
/** The ZAP domain of every CURVE server socket. */
#define SFB_CURVE_ZAP_DOMAIN "snowflake"

typedef struct sfb_curve sfb_curve_t;

/** Load this process's certificate: `cert_path` is the public file of a zcert pair and the
 *  secret is read from `cert_path`_secret (or from `cert_path` itself if it holds the secret
 *  key). Return NULL and a one-line reason in err (size err_len) if a file is missing or
 *  malformed, the secret key is absent, or the two keys do not belong together. Opens no
 *  socket and starts no thread. */
sfb_curve_t *sfb_curve_new(const char *cert_path, char *err, size_t err_len);
/** Stop the zauth and monitor threads, wipe the secret key, set *curve_p to NULL. Accepts NULL
 *  and &NULL. Destroy it after every socket it was applied to is closed. */
void sfb_curve_destroy(sfb_curve_t **curve_p);

/** Start serving: one zauth actor accepting CURVE clients whose public certificate is in
 *  directory `allow_dir` (re-read by zauth whenever the directory changes), and the refusal
 *  monitor, which calls on_refused(arg) (may be NULL) on its own thread for each refusal.
 *  Validates the directory first (see sfb_curve_check_allow_dir). Call once, before the first
 *  server socket binds. Return 0, or -1 with a reason in err. */
int sfb_curve_serve(sfb_curve_t *curve, const char *allow_dir, sfb_zmon_fn *on_refused, void *arg,
                    char *err, size_t err_len);
/** Make `sock` (zsock_t or libzmq socket) a CURVE server with this certificate and the ZAP
 *  domain (enforced: with no zauth running every client is refused), and count its refusals
 *  under `name`. Requires sfb_curve_serve(). Call before bind. Return 0 or -1 (logged). */
int sfb_curve_apply_server(sfb_curve_t *curve, void *sock, const char *name);
/** Make `sock` a CURVE client with this certificate, expecting the server's public key
 *  `server_key` (Z85). Call before connect; any thread. Return 0 or -1 (logged). */
int sfb_curve_apply_client(const sfb_curve_t *curve, void *sock, const char *server_key);

/** Return this certificate's public key (Z85). */
const char *sfb_curve_public_txt(const sfb_curve_t *curve);
/** Return the handshakes refused on the server sockets so far (0 if not serving). */
uint64_t sfb_curve_refused(const sfb_curve_t *curve);
/** Copy the server sockets' handshake counters to *out (zeros if not serving). */
void sfb_curve_stats(const sfb_curve_t *curve, sfb_zmon_stats_t *out);

/** Read the public key of the certificate file `path` into key (Z85, NUL-terminated).
 *  Return 0, or -1 with a reason in err. */
int sfb_curve_load_public(const char *path, char key[SFB_CURVE_KEY_TXT], char *err, size_t err_len);
/** Check an allow-list directory as zauth will read it: it must exist and hold at least one
 *  public certificate (files named *_secret are skipped), and no key twice (CZMQ 4.2.1 aborts
 *  on a duplicate). Return the number of keys, or -1 with a reason in err. */
int sfb_curve_check_allow_dir(const char *dir, char *err, size_t err_len);
/** Generate a new key pair and write `path` (public) and `path`_secret (mode 0600). Refuses
 *  to overwrite either. Return 0, or -1 with a reason in err. */
int sfb_curve_keygen(const char *path, char *err, size_t err_len);

/** Return true if binding `endpoint` listens only locally: ipc://, inproc://, or tcp:// on
 *  127.0.0.0/8, ::1 or localhost. Anything else (tcp://\*, 0.0.0.0, other addresses, names
 *  of interfaces or hosts) may be reachable from other hosts. */
bool sfb_curve_endpoint_is_local(const char *endpoint);
/** Log a warning if `endpoint` (bound by the socket called `what`) is not local and `curve`
 *  is NULL (no CURVE). */
void sfb_curve_warn_exposed(const sfb_curve_t *curve, const char *what, const char *endpoint);

#endif
