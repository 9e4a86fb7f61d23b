/* fe_path_test.c - Go ServeMux routing and redirects for the broker's routes (spec §2.1). */
#include "fe_path.h"
#include "fe_selftest.h"
#include "sfb_test.h"

#include <string.h>

static fe_route_t
s_route(const char *target, fe_path_t *p)
{
    return fe_path_route(target, strlen(target), p);
}

static void
test_routes(void **state)
{
    (void)state;
    fe_path_t p;
    fe_path_init(&p);
    assert_int_equal(s_route("/proxy", &p), FE_ROUTE_PROXY);
    assert_int_equal(s_route("/proxy?x=1", &p), FE_ROUTE_PROXY);
    assert_int_equal(s_route("/client", &p), FE_ROUTE_CLIENT);
    assert_int_equal(s_route("/answer", &p), FE_ROUTE_ANSWER);
    assert_int_equal(s_route("/debug", &p), FE_ROUTE_DEBUG);
    assert_int_equal(s_route("/metrics", &p), FE_ROUTE_METRICS);
    assert_int_equal(s_route("/prometheus", &p), FE_ROUTE_PROMETHEUS);
    assert_int_equal(s_route("/robots.txt", &p), FE_ROUTE_ROBOTS);
    assert_int_equal(s_route("/pro%78y", &p), FE_ROUTE_PROXY);
    assert_int_equal(s_route("/", &p), FE_ROUTE_NOT_FOUND);
    assert_int_equal(s_route("/proxy/", &p), FE_ROUTE_NOT_FOUND);
    assert_int_equal(s_route("/client/x", &p), FE_ROUTE_NOT_FOUND);
    assert_int_equal(s_route("/nonexistent", &p), FE_ROUTE_NOT_FOUND);
    assert_int_equal(s_route("/amp%2Fclient/x", &p), FE_ROUTE_NOT_FOUND);
    assert_int_equal(s_route("/a%zz", &p), FE_ROUTE_BAD_REQUEST);
    assert_int_equal(s_route("/a%4", &p), FE_ROUTE_BAD_REQUEST);
    assert_int_equal(s_route("*", &p), FE_ROUTE_BAD_REQUEST);
    fe_path_dispose(&p);
}

static void
test_amp(void **state)
{
    (void)state;
    fe_path_t p;
    fe_path_init(&p);
    assert_int_equal(
        s_route("/amp/client/0AAAAAAAAAAAA/MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9",
                &p),
        FE_ROUTE_AMP_CLIENT);
    assert_string_equal(p.amp.data,
                        "0AAAAAAAAAAAA/MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9");
    assert_int_equal(s_route("/amp/client/0a%2Fb/YWJj?q", &p), FE_ROUTE_AMP_CLIENT);
    assert_string_equal(p.amp.data, "0a/b/YWJj");
    assert_int_equal(s_route("/amp/client/", &p), FE_ROUTE_AMP_CLIENT);
    assert_int_equal(p.amp.len, 0);
    assert_int_equal(s_route("/amp/client/0a%2F%2Fb/YWJj", &p), FE_ROUTE_AMP_CLIENT);
    assert_string_equal(p.amp.data, "0a//b/YWJj");
    fe_path_dispose(&p);
}

static void
s_redirect(const char *target, const char *location)
{
    fe_path_t p;
    fe_path_init(&p);
    assert_int_equal(s_route(target, &p), FE_ROUTE_REDIRECT);
    assert_string_equal(p.location.data, location);
    fe_path_dispose(&p);
}

static void
test_redirects(void **state)
{
    (void)state;
    s_redirect("/amp/client", "/amp/client/");
    s_redirect("/amp/client?a=b", "/amp/client/?a=b");
    s_redirect("//amp/client", "/amp/client/");
    s_redirect("/amp/clien%74", "/amp/client/");
    s_redirect("/amp/client/0abc//def", "/amp/client/0abc/def");
    s_redirect("//proxy", "/proxy");
    s_redirect("/./proxy", "/proxy");
    s_redirect("/x/../proxy", "/proxy");
    s_redirect("/../../proxy", "/proxy");
    s_redirect("/proxy/.", "/proxy");
    s_redirect("/proxy/./", "/proxy/");
    s_redirect("/a//b/?q=1", "/a/b/?q=1");
    /* Go re-escapes the already escaped cleaned path */
    s_redirect("/amp/client/0a%2Fb//x", "/amp/client/0a%252Fb/x");
    s_redirect("/a!b//c", "/a%21b/c");

    sfb_buf_t body;
    sfb_buf_init(&body);
    fe_path_redirect_body("/amp/client/0abc/def", 20, &body);
    assert_string_equal(body.data, "<a href=\"/amp/client/0abc/def\">Moved Permanently</a>.\n\n");
    sfb_buf_reset(&body);
    fe_path_redirect_body("/a/?x=1&y='", 11, &body);
    assert_string_equal(body.data, "<a href=\"/a/?x=1&amp;y=&#39;\">Moved Permanently</a>.\n\n");
    sfb_buf_dispose(&body);
}

int
fe_path_test(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_amp),
        cmocka_unit_test(test_redirects),
    };
    return cmocka_run_group_tests_name("fe_path", tests, NULL, NULL);
}
