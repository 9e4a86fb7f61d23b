/* sfb_msg.c - see sfb_msg.h and docs/protocol.md. */
#include "sfb_msg.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding ---------------------------------------------------------------------------- */

static void
s_pack_str(msgpack_packer *pk, sfb_str_t s)
{
    msgpack_pack_str(pk, s.len);
    msgpack_pack_str_body(pk, s.ptr, s.len);
}

static void
s_pack_cc(msgpack_packer *pk, const char *cc)
{
    size_t n = strnlen(cc, SFB_CC_LEN + 1);
    if (!sfb_cc_is_valid(cc, n))
        cc = "??"; /* the decoder refuses anything else */
    n = strlen(cc);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, cc, n);
}

/* Number of fields after [version, type, req_id] for each type, or -1 if unknown. */
static int
s_field_count(sfb_msg_type_t type)
{
    switch (type) {
    case SFB_MSG_PROXY_POLL:
        return 7;
    case SFB_MSG_CLIENT_OFFER:
        return 7;
    case SFB_MSG_PROXY_ANSWER:
        return 2;
    case SFB_MSG_CANCEL:
    case SFB_MSG_DEBUG:
    case SFB_MSG_POOL_GET:
        return 0;
    case SFB_MSG_PROXY_REPLY:
        return 4;
    case SFB_MSG_CLIENT_REPLY:
        return 2;
    case SFB_MSG_ANSWER_REPLY:
    case SFB_MSG_DEBUG_REPLY:
    case SFB_MSG_REPORT_GET:
        return 1;
    case SFB_MSG_REPORT_REPLY:
        return 2;
    case SFB_MSG_REPLAY_GET:
        return 3;
    case SFB_MSG_REPLAY_REPLY:
        return 4;
    case SFB_MSG_POOL_REPLY:
        return 1;
    }
    return -1;
}

bool
sfb_msg_is_request(sfb_msg_type_t type)
{
    return (int)type < 64;
}

