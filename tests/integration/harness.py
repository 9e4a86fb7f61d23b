"""Integration harness: starts the real broker binaries on loopback, talks HTTP to them, and
stops every process it started. Used by the test_*.py files (run by ctest with --bindir).

Everything is bounded: each wait has a deadline, each HTTP request a timeout, and teardown
kills what is left. Teardown also fails the test if a process exited uncleanly, if a
sanitizer reported anything, or if a log line contains a raw client address."""

import argparse
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from waits import wait_for  # noqa: E402,F401 - re-exported to the tests

BINDIR = None
ALL_PROCS = []  # every process started, so none outlives the test run (see _kill_leftovers)
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:",
                   b"UndefinedBehaviorSanitizer")


def parse_args():
    """Take --bindir off sys.argv (the rest goes to unittest)."""
    global BINDIR
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--bindir", required=True)
    args, rest = ap.parse_known_args()
    BINDIR = os.path.abspath(args.bindir)
    sys.argv = [sys.argv[0]] + rest


def main():
    parse_args()
    unittest.main(verbosity=2)


def binary(name):
    for sub in ("matcher", "frontend", "metricsd", "proto", ""):
        p = os.path.join(BINDIR, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)


_PORTS_GIVEN = set()


def free_port():
    """A free loopback port below the kernel's ephemeral range: no outgoing connection can
    take it as its source port while a test restarts a listener on it (and a connection to
    a dead port cannot connect to itself)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(1000):
        port = random.randrange(max(1024, low - 12000), low)
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise AssertionError("no free port below %d" % low)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@atexit.register
def _kill_leftovers():
    for p in ALL_PROCS:
        if p.alive():
            p.p.kill()
            p.p.wait(5)


class Proc:
    """One started binary with its stderr captured to a file."""

    def __init__(self, name, args, logdir, tag):
        self.name = tag
        self.args = [binary(name)] + args
        self.log = os.path.join(logdir, tag + ".log")
        self.p = None
        self.start()

    def start(self):
        self.logf = open(self.log, "ab")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=67")
        self.p = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        ALL_PROCS.append(self)

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def kill9(self):
        if self.alive():
            self.p.kill()
            self.p.wait(5)
        self.logf.close()

    def stop(self, timeout=5):
        """SIGTERM and wait; return the exit code (None if it had to be killed)."""
        if self.p is None:
            return 0
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
                self.logf.close()
                return None
        self.logf.close()
        return self.p.returncode

    def output(self):
        with open(self.log, "rb") as f:
            return f.read()


class Broker:
    """A matcher plus `frontends` plain-HTTP frontends, all on loopback / ipc in a temp dir."""

    def __init__(self, frontends=1, proxy_timeout="10s", client_timeout="5s",
                 matcher_args=(), frontend_args=(), relay_pattern="snowflake.torproject.net$",
                 bridge_list=None, tls=False, metricsd_args=None):
        self.dir = tempfile.mkdtemp(prefix="sfb-it-")
        self.router = "ipc://%s/matcher.ipc" % self.dir
        self.pub = "ipc://%s/events.ipc" % self.dir
        self.reports = "ipc://%s/metricsd.ipc" % self.dir
        self.metricsd = None
        self.procs = []
        self.killed = set()
        self.proxy_timeout = proxy_timeout
        self.client_timeout = client_timeout
        margs = ["--router", self.router, "--pub", self.pub, "--proxy-timeout", proxy_timeout,
                 "--client-timeout", client_timeout, "--allowed-relay-pattern", relay_pattern,
                 "--state-dir", self.dir]
        if bridge_list is not None:
            path = os.path.join(self.dir, "bridges.jsonl")
            with open(path, "w") as f:
                f.write(bridge_list)
            margs += ["--bridge-list-path", path]
        self.matcher_args = margs + list(matcher_args)
        self.ports = []
        self.frontends = []
        self.tls = tls
        self.matcher = None
        try:
            self.matcher = self.start_matcher()
            if metricsd_args is not None:
                self.start_metricsd(list(metricsd_args))
            for i in range(frontends):
                self.add_frontend(list(frontend_args))
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _unlink_stale(endpoint):
        """A process killed with -9 leaves its ipc socket file: remove it, so that the file's
        existence means the new process has bound."""
        try:
            os.unlink(endpoint[len("ipc://"):])
        except FileNotFoundError:
            pass

    def start_matcher(self):
        self._unlink_stale(self.router)
        m = Proc("snowflake-matcher", self.matcher_args, self.dir, "matcher")
        self.procs.append(m)
        wait_for(lambda: os.path.exists(self.router[len("ipc://"):]) or not m.alive(), 10,
                 "matcher socket")
        assert m.alive(), "matcher exited: %r" % m.output()[-2000:]
        return m

    def start_metricsd(self, extra):
        args = ["--events", self.pub, "--listen", self.reports, "--matcher", self.router,
                "--state-dir", self.dir] + extra
        self._unlink_stale(self.reports)
        self.metricsd = Proc("snowflake-metricsd", args, self.dir, "metricsd")
        self.procs.append(self.metricsd)
        wait_for(lambda: os.path.exists(self.reports[len("ipc://"):]) or
                 not self.metricsd.alive(), 10, "metricsd socket")
        assert self.metricsd.alive(), "metricsd exited: %r" % self.metricsd.output()[-2000:]

    def restart_matcher(self):
        self.matcher = self.start_matcher()

    def add_frontend(self, extra=(), port=None):
        port = port or free_port()
        args = ["--addr", "127.0.0.1:%d" % port, "--matcher", self.router,
                "--proxy-timeout", self.proxy_timeout, "--client-timeout", self.client_timeout]
        if self.metricsd is not None:
            args += ["--metricsd", self.reports]
        if self.tls:
            cert, key = make_cert(self.dir)
            args += ["--cert", cert, "--key", key]
        else:
            args += ["--disable-tls"]
        f = Proc("snowflake-frontend", args + list(extra), self.dir,
                 "frontend%d" % len(self.frontends))
        self.procs.append(f)
        wait_for(lambda: port_open(port) or not f.alive(), 10, "frontend port %d" % port)
        assert f.alive(), "frontend exited: %r" % f.output()[-2000:]
        if self.matcher is not None and self.matcher.alive():
            # the DEALER connects in the background: on a busy machine the port opens first
            wait_for(lambda: self.reaches(port, "/debug"), 10, "frontend %d reaches the matcher"
                     % port)
        if self.metricsd is not None and self.metricsd.alive():
            wait_for(lambda: self.reaches(port, "/prometheus"), 10, "frontend %d reaches metricsd"
                     % port)
        self.ports.append(port)
        self.frontends.append(f)
        return port

    def reaches(self, port, path, timeout=2):
        """True if the frontend on `port` answers GET `path` with 200: /debug is the matcher's
        reply, /prometheus metricsd's (each 503 at once while that link is down)."""
        try:
            return request(port, "GET", path, timeout=timeout, tls=self.tls).status == 200
        except OSError:
            return False

    @property
    def port(self):
        return self.ports[0]

    def stop_proc(self, p, testcase):
        """SIGTERM one process now, assert a clean exit without sanitizer reports, and return
        its log (which close() would delete)."""
        rc = p.stop()
        out = p.output()
        self.killed.add(p)
        testcase.assertEqual(rc, 0, "%s exited with %r" % (p.name, rc))
        for mark in SANITIZER_MARKS:
            testcase.assertNotIn(mark, out, "%s: sanitizer report" % p.name)
        return out

    def close(self, testcase=None, forbidden=(b"127.0.0.1",)):
        """Stop everything; with `testcase`, assert clean exits, no sanitizer report, and no
        forbidden address in any log."""
        problems = []
        for p in reversed(self.procs):
            if p in self.killed:
                continue
            rc = p.stop()
            out = p.output()
            if rc != 0 and p.p is not None:
                problems.append("%s exited with %r" % (p.name, rc))
            for mark in SANITIZER_MARKS:
                if mark in out:
                    problems.append("%s: sanitizer report" % p.name)
            for addr in forbidden:
                if addr in out:
                    problems.append("%s logged a raw address %r" % (p.name, addr))
        if problems:
            for p in self.procs:
                sys.stderr.write("---- %s ----\n%s\n" % (p.name, p.output()[-4000:].decode(
                    "utf-8", "replace")))
        shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            if testcase is None:  # from tearDownClass: unittest reports it as an error
                raise AssertionError("; ".join(problems))
            testcase.fail("; ".join(problems))


