#!/usr/bin/python3
"""fe_geo_report_test.py FRONTEND_BINARY MAKE_TEST_MMDB - geolocation and reports of a real
snowflake-frontend, against fe_stub_matcher.py (--dump) and a stub metricsd ROUTER run here.

Checks the cc and addr of every PROXY_POLL and CLIENT_OFFER frame with Tor-format files
written here, with a tiny .mmdb made by tests/data/make_test_mmdb.pl, and with
--disable-geoip; the SIGHUP reload (and keeping the old database when the new one is bad);
fatal load failures; and GET /metrics and /prometheus with metricsd answering, not found,
mute and absent. Bounded: about 15 s. Every process it starts is stopped by its own handle.
Needs /usr/bin/python3 with python3-zmq and python3-msgpack, and libmaxmind-db-writer-perl."""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

from fe_testlib import FAILS, check, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "fe_stub_matcher.py")
TEXT = "text/plain; charset=utf-8"
PROM = "text/plain; version=0.0.4; charset=utf-8"
CORS = {"access-control-allow-origin": "*",
        "access-control-allow-headers": "Origin, X-Session-ID"}
POLL = '{"Sid":"%s","Version":"1.3","Type":"standalone","NAT":"unrestricted","Clients":0}'
REPORT_GET, REPORT_REPLY, STATS_LOG, PROMETHEUS = 6, 70, 0, 1



def server_end_open(port, peer_port):
    """True while the server on `port` still holds its end of the connection from
    `peer_port` (/proc/net/tcp: ESTABLISHED or CLOSE_WAIT, i.e. it has not closed it)."""
    local, remote = ":%04X" % port, ":%04X" % peer_port
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fs = ln.split()
            if fs[1].endswith(local) and fs[2].endswith(remote) and fs[3] in ("01", "08"):
                return True
    return False


def ip4(a):
    return int.from_bytes(socket.inet_aton(a), "big")


def offer(candidates):
    sdp = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
           "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
           + "".join("a=candidate:%d 1 udp %d %s 4000%d typ %s\r\n" % (i, prio, addr, i, typ)
                     for i, (addr, prio, typ) in enumerate(candidates)))
    return json.dumps({"type": "offer", "sdp": sdp})


CA_OFFER = offer([("129.97.208.23", 2122260223, "host"), ("1.1.1.1", 1686052607, "srflx")])


def amp_path(body):
    data = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return "/amp/client/0AAAAAAAAAAAA/" + data


class Frontend:
    """One snowflake-frontend with its own stub matcher (and its dump file)."""

    def __init__(self, binary, tmp, name, *args, metricsd=None):
        self.tmp, self.name = tmp, name
        self.ep = "ipc://%s/%s-m.ipc" % (tmp, name)
        self.dump = os.path.join(tmp, name + "-dump.jsonl")
        self.log = open(os.path.join(tmp, name + ".log"), "w")
        self.stub = subprocess.Popen(["/usr/bin/python3", STUB, "--bind", self.ep,
                                      "--proxy-hold", "0.2", "--client-hold", "0.2",
                                      "--dump", self.dump], stdout=subprocess.DEVNULL)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [binary, "--addr", "127.0.0.1:%d" % self.port, "--disable-tls", "--matcher",
               self.ep, "--proxy-timeout", "1s", "--client-timeout", "1s", *args]
        if metricsd:
            cmd += ["--metricsd", metricsd]
        self.fe = subprocess.Popen(cmd, stderr=self.log)
        # listening, the stub bound, and the DEALER connected (ZMQ_IMMEDIATE): the stub
        # answers /debug
        try:
            wait_for(lambda: self.status("GET", "/debug") == 200 or self.fe.poll() is not None
                     or self.stub.poll() is not None, 15, name + ": /debug answered by the stub")
            if self.fe.poll() is not None or self.stub.poll() is not None:
                raise AssertionError("%s: frontend or stub exited: %r"
                                     % (name, self.stderr()[-2000:]))
        except BaseException:
            self.stop()
            raise

    def req(self, method, path, body=None, headers=None, timeout=6):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, h, data

    def status(self, method, path):
        """The status, or None while the frontend does not accept connections."""
        try:
            return self.req(method, path, timeout=5)[0]
        except (OSError, http.client.HTTPException):
            return None

    def answered_at_once(self, path, status):
        """True if `path` is answered with `status` in under 0.5 s (its peer is known gone: a
        request sent into a pipe libzmq has not yet seen die waits for its deadline)."""
        t = time.monotonic()
        return self.status("GET", path) == status and time.monotonic() - t < 0.5

    def frames(self, typ):
        if not os.path.exists(self.dump):
            return []
        with open(self.dump) as f:  # whole lines only: the stub may be writing one
            return [m for m in map(json.loads, (ln for ln in f if ln.endswith("\n")))
                    if m["type"] == typ]

    def new_frame(self, typ, n):
        """(addr, cc) of the last frame of that type, once the stub has dumped more than `n`
        of them; None if none comes within 10 s."""
        try:
            f = wait_for(lambda: self.frames(typ)[n:], 10, "a new %s frame in the dump" % typ)
        except AssertionError as e:
            print(e, flush=True)
            return None
        return tuple(f[-1]["fields"][-2:])

    def stderr(self):
        if not self.log.closed:
            self.log.flush()
        with open(os.path.join(self.tmp, self.name + ".log"), "rb") as f:
            return f.read()

    def stop(self):
        for p in (self.fe, self.stub):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.log.close()
        return self.fe.returncode