void
sfb_msg_encode(const sfb_msg_t *msg, sfb_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, sfb_buf_write);
    int fields = s_field_count(msg->type);
    if (fields < 0)
        fields = 0;
    msgpack_pack_array(&pk, 3 + (size_t)fields);
    msgpack_pack_uint8(&pk, SFB_PROTO_VERSION);
    msgpack_pack_uint8(&pk, (uint8_t)msg->type);
    msgpack_pack_uint64(&pk, msg->req_id);
    switch (msg->type) {
    case SFB_MSG_PROXY_POLL: {
        const sfb_msg_poll_t *p = &msg->u.poll;
        s_pack_str(&pk, p->sid);
        msgpack_pack_uint8(&pk, (uint8_t)p->ptype);
        msgpack_pack_uint8(&pk, (uint8_t)p->nat);
        msgpack_pack_int64(&pk, p->clients);
        if (p->has_pattern)
            s_pack_str(&pk, p->pattern);
        else
            msgpack_pack_nil(&pk);
        s_pack_str(&pk, p->addr);
        s_pack_cc(&pk, p->cc);
        break;
    }
    case SFB_MSG_CLIENT_OFFER: {
        const sfb_msg_offer_t *o = &msg->u.offer;
        s_pack_str(&pk, o->offer);
        msgpack_pack_uint8(&pk, (uint8_t)o->nat);
        msgpack_pack_bin_with_body(&pk, o->fp, o->fp_len);
        msgpack_pack_uint8(&pk, (uint8_t)o->method);
        if (o->legacy)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
        s_pack_str(&pk, o->addr);
        s_pack_cc(&pk, o->cc);
        break;
    }
    case SFB_MSG_PROXY_ANSWER:
        s_pack_str(&pk, msg->u.answer.sid);
        s_pack_str(&pk, msg->u.answer.answer);
        break;
    case SFB_MSG_CANCEL:
    case SFB_MSG_DEBUG:
    case SFB_MSG_POOL_GET:
        break;
    case SFB_MSG_PROXY_REPLY: {
        const sfb_msg_proxy_reply_t *r = &msg->u.proxy_reply;
        msgpack_pack_uint8(&pk, (uint8_t)r->status);
        s_pack_str(&pk, r->offer);
        msgpack_pack_uint8(&pk, (uint8_t)r->nat);
        s_pack_str(&pk, r->relay_url);
        break;
    }
    case SFB_MSG_CLIENT_REPLY:
        msgpack_pack_uint8(&pk, (uint8_t)msg->u.client_reply.status);
        s_pack_str(&pk, msg->u.client_reply.answer);
        break;
    case SFB_MSG_ANSWER_REPLY:
        msgpack_pack_uint8(&pk, (uint8_t)msg->u.answer_reply);
        break;
    case SFB_MSG_DEBUG_REPLY:
        s_pack_str(&pk, msg->u.debug_text);
        break;
    case SFB_MSG_REPORT_GET:
        msgpack_pack_uint8(&pk, (uint8_t)msg->u.report_get);
        break;
    case SFB_MSG_REPORT_REPLY:
        if (msg->u.report_reply.found)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
        s_pack_str(&pk, msg->u.report_reply.text);
        break;
    case SFB_MSG_REPLAY_GET:
        msgpack_pack_uint64(&pk, msg->u.replay_get.epoch);
        msgpack_pack_uint64(&pk, msg->u.replay_get.from_seq);
        msgpack_pack_uint32(&pk, msg->u.replay_get.max);
        break;
    case SFB_MSG_REPLAY_REPLY: {
        const sfb_msg_replay_reply_t *r = &msg->u.replay_reply;
        msgpack_pack_uint64(&pk, r->epoch);
        msgpack_pack_uint64(&pk, r->first_seq);
        msgpack_pack_uint32(&pk, r->count);
        msgpack_pack_bin_with_body(&pk, r->events.ptr, r->events.len);
        break;
    }
    case SFB_MSG_POOL_REPLY:
        msgpack_pack_array(&pk, SFB_PROXY_TYPE_COUNT * SFB_NAT_COUNT);
        for (int t = 0; t < SFB_PROXY_TYPE_COUNT; t++)
            for (int n = 0; n < SFB_NAT_COUNT; n++)
                msgpack_pack_uint32(&pk, msg->u.pool_reply.avail[t][n]);
        break;
    }
}

/* ---- length-prefix check ------------------------------------------------------------------- */

static uint64_t
s_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Header at p (avail bytes): set *hdr (header bytes), *payload (bytes of data that follow)
 * and *children (elements that follow). Return SFB_OK, SFB_TRUNCATED or SFB_BAD_SYNTAX (the
 * reserved byte 0xc1). */
static sfb_rc_t
s_header(const unsigned char *p, size_t avail, size_t *hdr, uint64_t *payload, uint64_t *children)
{
    unsigned char c = p[0];
    *hdr = 1;
    *payload = 0;
    *children = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return SFB_OK;
    if (c >= 0x80 && c <= 0x8f) {
        *children = 2u * (c & 0x0f);
        return SFB_OK;
    }
    if (c >= 0x90 && c <= 0x9f) {
        *children = c & 0x0f;
        return SFB_OK;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        *payload = c & 0x1f;
        return SFB_OK;
    }
    static const struct {
        unsigned char code;
        unsigned char len_bytes; /* size of the length field */
        unsigned char fixed;     /* fixed payload (no length field) */
        unsigned char kind;      /* 0 payload, 1 array, 2 map, 3 ext (1 type byte) */
    } t[] = {
        {0xc4, 1, 0, 0},  {0xc5, 2, 0, 0}, {0xc6, 4, 0, 0}, {0xc7, 1, 0, 3}, {0xc8, 2, 0, 3},
        {0xc9, 4, 0, 3},  {0xca, 0, 4, 0}, {0xcb, 0, 8, 0}, {0xcc, 0, 1, 0}, {0xcd, 0, 2, 0},
        {0xce, 0, 4, 0},  {0xcf, 0, 8, 0}, {0xd0, 0, 1, 0}, {0xd1, 0, 2, 0}, {0xd2, 0, 4, 0},
        {0xd3, 0, 8, 0},  {0xd4, 0, 2, 0}, {0xd5, 0, 3, 0}, {0xd6, 0, 5, 0}, {0xd7, 0, 9, 0},
        {0xd8, 0, 17, 0}, {0xd9, 1, 0, 0}, {0xda, 2, 0, 0}, {0xdb, 4, 0, 0}, {0xdc, 2, 0, 1},
        {0xdd, 4, 0, 1},  {0xde, 2, 0, 2}, {0xdf, 4, 0, 2},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].code != c)
            continue;
        if (avail < 1u + t[i].len_bytes)
            return SFB_TRUNCATED;
        uint64_t n = s_be(p + 1, t[i].len_bytes);
        *hdr = 1u + t[i].len_bytes;
        if (t[i].len_bytes == 0)
            *payload = t[i].fixed;
        else if (t[i].kind == 1)
            *children = n;
        else if (t[i].kind == 2)
            *children = 2 * n;
        else
            *payload = n + (t[i].kind == 3 ? 1 : 0);
        return SFB_OK;
    }
    return SFB_BAD_SYNTAX; /* 0xc1 is never used */
}

