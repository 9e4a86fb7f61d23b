/* sfb_json_test.c - the JSON messages of spec §3: every example row of §3.2-§3.7 and §11.1,
 * the Go-JSON decoding rules of §3.1 (case folding, last duplicate wins, null, wrong types)
 * and Go's string escaping, byte for byte. */
#include "sfb_json.h"
#include "sfb_selftest.h"
#include "sfb_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SID "ymbcCMto7KHNGYlp"
/* A literal that may hold NULs, as (pointer, length) arguments. */
#define S_LIT(lit) (lit), sizeof(lit) - 1

/* Fail with the row's input in the message, so a table failure names its row. */
#define S_CHECK(cond, row)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s:%d: [%s] %s", __FILE__, __LINE__, (row), #cond);                          \
    } while (0)

static void
s_poll_ok(const char *body, const char *sid, sfb_proxy_type_t ptype, sfb_nat_t nat, int64_t clients,
          const char *pattern)
{
    sfb_proxy_poll_t p;
    sfb_rc_t rc = sfb_proxy_poll_decode(body, strlen(body), &p);
    if (rc != SFB_OK)
        fail_msg("[%s] rc %s", body, sfb_rc_str(rc));
    S_CHECK(p.sid_len == strlen(sid) && strcmp(p.sid, sid) == 0, body);
    S_CHECK(p.ptype == ptype, body);
    S_CHECK(p.nat == nat, body);
    S_CHECK(p.clients == clients, body);
    S_CHECK(p.has_pattern == (pattern != NULL), body);
    const char *want = pattern != NULL ? pattern : "";
    S_CHECK(p.pattern_len == strlen(want) && strcmp(p.pattern, want) == 0, body);
    sfb_proxy_poll_dispose(&p);
    S_CHECK(p.sid == NULL && p.pattern == NULL, body);
}

static void
s_poll_err_len(const char *body, size_t len, sfb_rc_t want)
{
    sfb_proxy_poll_t p;
    memset(&p, 0xA5, sizeof p);
    sfb_rc_t rc = sfb_proxy_poll_decode(body, len, &p);
    if (rc != want)
        fail_msg("[%s] rc %s, want %s", body, sfb_rc_str(rc), sfb_rc_str(want));
    /* on error every output is empty/zero and there is nothing to free */
    S_CHECK(p.sid == NULL && p.pattern == NULL && !p.has_pattern, body);
    S_CHECK(p.clients == 0 && p.nat == SFB_NAT_UNKNOWN && p.ptype == SFB_PROXY_UNKNOWN, body);
    sfb_proxy_poll_dispose(&p);
}

static void
s_poll_err(const char *body, sfb_rc_t want)
{
    s_poll_err_len(body, strlen(body), want);
}

static void
test_proxy_poll_spec_rows(void **state)
{
    (void)state;
    /* §3.2 table and §11.1 TestDecodeProxyPollRequest */
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.0\"}", SID, SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN,
              0, NULL);
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.1\",\"Type\":\"standalone\"}", SID,
              SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.2\",\"Type\":\"standalone\", "
              "\"NAT\":\"restricted\"}",
              SID, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, 0, NULL);
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.2\",\"Type\":\"standalone\", "
              "\"NAT\":\"restricted\",\"Clients\":24}",
              SID, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, 24, NULL);
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.2\",\"Type\":\"standalone\", "
              "\"NAT\":\"restricted\",\"Clients\":24, "
              "\"AcceptedRelayPattern\":\"snowfalke.torproject.org\"}",
              SID, SFB_PROXY_STANDALONE, SFB_NAT_RESTRICTED, 24, "snowfalke.torproject.org");
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.0\",\"Type\":\"mobile\"}", "x", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_err("", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"" SID "\"}", SFB_BAD_VERSION);
    s_poll_err("{}", SFB_BAD_VERSION);
    s_poll_err("{\"Version\":\"1.0\"}", SFB_BAD_VALUE);
    s_poll_err("{\"Version\":\"2.0\"}", SFB_BAD_VERSION);
    s_poll_err("{\"Sid\":\"x\",\"Version\":\"1.2\",\"NAT\":\"symmetric\"}", SFB_BAD_VALUE);
    s_poll_err("{\"Sid\":\"x\",\"Version\":1.3}", SFB_BAD_TYPE);
    /* what the Go proxy sends */
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.3\",\"Type\":\"standalone\",\"NAT\":"
              "\"unrestricted\",\"Clients\":0,\"AcceptedRelayPattern\":\"snowflake.torproject."
              "net$\"}",
              SID, SFB_PROXY_STANDALONE, SFB_NAT_UNRESTRICTED, 0, "snowflake.torproject.net$");
    /* §11.1 TestEncodeProxyPollRequests: Go's no-relay encoder sends an empty pattern */
    s_poll_ok("{\"Sid\":\"" SID "\",\"Version\":\"1.3\",\"Type\":\"standalone\",\"NAT\":"
              "\"unknown\",\"Clients\":16,\"AcceptedRelayPattern\":\"\"}",
              SID, SFB_PROXY_STANDALONE, SFB_NAT_UNKNOWN, 16, "");
}