def poll_cc(fe, sid, headers=None):
    n = len(fe.frames("PROXY_POLL"))
    fe.req("POST", "/proxy", POLL % sid, headers)
    return fe.new_frame("PROXY_POLL", n)


def client_cc(fe, body, headers=None):
    n = len(fe.frames("CLIENT_OFFER"))
    fe.req("POST", "/client", body, headers)
    return fe.new_frame("CLIENT_OFFER", n)


def amp_cc(fe, body):
    n = len(fe.frames("CLIENT_OFFER"))
    s, _, _ = fe.req("GET", amp_path(body))
    check(s == 200, "AMP request answered")
    return fe.new_frame("CLIENT_OFFER", n)


def sighup(fe):
    """SIGHUP, then wait until it is handled: one more "SIGHUP: geoip" line (reloaded, or
    reload failed), or the frontend exited."""
    n = fe.stderr().count(b"SIGHUP: geoip")
    fe.fe.send_signal(signal.SIGHUP)
    wait_for(lambda: fe.stderr().count(b"SIGHUP: geoip") > n or fe.fe.poll() is not None, 10,
             fe.name + ": the SIGHUP handled")


def write_tor(tmp, jp_or="JP"):
    v4, v6 = os.path.join(tmp, "geoip"), os.path.join(tmp, "geoip6")
    with open(v4, "w") as f:
        f.write("# test data\n%d,%d,AU\n%d,%d,%s\n%d,%d,CA\n" % (
            ip4("1.1.1.0"), ip4("1.1.1.255"), ip4("127.0.0.0"), ip4("127.255.255.255"),
            jp_or, ip4("129.97.208.0"), ip4("129.97.208.255")))
    with open(v6, "w") as f:
        f.write("2a07:2e40::,2a07:2e47:ffff:ffff:ffff:ffff:ffff:ffff,FR\n")
    return v4, v6


def test_tor_files(binary, tmp):
    v4, v6 = write_tor(tmp)
    fe = Frontend(binary, tmp, "tor", "--trusted-hops", "1", "--geoipdb", v4, "--geoip6db", v6)
    try:
        check(poll_cc(fe, "p1") == ("127.0.0.1", "JP"), "tor: peer 127.0.0.1 -> JP")
        xff = {"X-Forwarded-For": "1.1.1.1, 10.0.0.1"}
        check(poll_cc(fe, "p2", xff) == ("1.1.1.1", "AU"), "tor: XFF 1.1.1.1 -> AU")
        check(poll_cc(fe, "p3", {"X-Forwarded-For": "2a07:2e40::9"}) == ("2a07:2e40::9", "FR"),
              "tor: XFF IPv6 -> FR")
        check(poll_cc(fe, "p4", {"X-Forwarded-For": "8.8.8.8"}) == ("8.8.8.8", "??"),
              "tor: unknown address -> ??")
        body = "1.0\n" + json.dumps({"offer": CA_OFFER, "nat": "unknown"})
        check(client_cc(fe, body) == ("127.0.0.1", "JP"), "tor: /client uses the peer, not SDP")
        check(client_cc(fe, body, xff) == ("1.1.1.1", "AU"), "tor: /client XFF -> AU")
        check(amp_cc(fe, body) == ("", "CA"), "tor: AMP: no addr, CA from the host candidate")
        none = "1.0\n" + json.dumps({"offer": offer([("x.local", 5, "host")])})
        check(amp_cc(fe, none) == ("", "??"), "tor: AMP without a usable candidate -> ??")
        # SIGHUP: a new database is used; a bad one is refused and the old one kept
        write_tor(tmp, "NZ")
        sighup(fe)
        check(poll_cc(fe, "p5") == ("127.0.0.1", "NZ"), "tor: SIGHUP reloads the files")
        with open(v4, "a") as f:
            f.write("1,2\n")
        sighup(fe)
        check(fe.fe.poll() is None, "tor: a bad file on SIGHUP is not fatal")
        check(poll_cc(fe, "p6") == ("127.0.0.1", "NZ"), "tor: old database kept on failure")
        check(b"geoip reload failed" in fe.stderr(), "tor: reload failure logged")
    finally:
        rc = fe.stop()
    check(rc == 0, "tor: clean exit (%r)" % rc)
    err = fe.stderr()
    for addr in (b"127.0.0.1", b"1.1.1.1", b"129.97.208.23", b"2a07:2e40::9"):
        check(addr not in err, "tor: %r never logged" % addr)


