#!/usr/bin/python3
"""Endpoint behaviour of spec §2, byte for byte against the upstream captures
(../shared/spec/captures/gobroker-78cf8e6-responses.txt): everything that needs no rendezvous."""

import unittest

from harness import Broker, request, proxy_body, client_body, main

NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'
BAD_RELAY = b'{"Status":"incorrect relay pattern","Offer":"","NAT":"","RelayURL":""}'
NO_PROXIES = b'{"error":"no snowflake proxies currently available"}'
TEXT = "text/plain; charset=utf-8"
CORS = [("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "Origin, X-Session-ID")]
AMP_START = (b'<!doctype html>\n<html amp>\n<head>\n<meta charset="utf-8">\n'
             b'<script async src="https://cdn.ampproject.org/v0.js"></script>\n'
             b'<link rel="canonical" href="#">\n'
             b'<meta name="viewport" content="width=device-width">\n'
             b'<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 '
             b'normal both;-moz-animation:-amp-start 8s steps(1,end) 0s 1 normal both;'
             b'-ms-animation:-amp-start 8s steps(1,end) 0s 1 normal both;animation:-amp-start '
             b'8s steps(1,end) 0s 1 normal both}@-webkit-keyframes -amp-start{from{visibility:'
             b'hidden}to{visibility:visible}}@-moz-keyframes -amp-start{from{visibility:hidden}'
             b'to{visibility:visible}}@-ms-keyframes -amp-start{from{visibility:hidden}to'
             b'{visibility:visible}}@-o-keyframes -amp-start{from{visibility:hidden}to'
             b'{visibility:visible}}@keyframes -amp-start{from{visibility:hidden}to{visibility:'
             b'visible}}</style><noscript><style amp-boilerplate>body{-webkit-animation:none;'
             b'-moz-animation:none;-ms-animation:none;animation:none}</style></noscript>\n'
             b'</head>\n<body>\n')
AMP_END = b"</body>\n</html>"


class HttpEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker(frontends=1, proxy_timeout="1s", client_timeout="1s")

    @classmethod
    def tearDownClass(cls):
        cls.b.close()

    def tearDown(self):
        for p in self.b.procs:
            self.assertTrue(p.alive(), "%s died" % p.name)

    def get(self, method, path, body=None, headers=None):
        return request(self.b.port, method, path, body, headers)

    def assertCors(self, r):
        for k, v in CORS:
            self.assertEqual(r.header(k), v, r)

    def assertEmpty(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("Content-Length"), "0")
        self.assertIsNone(r.header("Content-Type"))

    def assertJson(self, r, body, status=200):
        self.assertEqual((r.status, r.body), (status, body))
        self.assertEqual(r.header("Content-Type"), TEXT)
        self.assertEqual(r.header("Content-Length"), str(len(body)))
        self.assertCors(r)

    def test_robots(self):
        for m in ("GET", "POST", "DELETE"):
            r = self.get(m, "/robots.txt")
            self.assertEqual((r.status, r.body), (200, b"User-agent: *\nDisallow: /\n"))
            self.assertEqual(r.header("Content-Type"), TEXT)
            self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_not_found(self):
        for path in ("/", "/nonexistent", "/proxy/", "/client/x", "/amp/", "/answerx"):
            r = self.get("GET", path)
            self.assertEqual((r.status, r.body), (404, b"404 page not found\n"), path)
            self.assertEqual(r.header("Content-Type"), TEXT)
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")

    def test_redirects(self):
        r = self.get("GET", "/amp/client")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/amp/client/")
        r = self.get("GET", "/amp/client/0abc//def")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/amp/client/0abc/def")
        self.assertEqual(r.body, b'<a href="/amp/client/0abc/def">Moved Permanently</a>.\n\n')
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")

    def test_options_preflight(self):
        for path in ("/proxy", "/client", "/answer", "/debug", "/amp/client/x"):
            r = self.get("OPTIONS", path)
            self.assertEmpty(r, 200)
            self.assertCors(r)

    def test_debug_empty(self):
        r = self.get("GET", "/debug")
        self.assertJson(r, b"current snowflakes available: 0\n\tunknown proxies: 0\n"
                        b"NAT Types available:\n\trestricted: 0\n\tunrestricted: 0\n"
                        b"\tunknown: 0")

    def test_proxy_malformed(self):
        bodies = ["", "{}", '{"Sid":"ymbcCMto7KHNGYlp"}', '{"Version":"1.0"}',
                  '{"Version":"2.0"}', '{"Sid":"x","Version":"1.2","NAT":"symmetric"}',
                  '{"Sid":"x","Version":1.3}', '{"Sid":"x","Version":"1.3"} x', "[1]",
                  '{"Sid":"x","Version":"1.3","Clients":1.0}']
        for body in bodies:
            r = self.get("POST", "/proxy", body)
            self.assertEmpty(r, 400)
            self.assertCors(r)
        self.assertEmpty(self.get("GET", "/proxy"), 400)

    def test_proxy_relay_rejected(self):
        # no pattern at all (old proxy), and a pattern narrower than the broker's
        for pattern in (None, "^snowflake.torproject.net$", "01.snowflake.torproject.net$"):
            r = self.get("POST", "/proxy", proxy_body("rej", pattern=pattern))
            self.assertJson(r, BAD_RELAY)

    def test_proxy_no_match_after_hold(self):
        r = self.get("POST", "/proxy", proxy_body("nomatch1"))
        self.assertJson(r, NO_MATCH)
        self.assertGreaterEqual(r.elapsed, 0.9)
        self.assertLess(r.elapsed, 2.5)

    def test_client_errors(self):
        cases = [(client_body("fake"), NO_PROXIES),
                 (client_body("fake", fp="8838024498816A039FCBBAB14E6F40A0843051FA"),
                  b'{"error":"bridge with requested fingerprint is unknown to the broker"}'),
                 ('version 2.0', b'{"error":"unsupported message version"}'),
                 ("2.0\n{\"offer\":\"fake\"}", b'{"error":"unsupported message version"}'),
                 ("", b'{"error":"unsupported message version"}'),
                 ('1.0\n{"nat":"unknown"}', b'{"error":"no supplied offer"}'),
                 ('1.0\n{"offer":"fake","fingerprint":"123123"}',
                  b'{"error":"cannot decode fingerprint"}'),
                 ('1.0\n{"offer":"fake","nat":"full-cone"}', b'{"error":"invalid NAT type"}')]
        for body, want in cases:
            self.assertJson(self.get("POST", "/client", body), want)

    def test_client_legacy_no_proxies(self):
        r = self.get("POST", "/client", '{"type":"offer","sdp":"v=0"}',
                     {"Snowflake-NAT-TYPE": "restricted"})
        self.assertEmpty(r, 503)
        self.assertCors(r)

    def test_answer_errors(self):
        r = self.get("POST", "/answer", '{"Version":"1.3","Sid":"nope","Answer":"a=candidate"}')
        self.assertJson(r, b'{"Status":"client gone"}')
        self.assertEmpty(self.get("POST", "/answer", '{"Version":"1.3","Sid":"x","Answer":"y"}'),
                         400)
        self.assertEmpty(self.get("POST", "/answer", ""), 400)
        self.assertEmpty(self.get("POST", "/answer", '{"Version":"1.3","Answer":"a=candidate"}'),
                         400)
        self.assertEmpty(self.get("POST", "/answer", '{"Version":"2","Sid":"s","A":"a=candidate"}'),
                         400)

    def test_body_limit(self):
        base = '{"Version":"1.3","Sid":"nope","Answer":"a=candidate'
        exact = base + "x" * (100000 - len(base) - 2) + '"}'
        self.assertEqual(len(exact), 100000)
        self.assertJson(self.get("POST", "/answer", exact), b'{"Status":"client gone"}')
        over = base + "x" * (100001 - len(base) - 2) + '"}'
        self.assertEmpty(self.get("POST", "/answer", over), 400)
        self.assertEmpty(self.get("POST", "/proxy", "x" * 100001), 400)
        r = self.get("POST", "/client", "1.0\n" + "x" * 100000)
        self.assertEmpty(r, 400)

    def test_amp_bad_path(self):
        for path in ("/amp/client/bad", "/amp/client/0", "/amp/client/0foobar",
                     "/amp/client/0/%3D%3D"):
            r = self.get("GET", path)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, AMP_START + b"<pre>\n0eyJlcnJvciI6ImNhbm5vdCBkZWNvZGU\n"
                             b"gVVJMIHBhdGgifQ==\n</pre>\n" + AMP_END, path)
            self.assertEqual(r.header("Content-Type"), "text/html")
            self.assertEqual(r.header("Cache-Control"), "max-age=15")
            self.assertCors(r)

    def test_amp_no_proxies(self):
        r = self.get("GET", "/amp/client/0AAAAAAAAAAAA/"
                     "MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, AMP_START + b"<pre>\n0eyJlcnJvciI6Im5vIHNub3dmbGFrZSB\n"
                         b"wcm94aWVzIGN1cnJlbnRseSBhdmFpbGF\nibGUifQ==\n</pre>\n" + AMP_END)

    def test_metrics_without_metricsd(self):
        r = self.get("GET", "/metrics")
        self.assertEqual((r.status, r.body), (404, b"404 page not found\n"))
        self.assertCors(r)


class CommandLine(unittest.TestCase):
    def run_bin(self, name, *args):
        import subprocess
        from harness import binary
        return subprocess.run([binary(name)] + list(args), capture_output=True, timeout=20)

    def test_help_version_and_bad_flags(self):
        for name in ("snowflake-matcher", "snowflake-frontend"):
            r = self.run_bin(name, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"-help", r.stdout)
            r = self.run_bin(name, "-version")
            self.assertEqual(r.returncode, 0)
            self.assertIn(name.encode(), r.stdout)
            r = self.run_bin(name, "--no-such-flag")
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)

    def test_frontend_refuses_acme_and_requires_tls_choice(self):
        r = self.run_bin("snowflake-frontend", "-acme-hostnames", "x.example")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--cert", r.stderr)
        r = self.run_bin("snowflake-frontend", "--addr", "127.0.0.1:1")
        self.assertNotEqual(r.returncode, 0)

    def test_matcher_check_config_bad_bridge_list(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
            f.write('{"displayName":"a","webSocketAddress":"wss://a/","fingerprint":"%s"}\n\n'
                    '{"displayName":"b","webSocketAddress":"wss://b/","fingerprint":"%s"}\n'
                    % ("2B280B23E1107BB62ABFC40DDCC8824814F80A72",
                       "8838024498816A039FCBBAB14E6F40A0843051FA"))
            f.flush()
            r = self.run_bin("snowflake-matcher", "--check-config", "--bridge-list-path", f.name)
            self.assertEqual(r.returncode, 1, r.stderr)


if __name__ == "__main__":
    main()