sfb_rc_t
sfb_msgpack_check(const void *buf, size_t len)
{
    size_t objlen;
    return sfb_msgpack_object_len(buf, len, &objlen);
}

sfb_rc_t
sfb_msgpack_object_len(const void *buf, size_t len, size_t *objlen)
{
    const unsigned char *p = buf;
    size_t off = 0;
    uint64_t pending = 1;
    while (pending > 0) {
        if (off >= len)
            return SFB_TRUNCATED;
        size_t hdr;
        uint64_t payload, children;
        sfb_rc_t rc = s_header(p + off, len - off, &hdr, &payload, &children);
        if (rc != SFB_OK)
            return rc;
        off += hdr;
        if (payload > len - off)
            return SFB_TOO_BIG;
        off += (size_t)payload;
        pending--;
        /* each element takes at least one byte, so a count beyond the rest is forged */
        if (children > len - off || pending + children > len - off + 1)
            return SFB_TOO_BIG;
        pending += children;
    }
    *objlen = off;
    return SFB_OK;
}

/* ---- decoding ---------------------------------------------------------------------------- */

static bool
s_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return false;
    *out = o->via.u64;
    return true;
}

static bool
s_str(const msgpack_object *o, sfb_str_t *out)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return false;
    /* msgpack_unpack() gives an empty string a NULL pointer; callers may memcpy from it */
    out->ptr = o->via.str.size ? o->via.str.ptr : "";
    out->len = o->via.str.size;
    return true;
}

static bool
s_cc(const msgpack_object *o, char cc[SFB_CC_LEN + 1])
{
    sfb_str_t s;
    if (!s_str(o, &s) || !sfb_cc_is_valid(s.ptr, s.len))
        return false;
    memcpy(cc, s.ptr, s.len);
    cc[s.len] = '\0';
    return true;
}