static void
test_proxy_poll_versions_and_values(void **state)
{
    (void)state;
    static const char *const good[] = {"1", "1.0", "1.3", "1.x.y", "1."};
    static const char *const bad[] = {"", "2.0", "01.0", ".1", "10", "1,0", " 1.0", "v1"};
    char body[128];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(body, sizeof body, "{\"Sid\":\"s\",\"Version\":\"%s\"}", good[i]);
        s_poll_ok(body, "s", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"Sid\":\"s\",\"Version\":\"%s\"}", bad[i]);
        s_poll_err(body, SFB_BAD_VERSION);
    }
    /* version is checked before the sid, the sid before the NAT */
    s_poll_err("{\"Sid\":\"\",\"Version\":\"2.0\",\"NAT\":\"x\"}", SFB_BAD_VERSION);
    s_poll_err("{\"Sid\":\"\",\"Version\":\"1.0\",\"NAT\":\"x\"}", SFB_BAD_VALUE);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.0\",\"Type\":\"webext\",\"NAT\":\"\"}", "s",
              SFB_PROXY_WEBEXT, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.0\",\"Type\":\"badge\",\"NAT\":\"unknown\"}", "s",
              SFB_PROXY_BADGE, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.0\",\"Type\":\"iptproxy\"}", "s", SFB_PROXY_IPTPROXY,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.0\",\"Type\":\"Standalone\"}", "s", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\",\"NAT\":\"Restricted\"}", SFB_BAD_VALUE);
}

static void
test_proxy_poll_clients(void **state)
{
    (void)state;
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":-5}", "s", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, -5, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":-0}", "s", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":9223372036854775807}", "s",
              SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, INT64_MAX, NULL);
    s_poll_ok("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":-9223372036854775808}", "s",
              SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, INT64_MIN, NULL);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":1.0}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":1e2}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":\"24\"}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":true}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":[1]}", SFB_BAD_TYPE);
    /* jansson refuses integers beyond int64 outright (Go: a type error); both are 400s */
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":9223372036854775808}",
               SFB_BAD_SYNTAX);
    /* a type error in a member that a later duplicate overwrites still fails, as in Go */
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.2\",\"Clients\":\"a\",\"Clients\":1}", SFB_BAD_TYPE);
    /* type errors outrank the version check: Go's Unmarshal fails first */
    s_poll_err("{\"Sid\":1,\"Version\":\"2.0\"}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\",\"Type\":{}}", SFB_BAD_TYPE);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\",\"NAT\":false}", SFB_BAD_TYPE);
}

static void
test_go_json_keys(void **state)
{
    (void)state;
    /* keys match case-insensitively */
    s_poll_ok("{\"sid\":\"a\",\"VERSION\":\"1.2\",\"tYpE\":\"webext\",\"nat\":\"restricted\","
              "\"CLIENTS\":3,\"acceptedrelaypattern\":\"p\"}",
              "a", SFB_PROXY_WEBEXT, SFB_NAT_RESTRICTED, 3, "p");
    /* Unicode simple folding: U+017F (long s) matches 's'; dotless i does not match 'i' */
    s_poll_ok("{\"\xC5\xBFid\":\"a\",\"Version\":\"1.0\"}", "a", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN,
              0, NULL);
    s_poll_err("{\"S\xC4\xB1"
               "d\":\"a\",\"Version\":\"1.0\"}",
               SFB_BAD_VALUE);
    s_poll_err("{\"Sidx\":\"a\",\"Version\":\"1.0\"}", SFB_BAD_VALUE);
    s_poll_err("{\"Si\":\"a\",\"Version\":\"1.0\"}", SFB_BAD_VALUE);
    /* escaped keys are compared after unescaping */
    s_poll_ok("{\"\\u0053id\":\"a\",\"Version\":\"1.0\"}", "a", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN,
              0, NULL);
    /* the last duplicate wins, in wire order, across spellings */
    s_poll_ok("{\"Sid\":\"a\",\"sid\":\"b\",\"Version\":\"1.0\"}", "b", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"sid\":\"a\",\"Sid\":\"b\",\"sid\":\"c\",\"Version\":\"1.0\"}", "c",
              SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"a\",\"Version\":\"1.0\",\"Clients\":1,\"clients\":2,\"Clients\":3,"
              "\"CLIENTS\":4}",
              "a", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 4, NULL);
    /* unknown keys are ignored, whatever they hold */
    s_poll_ok("{\"x\":{\"y\":[1,\"}]\\\"\",{},[[]],null,true,-1.5e3]},\"Sid\":\"s\",\"z\":\"\","
              "\"Version\":\"1.0\",\"w\":[]}",
              "s", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
    /* whitespace around everything */
    s_poll_ok(" \t\r\n{ \"Sid\" : \"s\" ,\n\"Version\"\t:\"1.0\" } \n", "s", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
}

static void
test_go_json_null_and_top_level(void **state)
{
    (void)state;
    /* null leaves a string or int unchanged (zero if never set) */
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.0\",\"Sid\":null}", "x", SFB_PROXY_UNKNOWN,
              SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_err("{\"Sid\":null,\"Version\":\"1.0\"}", SFB_BAD_VALUE);
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.0\",\"Clients\":7,\"Clients\":null,\"NAT\":null,"
              "\"Type\":null}",
              "x", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 7, NULL);
    /* AcceptedRelayPattern is a *string in Go: null resets it to "not supported" */
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.3\",\"AcceptedRelayPattern\":null}", "x",
              SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.3\",\"AcceptedRelayPattern\":\"p\","
              "\"acceptedRelayPattern\":null}",
              "x", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
    s_poll_ok("{\"Sid\":\"x\",\"Version\":\"1.3\",\"AcceptedRelayPattern\":null,"
              "\"AcceptedRelayPattern\":\"q\"}",
              "x", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, "q");
    s_poll_err("{\"Sid\":\"x\",\"Version\":\"1.3\",\"AcceptedRelayPattern\":3}", SFB_BAD_TYPE);
    /* top level: null means all fields zero (so: unknown version); non-objects are refused */
    s_poll_err("null", SFB_BAD_VERSION);
    s_poll_err(" null ", SFB_BAD_VERSION);
    s_poll_err("[]", SFB_BAD_SYNTAX);
    s_poll_err("\"x\"", SFB_BAD_SYNTAX);
    s_poll_err("1", SFB_BAD_SYNTAX);
    s_poll_err("true", SFB_BAD_SYNTAX);
    /* exactly one value: trailing garbage, truncation and junk are syntax errors */
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\"} x", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\"}{}", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\"", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"s\",\"Version\":\"1.0\",}", SFB_BAD_SYNTAX);
    s_poll_err("{'Sid':'s'}", SFB_BAD_SYNTAX);
    s_poll_err("   ", SFB_BAD_SYNTAX);
    s_poll_err_len(S_LIT("{\"Sid\":\"s\",\"Version\":\"1.0\"}\0"), SFB_BAD_SYNTAX);
    s_poll_err_len(NULL, 0, SFB_BAD_SYNTAX);
    /* deliberate deviation (see sfb_json.c): jansson refuses what Go would accept */
    s_poll_err("{\"Sid\":\"\xff\",\"Version\":\"1.0\"}", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"a\\u0000b\",\"Version\":\"1.0\"}", SFB_BAD_SYNTAX);
    s_poll_err("{\"Sid\":\"\\ud800\",\"Version\":\"1.0\"}", SFB_BAD_SYNTAX);
    /* multibyte UTF-8 and escapes decode to their bytes */
    s_poll_ok("{\"Sid\":\"\\u00e9\xe2\x82\xac\\n\\\"\",\"Version\":\"1.0\"}",
              "\xc3\xa9\xe2\x82\xac\n\"", SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, 0, NULL);
}

