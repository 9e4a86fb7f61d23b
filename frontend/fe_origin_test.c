/* fe_origin_test.c - the country each kind of request carries, with and without a database. */
#include "fe_origin.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 127.0.0.0/8 JP, 129.97.208.0/24 CA, 1.0.0.0/24 AU */
static const char *s_v4 = "16777216,16777471,AU\n2130706432,2147483647,JP\n"
                          "2170671104,2170671359,CA\n";

#define OFFER(cand)                                                                                \
    "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\nm=application 9 UDP/DTLS/SCTP "                        \
    "webrtc-datachannel\\r\\n" cand "\"}"

static const char *s_offer_ca = OFFER("a=candidate:1 1 udp 2122260223 129.97.208.23 5 typ "
                                      "host\\r\\na=candidate:2 1 udp 7 1.0.0.1 6 typ srflx\\r\\n");
static const char *s_offer_none = OFFER("a=candidate:1 1 udp 2122260223 x.local 5 typ host\\r\\n");

static fe_geoip_t *
s_db(void)
{
    char path[] = "/tmp/fe_origin_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s_v4, strlen(s_v4)), (ssize_t)strlen(s_v4));
    close(fd);
    fe_geoip_t *g = fe_geoip_new();
    assert_int_equal(fe_geoip_load_tor(g, path, NULL), 0);
    unlink(path);
    return g;
}

static void
s_client(const fe_geoip_t *g, bool amp, const char *addr, const char *offer, const char *want_addr,
         const char *want_cc)
{
    fe_origin_t o;
    memset(&o, 'x', sizeof o);
    fe_origin_client(&o, g, amp, addr, offer, strlen(offer));
    assert_string_equal(o.addr, want_addr);
    assert_int_equal(o.addr_len, strlen(want_addr));
    assert_string_equal(o.cc, want_cc);
}

static void
test_proxy(void **state)
{
    (void)state;
    fe_geoip_t *g = s_db(), *empty = fe_geoip_new();
    fe_origin_t o;
    fe_origin_proxy(&o, g, "127.0.0.1");
    assert_string_equal(o.addr, "127.0.0.1");
    assert_string_equal(o.cc, "JP");
    fe_origin_proxy(&o, g, "8.8.8.8");
    assert_string_equal(o.cc, "??");
    fe_origin_proxy(&o, g, "");
    assert_string_equal(o.addr, "");
    assert_string_equal(o.cc, "??");
    fe_origin_proxy(&o, NULL, "127.0.0.1"); /* --disable-geoip */
    assert_string_equal(o.addr, "127.0.0.1");
    assert_string_equal(o.cc, "");
    fe_origin_proxy(&o, empty, "127.0.0.1");
    assert_string_equal(o.cc, "");
    fe_geoip_destroy(&g);
    fe_geoip_destroy(&empty);
}

static void
test_client(void **state)
{
    (void)state;
    fe_geoip_t *g = s_db();
    /* HTTP: the rule's address wins over the offer's candidates */
    s_client(g, false, "127.0.0.1", s_offer_ca, "127.0.0.1", "JP");
    s_client(g, false, "8.8.8.8", s_offer_ca, "8.8.8.8", "??");
    /* HTTP without an address: the best candidate (host beats srflx), not sent on */
    s_client(g, false, "", s_offer_ca, "", "CA");
    s_client(g, false, "", s_offer_none, "", "??");
    s_client(g, false, "", "not json", "", "??");
    /* AMP: never the rule's address (that is the cache); always the offer */
    s_client(g, true, "127.0.0.1", s_offer_ca, "", "CA");
    s_client(g, true, "127.0.0.1", s_offer_none, "", "??");
    /* no database: "" whatever the request */
    s_client(NULL, false, "127.0.0.1", s_offer_ca, "127.0.0.1", "");
    s_client(NULL, true, "127.0.0.1", s_offer_ca, "", "");
    fe_geoip_destroy(&g);
}

int
fe_origin_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests_name("fe_origin", tests, NULL, NULL);
}
