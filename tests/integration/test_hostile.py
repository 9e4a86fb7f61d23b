#!/usr/bin/python3
"""Hostile input through the real binaries (spec §2-§3, §12 and upstream's old bugs): every case
gets its specified reply, every process stays up, and the sanitizer build reports nothing (the
harness checks exit codes and sanitizer output when it stops the processes)."""

import json
import socket
import unittest

from harness import (Async, Broker, answer_body, client_body, debug_count, main, proxy_body,
                     request, wait_for)

NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'
NO_PROXIES = b'{"error":"no snowflake proxies currently available"}'


def raw_exchange(port, data, timeout=5):
    """Send raw bytes, return whatever the server answers until it closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and (b"Content-Length: 0\r\n" in out or out.endswith(b"\n")):
                break
        return out
    finally:
        s.close()


class BrokerCase(unittest.TestCase):
    """One broker for the class; after each test every process is alive and serving."""
    HOLD = "1s"  # --proxy-timeout and --client-timeout: most polls here end in no match

    @classmethod
    def setUpClass(cls):
        cls.b = Broker(frontends=1, proxy_timeout=cls.HOLD, client_timeout=cls.HOLD)

    @classmethod
    def tearDownClass(cls):
        cls.b.close()

    def setUp(self):
        self.port = self.b.port

    def tearDown(self):
        for p in self.b.procs:
            self.assertTrue(p.alive(), "%s died" % p.name)
        self.assertEqual(request(self.port, "GET", "/robots.txt").status, 200)

    def post(self, path, body, headers=None):
        return request(self.port, "POST", path, body, headers)


class Hostile(BrokerCase):
    def test_clients_field_extremes(self):
        for clients in (-1, -(2 ** 63), 2 ** 63 - 1, 0):
            r = self.post("/proxy", proxy_body("c%d" % clients, clients=clients))
            self.assertEqual((r.status, r.body), (200, NO_MATCH), clients)
        for bad in ("1e30", "2e2", "1.0", '"24"', "18446744073709551616", "[]", "true"):
            body = '{"Sid":"x","Version":"1.3","Clients":%s,"AcceptedRelayPattern":""}' % bad
            self.assertEqual(self.post("/proxy", body).status, 400, bad)

    def test_wrong_json_types(self):
        for body in ('{"Sid":1,"Version":"1.3"}', '{"Sid":"x","Version":["1.3"]}',
                     '{"Sid":"x","Version":"1.3","NAT":5}', '{"Sid":"x","Version":"1.3","Type":{}}',
                     '"just a string"', "12", "null", '{"Sid":"x","Version":"1.3"}{}'):
            self.assertEqual(self.post("/proxy", body).status, 400, body)
        r = self.post("/client", '1.0\n{"offer":5}')
        self.assertEqual(r.status, 200)
        self.assertTrue(json.loads(r.body)["error"].startswith("json: cannot unmarshal"))
        self.assertEqual(self.post("/answer", '{"Version":"1.3","Sid":7,"Answer":"a=candidate"}')
                         .status, 400)

    def test_invalid_utf8_and_nul(self):
        for body in (b'{"Sid":"\xff\xfe","Version":"1.3","AcceptedRelayPattern":""}',
                     b'{"Sid":"a\\u0000b","Version":"1.3","AcceptedRelayPattern":""}',
                     b'{"Sid":"a\x00b","Version":"1.3","AcceptedRelayPattern":""}',
                     b'{"Sid":"\\ud800","Version":"1.3","AcceptedRelayPattern":""}'):
            self.assertEqual(self.post("/proxy", body).status, 400, body)
        r = self.post("/client", b'1.0\n{"offer":"\xc0\xaf"}')
        self.assertEqual(r.status, 200)
        self.assertIn(b'"error"', r.body)

    def test_unknown_versions(self):
        for v in ("2.0", "", "01.0", ".1", "1"):
            body = '{"Sid":"v","Version":"%s","AcceptedRelayPattern":""}' % v
            want = 200 if v == "1" else 400
            self.assertEqual(self.post("/proxy", body).status, want, v)
        for prefix in ("1.0\r\n", "1.1\n", "2.0\n", "\n"):
            r = self.post("/client", prefix + '{"offer":"x"}')
            self.assertEqual(r.body, b'{"error":"unsupported message version"}', prefix)

    def test_bad_sdp_passes_through_opaque(self):
        r = self.post("/client", client_body("not an sdp at all \u2028 <script>"))
        self.assertEqual(r.body, NO_PROXIES)
        r = request(self.port, "GET", "/amp/client/0AAAA/" + "A" * 5000)
        self.assertEqual(r.status, 200)

    def test_methods_and_header_floods(self):
        for m in ("PUT", "DELETE", "PATCH", "BREW"):
            self.assertEqual(request(self.port, m, "/proxy", "{}").status, 400, m)
        headers = "".join("X-H%d: %s\r\n" % (i, "v" * 50) for i in range(300))
        out = raw_exchange(self.port, ("GET /robots.txt HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                       % headers).encode())
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 "), out[:100])
        out = raw_exchange(self.port, b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nX: "
                           + b"a" * 500000 + b"\r\n\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 4"), out[:100])
        out = raw_exchange(self.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 400"), out[:100])
        out = raw_exchange(self.port, b"POST /proxy HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: -5\r\n\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 4"), out[:100])
        out = raw_exchange(self.port, b"POST /proxy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                           b"chunked\r\n\r\nfffffffffffffffff\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 4"), out[:100])

    def test_chunked_body_over_limit(self):
        chunk = b"x" * 50001
        body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk, len(chunk), chunk)
        out = raw_exchange(self.port, b"POST /proxy HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:100])


class HostileMatching(BrokerCase):
    """Cases where a poll must still be pooled when a later request arrives: a hold long
    enough that a stalled test machine cannot let it expire in between."""
    HOLD = "3s"

    def test_negative_clients_do_not_jump_the_queue(self):
        a = Async(self.port, "POST", "/proxy", proxy_body("low", nat="unrestricted", clients=0))
        wait_for(lambda: debug_count(self.port) == 1, 5, "first proxy held")
        b = Async(self.port, "POST", "/proxy",
                  proxy_body("neg", nat="unrestricted", clients=-(2 ** 63)))
        wait_for(lambda: debug_count(self.port) == 2, 5, "second proxy held")
        c = Async(self.port, "POST", "/client", client_body("x"))
        # negative counts are clamped to 0: the tie goes to the older poll
        self.assertIn(b"client match", a.result(5).body)
        self.assertEqual(b.result(8).body, NO_MATCH)
        c.result(5)

    def test_duplicate_keys_last_wins(self):
        body = ('{"Sid":"first","Version":"1.3","sid":"dupkey","NAT":"restricted",'
                '"NAT":"unrestricted","AcceptedRelayPattern":""}')
        a = Async(self.port, "POST", "/proxy", body)
        wait_for(lambda: debug_count(self.port) == 1, 5, "proxy held")
        r = request(self.port, "GET", "/debug")
        self.assertIn(b"unrestricted: 1", r.body)
        self.assertEqual(self.post("/answer", answer_body("first", "a=candidate")).body,
                         b'{"Status":"client gone"}')
        self.assertEqual(a.result(8).body, NO_MATCH)

    def test_replayed_sid_and_wrong_sid_answers(self):
        first = Async(self.port, "POST", "/proxy", proxy_body("same", nat="unrestricted"))
        wait_for(lambda: debug_count(self.port) == 1, 5, "first held")
        second = Async(self.port, "POST", "/proxy", proxy_body("same", nat="unrestricted"))
        # the replaced poll is answered at once; only one record stays
        self.assertEqual(first.result(3).body, NO_MATCH)
        self.assertEqual(debug_count(self.port), 1)
        c = Async(self.port, "POST", "/client", client_body("offer"))
        self.assertIn(b"client match", second.result(5).body)
        self.assertEqual(self.post("/answer", answer_body("other", "a=candidate")).body,
                         b'{"Status":"client gone"}')
        self.assertEqual(self.post("/answer", answer_body("same", "a=candidate ok")).body,
                         b'{"Status":"success"}')
        self.assertEqual(self.post("/answer", answer_body("same", "a=candidate again")).body,
                         b'{"Status":"client gone"}')
        self.assertEqual(c.result(5).body, b'{"answer":"a=candidate ok"}')


if __name__ == "__main__":
    main()