static void
s_answer_ok(const char *body, const char *sid, const char *answer)
{
    sfb_proxy_answer_t a;
    sfb_rc_t rc = sfb_proxy_answer_decode(body, strlen(body), &a);
    if (rc != SFB_OK)
        fail_msg("[%s] rc %s", body, sfb_rc_str(rc));
    S_CHECK(a.sid_len == strlen(sid) && strcmp(a.sid, sid) == 0, body);
    S_CHECK(a.answer_len == strlen(answer) && strcmp(a.answer, answer) == 0, body);
    sfb_proxy_answer_dispose(&a);
}

static void
s_answer_err(const char *body, sfb_rc_t want)
{
    sfb_proxy_answer_t a;
    sfb_rc_t rc = sfb_proxy_answer_decode(body, strlen(body), &a);
    if (rc != want)
        fail_msg("[%s] rc %s, want %s", body, sfb_rc_str(rc), sfb_rc_str(want));
    S_CHECK(a.sid == NULL && a.answer == NULL && a.sid_len == 0 && a.answer_len == 0, body);
    sfb_proxy_answer_dispose(&a);
}

static void
test_proxy_answer(void **state)
{
    (void)state;
    /* §3.4 example */
    s_answer_ok("{\"Version\":\"1.3\",\"Sid\":\"" SID
                "\",\"Answer\":\"{\\\"type\\\":\\\"answer\\\","
                "\\\"sdp\\\":\\\"v=0\\\\r\\\\n...a=candidate:...\\\\r\\\\n\\\"}\"}",
                SID, "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n...a=candidate:...\\r\\n\"}");
    /* §11.1 TestDecodeProxyAnswerRequest */
    s_answer_ok("{\"Version\":\"1.0\",\"Sid\":\"test\",\"Answer\":\"test\"}", "test", "test");
    s_answer_err("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 4358805017720277108 2 IN IP4 "
                 "0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE data\\r\\n\"}",
                 SFB_BAD_VERSION);
    s_answer_err("{\"Version\":\"1.0\",\"Answer\":\"test\"}", SFB_BAD_VALUE);
    s_answer_err("{\"Version\":\"1.0\",\"Sid\":\"test\"}", SFB_BAD_VALUE);
    /* §11.1 TestEncodeProxyAnswerRequest: what Go's encoder produces round-trips */
    s_answer_ok("{\"Version\":\"1.3\",\"Sid\":\"test sid\",\"Answer\":\"test answer\"}", "test sid",
                "test answer");
    s_answer_err("{\"Version\":\"2.0\",\"Sid\":\"s\",\"Answer\":\"a\"}", SFB_BAD_VERSION);
    s_answer_err("{\"Version\":\"1.0\",\"Sid\":\"\",\"Answer\":\"a\"}", SFB_BAD_VALUE);
    s_answer_err("{\"Version\":\"1.0\",\"Sid\":\"s\",\"Answer\":{}}", SFB_BAD_TYPE);
    s_answer_err("", SFB_BAD_SYNTAX);
    s_answer_err("[\"Version\"]", SFB_BAD_SYNTAX);
    s_answer_ok("{\"version\":\"1.3\",\"SID\":\"s\",\"answer\":\"a\",\"Answer\":\"b\"}", "s", "b");
}

