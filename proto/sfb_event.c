/* sfb_event.c - see sfb_event.h and docs/events.md. */
#include "sfb_event.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_topics[SFB_EV_KIND_COUNT] = {"proxy-poll", "client-poll",
                                                        "proxy-answer"};
static const char *const s_outcomes[SFB_OUT_COUNT] = {
    "matched", "idle", "rejected", "cancelled", "denied", "timeout", "success", "client-gone"};

const char *
sfb_event_topic(sfb_event_kind_t kind)
{
    return (unsigned)kind < SFB_EV_KIND_COUNT ? s_topics[kind] : "unknown";
}

const char *
sfb_outcome_str(sfb_outcome_t outcome)
{
    return (unsigned)outcome < SFB_OUT_COUNT ? s_outcomes[outcome] : "unknown";
}

/* Pack a string in one write when it fits msgpack's fixstr (< 32 bytes; the same bytes as
 * msgpack_pack_str_with_body): every key and most values of an event do, and each write is a
 * callback into the buffer. */
static inline void
s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    if (n >= 32) {
        msgpack_pack_str_with_body(pk, s, n);
        return;
    }
    char b[32];
    b[0] = (char)(0xa0 | n);
    memcpy(b + 1, s, n);
    pk->callback(pk->data, b, n + 1);
}

static inline void
s_key(msgpack_packer *pk, const char *k)
{
    s_str(pk, k);
}

static void
s_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    s_key(pk, k);
    s_str(pk, v);
}

void
sfb_event_encode(const sfb_event_t *ev, sfb_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, sfb_buf_write);
    size_t n = 7; /* v, epoch, seq, ts, kind, outcome, cc */
    bool proxy = ev->kind == SFB_EV_PROXY_POLL || ev->kind == SFB_EV_PROXY_ANSWER;
    n += proxy ? 1 : 0;                           /* type */
    n += ev->kind != SFB_EV_PROXY_ANSWER ? 1 : 0; /* nat */
    n += ev->kind == SFB_EV_CLIENT_POLL ? 1 : 0;  /* method */
    n += ev->kind == SFB_EV_PROXY_POLL ? 1 : 0;   /* relay_pattern */
    n += ev->has_tag ? 1 : 0;                     /* tag */
    msgpack_pack_map(&pk, n);
    s_key(&pk, "v");
    msgpack_pack_uint8(&pk, SFB_EVENT_SCHEMA);
    s_key(&pk, "epoch");
    msgpack_pack_uint64(&pk, ev->epoch);
    s_key(&pk, "seq");
    msgpack_pack_uint64(&pk, ev->seq);
    s_key(&pk, "ts");
    msgpack_pack_uint64(&pk, ev->ts_ms);
    s_kv_str(&pk, "kind", sfb_event_topic(ev->kind));
    s_kv_str(&pk, "outcome", sfb_outcome_str(ev->outcome));
    s_kv_str(&pk, "cc", sfb_cc_is_valid(ev->cc, strlen(ev->cc)) ? ev->cc : "??");
    if (proxy)
        s_kv_str(&pk, "type", sfb_proxy_type_str(ev->ptype));
    if (ev->kind != SFB_EV_PROXY_ANSWER)
        s_kv_str(&pk, "nat", sfb_nat_str(ev->nat));
    if (ev->kind == SFB_EV_CLIENT_POLL)
        s_kv_str(&pk, "method", sfb_method_str(ev->method));
    if (ev->kind == SFB_EV_PROXY_POLL) {
        s_key(&pk, "relay_pattern");
        if (ev->relay_pattern)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    }
    if (ev->has_tag) {
        s_key(&pk, "tag");
        msgpack_pack_bin_with_body(&pk, ev->tag, SFB_EVENT_TAG_BYTES);
    }
}

static bool
s_is(const msgpack_object *k, const char *name)
{
    return k->via.str.size == strlen(name) && memcmp(k->via.str.ptr, name, k->via.str.size) == 0;
}

/* Index of the string `v` in `names` (n entries), or -1. */
static int
s_lookup(const msgpack_object *v, const char *const *names, int n)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return -1;
    for (int i = 0; i < n; i++)
        if (s_is(v, names[i]))
            return i;
    return -1;
}

static const char *const s_nats[SFB_NAT_COUNT] = {"unknown", "restricted", "unrestricted"};
static const char *const s_types[SFB_PROXY_TYPE_COUNT] = {"unknown", "standalone", "webext",
                                                          "badge", "iptproxy"};
static const char *const s_methods[SFB_METHOD_COUNT] = {"http", "ampcache", "sqs"};

enum { F_V = 1, F_SEQ = 2, F_KIND = 4, F_OUTCOME = 8 };

