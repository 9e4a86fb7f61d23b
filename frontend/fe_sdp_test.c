/* fe_sdp_test.c - best-candidate extraction (spec §4.4 step 2, §11.6 vectors). */
#include "fe_sdp.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <stdio.h>
#include <string.h>

static const char *s_sdp =
    "v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\n"
    "a=candidate:0 1 udp 1 10.0.0.99 1 typ host\\r\\n" /* session level: ignored */
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\nc=IN IP4 0.0.0.0\\r\\n"
    "a=candidate:1 1 udp 1 8.8.8.8 1 typ prflx\\r\\n"
    "a=candidate:2 1 udp 2 129.97.208.13 2 typ relay\\r\\n"
    "a=candidate:3 1 udp 3 129.97.208.14 3 typ srflx\\r\\n"
    "a=candidate:4 1 udp 2122260223 129.97.208.15 4 typ host\\r\\n"
    "a=candidate:5 1 udp 2122260224 129.97.208.16 5 typ host\\r\\n"
    "a=candidate:6 1 udp 2122260225 abc.local 6 typ host\\r\\n";

static void
s_expect(const char *json, const char *want)
{
    char out[64];
    bool ok = fe_sdp_client_addr(json, strlen(json), out, sizeof out);
    assert_int_equal(ok, want[0] != '\0');
    assert_string_equal(out, want);
}

static void
test_best_candidate(void **state)
{
    (void)state;
    char json[2048];
    snprintf(json, sizeof json, "{\"type\":\"offer\",\"sdp\":\"%s\"}", s_sdp);
    s_expect(json, "129.97.208.16");
    /* without the host candidates, prflx beats srflx beats relay */
    char *cut = strstr(json, "a=candidate:4");
    strcpy(cut, "\"}");
    s_expect(json, "8.8.8.8");
}

static void
test_malformed_offers(void **state)
{
    (void)state;
    s_expect("", "");
    s_expect("not json", "");
    s_expect("{\"type\":\"offer\"}", "");
    s_expect("{\"type\":\"bogus\",\"sdp\":\"m=x\\r\\na=candidate:1 1 udp 1 1.2.3.4 1 typ host\"}",
             "");
    s_expect("{\"type\":1,\"sdp\":\"x\"}", "");
    s_expect("{\"type\":\"offer\",\"sdp\":[]}", "");
    s_expect("{\"type\":\"answer\",\"sdp\":\"m=x\\r\\na=candidate:1 1 udp 7 2001:db8::1 1 typ "
             "srflx\"}",
             "2001:db8::1");
    s_expect("{\"type\":\"offer\",\"sdp\":\"m=x\\r\\na=candidate:garbage\"}", "");
}

int
fe_sdp_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_candidate),
        cmocka_unit_test(test_malformed_offers),
    };
    return cmocka_run_group_tests_name("fe_sdp", tests, NULL, NULL);
}