static void
s_client_ok_len(const char *body, size_t len, const char *offer, sfb_nat_t nat, const char *fp_hex)
{
    sfb_client_poll_t c;
    const char *err = sfb_client_poll_decode(body, len, &c);
    if (err != NULL)
        fail_msg("[%s] error %s", body, err);
    S_CHECK(c.offer_len == strlen(offer) && strcmp(c.offer, offer) == 0, body);
    S_CHECK(c.nat == nat, body);
    unsigned char fp[SFB_FINGERPRINT_MAX];
    size_t fp_len = sfb_fingerprint_decode(fp_hex, strlen(fp_hex), fp);
    S_CHECK(fp_len != 0 && c.fp_len == fp_len && memcmp(c.fp, fp, fp_len) == 0, body);
    sfb_client_poll_dispose(&c);
    S_CHECK(c.offer == NULL, body);
}

static void
s_client_ok(const char *body, const char *offer, sfb_nat_t nat, const char *fp_hex)
{
    s_client_ok_len(body, strlen(body), offer, nat, fp_hex);
}

static void
s_client_err_len(const char *body, size_t len, const char *want)
{
    sfb_client_poll_t c;
    memset(&c, 0xA5, sizeof c);
    const char *err = sfb_client_poll_decode(body, len, &c);
    if (err == NULL || strcmp(err, want) != 0)
        fail_msg("[%s] error \"%s\", want \"%s\"", body, err ? err : "(none)", want);
    S_CHECK(c.offer == NULL && c.offer_len == 0 && c.fp_len == 0, body);
    sfb_client_poll_dispose(&c);
}

static void
s_client_err(const char *body, const char *want)
{
    s_client_err_len(body, strlen(body), want);
}

#define FP_DEFAULT SFB_DEFAULT_FINGERPRINT

static void
test_client_poll_spec_rows(void **state)
{
    (void)state;
    /* §3.6 table (and §11.1 TestDecodeClientPollRequest) */
    s_client_ok("1.0\n{\"nat\":\"unknown\",\"offer\":\"fake\"}", "fake", SFB_NAT_UNKNOWN,
                FP_DEFAULT);
    s_client_ok("1.0\n{\"offer\":\"fake\"}", "fake", SFB_NAT_UNKNOWN, FP_DEFAULT);
    s_client_err("{\"version\":\"2.0\"}", "unsupported message version");
    s_client_err("2.0\n{\"offer\":\"fake\"}", "unsupported message version");
    s_client_err("1.0\n{\"nat\":\"unknown\"}", "no supplied offer");
    s_client_err("1.0\n{\"offer\":\"fake\",\"fingerprint\":\"123123\"}",
                 "cannot decode fingerprint");
    s_client_err("1.0\n{\"offer\":\"fake\",\"nat\":\"full-cone\"}", "invalid NAT type");
    /* "unknown to the broker" is the core's check (bridge list): the codec accepts it */
    s_client_ok("1.0\n{\"offer\":\"fake\",\"fingerprint\":"
                "\"8838024498816A039FCBBAB14E6F40A0843051FA\"}",
                "fake", SFB_NAT_UNKNOWN, "8838024498816A039FCBBAB14E6F40A0843051FA");
    s_client_err("", "unsupported message version");
    s_client_err_len(NULL, 0, "unsupported message version");
    /* the encoder example, and §11.1 TestEncodeClientPollRequests */
    s_client_ok("1.0\n{\"offer\":\"fake\",\"nat\":\"unknown\",\"fingerprint\":"
                "\"2B280B23E1107BB62ABFC40DDCC8824814F80A72\"}",
                "fake", SFB_NAT_UNKNOWN, FP_DEFAULT);
    s_client_err("1.0\n{\"offer\":\"fake\",\"nat\":\"unknown\",\"fingerprint\":\"123123\"}",
                 "cannot decode fingerprint");
    /* the §5.1 full AMP request payload, with spaces after ':' and ',' */
    s_client_ok("1.0\n{\"offer\": \"fake\", \"nat\": \"unknown\"}", "fake", SFB_NAT_UNKNOWN,
                FP_DEFAULT);
}

