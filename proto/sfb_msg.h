/* sfb_msg.h - the frontend <-> matcher messages (docs/protocol.md), carried as one msgpack
 * frame each over DEALER/ROUTER: a fixarray [version, type, req_id, fields...]. Every request
 * gets exactly one reply carrying the same req_id (except CANCEL, which has none).
 * Encode and decode are pure and thread-safe. Decoded strings borrow from the input frame. */
#ifndef SFB_MSG_H
#define SFB_MSG_H

#include "sfb_buf.h"
#include "sfb_types.h"

#include <stdbool.h>
#include <stdint.h>

#define SFB_PROTO_VERSION 1
/** Largest frame sfb_msg_decode() accepts: replies may carry a whole stats log or a replay
 *  batch. */
#define SFB_MSG_MAX_BYTES (16 * 1024 * 1024)
/** Largest request frame a server accepts (an offer or answer is at most 100 000 bytes);
 *  servers set it as ZMQ_MAXMSGSIZE. */
#define SFB_MSG_MAX_REQUEST_BYTES (256 * 1024)

typedef enum {
    SFB_MSG_PROXY_POLL = 1,    /* frontend -> matcher: a proxy long-polls */
    SFB_MSG_CLIENT_OFFER = 2,  /* frontend -> matcher: a client posts an offer */
    SFB_MSG_PROXY_ANSWER = 3,  /* frontend -> matcher: a proxy posts its answer */
    SFB_MSG_CANCEL = 4,        /* frontend -> matcher: the HTTP peer of req_id went away */
    SFB_MSG_DEBUG = 5,         /* frontend -> matcher: /debug snapshot */
    SFB_MSG_REPORT_GET = 6,    /* frontend -> metricsd: stats log or Prometheus text */
    SFB_MSG_REPLAY_GET = 7,    /* metricsd -> matcher: resend recent events (Clone pattern) */
    SFB_MSG_POOL_GET = 8,      /* metricsd -> matcher: how many proxies are available now */
    SFB_MSG_PROXY_REPLY = 65,  /* matcher -> frontend: answer to PROXY_POLL */
    SFB_MSG_CLIENT_REPLY = 66, /* matcher -> frontend: answer to CLIENT_OFFER */
    SFB_MSG_ANSWER_REPLY = 67, /* matcher -> frontend: answer to PROXY_ANSWER */
    SFB_MSG_DEBUG_REPLY = 69,  /* matcher -> frontend: answer to DEBUG */
    SFB_MSG_REPORT_REPLY = 70, /* metricsd -> frontend: answer to REPORT_GET */
    SFB_MSG_REPLAY_REPLY = 71, /* matcher -> metricsd: answer to REPLAY_GET */
    SFB_MSG_POOL_REPLY = 72,   /* matcher -> metricsd: answer to POOL_GET */
} sfb_msg_type_t;

typedef enum {
    SFB_PROXY_NO_MATCH = 0,  /* no client within the hold time */
    SFB_PROXY_MATCH = 1,     /* offer, nat and relay_url are set */
    SFB_PROXY_BAD_RELAY = 2, /* relay pattern refused (spec §4.9) */
    SFB_PROXY_INTERNAL = 3,  /* matcher-side failure: HTTP 500 */
} sfb_proxy_status_t;

typedef enum {
    SFB_CLIENT_ANSWER = 0,         /* answer is set */
    SFB_CLIENT_NO_PROXIES = 1,     /* no suitable proxy waiting */
    SFB_CLIENT_TIMEOUT = 2,        /* the proxy did not answer in time */
    SFB_CLIENT_UNKNOWN_BRIDGE = 3, /* fingerprint not in the bridge list */
} sfb_client_status_t;

typedef enum {
    SFB_ANSWER_SUCCESS = 0,     /* delivered to the waiting client */
    SFB_ANSWER_CLIENT_GONE = 1, /* no client waits on that Sid */
} sfb_answer_status_t;

typedef enum {
    SFB_REPORT_STATS_LOG = 0,  /* the whole accumulated stats log (GET /metrics) */
    SFB_REPORT_PROMETHEUS = 1, /* Prometheus exposition text (GET /prometheus) */
} sfb_report_kind_t;

/** A byte string borrowed from a decoded frame or from the encoder's caller. */
typedef struct {
    const char *ptr; /* not NUL-terminated */
    size_t len;      /* bytes */
} sfb_str_t;

#define SFB_STR(lit) ((sfb_str_t){(lit), sizeof(lit) - 1})
#define SFB_CC_LEN 2

typedef struct {
    sfb_str_t sid;           /* non-empty */
    sfb_proxy_type_t ptype;  /* implementation type */
    sfb_nat_t nat;           /* reported NAT */
    int64_t clients;         /* reported client count (may be negative: untrusted) */
    bool has_pattern;        /* AcceptedRelayPattern was sent */
    sfb_str_t pattern;       /* the pattern, if has_pattern */
    sfb_str_t addr;          /* proxy address per the client-IP rule; may be empty */
    char cc[SFB_CC_LEN + 1]; /* country code or "??" */
} sfb_msg_poll_t;

