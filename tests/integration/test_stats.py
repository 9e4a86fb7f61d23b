#!/usr/bin/python3
"""The statistics end to end (issue: metricsd and the event stream): a known workload through
the real frontend, matcher and metricsd, with generated geoip data and a 10 s interval, gives
exactly the expected stats block (spec §8.5, HEAD semantics); the log passes metrics-lib's
parsing rules; /prometheus passes promtool; and no file or stream the run produced contains any
address the workload used."""

import base64
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from harness import (Async, Broker, EventTap, answer_body, client_body, debug_count, main,
                     proxy_body, request, wait_for)

INTERVAL = 10
RANGES = [("5.1.1.0", "5.1.1.255", "CA"), ("5.2.2.0", "5.2.2.255", "DE"),
          ("5.3.3.0", "5.3.3.255", "DE"), ("5.5.5.0", "5.5.5.255", "CA"),
          ("6.1.1.0", "6.1.1.255", "CA"), ("6.2.2.0", "6.2.2.255", "DE")]
A, B, C, D, E, F, G = ("5.1.1.1", "5.2.2.2", "5.3.3.3", "5.9.9.9", "5.4.4.4", "5.5.5.5",
                       "5.2.2.9")
CLIENT_CA, CLIENT_DE = "6.1.1.1", "6.2.2.2"
ADDRESSES = [A, B, C, D, E, F, G, CLIENT_CA, CLIENT_DE]

EXPECTED = """snowflake-ips DE=3,CA=2,??=1
snowflake-ips-iptproxy 1
snowflake-ips-standalone 3
snowflake-ips-webext 1
snowflake-ips-badge 1
snowflake-ips-total 6
snowflake-idle-count 8
snowflake-proxy-poll-with-relay-url-count 8
snowflake-proxy-poll-without-relay-url-count 8
snowflake-proxy-rejected-for-relay-url-count 8
client-denied-count 16
client-restricted-denied-count 16
client-unrestricted-denied-count 8
client-snowflake-match-count 8
client-snowflake-timeout-count 8
client-http-count 16
client-http-ips CA=16,DE=8
client-ampcache-count 8
client-ampcache-ips CA=8
client-sqs-count 0
client-sqs-ips 
snowflake-ips-nat-restricted 2
snowflake-ips-nat-unrestricted 3
snowflake-ips-nat-unknown 1
"""