/* Apply one key/value pair; return the F_ bit it satisfied, 0, or -1 on a bad value. */
static int
s_field(const msgpack_object *k, const msgpack_object *v, sfb_event_t *ev)
{
    int i;
    bool is_uint = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (s_is(k, "v"))
        return is_uint && v->via.u64 == SFB_EVENT_SCHEMA ? F_V : -2;
    if (s_is(k, "epoch"))
        return is_uint ? (ev->epoch = v->via.u64, 0) : -1;
    if (s_is(k, "seq"))
        return is_uint ? (ev->seq = v->via.u64, F_SEQ) : -1;
    if (s_is(k, "ts"))
        return is_uint ? (ev->ts_ms = v->via.u64, 0) : -1;
    if (s_is(k, "kind"))
        return (i = s_lookup(v, s_topics, SFB_EV_KIND_COUNT)) < 0
                   ? -1
                   : (ev->kind = (sfb_event_kind_t)i, F_KIND);
    if (s_is(k, "outcome"))
        return (i = s_lookup(v, s_outcomes, SFB_OUT_COUNT)) < 0
                   ? -1
                   : (ev->outcome = (sfb_outcome_t)i, F_OUTCOME);
    if (s_is(k, "type"))
        return (i = s_lookup(v, s_types, SFB_PROXY_TYPE_COUNT)) < 0
                   ? -1
                   : (ev->ptype = (sfb_proxy_type_t)i, 0);
    if (s_is(k, "nat"))
        return (i = s_lookup(v, s_nats, SFB_NAT_COUNT)) < 0 ? -1 : (ev->nat = (sfb_nat_t)i, 0);
    if (s_is(k, "method"))
        return (i = s_lookup(v, s_methods, SFB_METHOD_COUNT)) < 0
                   ? -1
                   : (ev->method = (sfb_method_t)i, 0);
    if (s_is(k, "relay_pattern"))
        return v->type == MSGPACK_OBJECT_BOOLEAN ? (ev->relay_pattern = v->via.boolean, 0) : -1;
    if (s_is(k, "cc")) {
        if (v->type != MSGPACK_OBJECT_STR || !sfb_cc_is_valid(v->via.str.ptr, v->via.str.size))
            return -1;
        if (v->via.str.size > 0) /* an empty string's pointer may be NULL */
            memcpy(ev->cc, v->via.str.ptr, v->via.str.size);
        ev->cc[v->via.str.size] = '\0';
        return 0;
    }
    if (s_is(k, "tag")) {
        if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != SFB_EVENT_TAG_BYTES)
            return -1;
        memcpy(ev->tag, v->via.bin.ptr, SFB_EVENT_TAG_BYTES);
        ev->has_tag = true;
        return 0;
    }
    return 0; /* unknown keys are for newer subscribers */
}

sfb_rc_t
sfb_event_decode(const void *body, size_t len, sfb_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    memcpy(ev->cc, "??", 3);
    ev->epoch = 0;
    if (len > SFB_MSG_MAX_BYTES)
        return SFB_TOO_BIG;
    sfb_rc_t rc = sfb_msgpack_check(body, len);
    if (rc != SFB_OK)
        return rc;
    msgpack_zone zone; /* small first chunk: see sfb_msg_decode() */
    if (!msgpack_zone_init(&zone, SFB_MSGPACK_ZONE_CHUNK))
        abort();
    msgpack_object obj;
    size_t off = 0;
    int seen = 0;
    rc = SFB_OK;
    if (msgpack_unpack(body, len, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS) {
        rc = SFB_BAD_SYNTAX;
    } else if (obj.type != MSGPACK_OBJECT_MAP) {
        rc = SFB_BAD_TYPE;
    } else {
        const msgpack_object_kv *kv = obj.via.map.ptr;
        for (uint32_t i = 0; i < obj.via.map.size && rc == SFB_OK; i++) {
            if (kv[i].key.type != MSGPACK_OBJECT_STR) {
                rc = SFB_BAD_TYPE;
                break;
            }
            int r = s_field(&kv[i].key, &kv[i].val, ev);
            if (r == -2)
                rc = SFB_BAD_VERSION;
            else if (r < 0)
                rc = SFB_BAD_VALUE;
            else
                seen |= r;
        }
        if (rc == SFB_OK && !(seen & F_V))
            rc = SFB_BAD_VERSION;
        else if (rc == SFB_OK && seen != (F_V | F_SEQ | F_KIND | F_OUTCOME))
            rc = SFB_BAD_VALUE;
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

sfb_rc_t
sfb_event_decode_next(const void *blob, size_t len, size_t *off, sfb_event_t *ev)
{
    if (*off >= len)
        return SFB_TRUNCATED;
    size_t objlen;
    const char *p = (const char *)blob + *off;
    sfb_rc_t rc = sfb_msgpack_object_len(p, len - *off, &objlen);
    if (rc != SFB_OK)
        return rc;
    rc = sfb_event_decode(p, objlen, ev);
    *off += objlen;
    return rc;
}
