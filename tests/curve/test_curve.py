#!/usr/bin/python3
"""CURVE on the internal links (runs as root): the matcher and metricsd in one network
namespace, frontends and subscribers in another, every internal link TCP over a veth pair.
An allowed frontend works end to end; a frontend whose key is not in the allow-list and a
frontend without CURVE are refused (error forms over HTTP, refusals logged and counted); a
subscriber without an allowed key gets no events; a matcher without CURVE on 0.0.0.0 warns.
Namespaces and links are created here and deleted at the end; about 20 s."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "multihost"))
import harness  # noqa: E402
from harness import answer_body, binary, client_body, proxy_body, wait_for  # noqa: E402
from test_multihost import NsAsync, netns, sh  # noqa: E402

TAG = "sfc%d" % os.getpid()
CORE, FE = TAG + "core", TAG + "fe"
CORE_IP = "10.78.1.1"
GOOD, BAD, PLAIN = 8080, 8081, 8082  # frontends: allowed key, unknown key, no CURVE
NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'
# metricsd's known libh2o-evloop leaks (metricsd/lsan.supp) under ASan
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=67",
           LSAN_OPTIONS="suppressions=" + os.path.join(HERE, "..", "..", "metricsd", "lsan.supp"))


def ns_request(ns, port, method, path, body=None, timeout=10):
    with netns(ns):
        return harness.request(port, method, path, body, timeout=timeout)


class Curve(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:  # make test runs as root; a skip would read as a pass
            raise RuntimeError("needs root for ip netns")
        cls.procs = {}
        cls.dir = tempfile.mkdtemp(prefix="sfb-curve-")
        cls.made_ns = []
        try:
            cls.network()
            cls.keys()
            cls.start_all()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def network(cls):
        for ns in (CORE, FE):
            sh("ip", "netns", "add", ns)
            cls.made_ns.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        a, b = TAG[-6:] + "a", TAG[-6:] + "b"
        sh("ip", "link", "add", a, "netns", CORE, "type", "veth", "peer", "name", b, "netns", FE)
        sh("ip", "-n", CORE, "addr", "add", CORE_IP + "/24", "dev", a)
        sh("ip", "-n", FE, "addr", "add", "10.78.1.2/24", "dev", b)
        sh("ip", "-n", CORE, "link", "set", a, "up")
        sh("ip", "-n", FE, "link", "set", b, "up")

    @classmethod
    def keys(cls):
        """keys/NAME(_secret) for every party; allow-m and allow-md hold public files only."""
        k = cls.k = lambda name: os.path.join(cls.dir, "keys", name)
        os.makedirs(k(""))
        for name in ("matcher", "metricsd", "fe-good", "fe-bad", "events"):
            subprocess.run([binary("snowflake-keygen"), k(name)], check=True,
                           capture_output=True, timeout=10)
        for allow, names in (("allow-m", ("metricsd", "fe-good", "events")),
                             ("allow-md", ("fe-good",))):
            os.makedirs(os.path.join(cls.dir, allow))
            for n in names:
                shutil.copy(k(n), os.path.join(cls.dir, allow, n))

    @classmethod
    def start(cls, ns, tag, name, *args):
        """Output in TAG.log; a subscriber's stderr apart, in TAG.err, so TAG.log is its JSON."""
        log = open(os.path.join(cls.dir, tag + ".log"), "wb")
        err = open(os.path.join(cls.dir, tag + ".err"), "wb") if name == "snowflake-events" \
            else subprocess.STDOUT
        p = subprocess.Popen(["ip", "netns", "exec", ns, binary(name)] + list(args), stdout=log,
                             stderr=err, env=ENV)
        cls.procs[tag] = (p, log, err)

    @classmethod
    def start_all(cls):
        k, d = cls.k, cls.dir
        cls.start(CORE, "matcher", "snowflake-matcher", "--router", "tcp://0.0.0.0:5555",
                  "--pub", "tcp://0.0.0.0:5556", "--proxy-timeout", "2s", "--client-timeout",
                  "2s", "--allowed-relay-pattern", "snowflake.torproject.net$",
                  "--curve-cert", k("matcher"), "--curve-allow", d + "/allow-m")
        cls.start(CORE, "metricsd", "snowflake-metricsd", "--events", "tcp://127.0.0.1:5556",
                  "--listen", "tcp://0.0.0.0:5557", "--matcher", "tcp://127.0.0.1:5555",
                  "--metrics-log", d + "/metrics.log", "--prometheus-addr", "127.0.0.1:9100",
                  "--curve-cert", k("metricsd"), "--curve-allow", d + "/allow-md",
                  "--matcher-key", k("matcher"))
        common = ["--disable-tls", "--disable-geoip", "--proxy-timeout", "2s",
                  "--client-timeout", "2s", "--matcher", "tcp://%s:5555" % CORE_IP,
                  "--metricsd", "tcp://%s:5557" % CORE_IP]
        for tag, port, cert in (("fe-good", GOOD, "fe-good"), ("fe-bad", BAD, "fe-bad"),
                                ("fe-plain", PLAIN, None)):
            curve = ["--curve-cert", k(cert), "--matcher-key", k("matcher"), "--metricsd-key",
                     k("metricsd")] if cert else []
            cls.start(FE, tag, "snowflake-frontend", "--addr", "127.0.0.1:%d" % port,
                      *(common + curve))
        events = ["--events", "tcp://%s:5556" % CORE_IP]
        cls.start(FE, "events-good", "snowflake-events", *events, "--curve-cert", k("events"),
                  "--matcher-key", k("matcher"))
        cls.start(FE, "events-bad", "snowflake-events", *events, "--curve-cert", k("fe-bad"),
                  "--matcher-key", k("matcher"))
        cls.start(FE, "events-plain", "snowflake-events", *events)
        wait_for(lambda: cls.debug_status(GOOD) == 200, 10, "the allowed frontend is connected")
        wait_for(cls.subscribed, 10, "the allowed subscriber is connected")

    @classmethod
    def subscribed(cls):
        """Publish a client-poll (no proxy: answered at once); true once the subscriber has it."""
        ns_request(FE, GOOD, "POST", "/client", client_body("warm-up"))
        time.sleep(0.05)  # poll interval of wait_for(subscribed): look, else publish again
        return b'"client-poll"' in cls.log("events-good")

    @classmethod
    def debug_status(cls, port):
        try:
            return ns_request(FE, port, "GET", "/debug", timeout=2).status
        except OSError:
            return None

    @classmethod
    def log(cls, tag):
        with open(os.path.join(cls.dir, tag + ".log"), "rb") as f:
            return f.read()

    @classmethod
    def stop(cls, tag):
        p, log, err = cls.procs[tag]
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        log.close()
        if err != subprocess.STDOUT:
            err.close()
        return p.returncode

    @classmethod
    def tearDownClass(cls):
        for tag in reversed(list(getattr(cls, "procs", {}))):
            cls.stop(tag)
        for ns in getattr(cls, "made_ns", []):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        if not os.environ.get("SFB_KEEP"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_clean_log(self, tag):
        out = self.log(tag)
        if os.path.exists(os.path.join(self.dir, tag + ".err")):
            with open(os.path.join(self.dir, tag + ".err"), "rb") as f:
                out += f.read()
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, out, tag)

    def test_1_allowed_frontend_rendezvous(self):
        p = NsAsync(FE, GOOD, "POST", "/proxy", proxy_body("curve-sid", nat="unrestricted"))
        wait_for(lambda: b"available: 1" in ns_request(FE, GOOD, "GET", "/debug").body, 5,
                 "proxy held")
        c = NsAsync(FE, GOOD, "POST", "/client", client_body("offer-curve"))
        self.assertIn(b'"Offer":"offer-curve"', p.result(5).body)
        a = ns_request(FE, GOOD, "POST", "/answer", answer_body("curve-sid", "answer a=candidate"))
        self.assertEqual(a.body, b'{"Status":"success"}')
        self.assertEqual(c.result(5).body, b'{"answer":"answer a=candidate"}')
        # the allowed subscriber sees the events of that rendezvous
        wait_for(lambda: b'"proxy-answer"' in self.log("events-good"), 5,
                 "events at the allowed subscriber")

    def test_2_unknown_key_and_no_curve_are_refused(self):
        for port in (BAD, PLAIN):
            self.assertEqual(ns_request(FE, port, "GET", "/debug").status, 503)
            r = ns_request(FE, port, "POST", "/proxy", proxy_body("refused"))
            self.assertEqual((r.status, r.body), (200, NO_MATCH))
            self.assertLess(r.elapsed, 1.5)  # answered at once, not after a hold
            r = ns_request(FE, port, "POST", "/client", client_body("o"))
            self.assertIn(b'"error"', r.body)
            self.assertEqual(ns_request(FE, port, "GET", "/prometheus").status, 503)
        wait_for(lambda: b"refused a peer: client key not allowed" in self.log("matcher"), 5,
                 "the matcher logs the unknown key")
        # the side that sees the mechanism mismatch first closes: either line may come
        wait_for(lambda: re.search(rb"refused a peer: (the peer does not use CURVE|handshake not "
                                   rb"completed)", self.log("matcher")), 5,
                 "the matcher logs the peer without CURVE")

    def test_3_subscribers_without_an_allowed_key_get_nothing(self):
        wait_for(lambda: b'"proxy-answer"' in self.log("events-good"), 5, "allowed subscriber")
        self.assertEqual(self.log("events-bad"), b"")
        self.assertEqual(self.log("events-plain"), b"")

    def test_4_metricsd_counts_refusals_on_listen(self):
        def refused():
            with netns(CORE):
                body = harness.request(9100, "GET", "/metrics", timeout=5).body
            m = re.search(rb"\nsnowflake_metricsd_curve_refused_handshakes_total (\d+)", body)
            return m and int(m.group(1)) > 0
        wait_for(refused, 5, "metricsd's refusal counter")
        # the allowed frontend reaches metricsd (its DEALER may still be connecting)
        wait_for(lambda: ns_request(FE, GOOD, "GET", "/prometheus").status == 200, 5,
                 "/prometheus through the allowed frontend")

    def test_5_no_warning_with_curve_but_one_without(self):
        self.assertNotIn(b"beyond loopback", self.log("matcher"))
        self.assertNotIn(b"beyond loopback", self.log("metricsd"))
        self.start(CORE, "plain-matcher", "snowflake-matcher", "--router", "tcp://0.0.0.0:5565",
                   "--pub", "tcp://*:5566")
        wait_for(lambda: self.log("plain-matcher").count(b"listens beyond loopback") == 2, 5,
                 "the ROUTER and PUB warnings")
        self.assertEqual(self.stop("plain-matcher"), 0)

    def test_6_exit_lines_count_refusals(self):
        for tag in ("events-good", "events-bad", "events-plain", "fe-good", "fe-bad",
                    "fe-plain", "metricsd", "matcher"):
            self.assertEqual(self.stop(tag), 0, tag)
            self.assert_clean_log(tag)
        m = re.search(rb"exit: .* refused handshakes (\d+)", self.log("matcher"))
        self.assertTrue(m and int(m.group(1)) >= 2, self.log("matcher")[-600:])
        m = re.search(rb"exit: (\d+) CURVE handshakes refused on --listen", self.log("metricsd"))
        self.assertTrue(m and int(m.group(1)) >= 1, self.log("metricsd")[-600:])


if __name__ == "__main__":
    harness.parse_args()
    unittest.main(verbosity=2)
