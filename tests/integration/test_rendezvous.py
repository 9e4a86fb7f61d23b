#!/usr/bin/python3
"""Rendezvous through the real matcher and frontends: spec §4 rules and the upstream broker
tests of §11.2, byte for byte, including the safe handling of the §4.7 quirks."""

import json
import socket
import time
import unittest

from harness import (Async, Broker, SPEC_SDP, answer_body, client_body, debug_count,
                     go_json_string, main, proxy_body, request, wait_for)

RELAY = "wss://snowflake.torproject.net/"
NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'


def match_body(offer, nat):
    return ('{"Status":"client match","Offer":%s,"NAT":"%s","RelayURL":"%s"}'
            % (go_json_string(offer), nat, RELAY)).encode()


class Rendezvous(unittest.TestCase):
    def setUp(self):
        self.b = Broker(frontends=2, proxy_timeout="3s", client_timeout="2s")

    def tearDown(self):
        self.b.close(self)

    def poll(self, sid, port=None, **kw):
        """Start a proxy poll and wait until the matcher holds it."""
        before = debug_count(self.b.port)
        a = Async(port or self.b.port, "POST", "/proxy", proxy_body(sid, **kw))
        wait_for(lambda: debug_count(self.b.port) > before or a.done(), 5, "proxy held")
        return a

    def test_http_match_answer_exact_bytes(self):
        offer = json.dumps({"type": "offer", "sdp": SPEC_SDP})
        p = self.poll("ymbcCMto7KHNGYlp")
        c = Async(self.b.port, "POST", "/client", client_body(offer, nat="unrestricted"))
        r = p.result(5)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, match_body(offer, "unrestricted"))
        ans = json.dumps({"type": "answer", "sdp": SPEC_SDP})
        r = request(self.b.port, "POST", "/answer", answer_body("ymbcCMto7KHNGYlp", ans))
        self.assertEqual((r.status, r.body), (200, b'{"Status":"success"}'))
        r = c.result(5)
        self.assertEqual((r.status, r.body), (200, ('{"answer":%s}' % go_json_string(ans))
                                              .encode()))
        self.assertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")
        # the Sid is gone once the client finished
        r = request(self.b.port, "POST", "/answer", answer_body("ymbcCMto7KHNGYlp", ans))
        self.assertEqual(r.body, b'{"Status":"client gone"}')

    def test_cross_frontend_match(self):
        p = self.poll("crossfe", port=self.b.ports[0], nat="unrestricted")
        c = Async(self.b.ports[1], "POST", "/client", client_body("fake offer"))
        r = p.result(5)
        self.assertEqual(r.body, match_body("fake offer", "unknown"))
        r = request(self.b.ports[1], "POST", "/answer", answer_body("crossfe", "a=candidate x"))
        self.assertEqual(r.body, b'{"Status":"success"}')
        self.assertEqual(c.result(5).body, b'{"answer":"a=candidate x"}')

    def test_legacy_client(self):
        legacy = '{"type":"offer","sdp":"v=0\\r\\n"}'
        p = self.poll("legacy1", nat="unrestricted")
        c = Async(self.b.port, "POST", "/client", legacy, {"Snowflake-NAT-TYPE": "restricted"})
        r = p.result(5)
        self.assertEqual(r.body, match_body(legacy, "restricted"))
        request(self.b.port, "POST", "/answer", answer_body("legacy1", "fake answer a=candidate"))
        r = c.result(5)
        self.assertEqual((r.status, r.body), (200, b"fake answer a=candidate"))

    def test_legacy_client_timeout_504(self):
        p = self.poll("legacy2", nat="unrestricted")
        r = request(self.b.port, "POST", "/client", '{"sdp":"x"}',
                    {"Snowflake-NAT-Type": "unrestricted"})
        self.assertEqual((r.status, r.body), (504, b""))
        self.assertGreaterEqual(r.elapsed, 1.8)
        self.assertEqual(p.result(5).status, 200)

    def test_client_timeout(self):
        p = self.poll("slowproxy")
        t0 = time.monotonic()
        r = request(self.b.port, "POST", "/client", client_body("o", nat="unrestricted"))
        self.assertEqual(r.body, b'{"error":"timed out waiting for answer!"}')
        self.assertTrue(1.8 <= time.monotonic() - t0 < 3.5)
        self.assertEqual(p.result(5).body, match_body("o", "unrestricted"))
        # an answer after the client left: client gone, and nothing hangs (quirk §4.7.1)
        r = request(self.b.port, "POST", "/answer", answer_body("slowproxy", "late a=candidate"))
        self.assertEqual(r.body, b'{"Status":"client gone"}')
        self.assertLess(r.elapsed, 1)

    def test_answer_for_unmatched_proxy_is_client_gone(self):
        p = self.poll("pooled")
        r = request(self.b.port, "POST", "/answer", answer_body("pooled", "stale a=candidate"))
        self.assertEqual(r.body, b'{"Status":"client gone"}')
        # the stale answer is not delivered to a later client (quirk §4.7.2)
        c = Async(self.b.port, "POST", "/client", client_body("o2", nat="unrestricted"))
        self.assertEqual(p.result(5).body, match_body("o2", "unrestricted"))
        self.assertEqual(c.result(5).body, b'{"error":"timed out waiting for answer!"}')

    def test_nat_rules(self):
        # restricted and unknown clients only get unrestricted proxies
        p = self.poll("restrictedproxy", nat="restricted")
        for nat in ("restricted", "unknown"):
            r = request(self.b.port, "POST", "/client", client_body("o", nat=nat))
            self.assertEqual(r.body, b'{"error":"no snowflake proxies currently available"}')
        # unrestricted clients prefer the restricted pool
        u = self.poll("unrestrictedproxy", nat="unrestricted")
        c = Async(self.b.port, "POST", "/client", client_body("pick", nat="unrestricted"))
        self.assertEqual(p.result(5).body, match_body("pick", "unrestricted"))
        self.assertFalse(u.done())
        c.result(5)
        self.assertEqual(u.result(6).body, NO_MATCH)

    def test_least_loaded_first(self):
        polls = {}
        for sid, clients in (("four", 4), ("five", 5), ("three", 3), ("one", 1)):
            polls[sid] = self.poll(sid, nat="unrestricted", clients=clients)
        order, clients = [], []
        for i in range(4):
            clients.append(Async(self.b.port, "POST", "/client", client_body("o%d" % i)))
            wait_for(lambda: any(p.done() and s not in order for s, p in polls.items()), 2,
                     "a proxy matched")
            order += [s for s, p in polls.items() if p.done() and s not in order]
        self.assertEqual(order, ["one", "three", "four", "five"])
        for c in clients:
            self.assertEqual(c.result(5).body, b'{"error":"timed out waiting for answer!"}')

    def test_disconnected_proxy_is_never_matched(self):
        s = socket.create_connection(("127.0.0.1", self.b.port), timeout=5)
        body = proxy_body("gone", nat="unrestricted").encode()
        s.sendall(b"POST /proxy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        wait_for(lambda: debug_count(self.b.port) == 1, 5, "proxy held")
        s.close()
        wait_for(lambda: debug_count(self.b.port) == 0, 2, "proxy removed after disconnect")
        r = request(self.b.port, "POST", "/client", client_body("o"))
        self.assertEqual(r.body, b'{"error":"no snowflake proxies currently available"}')

    def test_debug_counts(self):
        self.poll("d1", nat="unrestricted", ptype="standalone")
        self.poll("d2", nat="unrestricted", ptype="standalone")
        self.poll("d3", nat="restricted", ptype="mobile")
        r = request(self.b.port, "GET", "/debug")
        self.assertEqual(r.body, b"current snowflakes available: 3\n\tstandalone proxies: 2\n"
                         b"\tunknown proxies: 1\nNAT Types available:\n\trestricted: 1\n"
                         b"\tunrestricted: 2\n\tunknown: 0")

    def test_amp_rendezvous(self):
        import base64
        req = b'1.0\n{"offer": "fake", "nat": "unknown"}'
        path = "/amp/client/0AAAAAAAAAAAA/" + base64.urlsafe_b64encode(req).decode().rstrip("=")
        p = self.poll("ampproxy", nat="unrestricted")
        c = Async(self.b.port, "GET", path)
        self.assertEqual(p.result(5).body, match_body("fake", "unknown"))
        request(self.b.port, "POST", "/answer", answer_body("ampproxy", "fake answer a=candidate"))
        r = c.result(5)
        self.assertEqual(r.status, 200)
        payload = b"".join(r.body.split(b"<pre>\n", 1)[1].split(b"</pre>")[0].split())
        self.assertEqual(payload[:1], b"0")
        self.assertEqual(base64.b64decode(payload[1:]),
                         b'{"answer":"fake answer a=candidate"}')


class Concurrency(unittest.TestCase):
    """Upstream HEAD TestConcurrency, scaled: many proxies, then clients; every client gets
    its proxy's answer."""

    def test_many_pairs(self):
        # the unmatched half stays pooled for 8 s: long enough that "exactly half done" holds
        # while the test looks, even on a stalled machine
        b = Broker(frontends=2, proxy_timeout="8s", client_timeout="5s")
        try:
            n = 60
            polls = [Async(b.ports[i % 2], "POST", "/proxy", proxy_body("p%03d" % i))
                     for i in range(n)]
            wait_for(lambda: debug_count(b.port) == n, 30, "all proxies held")
            clients = [Async(b.ports[(i + 1) % 2], "POST", "/client",
                             client_body("offer%03d" % i, nat="unrestricted"))
                       for i in range(n // 2)]
            wait_for(lambda: sum(p.done() for p in polls) == n // 2, 10, "matched polls")
            answered = 0
            for i, p in enumerate(polls):
                if not p.done():
                    continue
                r = p.result(1)
                if b"client match" in r.body:
                    sid = "p%03d" % i
                    offer = json.loads(r.body)["Offer"]
                    a = request(b.ports[i % 2], "POST", "/answer",
                                answer_body(sid, "answer-for-" + offer + " a=candidate"))
                    self.assertEqual(a.body, b'{"Status":"success"}')
                    answered += 1
            self.assertEqual(answered, n // 2)
            for p in polls:
                self.assertEqual(p.result(10).status, 200)
            for i, c in enumerate(clients):
                self.assertEqual(json.loads(c.result(10).body)["answer"],
                                 "answer-for-offer%03d a=candidate" % i)
        finally:
            b.close(self)


if __name__ == "__main__":
    main()