static void
test_client_poll_rules(void **state)
{
    (void)state;
    s_client_ok("1.0\n{\"offer\":\"o\",\"nat\":\"restricted\",\"fingerprint\":"
                "\"2b280b23e1107bb62abfc40ddcc8824814f80a72\"}",
                "o", SFB_NAT_RESTRICTED, FP_DEFAULT);
    s_client_ok("1.0\n{\"OFFER\":\"o\",\"Nat\":\"unrestricted\",\"fingerprint\":"
                "\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}",
                "o", SFB_NAT_UNRESTRICTED,
                "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF");
    s_client_ok("1.0\n{\"offer\":\"a\",\"offer\":\"b\",\"nat\":null,\"fingerprint\":null}", "b",
                SFB_NAT_UNKNOWN, FP_DEFAULT);
    s_client_ok("1.0\n{\"offer\":\"o\",\"fingerprint\":\"\"}", "o", SFB_NAT_UNKNOWN, FP_DEFAULT);
    /* the version line is compared exactly: no trimming */
    s_client_err("1.0\r\n{\"offer\":\"fake\"}", "unsupported message version");
    s_client_err(" 1.0\n{\"offer\":\"fake\"}", "unsupported message version");
    s_client_err("1.00\n{\"offer\":\"fake\"}", "unsupported message version");
    s_client_err("1.0", "unsupported message version");
    s_client_err_len(S_LIT("1.0\0\n{\"offer\":\"fake\"}"), "unsupported message version");
    /* validation order: JSON, offer, fingerprint, NAT */
    s_client_err("1.0\n{\"nat\":\"bad\",\"fingerprint\":\"bad\"}", "no supplied offer");
    s_client_err("1.0\n{\"offer\":\"o\",\"nat\":\"bad\",\"fingerprint\":\"bad\"}",
                 "cannot decode fingerprint");
    s_client_err("1.0\n{\"offer\":\"o\",\"fingerprint\":"
                 "\"2B280B23E1107BB62ABFC40DDCC8824814F80A7G\"}",
                 "cannot decode fingerprint");
    s_client_err(
        "1.0\n{\"offer\":\"o\",\"fingerprint\":\"2B280B23E1107BB62ABFC40DDCC8824814F80A7\"}",
        "cannot decode fingerprint");
    s_client_err("1.0\nnull", "no supplied offer");
    s_client_err("1.0\n{}", "no supplied offer");
    s_client_err("1.0\n{\"offer\":\"\"}", "no supplied offer");
}

static void
test_client_poll_json_errors(void **state)
{
    (void)state;
    const char *eof = "unexpected end of JSON input";
    const char *syntax = "invalid character looking for beginning of value";
    const char *trailing = "invalid character after top-level value";
    s_client_err("1.0\n", eof);
    s_client_err("1.0\n  \n", eof);
    s_client_err("1.0\n{", eof);
    s_client_err("1.0\n{\"offer\":", eof);
    s_client_err("1.0\n{\"offer\":\"fake", eof);
    s_client_err("1.0\nx", syntax);
    s_client_err("1.0\n{\"offer\" \"x\"}", syntax);
    s_client_err("1.0\n{\"offer\":\"x\",}", syntax);
    s_client_err("1.0\n{\"offer\":1,}", syntax); /* syntax errors outrank type errors */
    s_client_err_len(S_LIT("1.0\n\0"), syntax);
    s_client_err("1.0\n{\"offer\":\"\xc3\"}", syntax); /* invalid UTF-8: deliberate deviation */
    s_client_err("1.0\n{\"offer\":\"x\"} x", trailing);
    s_client_err("1.0\n{\"offer\":\"x\"}\n{}", trailing);
    /* Go's type-mismatch texts; the first mismatch wins and outranks later checks */
    s_client_err("1.0\n{\"offer\":1}",
                 "json: cannot unmarshal number into Go struct field ClientPollRequest.offer of "
                 "type string");
    s_client_err("1.0\n{\"offer\":true,\"nat\":\"bad\"}",
                 "json: cannot unmarshal bool into Go struct field ClientPollRequest.offer of "
                 "type string");
    s_client_err("1.0\n{\"offer\":\"o\",\"nat\":[1],\"fingerprint\":2.5}",
                 "json: cannot unmarshal array into Go struct field ClientPollRequest.nat of "
                 "type string");
    s_client_err("1.0\n{\"fingerprint\":{}}", "json: cannot unmarshal object into Go struct field "
                                              "ClientPollRequest.fingerprint of type string");
    s_client_err("1.0\n[1]",
                 "json: cannot unmarshal array into Go value of type messages.ClientPollRequest");
    s_client_err("1.0\n\"x\"",
                 "json: cannot unmarshal string into Go value of type messages.ClientPollRequest");
    s_client_err("1.0\n5",
                 "json: cannot unmarshal number into Go value of type messages.ClientPollRequest");
    s_client_err("1.0\nfalse",
                 "json: cannot unmarshal bool into Go value of type messages.ClientPollRequest");
}

/* Differential test of the member walker: random objects (random keys in several spellings,
 * values of every JSON type, random whitespace) against a direct model of Go's decoding. */
enum { M_SID, M_VERSION, M_CLIENTS, M_PATTERN, M_NONE };
enum { V_STR, V_NULL, V_INT, V_OTHER };

static const struct {
    const char *json; /* key as written on the wire */
    int field;        /* the Go field it fills, or M_NONE */
} s_keys[] = {
    {"\"Sid\"", M_SID},
    {"\"sid\"", M_SID},
    {"\"SID\"", M_SID},
    {"\"\\u0053id\"", M_SID},
    {"\"\xc5\xbfid\"", M_SID},
    {"\"Version\"", M_VERSION},
    {"\"version\"", M_VERSION},
    {"\"Clients\"", M_CLIENTS},
    {"\"clients\"", M_CLIENTS},
    {"\"AcceptedRelayPattern\"", M_PATTERN},
    {"\"acceptedrelaypattern\"", M_PATTERN},
    {"\"x\"", M_NONE},
    {"\"Sidx\"", M_NONE},
    {"\"\"", M_NONE},
};

