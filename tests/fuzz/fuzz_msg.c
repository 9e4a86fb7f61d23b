/* fuzz_msg.c - sfb_msg_decode on arbitrary frames; decode(encode(m)) == m for what decodes. */
#include "sfb_msg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_same_str(sfb_str_t a, sfb_str_t b)
{
    if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfb_msg_t m;
    if (sfb_msg_decode(data, size, &m) != SFB_OK)
        return 0;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_encode(&m, &b);
    sfb_msg_t again;
    if (sfb_msg_decode(b.data, b.len, &again) != SFB_OK || again.type != m.type ||
        again.req_id != m.req_id)
        abort();
    switch (m.type) {
    case SFB_MSG_PROXY_POLL:
        s_same_str(m.u.poll.sid, again.u.poll.sid);
        s_same_str(m.u.poll.addr, again.u.poll.addr);
        if (m.u.poll.clients != again.u.poll.clients || strcmp(m.u.poll.cc, again.u.poll.cc))
            abort();
        break;
    case SFB_MSG_CLIENT_OFFER:
        s_same_str(m.u.offer.offer, again.u.offer.offer);
        if (m.u.offer.fp_len != again.u.offer.fp_len ||
            memcmp(m.u.offer.fp, again.u.offer.fp, m.u.offer.fp_len) != 0)
            abort();
        break;
    case SFB_MSG_PROXY_ANSWER:
        s_same_str(m.u.answer.answer, again.u.answer.answer);
        break;
    case SFB_MSG_PROXY_REPLY:
        s_same_str(m.u.proxy_reply.offer, again.u.proxy_reply.offer);
        break;
    case SFB_MSG_CLIENT_REPLY:
        s_same_str(m.u.client_reply.answer, again.u.client_reply.answer);
        break;
    case SFB_MSG_DEBUG_REPLY:
        s_same_str(m.u.debug_text, again.u.debug_text);
        break;
    case SFB_MSG_REPORT_REPLY:
        s_same_str(m.u.report_reply.text, again.u.report_reply.text);
        break;
    case SFB_MSG_REPLAY_REPLY:
        s_same_str(m.u.replay_reply.events, again.u.replay_reply.events);
        break;
    case SFB_MSG_POOL_REPLY:
        if (memcmp(&m.u.pool_reply, &again.u.pool_reply, sizeof m.u.pool_reply) != 0)
            abort();
        break;
    case SFB_MSG_REPLAY_GET:
    case SFB_MSG_POOL_GET:
    case SFB_MSG_CANCEL:
    case SFB_MSG_DEBUG:
    case SFB_MSG_ANSWER_REPLY:
    case SFB_MSG_REPORT_GET:
        break;
    }
    sfb_buf_dispose(&b);
    return 0;
}