class EventTap:
    """snowflake-events subscribed to all the matcher's events, one JSON line each, in its log
    (stopped and checked with the broker's other processes)."""

    def __init__(self, b):
        self.proc = Proc("snowflake-events", ["--events", b.pub], b.dir, "events")
        b.procs.append(self.proc)

    def events(self):
        """Every event printed so far; fails on a line that is not one JSON object."""
        return [json.loads(x) for x in self.proc.output().decode("utf-8").splitlines() if x]

    def subscribe(self, port):
        """Return once the subscription is live: a poll the relay pattern rejects is ended
        (and published) at once; repeat until one shows up."""
        def seen():
            request(port, "POST", "/proxy", proxy_body("tap", pattern="example.com$"))
            return any(e["kind"] == "proxy-poll" and e["outcome"] == "rejected"
                       for e in self.events())
        wait_for(seen, 10, "snowflake-events to receive events")


def rss_kb(pid):
    """Resident set size of a process in KiB, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def is_sanitized():
    """True if the binaries under test were built with the sanitizers (slower, more memory)."""
    with open(binary("snowflake-frontend"), "rb") as f:
        return b"__asan_init" in f.read()


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=30)
    return cert, key


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers          # list of (name, value) as received
        self.body = body                # bytes
        self.elapsed = elapsed          # seconds

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return vals[0] if vals else None

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


def request(port, method, path, body=None, headers=None, timeout=20, tls=False):
    """One HTTP/1.1 request on a new connection. Returns a Response."""
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Response(r.status, r.getheaders(), data, time.monotonic() - t0)
    finally:
        c.close()


class Async:
    """Run request() in a thread; .result(timeout) returns the Response or raises."""

    def __init__(self, *args, **kwargs):
        self._res = None
        self._exc = None
        self.finished = None  # time.monotonic() when the request ended
        self._t = threading.Thread(target=self._run, args=args, kwargs=kwargs, daemon=True)
        self._t.start()

    def _run(self, *args, **kwargs):
        try:
            self._res = request(*args, **kwargs)
        except BaseException as e:  # noqa: B902 - reported by result()
            self._exc = e
        self.finished = time.monotonic()

    def done(self):
        return not self._t.is_alive()

    def result(self, timeout=30):
        self._t.join(timeout)
        if self._t.is_alive():
            raise AssertionError("request still pending after %ss" % timeout)
        if self._exc:
            raise self._exc
        return self._res


def debug_count(port):
    """Number of proxies the matcher holds, from /debug's first line."""
    r = request(port, "GET", "/debug")
    if r.status != 200:
        return -1  # the frontend has no matcher connection (yet)
    first = r.body.split(b"\n", 1)[0]
    return int(first.rsplit(b" ", 1)[1])