static const struct {
    const char *json; /* value as written on the wire */
    int kind;         /* V_* */
    const char *str;  /* decoded string for V_STR */
    int64_t num;      /* value for V_INT */
} s_values[] = {
    {"\"1.0\"", V_STR, "1.0", 0},
    {"\"1\"", V_STR, "1", 0},
    {"\"1.x.y\"", V_STR, "1.x.y", 0},
    {"\"2.0\"", V_STR, "2.0", 0},
    {"\"s\"", V_STR, "s", 0},
    {"\"\"", V_STR, "", 0},
    {"\"a\\\"}\"", V_STR, "a\"}", 0},
    {"null", V_NULL, NULL, 0},
    {"7", V_INT, NULL, 7},
    {"-3", V_INT, NULL, -3},
    {"1.5", V_OTHER, NULL, 0},
    {"true", V_OTHER, NULL, 0},
    {"[1,{\"a\":\"}]\"}]", V_OTHER, NULL, 0},
    {"{\"b\":[],\"c\":{}}", V_OTHER, NULL, 0},
};

typedef struct {
    const char *sid, *version, *pattern; /* NULL: zero value / nil */
    int64_t clients;
    bool type_error;
} s_model_t;

static void
s_model_apply(s_model_t *m, int field, int v)
{
    int kind = s_values[v].kind;
    if (field == M_NONE || kind == V_NULL) {
        if (field == M_PATTERN)
            m->pattern = NULL; /* *string: null resets */
        return;
    }
    if (field == M_CLIENTS) {
        if (kind == V_INT)
            m->clients = s_values[v].num;
        else
            m->type_error = true;
        return;
    }
    if (kind != V_STR) {
        m->type_error = true;
        return;
    }
    const char **slot = field == M_SID ? &m->sid : field == M_VERSION ? &m->version : &m->pattern;
    *slot = s_values[v].str;
}

static bool
s_is_well_typed(int field, int kind)
{
    return kind == V_NULL || (field == M_CLIENTS ? kind == V_INT : kind == V_STR);
}

/* A tiny deterministic LCG; one call per statement keeps the sequence compiler-independent. */
static size_t
s_rand_below(uint32_t *rng, size_t n)
{
    *rng = *rng * 1664525u + 1013904223u;
    return (*rng >> 8) % n;
}

static void
test_go_json_random_objects(void **state)
{
    (void)state;
    static const char *const ws[] = {"", " ", "\n", "\t\r\n "};
    uint32_t rng = 2024;
    for (int iter = 0; iter < 20000; iter++) {
        char body[1024];
        size_t len = 0;
        s_model_t m = {0};
        size_t members = s_rand_below(&rng, 7);
        len += (size_t)snprintf(body + len, sizeof body - len, "%s{", ws[s_rand_below(&rng, 4)]);
        for (size_t i = 0; i < members; i++) {
            size_t k = s_rand_below(&rng, sizeof s_keys / sizeof s_keys[0]);
            bool well_typed = s_rand_below(&rng, 8) != 0; /* mostly, so that many pass */
            size_t v;
            do
                v = s_rand_below(&rng, sizeof s_values / sizeof s_values[0]);
            while (well_typed && !s_is_well_typed(s_keys[k].field, s_values[v].kind));
            const char *w1 = ws[s_rand_below(&rng, 4)], *w2 = ws[s_rand_below(&rng, 4)];
            const char *w3 = ws[s_rand_below(&rng, 4)], *w4 = ws[s_rand_below(&rng, 4)];
            len += (size_t)snprintf(body + len, sizeof body - len, "%s%s%s%s:%s%s%s", i ? "," : "",
                                    w1, s_keys[k].json, w2, w3, s_values[v].json, w4);
            s_model_apply(&m, s_keys[k].field, (int)v);
        }
        len += (size_t)snprintf(body + len, sizeof body - len, "}%s", ws[s_rand_below(&rng, 4)]);
        assert_true(len < sizeof body - 1);

        sfb_rc_t want = SFB_OK;
        if (m.type_error)
            want = SFB_BAD_TYPE;
        else if (m.version == NULL || m.version[0] != '1' || (m.version[1] && m.version[1] != '.'))
            want = SFB_BAD_VERSION;
        else if (m.sid == NULL || m.sid[0] == '\0')
            want = SFB_BAD_VALUE;
        if (want != SFB_OK)
            s_poll_err(body, want);
        else
            s_poll_ok(body, m.sid, SFB_PROXY_UNKNOWN, SFB_NAT_UNKNOWN, m.clients, m.pattern);
    }
}

/* Random JSON-ish junk never crashes or leaks (ASan), and whenever jansson itself accepts the
 * body as an object the walker agrees that it is well-formed. */