def test_mmdb(binary, tmp, maker):
    mmdb = os.path.join(tmp, "test.mmdb")
    subprocess.run(["/usr/bin/perl", maker, mmdb, "127.0.0.0/8=DE", "129.97.208.0/24=CA",
                    "1.1.1.0/24=AU"], check=True, timeout=30)
    # --mmdb wins over the Tor files: their (missing) paths are not even opened
    fe = Frontend(binary, tmp, "mmdb", "--trusted-hops", "1", "--mmdb", mmdb, "--geoipdb",
                  "/nonexistent/geoip")
    try:
        check(poll_cc(fe, "m1") == ("127.0.0.1", "DE"), "mmdb: peer 127.0.0.1 -> DE")
        check(poll_cc(fe, "m2", {"X-Forwarded-For": "1.1.1.1"}) == ("1.1.1.1", "AU"),
              "mmdb: XFF -> AU")
        check(poll_cc(fe, "m3", {"Forwarded": "for=8.8.8.8"}) == ("8.8.8.8", "??"),
              "mmdb: Forwarded unknown -> ??")
        body = "1.0\n" + json.dumps({"offer": CA_OFFER})
        check(amp_cc(fe, body) == ("", "CA"), "mmdb: AMP host candidate -> CA")
        check(client_cc(fe, body) == ("127.0.0.1", "DE"), "mmdb: /client -> DE")
    finally:
        rc = fe.stop()
    check(rc == 0, "mmdb: clean exit (%r)" % rc)


def test_disabled(binary, tmp):
    fe = Frontend(binary, tmp, "off", "--disable-geoip", "--trusted-hops", "1", "--geoipdb",
                  "/nonexistent/geoip")
    try:
        check(poll_cc(fe, "d1") == ("127.0.0.1", ""), "disabled: proxy cc ''")
        body = "1.0\n" + json.dumps({"offer": CA_OFFER})
        check(client_cc(fe, body, {"X-Forwarded-For": "1.1.1.1"}) == ("1.1.1.1", ""),
              "disabled: client cc ''")
        check(amp_cc(fe, body) == ("", ""), "disabled: AMP cc ''")
    finally:
        rc = fe.stop()
    check(rc == 0, "disabled: clean exit (%r)" % rc)


def test_fatal_load(binary, tmp):
    base = [binary, "--addr", "127.0.0.1:1", "--disable-tls"]
    for extra in (["--geoipdb", "/nonexistent/geoip"], ["--mmdb", "/nonexistent.mmdb"]):
        t = time.monotonic()
        r = subprocess.run(base + extra, capture_output=True, timeout=10)
        check(r.returncode == 1, "fatal: %s exits 1 (%r)" % (extra, r.returncode))
        errs = [ln for ln in r.stderr.splitlines() if b" error " in ln]
        check(len(errs) == 1 and b"nonexistent" in errs[0], "fatal: one error line %r" % errs)
        check(time.monotonic() - t < 3, "fatal: at once")
        r = subprocess.run(base + ["--check-config"] + extra, capture_output=True, timeout=10)
        check(r.returncode == 1, "check-config loads the geoip files %s" % extra)
    v4, v6 = write_tor(tmp)
    r = subprocess.run(base + ["--check-config", "--geoipdb", v4, "--geoip6db", v6],
                       capture_output=True, timeout=10)
    check(r.returncode == 0, "check-config with good files: 0 (%r)" % r.stderr[-300:])
    r = subprocess.run(base + ["--check-config", "--disable-geoip", "--geoipdb", "/nonexistent"],
                       capture_output=True, timeout=10)
    check(r.returncode == 0, "check-config --disable-geoip does not load")


class StubMetricsd(threading.Thread):
    """A ROUTER answering REPORT_GET like metricsd. mode: 'found', 'notfound' or 'mute'."""

    def __init__(self, ep):
        super().__init__(daemon=True)
        self.ep, self.mode, self.seen, self.stop_flag = ep, "found", [], False
        self.ready = threading.Event()

    def run(self):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(self.ep)
        self.ready.set()
        while not self.stop_flag:
            if not sock.poll(50):
                continue
            ident, frame = sock.recv_multipart()
            m = msgpack.unpackb(frame, raw=False)
            self.seen.append(m)
            if m[1] != REPORT_GET or self.mode == "mute":
                continue
            kind = m[3]
            text = ("snowflake-stats-end 2026-01-01 00:00:00 (86400 s)\nsnowflake-ips \n"
                    if kind == STATS_LOG else "# TYPE snowflake_x counter\nsnowflake_x 8\n")
            sock.send_multipart([ident, msgpack.packb(
                [1, REPORT_REPLY, m[2], self.mode == "found", text], use_bin_type=True)])
        sock.close()
        ctx.term()