typedef struct {
    sfb_str_t offer;                       /* non-empty, opaque */
    sfb_nat_t nat;                         /* client NAT */
    unsigned char fp[SFB_FINGERPRINT_MAX]; /* raw bridge fingerprint */
    size_t fp_len;                         /* 20 or 32 */
    sfb_method_t method;                   /* http or ampcache */
    bool legacy;                           /* legacy /client body (for logs only) */
    sfb_str_t addr;                        /* client address; may be empty */
    char cc[SFB_CC_LEN + 1];               /* country code or "??" */
} sfb_msg_offer_t;

typedef struct {
    sfb_str_t sid;    /* non-empty */
    sfb_str_t answer; /* non-empty, opaque */
} sfb_msg_answer_t;

typedef struct {
    sfb_proxy_status_t status; /* outcome */
    sfb_str_t offer;           /* client offer, when matched */
    sfb_nat_t nat;             /* client NAT, when matched */
    sfb_str_t relay_url;       /* relay of the requested bridge, when matched */
} sfb_msg_proxy_reply_t;

typedef struct {
    sfb_client_status_t status; /* outcome */
    sfb_str_t answer;           /* proxy answer, when status is ANSWER */
} sfb_msg_client_reply_t;

typedef struct {
    bool found;     /* false: no stats log configured or readable (HTTP 404) */
    sfb_str_t text; /* the report */
} sfb_msg_report_reply_t;

typedef struct {
    uint64_t epoch;    /* publisher incarnation the subscriber last saw */
    uint64_t from_seq; /* first sequence number wanted */
    uint32_t max;      /* at most this many events in the reply */
} sfb_msg_replay_get_t;

typedef struct {
    uint64_t epoch;     /* the matcher's current incarnation */
    uint64_t first_seq; /* seq of the first event in `events`, or the oldest the ring holds */
    uint32_t count;     /* events in `events` */
    sfb_str_t events;   /* concatenated event bodies (sfb_event_decode_next) */
} sfb_msg_replay_reply_t;

/** Proxies available to clients (pooled, or matched and awaiting their answer) by type and
 *  NAT: the upstream gauge snowflake_available_proxies{type,nat}. */
typedef struct {
    uint32_t avail[SFB_PROXY_TYPE_COUNT][SFB_NAT_COUNT];
} sfb_msg_pool_reply_t;

typedef struct {
    sfb_msg_type_t type; /* selects the union member */
    uint64_t req_id;     /* chosen by the frontend, echoed by the matcher */
    union {
        sfb_msg_poll_t poll;                 /* PROXY_POLL */
        sfb_msg_offer_t offer;               /* CLIENT_OFFER */
        sfb_msg_answer_t answer;             /* PROXY_ANSWER */
        sfb_msg_proxy_reply_t proxy_reply;   /* PROXY_REPLY */
        sfb_msg_client_reply_t client_reply; /* CLIENT_REPLY */
        sfb_answer_status_t answer_reply;    /* ANSWER_REPLY */
        sfb_str_t debug_text;                /* DEBUG_REPLY */
        sfb_report_kind_t report_get;        /* REPORT_GET */
        sfb_msg_report_reply_t report_reply; /* REPORT_REPLY */
        sfb_msg_replay_get_t replay_get;     /* REPLAY_GET */
        sfb_msg_replay_reply_t replay_reply; /* REPLAY_REPLY */
        sfb_msg_pool_reply_t pool_reply;     /* POOL_REPLY */
    } u;                                     /* CANCEL, DEBUG and POOL_GET carry nothing more */
} sfb_msg_t;

/** Append the encoding of `msg` to `out`. */
void sfb_msg_encode(const sfb_msg_t *msg, sfb_buf_t *out);

/** Decode one frame into *msg. Strings in *msg borrow from `frame`, which must outlive them.
 *  Returns SFB_OK; SFB_TOO_BIG for frames over SFB_MSG_MAX_BYTES or length prefixes larger
 *  than the frame; SFB_BAD_SYNTAX for non-msgpack; SFB_BAD_VERSION; SFB_BAD_TYPE for an unknown
 *  type or a field of the wrong kind; SFB_BAD_VALUE for out-of-range enums or empty required
 *  fields. Never allocates more than a small multiple of `len`. */
sfb_rc_t sfb_msg_decode(const void *frame, size_t len, sfb_msg_t *msg);

/** Return true for request types (frontend -> matcher). */
bool sfb_msg_is_request(sfb_msg_type_t type);

/** First chunk of the msgpack zone a decoder uses for one frame: small enough for glibc's
 *  per-thread cache (<= 1032 bytes with the chunk header), large enough for any fixed-shape
 *  message or event (about 30 objects). */
#define SFB_MSGPACK_ZONE_CHUNK 960

/** Check that every msgpack array/map/str/bin length prefix of the first object in `buf`
 *  fits in the bytes that remain, so msgpack-c never allocates for a forged length. Return
 *  SFB_OK or SFB_TOO_BIG / SFB_BAD_SYNTAX / SFB_TRUNCATED. Shared with the event decoder. */
sfb_rc_t sfb_msgpack_check(const void *buf, size_t len);
/** Like sfb_msgpack_check(), and set *objlen to the length of that first object. */
sfb_rc_t sfb_msgpack_object_len(const void *buf, size_t len, size_t *objlen);

#endif