static void
test_hostile_bodies(void **state)
{
    (void)state;
    static const char *const atoms[] = {
        "{", "}", "[", "]", "\"",      ":",  ",",   "\\",   "Sid", "nat",  "1",
        "-", ".", "e", " ", "\"1.0\"", "\n", "u00", "\xff", "\0",  "null", "\"offer\":\"x\""};
    uint32_t rng = 99;
    for (int iter = 0; iter < 20000; iter++) {
        char body[512] = "1.0\n";
        size_t len = 4, n = s_rand_below(&rng, 16);
        for (size_t i = 0; i < n; i++) {
            const char *a = atoms[s_rand_below(&rng, sizeof atoms / sizeof atoms[0])];
            size_t alen = a[0] == '\0' ? 1 : strlen(a);
            memcpy(body + len, a, alen);
            len += alen;
        }
        json_t *j = json_loadb(body + 4, len - 4, JSON_DECODE_ANY, NULL);
        bool is_object = j != NULL && json_is_object(j);
        json_decref(j);

        sfb_proxy_poll_t p;
        sfb_rc_t rc = sfb_proxy_poll_decode(body + 4, len - 4, &p);
        assert_true(!is_object || rc != SFB_BAD_SYNTAX);
        sfb_proxy_poll_dispose(&p);
        sfb_proxy_answer_t a;
        rc = sfb_proxy_answer_decode(body + 4, len - 4, &a);
        assert_true(!is_object || rc != SFB_BAD_SYNTAX);
        sfb_proxy_answer_dispose(&a);
        sfb_client_poll_t c;
        const char *err = sfb_client_poll_decode(body, len, &c);
        assert_true(!is_object || err == NULL || strncmp(err, "invalid character", 17) != 0);
        assert_true(err == NULL || c.offer == NULL);
        sfb_client_poll_dispose(&c);
    }
}

static void
s_expect_str(const char *in, size_t len, const char *want)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_buf_puts(&b, "x"); /* appends, never overwrites */
    sfb_json_append_string(&b, in, len);
    if (b.len != strlen(want) + 1 || memcmp(b.data + 1, want, b.len - 1) != 0)
        fail_msg("escaped [%s], want [%s]", b.data + 1, want);
    sfb_buf_dispose(&b);
}

#define S_EXPECT(lit, want) s_expect_str((lit), sizeof(lit) - 1, (want))

