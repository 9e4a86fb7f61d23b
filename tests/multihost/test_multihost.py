#!/usr/bin/python3
"""Multi-host proof (runs as root): the matcher and metricsd on one host, two frontends on two
other hosts, each host a network namespace of its own joined by veth links, every internal link
TCP. Proxies and clients on both sides meet across hosts; cutting one frontend's link leaves the
other serving. Namespaces and links are created here and deleted at the end."""

import ctypes
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import (answer_body, binary, client_body, proxy_body, wait_for)  # noqa: E402

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
TAG = "sfb%d" % os.getpid()
CORE, FE1, FE2 = TAG + "core", TAG + "fe1", TAG + "fe2"
NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=20)


class netns:
    """Run the calling thread inside network namespace `name` (setns is per thread)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + self.name)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        _libc.setns(self.back, CLONE_NEWNET)
        os.close(self.back)


def ns_request(ns, method, path, body=None, timeout=20):
    with netns(ns):
        return harness.request(8080, method, path, body, timeout=timeout)


class NsAsync(harness.Async):
    def __init__(self, ns, *args, **kwargs):
        self._ns = ns
        super().__init__(*args, **kwargs)

    def _run(self, *args, **kwargs):
        with netns(self._ns):
            super()._run(*args, **kwargs)


class MultiHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.dir = subprocess.run(["mktemp", "-d", "/tmp/sfb-mh-XXXXXX"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        for ns in (CORE, FE1, FE2):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i, fe in ((1, FE1), (2, FE2)):
            a, b = "%sa%d" % (TAG[-6:], i), "%sb%d" % (TAG[-6:], i)
            sh("ip", "link", "add", a, "netns", CORE, "type", "veth", "peer", "name", b,
               "netns", fe)
            sh("ip", "-n", CORE, "addr", "add", "10.77.%d.1/24" % i, "dev", a)
            sh("ip", "-n", fe, "addr", "add", "10.77.%d.2/24" % i, "dev", b)
            sh("ip", "-n", CORE, "link", "set", a, "up")
            sh("ip", "-n", fe, "link", "set", b, "up")
        cls.link1 = "%sb1" % TAG[-6:]
        cls.start(CORE, "matcher", "snowflake-matcher", "--router", "tcp://0.0.0.0:5555", "--pub",
                  "tcp://0.0.0.0:5556", "--proxy-timeout", "3s", "--client-timeout", "3s",
                  "--allowed-relay-pattern", "snowflake.torproject.net$", "--state-dir", cls.dir)
        cls.start(CORE, "metricsd", "snowflake-metricsd", "--events", "tcp://127.0.0.1:5556",
                  "--listen", "tcp://0.0.0.0:5557", "--matcher", "tcp://127.0.0.1:5555",
                  "--metrics-log", cls.dir + "/metrics.log", "--state-dir", cls.dir)
        for i, fe in ((1, FE1), (2, FE2)):
            cls.start(fe, "frontend%d" % i, "snowflake-frontend", "--addr", "0.0.0.0:8080",
                      "--disable-tls", "--disable-geoip", "--matcher", "tcp://10.77.%d.1:5555" % i,
                      "--metricsd", "tcp://10.77.%d.1:5557" % i, "--proxy-timeout", "3s",
                      "--client-timeout", "3s")
        for fe in (FE1, FE2):
            wait_for(lambda: cls.debug_ok(fe), 10, "frontend in %s reaches the matcher" % fe)

    @classmethod
    def start(cls, ns, tag, name, *args):
        log = open(os.path.join(cls.dir, tag + ".log"), "wb")
        p = subprocess.Popen(["ip", "netns", "exec", ns, binary(name)] + list(args), stdout=log,
                             stderr=subprocess.STDOUT)
        cls.procs.append((tag, p, log))

    @staticmethod
    def debug_ok(ns):
        try:
            return ns_request(ns, "GET", "/debug", timeout=2).status == 200
        except OSError:
            return False

    @classmethod
    def tearDownClass(cls):
        for tag, p, log in reversed(cls.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            log.close()
        for ns in (CORE, FE1, FE2):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        subprocess.run(["rm", "-rf", cls.dir], timeout=20)

    def rendezvous(self, proxy_ns, client_ns, sid):
        p = NsAsync(proxy_ns, 8080, "POST", "/proxy", proxy_body(sid, nat="unrestricted"))
        wait_for(lambda: b"available: 1" in ns_request(client_ns, "GET", "/debug").body, 5,
                 "proxy %s held" % sid)
        c = NsAsync(client_ns, 8080, "POST", "/client", client_body("offer-" + sid))
        r = p.result(5)
        self.assertIn(b'"Offer":"offer-%s"' % sid.encode(), r.body)
        a = ns_request(proxy_ns, "POST", "/answer", answer_body(sid, "answer a=candidate"))
        self.assertEqual(a.body, b'{"Status":"success"}')
        self.assertEqual(c.result(5).body, b'{"answer":"answer a=candidate"}')

    def test_1_across_hosts_both_ways(self):
        self.rendezvous(FE1, FE2, "one-to-two")
        self.rendezvous(FE2, FE1, "two-to-one")

    def test_2_link_down_leaves_the_other_serving(self):
        sh("ip", "-n", FE1, "link", "set", self.link1, "down")
        try:
            self.rendezvous(FE2, FE2, "still-serving")
            # the cut frontend answers its error forms in time instead of hanging
            r = ns_request(FE1, "POST", "/proxy", proxy_body("cut"), timeout=10)
            self.assertEqual((r.status, r.body), (200, NO_MATCH))
            self.assertLess(r.elapsed, 5.0)  # the 4 s deadline, give or take 1 s
            r = ns_request(FE1, "POST", "/client", client_body("o"), timeout=10)
            self.assertEqual(r.status, 200)
            self.assertIn(b'"error"', r.body)
        finally:
            sh("ip", "-n", FE1, "link", "set", self.link1, "up")
        # and it comes back by itself
        wait_for(lambda: self.debug_ok(FE1), 15, "frontend 1 back after the link returns")
        self.rendezvous(FE1, FE2, "after-repair")


if __name__ == "__main__":
    harness.main()