# Real requests captured from Debian's snowflake-proxy and snowflake-client 2.5.1.
SPEC_SDP = ("v=0\r\no=- 4358805017720277108 2 IN IP4 8.8.8.8\r\ns=-\r\nt=0 0\r\n"
            "a=group:BUNDLE data\r\na=msid-semantic: WMS\r\n"
            "m=application 56688 DTLS/SCTP 5000\r\nc=IN IP4 8.8.8.8\r\n"
            "a=candidate:3769337065 1 udp 2122260223 8.8.8.8 56688 typ host generation 0 "
            "network-id 1 network-cost 50\r\na=ice-ufrag:aMAZ\r\n"
            "a=ice-pwd:jcHb08Jjgrazp2dzjerkkbnK\r\na=ice-options:trickle\r\n"
            "a=fingerprint:sha-256 C8:88:EE:B9:E7:02:2E:21:37:ED:7A:D1:EB:2B:A3:15:A2:3B:5B:1C:"
            "3D:D4:D5:1F:06:CF:52:40:03:F8:DD:66\r\na=setup:actpass\r\na=mid:data\r\n"
            "a=sctpmap:5000 webrtc-datachannel 1024\r\n")
DEFAULT_FP = "2B280B23E1107BB62ABFC40DDCC8824814F80A72"


def proxy_body(sid, nat="unknown", clients=0, ptype="standalone",
               pattern="snowflake.torproject.net$", version="1.3"):
    import json
    d = {"Sid": sid, "Version": version, "Type": ptype, "NAT": nat, "Clients": clients}
    if pattern is not None:
        d["AcceptedRelayPattern"] = pattern
    return json.dumps(d, separators=(",", ":"))


def client_body(offer, nat="unknown", fp=DEFAULT_FP):
    import json
    return "1.0\n" + json.dumps({"offer": offer, "nat": nat, "fingerprint": fp},
                                separators=(",", ":"))


def answer_body(sid, answer):
    import json
    return json.dumps({"Version": "1.3", "Sid": sid, "Answer": answer}, separators=(",", ":"))


def go_json_string(s):
    """Go encoding/json string literal (for expected bodies)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
