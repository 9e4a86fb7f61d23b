/* md_evjson.c - see md_evjson.h. */
#include "md_evjson.h"

#include "sfb_msg.h"

#include <msgpack.h>
#include <stdio.h>

static void
s_string(sfb_buf_t *out, const char *p, size_t len)
{
    sfb_buf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            sfb_buf_printf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) /* non-ASCII too: the tool prints only ASCII */
            sfb_buf_printf(out, "\\u%04x", c);
        else
            sfb_buf_putc(out, (char)c);
    }
    sfb_buf_putc(out, '"');
}

static void
s_value(sfb_buf_t *out, const msgpack_object *v, int depth)
{
    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        sfb_buf_puts(out, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        sfb_buf_puts(out, v->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        sfb_buf_printf(out, "%llu", (unsigned long long)v->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        sfb_buf_printf(out, "%lld", (long long)v->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        sfb_buf_printf(out, "%.17g", v->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        s_string(out, v->via.str.ptr, v->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        sfb_buf_putc(out, '"');
        for (uint32_t i = 0; i < v->via.bin.size; i++)
            sfb_buf_printf(out, "%02x", (unsigned char)v->via.bin.ptr[i]);
        sfb_buf_putc(out, '"');
        break;
    case MSGPACK_OBJECT_ARRAY:
        sfb_buf_putc(out, '[');
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            if (i)
                sfb_buf_putc(out, ',');
            s_value(out, &v->via.array.ptr[i], depth + 1);
        }
        sfb_buf_putc(out, ']');
        break;
    case MSGPACK_OBJECT_MAP:
        sfb_buf_putc(out, '{');
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object *k = &v->via.map.ptr[i].key;
            if (i)
                sfb_buf_putc(out, ',');
            if (k->type == MSGPACK_OBJECT_STR)
                s_string(out, k->via.str.ptr, k->via.str.size);
            else
                sfb_buf_puts(out, "\"?\"");
            sfb_buf_putc(out, ':');
            s_value(out, &v->via.map.ptr[i].val, depth + 1);
        }
        sfb_buf_putc(out, '}');
        break;
    case MSGPACK_OBJECT_EXT:
        sfb_buf_puts(out, "null");
        break;
    }
}

sfb_rc_t
md_evjson_format(const void *body, size_t len, sfb_buf_t *out)
{
    if (len > SFB_MSG_MAX_BYTES)
        return SFB_TOO_BIG;
    sfb_rc_t rc = sfb_msgpack_check(body, len); /* no allocation from forged lengths */
    if (rc != SFB_OK)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, body, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
        rc = SFB_BAD_SYNTAX;
    } else if (u.data.type != MSGPACK_OBJECT_MAP) {
        rc = SFB_BAD_TYPE;
    } else {
        for (uint32_t i = 0; i < u.data.via.map.size; i++)
            if (u.data.via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
                rc = SFB_BAD_TYPE;
        if (rc == SFB_OK)
            s_value(out, &u.data, 0);
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}