static sfb_rc_t
s_decode_poll(const msgpack_object *f, sfb_msg_poll_t *p)
{
    uint64_t ptype, nat;
    if (!s_str(&f[0], &p->sid) || !s_uint(&f[1], SFB_PROXY_IPTPROXY, &ptype) ||
        !s_uint(&f[2], SFB_NAT_UNRESTRICTED, &nat) || !s_str(&f[5], &p->addr) ||
        !s_cc(&f[6], p->cc))
        return SFB_BAD_TYPE;
    if (f[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[3].via.u64 <= INT64_MAX)
        p->clients = (int64_t)f[3].via.u64;
    else if (f[3].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        p->clients = f[3].via.i64;
    else
        return SFB_BAD_TYPE;
    p->has_pattern = f[4].type != MSGPACK_OBJECT_NIL;
    p->pattern = (sfb_str_t){"", 0};
    if (p->has_pattern && !s_str(&f[4], &p->pattern))
        return SFB_BAD_TYPE;
    p->ptype = (sfb_proxy_type_t)ptype;
    p->nat = (sfb_nat_t)nat;
    return p->sid.len > 0 ? SFB_OK : SFB_BAD_VALUE;
}

static sfb_rc_t
s_decode_offer(const msgpack_object *f, sfb_msg_offer_t *o)
{
    uint64_t nat, method;
    if (!s_str(&f[0], &o->offer) || !s_uint(&f[1], SFB_NAT_UNRESTRICTED, &nat) ||
        f[2].type != MSGPACK_OBJECT_BIN || !s_uint(&f[3], SFB_METHOD_SQS, &method) ||
        f[4].type != MSGPACK_OBJECT_BOOLEAN || !s_str(&f[5], &o->addr) || !s_cc(&f[6], o->cc))
        return SFB_BAD_TYPE;
    size_t fp_len = f[2].via.bin.size;
    if (fp_len != 20 && fp_len != 32)
        return SFB_BAD_VALUE;
    memcpy(o->fp, f[2].via.bin.ptr, fp_len);
    o->fp_len = fp_len;
    o->nat = (sfb_nat_t)nat;
    o->method = (sfb_method_t)method;
    o->legacy = f[4].via.boolean;
    return o->offer.len > 0 ? SFB_OK : SFB_BAD_VALUE;
}

static sfb_rc_t
s_decode_replay(const msgpack_object *f, sfb_msg_t *msg)
{
    uint64_t a, b, c;
    if (!s_uint(&f[0], UINT64_MAX, &a) || !s_uint(&f[1], UINT64_MAX, &b) ||
        !s_uint(&f[2], UINT32_MAX, &c))
        return SFB_BAD_TYPE;
    if (msg->type == SFB_MSG_REPLAY_GET) {
        msg->u.replay_get = (sfb_msg_replay_get_t){a, b, (uint32_t)c};
        return SFB_OK;
    }
    if (f[3].type != MSGPACK_OBJECT_BIN)
        return SFB_BAD_TYPE;
    msg->u.replay_reply = (sfb_msg_replay_reply_t){
        a, b, (uint32_t)c, {f[3].via.bin.size ? f[3].via.bin.ptr : "", f[3].via.bin.size}};
    return SFB_OK;
}

/* POOL_REPLY: one array of SFB_PROXY_TYPE_COUNT x SFB_NAT_COUNT counts, type-major. */
static sfb_rc_t
s_decode_pool(const msgpack_object *f, sfb_msg_pool_reply_t *p)
{
    if (f->type != MSGPACK_OBJECT_ARRAY ||
        f->via.array.size != SFB_PROXY_TYPE_COUNT * SFB_NAT_COUNT)
        return SFB_BAD_TYPE;
    for (int t = 0; t < SFB_PROXY_TYPE_COUNT; t++)
        for (int n = 0; n < SFB_NAT_COUNT; n++) {
            uint64_t v;
            if (!s_uint(&f->via.array.ptr[t * SFB_NAT_COUNT + n], UINT32_MAX, &v))
                return SFB_BAD_TYPE;
            p->avail[t][n] = (uint32_t)v;
        }
    return SFB_OK;
}

static sfb_rc_t
s_decode_fields(const msgpack_object *f, sfb_msg_t *msg)
{
    uint64_t status;
    switch (msg->type) {
    case SFB_MSG_PROXY_POLL:
        return s_decode_poll(f, &msg->u.poll);
    case SFB_MSG_CLIENT_OFFER:
        return s_decode_offer(f, &msg->u.offer);
    case SFB_MSG_PROXY_ANSWER:
        if (!s_str(&f[0], &msg->u.answer.sid) || !s_str(&f[1], &msg->u.answer.answer))
            return SFB_BAD_TYPE;
        return msg->u.answer.sid.len && msg->u.answer.answer.len ? SFB_OK : SFB_BAD_VALUE;
    case SFB_MSG_CANCEL:
    case SFB_MSG_DEBUG:
    case SFB_MSG_POOL_GET:
        return SFB_OK;
    case SFB_MSG_PROXY_REPLY: {
        sfb_msg_proxy_reply_t *r = &msg->u.proxy_reply;
        uint64_t nat;
        if (!s_uint(&f[0], SFB_PROXY_INTERNAL, &status) || !s_str(&f[1], &r->offer) ||
            !s_uint(&f[2], SFB_NAT_UNRESTRICTED, &nat) || !s_str(&f[3], &r->relay_url))
            return SFB_BAD_TYPE;
        r->status = (sfb_proxy_status_t)status;
        r->nat = (sfb_nat_t)nat;
        return SFB_OK;
    }
    case SFB_MSG_CLIENT_REPLY:
        if (!s_uint(&f[0], SFB_CLIENT_UNKNOWN_BRIDGE, &status) ||
            !s_str(&f[1], &msg->u.client_reply.answer))
            return SFB_BAD_TYPE;
        msg->u.client_reply.status = (sfb_client_status_t)status;
        return SFB_OK;
    case SFB_MSG_ANSWER_REPLY:
        if (!s_uint(&f[0], SFB_ANSWER_CLIENT_GONE, &status))
            return SFB_BAD_TYPE;
        msg->u.answer_reply = (sfb_answer_status_t)status;
        return SFB_OK;
    case SFB_MSG_DEBUG_REPLY:
        return s_str(&f[0], &msg->u.debug_text) ? SFB_OK : SFB_BAD_TYPE;
    case SFB_MSG_REPORT_GET:
        if (!s_uint(&f[0], SFB_REPORT_PROMETHEUS, &status))
            return SFB_BAD_TYPE;
        msg->u.report_get = (sfb_report_kind_t)status;
        return SFB_OK;
    case SFB_MSG_REPORT_REPLY:
        if (f[0].type != MSGPACK_OBJECT_BOOLEAN || !s_str(&f[1], &msg->u.report_reply.text))
            return SFB_BAD_TYPE;
        msg->u.report_reply.found = f[0].via.boolean;
        return SFB_OK;
    case SFB_MSG_REPLAY_GET:
    case SFB_MSG_REPLAY_REPLY:
        return s_decode_replay(f, msg);
    case SFB_MSG_POOL_REPLY:
        return s_decode_pool(f, &msg->u.pool_reply);
    }
    return SFB_BAD_TYPE;
}

sfb_rc_t
sfb_msg_decode(const void *frame, size_t len, sfb_msg_t *msg)
{
    if (len > SFB_MSG_MAX_BYTES)
        return SFB_TOO_BIG;
    sfb_rc_t rc = sfb_msgpack_check(frame, len);
    if (rc != SFB_OK)
        return rc;
    /* A small first chunk stays in the allocator's per-thread cache; msgpack_unpacked's
     * 8 KiB default took the slow path on every frame. Arrays grow the zone if they must. */
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, SFB_MSGPACK_ZONE_CHUNK))
        abort();
    msgpack_object obj;
    size_t off = 0;
    memset(msg, 0, sizeof *msg);
    if (msgpack_unpack(frame, len, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS) {
        rc = SFB_BAD_SYNTAX; /* EXTRA_BYTES included: one frame is one object */
        goto done;
    }
    const msgpack_object *root = &obj;
    uint64_t version, type;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 3) {
        rc = SFB_BAD_TYPE;
        goto done;
    }
    const msgpack_object *a = root->via.array.ptr;
    if (!s_uint(&a[0], UINT8_MAX, &version) || version != SFB_PROTO_VERSION) {
        rc = SFB_BAD_VERSION;
        goto done;
    }
    if (!s_uint(&a[1], UINT8_MAX, &type) || !s_uint(&a[2], UINT64_MAX, &msg->req_id)) {
        rc = SFB_BAD_TYPE;
        goto done;
    }
    msg->type = (sfb_msg_type_t)type;
    int fields = s_field_count(msg->type);
    if (fields < 0 || root->via.array.size != 3u + (unsigned)fields) {
        rc = SFB_BAD_TYPE;
        goto done;
    }
    rc = s_decode_fields(a + 3, msg);
done:
    msgpack_zone_destroy(&zone);
    return rc;
}
