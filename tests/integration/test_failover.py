#!/usr/bin/python3
"""A dead or restarting matcher: every held and new request still gets its endpoint's error
form within its deadline, and service resumes when the matcher returns, without restarting
any frontend (ARCHITECTURE §5)."""

import time
import unittest

from harness import (Async, Broker, answer_body, client_body, debug_count, main, proxy_body,
                     request, wait_for)

NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'


class MatcherFailover(unittest.TestCase):
    def setUp(self):
        self.b = Broker(frontends=1, proxy_timeout="2s", client_timeout="2s")

    def tearDown(self):
        self.b.close(self)

    def test_kill_matcher_then_restart(self):
        b = self.b
        held_proxy = Async(b.port, "POST", "/proxy", proxy_body("held", nat="unrestricted"))
        wait_for(lambda: debug_count(b.port) == 1, 5, "proxy held")
        matched = Async(b.port, "POST", "/proxy", proxy_body("matched", nat="unrestricted"))
        wait_for(lambda: debug_count(b.port) == 2, 5, "second proxy held")
        client = Async(b.port, "POST", "/client", client_body("o", nat="restricted"))
        wait_for(lambda: held_proxy.done() or matched.done(), 5, "a proxy matched")
        b.matcher.kill9()
        b.killed.add(b.matcher)
        t0 = time.monotonic()
        # held requests: their error form by the frontend's deadline (hold + 1 s), give or
        # take 1 s of scheduling
        for a in (held_proxy, matched):
            r = a.result(5)
            self.assertEqual(r.status, 200)
        r = client.result(5)
        self.assertEqual((r.status, r.body), (200, b'{"error":"timed out waiting for answer!"}'))
        self.assertLess(time.monotonic() - t0, 4.0)
        # new requests while the matcher is down: immediate error forms
        r = request(b.port, "POST", "/proxy", proxy_body("new"))
        self.assertEqual((r.status, r.body), (200, NO_MATCH))
        self.assertLess(r.elapsed, 3.5)
        r = request(b.port, "POST", "/client", client_body("o"))
        self.assertEqual(r.body, b'{"error":"no snowflake proxies currently available"}')
        self.assertLess(r.elapsed, 3.5)
        r = request(b.port, "POST", "/client", '{"sdp":"legacy"}')
        self.assertEqual((r.status, r.body), (503, b""))
        r = request(b.port, "POST", "/answer", answer_body("held", "a=candidate"))
        self.assertEqual(r.body, b'{"Status":"client gone"}')
        # the matcher returns: the same frontend serves again
        b.restart_matcher()
        wait_for(lambda: b.reaches(b.port, "/debug"), 5, "debug via matcher")
        p = Async(b.port, "POST", "/proxy", proxy_body("after", nat="unrestricted"))
        wait_for(lambda: debug_count(b.port) == 1, 5, "proxy held after restart")
        c = Async(b.port, "POST", "/client", client_body("again"))
        self.assertIn(b"client match", p.result(5).body)
        r = request(b.port, "POST", "/answer", answer_body("after", "ans a=candidate"))
        self.assertEqual(r.body, b'{"Status":"success"}')
        self.assertEqual(c.result(5).body, b'{"answer":"ans a=candidate"}')


if __name__ == "__main__":
    main()