static void
test_go_string_escaping(void **state)
{
    (void)state;
    S_EXPECT("", "\"\"");
    S_EXPECT("plain text /'", "\"plain text /'\"");
    S_EXPECT("a\"b\\c", "\"a\\\"b\\\\c\"");
    S_EXPECT("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
    S_EXPECT("\x01\x1f\x00\x0b\x7f", "\"\\u0001\\u001f\\u0000\\u000b\x7f\"");
    S_EXPECT("<a href=\"x\">&amp;</a>",
             "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\"");
    S_EXPECT("\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xaa", "\"\\u2028|\\u2029|\xe2\x80\xaa\"");
    /* valid multibyte UTF-8 (including U+FFFD itself and U+10FFFF) is emitted raw */
    S_EXPECT("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xf4\x8f\xbf\xbf",
             "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xf4\x8f\xbf\xbf\"");
    /* each invalid byte becomes one \ufffd, as Go's utf8.DecodeRune consumes one byte */
    S_EXPECT("\xff", "\"\\ufffd\"");
    S_EXPECT("a\xc3", "\"a\\ufffd\"");
    S_EXPECT("\xc3z", "\"\\ufffdz\"");
    S_EXPECT("\xc0\xaf", "\"\\ufffd\\ufffd\"");                       /* overlong */
    S_EXPECT("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong */
    S_EXPECT("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate */
    S_EXPECT("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    S_EXPECT("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"");            /* truncated */
    S_EXPECT("\xe2\x80", "\"\\ufffd\\ufffd\"");
    S_EXPECT("\x80<\xe2\x80\xa8", "\"\\ufffd\\u003c\\u2028\"");
}

/* Random valid UTF-8 (no NUL) survives encode -> jansson decode unchanged. */
static void
test_escaping_round_trip(void **state)
{
    (void)state;
    static const char *const atoms[] = {"a",
                                        "\"",
                                        "\\",
                                        "\n",
                                        "\b",
                                        "\x01",
                                        "\x1f",
                                        "<",
                                        ">",
                                        "&",
                                        "\x7f",
                                        "\xc3\xa9",
                                        "\xe2\x80\xa8",
                                        "\xe2\x80\xa9",
                                        "\xef\xbf\xbd",
                                        "\xf0\x9f\x98\x80",
                                        "/"};
    uint32_t rng = 12345;
    for (int iter = 0; iter < 500; iter++) {
        char in[256];
        size_t len = 0;
        for (int k = 0; k < 40; k++) {
            rng = rng * 1103515245u + 12345u;
            const char *a = atoms[(rng >> 16) % (sizeof atoms / sizeof atoms[0])];
            memcpy(in + len, a, strlen(a));
            len += strlen(a);
        }
        sfb_buf_t b;
        sfb_buf_init(&b);
        sfb_json_append_string(&b, in, len);
        json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        assert_int_equal(json_string_length(j), len);
        assert_memory_equal(json_string_value(j), in, len);
        json_decref(j);
        sfb_buf_dispose(&b);
    }
}

static void
s_expect_buf(sfb_buf_t *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got [%s], want [%s]", b->data ? b->data : "", want);
    sfb_buf_reset(b);
}

static void
test_proxy_response(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    /* §3.3 table */
    sfb_json_proxy_response(&b, "client match", "<offer>", 7, "restricted", "<url>", 5);
    s_expect_buf(&b, "{\"Status\":\"client match\",\"Offer\":\"\\u003coffer\\u003e\",\"NAT\":"
                     "\"restricted\",\"RelayURL\":\"\\u003curl\\u003e\"}");
    sfb_json_proxy_response(&b, "no match", NULL, 0, NULL, NULL, 0);
    s_expect_buf(&b, "{\"Status\":\"no match\",\"Offer\":\"\",\"NAT\":\"\",\"RelayURL\":\"\"}");
    sfb_json_proxy_response(&b, "incorrect relay pattern", "", 0, NULL, "", 0);
    s_expect_buf(&b, "{\"Status\":\"incorrect relay pattern\",\"Offer\":\"\",\"NAT\":\"\","
                     "\"RelayURL\":\"\"}");
    /* §3.3 real example: the offer is itself JSON, so it appears double-escaped */
    const char *offer = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 4358805017720277108 2 IN IP4 "
                        "0.0.0.0\\r\\n...\"}";
    sfb_json_proxy_response(&b, "client match", offer, strlen(offer), "unknown",
                            SFB_DEFAULT_RELAY_URL, strlen(SFB_DEFAULT_RELAY_URL));
    s_expect_buf(&b, "{\"Status\":\"client match\",\"Offer\":\"{\\\"type\\\":\\\"offer\\\","
                     "\\\"sdp\\\":\\\"v=0\\\\r\\\\no=- 4358805017720277108 2 IN IP4 "
                     "0.0.0.0\\\\r\\\\n...\\\"}\",\"NAT\":\"unknown\",\"RelayURL\":"
                     "\"wss://snowflake.torproject.net/\"}");
    /* §11.1 TestEncodeProxyPollResponse[WithProxyURL] */
    sfb_json_proxy_response(&b, "client match", "fake offer", 10, "restricted", NULL, 0);
    s_expect_buf(&b, "{\"Status\":\"client match\",\"Offer\":\"fake offer\",\"NAT\":"
                     "\"restricted\",\"RelayURL\":\"\"}");
    sfb_json_proxy_response(&b, "client match", "fake offer", 10, "restricted", "wss://test/", 11);
    s_expect_buf(&b, "{\"Status\":\"client match\",\"Offer\":\"fake offer\",\"NAT\":"
                     "\"restricted\",\"RelayURL\":\"wss://test/\"}");
    sfb_json_proxy_response(&b, "test error reason", NULL, 0, NULL, NULL, 0);
    s_expect_buf(&b, "{\"Status\":\"test error reason\",\"Offer\":\"\",\"NAT\":\"\","
                     "\"RelayURL\":\"\"}");
    /* offers may hold any bytes, NUL included */
    sfb_json_proxy_response(&b, "client match", "a\0b", 3, "unknown", "u", 1);
    s_expect_buf(&b, "{\"Status\":\"client match\",\"Offer\":\"a\\u0000b\",\"NAT\":\"unknown\","
                     "\"RelayURL\":\"u\"}");
    sfb_buf_dispose(&b);
}

static void
test_client_response(void **state)
{
    (void)state;
    sfb_buf_t b;
    sfb_buf_init(&b);
    /* §3.7 examples and §11.1 TestEncodeClientPollResponse */
    const char *answer = "{\"type\":\"answer\",\"sdp\":\"...\"}";
    sfb_json_client_response(&b, answer, strlen(answer), NULL);
    s_expect_buf(&b, "{\"answer\":\"{\\\"type\\\":\\\"answer\\\",\\\"sdp\\\":\\\"...\\\"}\"}");
    sfb_json_client_response(&b, NULL, 0, "no snowflake proxies currently available");
    s_expect_buf(&b, "{\"error\":\"no snowflake proxies currently available\"}");
    sfb_json_client_response(&b, "fake answer", 11, NULL);
    s_expect_buf(&b, "{\"answer\":\"fake answer\"}");
    sfb_json_client_response(&b, NULL, 0, "no snowflakes");
    s_expect_buf(&b, "{\"error\":\"no snowflakes\"}");
    sfb_json_client_response(&b, NULL, 0, "cannot decode URL path");
    s_expect_buf(&b, "{\"error\":\"cannot decode URL path\"}");
    /* Go's omitempty: empty fields are dropped */
    sfb_json_client_response(&b, "", 0, NULL);
    s_expect_buf(&b, "{}");
    sfb_json_client_response(&b, NULL, 0, "");
    s_expect_buf(&b, "{}");
    sfb_json_client_response(&b, "", 0, "e");
    s_expect_buf(&b, "{\"error\":\"e\"}");
    sfb_json_client_response(&b, "<a>", 3, NULL);
    s_expect_buf(&b, "{\"answer\":\"\\u003ca\\u003e\"}");
    sfb_buf_dispose(&b);
}

int
sfb_json_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_poll_spec_rows),
        cmocka_unit_test(test_proxy_poll_versions_and_values),
        cmocka_unit_test(test_proxy_poll_clients),
        cmocka_unit_test(test_go_json_keys),
        cmocka_unit_test(test_go_json_null_and_top_level),
        cmocka_unit_test(test_go_json_random_objects),
        cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_proxy_answer),
        cmocka_unit_test(test_client_poll_spec_rows),
        cmocka_unit_test(test_client_poll_rules),
        cmocka_unit_test(test_client_poll_json_errors),
        cmocka_unit_test(test_go_string_escaping),
        cmocka_unit_test(test_escaping_round_trip),
        cmocka_unit_test(test_proxy_response),
        cmocka_unit_test(test_client_response),
    };
    return cmocka_run_group_tests_name("sfb_json", tests, NULL, NULL);
}
