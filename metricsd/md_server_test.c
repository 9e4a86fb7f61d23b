/* md_server_test.c - REPORT_GET over a DEALER: stats log, Prometheus text, not found, and
 * refused frames. */
#include "md_selftest.h"
#include "md_server.h"
#include "sfb_msg.h"
#include "sfb_test.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Send a REPORT_GET for `kind`, let the server answer, decode the reply into *rep. */
static void
s_ask(md_server_t *srv, zsock_t *dealer, sfb_report_kind_t kind, sfb_buf_t *raw, sfb_msg_t *rep)
{
    sfb_msg_t req = {.type = SFB_MSG_REPORT_GET, .req_id = 77 + kind};
    req.u.report_get = kind;
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_msg_encode(&req, &b);
    assert_int_equal(zmq_send(zsock_resolve(dealer), b.data, b.len, 0), (int)b.len);
    sfb_buf_dispose(&b);
    zmq_pollitem_t it = {md_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    md_server_drain(srv);
    zframe_t *f = zframe_recv(dealer);
    assert_non_null(f);
    sfb_buf_reset(raw);
    sfb_buf_append(raw, zframe_data(f), zframe_size(f));
    zframe_destroy(&f);
    assert_int_equal(sfb_msg_decode(raw->data, raw->len, rep), SFB_OK);
    assert_int_equal(rep->type, SFB_MSG_REPORT_REPLY);
    assert_true(rep->req_id == 77 + kind);
}

static void
test_report_get(void **state)
{
    (void)state;
    char path[] = "/tmp/md_server_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    md_statslog_t *log = md_statslog_open(path);
    const char *block = "snowflake-stats-end 2025-05-30 00:00:00 (86400 s)\nsnowflake-ips \n";
    assert_int_equal(md_statslog_append(log, block, strlen(block)), 0);
    md_prom_t *prom = md_prom_new();
    md_prom_answer(prom, true, SFB_PROXY_WEBEXT);
    md_health_t *health = md_health_new();
    md_server_t *srv = md_server_new("inproc://md-server-test", log, prom, health, NULL);
    assert_non_null(srv);
    zsock_t *dealer = zsock_new_dealer(">inproc://md-server-test");
    zsock_set_rcvtimeo(dealer, 2000);
    sfb_buf_t raw;
    sfb_buf_init(&raw);
    sfb_msg_t rep;

    s_ask(srv, dealer, SFB_REPORT_STATS_LOG, &raw, &rep);
    assert_true(rep.u.report_reply.found);
    assert_int_equal(rep.u.report_reply.text.len, strlen(block));
    assert_memory_equal(rep.u.report_reply.text.ptr, block, strlen(block));

    s_ask(srv, dealer, SFB_REPORT_PROMETHEUS, &raw, &rep);
    assert_true(rep.u.report_reply.found);
    const char *want =
        "snowflake_rounded_proxy_answer_total{status=\"success\",type=\"webext\"} 8\n";
    assert_non_null(
        memmem(rep.u.report_reply.text.ptr, rep.u.report_reply.text.len, want, strlen(want)));

    unlink(path); /* the file went away: found=false */
    s_ask(srv, dealer, SFB_REPORT_STATS_LOG, &raw, &rep);
    assert_false(rep.u.report_reply.found);
    assert_int_equal(rep.u.report_reply.text.len, 0);
    assert_int_equal(md_health_get(health, MD_H_REQUESTS), 3);

    zstr_send(dealer, "not msgpack"); /* refused, counted, no reply */
    zmq_pollitem_t it = {md_server_socket(srv), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    md_server_drain(srv);
    assert_int_equal(md_health_get(health, MD_H_BAD_REQUESTS), 1);

    assert_null(md_server_new("bogus://x", log, prom, health, NULL));
    sfb_buf_dispose(&raw);
    zsock_destroy(&dealer);
    md_server_destroy(&srv);
    assert_null(srv);
    md_health_destroy(&health);
    md_prom_destroy(&prom);
    md_statslog_destroy(&log);
}

int
md_server_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_get),
    };
    return cmocka_run_group_tests_name("md_server", tests, NULL, NULL);
}