def check_metrics_lib_rules(testcase, text):
    """metrics-lib's SnowflakeStatsImpl rules over a whole log."""
    testcase.assertTrue(text.endswith("\n"))
    testcase.assertNotIn("\r", text)
    blocks = text.split("snowflake-stats-end ")
    testcase.assertEqual(blocks[0], "")
    for block in blocks[1:]:
        lines = block.rstrip("\n").split("\n")
        testcase.assertRegex(lines[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ s\)$")
        seen = set()
        for line in lines[1:]:
            testcase.assertNotEqual(line, "", "blank line")
            key, _, value = line.partition(" ")
            testcase.assertRegex(key, r"^[A-Za-z0-9-]+$")
            testcase.assertNotIn(key, seen, "duplicate " + key)
            seen.add(key)
            if key.endswith("-ips"):
                for item in filter(None, value.split(",")):
                    cc, _, n = item.partition("=")
                    testcase.assertRegex(cc, r"^([A-Z]{2}|\?\?)$")
                    testcase.assertRegex(n, r"^\d+$")
            else:
                testcase.assertRegex(value, r"^\d+$", line)
                testcase.assertLess(int(value), 2 ** 63)


class Stats(unittest.TestCase):
    def setUp(self):
        self.tmp = os.path.join("/tmp", "sfb-stats-%d" % os.getpid())
        os.makedirs(self.tmp, exist_ok=True)
        v4 = os.path.join(self.tmp, "geoip")
        with open(v4, "w") as f:
            for lo, hi, cc in RANGES:
                f.write("%d,%d,%s\n" % (int(ipaddress.ip_address(lo)),
                                        int(ipaddress.ip_address(hi)), cc))
        v6 = os.path.join(self.tmp, "geoip6")
        with open(v6, "w"):
            pass
        self.log = os.path.join(self.tmp, "metrics.log")
        iv = "%ds" % INTERVAL
        # a 2 s hold: a poll must stay pooled from its /debug count until its client arrives
        self.b = Broker(frontends=1, proxy_timeout="2s", client_timeout="2s",
                        matcher_args=["--metrics-interval", iv],
                        metricsd_args=["--metrics-interval", iv, "--metrics-log", self.log],
                        frontend_args=["--trusted-hops", "1", "--geoipdb", v4, "--geoip6db", v6])
        self.tap = EventTap(self.b)

    def tearDown(self):
        produced = [self.log]  # and below, the tap's output among the broker's logs
        for root, _, files in os.walk(self.b.dir):
            produced += [os.path.join(root, f) for f in files if not f.endswith(".ipc")]
        found = []
        for path in produced:
            if os.path.isfile(path):
                with open(path, "rb") as fh:
                    data = fh.read()
                found += ["%s in %s" % (a, path) for a in ADDRESSES if a.encode() in data]
        self.b.close(self, forbidden=[a.encode() for a in ADDRESSES] + [b"127.0.0.1"])
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(found, [], "raw addresses written")

    def read_log(self):
        if not os.path.exists(self.log):
            return ""
        with open(self.log) as fh:
            return fh.read()

    def post(self, path, body, xff, headers=None):
        h = {"X-Forwarded-For": xff}
        h.update(headers or {})
        return request(self.b.port, "POST", path, body, h)

    def proxy(self, addr, sid, **kw):
        return Async(self.b.port, "POST", "/proxy", proxy_body(sid, **kw),
                     {"X-Forwarded-For": addr})

    def workload(self):
        no = b'{"error":"no snowflake proxies currently available"}'
        # phase 1: no proxies: 9 + 1 restricted-or-unknown, 1 unrestricted, 1 AMP: all denied
        for i in range(9):
            self.assertEqual(self.post("/client", client_body("o", nat="restricted"),
                                       CLIENT_CA).body, no)
        self.assertEqual(self.post("/client", client_body("o", nat="unrestricted"),
                                   CLIENT_DE).body, no)
        offer = json.dumps({"type": "offer", "sdp": "v=0\r\nm=application 9 x\r\n"
                            "a=candidate:1 1 udp 2122260223 %s 1 typ host\r\n" % A})
        req = ("1.0\n" + json.dumps({"offer": offer, "nat": "unknown"})).encode()
        path = "/amp/client/0AAAAAAAAAAAA/" + base64.urlsafe_b64encode(req).decode().rstrip("=")
        r = request(self.b.port, "GET", path, headers={"X-Forwarded-For": CLIENT_DE})
        self.assertEqual(r.status, 200)
        # phase 2: idle proxies (one address as two types), one rejected for its relay pattern
        idle = [self.proxy(A, "a1", ptype="standalone", nat="unrestricted"),
                self.proxy(A, "a2", ptype="webext", nat="unrestricted"),
                self.proxy(B, "b", ptype="badge", nat="restricted"),
                self.proxy(C, "c", ptype="iptproxy", nat="unknown"),
                self.proxy(D, "d", ptype="mobile", nat="restricted"),
                self.proxy(E, "e", pattern=None)]
        for p in idle:
            self.assertEqual(p.result(5).status, 200)
        # phase 3: a match with an answer, and a match whose proxy never answers
        f = self.proxy(F, "f", ptype="standalone", nat="unrestricted")
        wait_for(lambda: debug_count(self.b.port) == 1, 3, "proxy f held")
        c = Async(self.b.port, "POST", "/client", client_body("o", nat="unknown"),
                  {"X-Forwarded-For": CLIENT_CA})
        self.assertIn(b"client match", f.result(3).body)
        self.assertEqual(self.post("/answer", answer_body("f", "a=candidate"), F).body,
                         b'{"Status":"success"}')
        self.assertEqual(c.result(3).body, b'{"answer":"a=candidate"}')
        g = self.proxy(G, "g", ptype="standalone", nat="unrestricted")
        wait_for(lambda: debug_count(self.b.port) == 1, 3, "proxy g held")
        r = self.post("/client", client_body("o", nat="restricted"), CLIENT_DE)
        self.assertEqual(r.body, b'{"error":"timed out waiting for answer!"}')
        self.assertIn(b"client match", g.result(3).body)

    def gauge(self):
        """The snowflake_available_proxies series on a frontend's /prometheus, or None."""
        r = request(self.b.port, "GET", "/prometheus")
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        if "# TYPE snowflake_available_proxies gauge\n" not in text:
            return None
        return dict(re.findall(r'^snowflake_available_proxies(\{[^}]*\}) (\S+)$', text, re.M))

    def test_available_proxies_gauge(self):
        """Upstream's gauge from the matcher's counts (POOL_GET): the held proxies by NAT and
        type, series kept at 0 once empty, and gone while the matcher does not answer."""
        stop = threading.Event()

        def poller(addr, sid, **kw):
            while not stop.is_set():  # a real proxy polls again as soon as a poll ends
                self.proxy(addr, sid, **kw).result(10)

        pollers = [threading.Thread(target=poller, args=a, kwargs=k, daemon=True) for a, k in [
            ((A, "g1"), {"nat": "unrestricted"}), ((B, "g2"), {"nat": "unrestricted"}),
            ((C, "g3"), {"nat": "restricted", "ptype": "webext"})]]
        for t in pollers:
            t.start()
        su = '{nat="unrestricted",type="standalone"}'
        wr = '{nat="restricted",type="webext"}'
        try:
            wait_for(lambda: self.gauge() == {su: "2", wr: "1"}, 10, "the gauge of 3 proxies")
        finally:
            stop.set()
            for t in pollers:
                t.join(15)
        wait_for(lambda: self.gauge() == {su: "0", wr: "0"}, 10, "the gauge back at 0")
        self.b.matcher.p.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: self.gauge() is None, 10, "the stale gauge withdrawn")
        finally:
            self.b.matcher.p.send_signal(signal.SIGCONT)
        wait_for(lambda: self.gauge() == {su: "0", wr: "0"}, 10, "the gauge back")

    def test_workload_report_exact(self):
        # run inside one interval: start just after a boundary
        wait_for(lambda: time.time() % INTERVAL < 0.5, INTERVAL + 1, "an interval boundary")
        start = time.time()
        end = (int(start) // INTERVAL + 1) * INTERVAL
        self.workload()
        self.assertLess(time.time(), end - 0.5, "workload crossed the interval end")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(end))
        head = "snowflake-stats-end %s (%d s)\n" % (stamp, INTERVAL)
        wait_for(lambda: head in self.read_log(), INTERVAL + 5, "the stats block")
        text = self.read_log()
        # earlier intervals (before the workload) have blocks of their own
        block = text[text.index(head):]
        self.assertEqual(block, head + EXPECTED)
        check_metrics_lib_rules(self, text)
        # the frontends serve the same log, and Prometheus text that promtool accepts
        r = request(self.b.port, "GET", "/metrics")
        self.assertEqual((r.status, r.body.decode()), (200, text))
        r = request(self.b.port, "GET", "/prometheus")
        self.assertEqual(r.status, 200)
        self.assertIn(b"snowflake_rounded_client_poll_total", r.body)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing (Debian package prometheus)")
        pt = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True,
                            timeout=30)
        self.assertEqual(pt.returncode, 0, pt.stdout + pt.stderr)
        # snowflake-events saw the stream as JSON lines
        wait_for(self.tap.events, 5, "events output")
        kinds = {e["kind"] for e in self.tap.events()}
        self.assertEqual(kinds, {"proxy-poll", "client-poll", "proxy-answer"})


if __name__ == "__main__":
    main()