def check_resp(name, got, status, body, ctype, cors, extra=None):
    s, h, b = got
    check(s == status, "%s: status %d != %d" % (name, s, status))
    check(b == body, "%s: body %r" % (name, b[:80]))
    check(h.get("content-type") == ctype, "%s: content-type %r" % (name, h.get("content-type")))
    for k, v in CORS.items():
        check(h.get(k) == (v if cors else None), "%s: %s %r" % (name, k, h.get(k)))
    for k, v in (extra or {}).items():
        check(h.get(k) == v, "%s: %s %r" % (name, k, h.get(k)))


def test_reports(binary, tmp):
    ep = "ipc://%s/metricsd.ipc" % tmp
    md = StubMetricsd(ep)
    md.start()
    md.ready.wait(5)
    fe = Frontend(binary, tmp, "rep", "--disable-geoip", metricsd=ep)
    nf = {"x-content-type-options": "nosniff"}
    log = b"snowflake-stats-end 2026-01-01 00:00:00 (86400 s)\nsnowflake-ips \n"
    try:
        # the metricsd DEALER connects in the background too: until it has, /prometheus is
        # 503 at once. What this wait sent is not counted below.
        wait_for(lambda: fe.status("GET", "/prometheus") == 200, 15, "the stub metricsd reached")
        md.seen.clear()
        check_resp("metrics found", fe.req("GET", "/metrics"), 200, log, TEXT, True)
        check_resp("prometheus", fe.req("GET", "/prometheus"), 200,
                   b"# TYPE snowflake_x counter\nsnowflake_x 8\n", PROM, False)
        check_resp("metrics OPTIONS", fe.req("OPTIONS", "/metrics"), 200, b"", None, True)
        kinds = [m[3] for m in md.seen if m[1] == REPORT_GET]
        check(kinds == [STATS_LOG, PROMETHEUS], "one REPORT_GET per GET: %r" % kinds)
        md.mode = "notfound"
        check_resp("metrics not found", fe.req("GET", "/metrics"), 404,
                   b"404 page not found\n", TEXT, True, nf)
        md.mode = "mute"
        for path, status, body, ctype, cors in (
                ("/metrics", 404, b"404 page not found\n", TEXT, True),
                ("/prometheus", 503, b"", None, False)):
            t = time.monotonic()
            got = fe.req("GET", path)
            el = time.monotonic() - t
            check_resp("mute " + path, got, status, body, ctype, cors)
            check(1.8 < el < 3.0, "mute %s: answered at the 2 s deadline (%.2f s)" % (path, el))
        # a peer that leaves while held: no CANCEL is sent to metricsd
        n = len(md.seen)
        c = socket.create_connection(("127.0.0.1", fe.port))
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: len(md.seen) > n, 10, "the GET /metrics held at metricsd")
        peer_port = c.getsockname()[1]
        c.close()
        # The frontend has handled the close once it has closed its end; a CANCEL would have
        # been queued then, ahead of the next request in the same pipe: once metricsd has
        # answered that one, anything sent for the closed connection has arrived.
        wait_for(lambda: not server_end_open(fe.port, peer_port), 10,
                 "the frontend to close its end of the left connection")
        md.mode = "found"
        check(fe.req("GET", "/prometheus")[0] == 200, "a request after the close answered")
        check(all(m[1] == REPORT_GET for m in md.seen), "only REPORT_GETs reach metricsd")
        md.stop_flag = True  # metricsd gone: answered at once
        md.join(3)
        wait_for(lambda: fe.answered_at_once("/metrics", 404), 20,
                 "the frontend to notice metricsd is gone (/metrics 404 at once)")
        for path, status in (("/metrics", 404), ("/prometheus", 503)):
            t = time.monotonic()
            s, _, _ = fe.req("GET", path)
            check(s == status and time.monotonic() - t < 1.0,  # the deadline is 2 s
                  "metricsd gone: %s %d at once" % (path, s))
    finally:
        rc = fe.stop()
    check(rc == 0, "reports: clean exit (%r)" % rc)


def main():
    binary, maker = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        test_tor_files(binary, tmp)
        test_mmdb(binary, tmp, maker)
        test_disabled(binary, tmp)
        test_fatal_load(binary, tmp)
        test_reports(binary, tmp)
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
