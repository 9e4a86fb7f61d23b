#!/usr/bin/python3
"""fe_stub_test.py FRONTEND_BINARY - drive a real snowflake-frontend against fe_stub_matcher.py.

Checks the upstream captures (spec/captures/gobroker-78cf8e6-responses.txt: status, headers,
exact body), body limits, redirects, the match flow, CANCEL on disconnect (plain and TLS),
the frontend's own deadlines, matcher down/up without a restart, SIGTERM and SIGHUP. Bounded:
about 30 s. Every process it starts is stopped by its own handle."""
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from fe_testlib import FAILS, check, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "fe_stub_matcher.py")
CORS = {"access-control-allow-origin": "*",
        "access-control-allow-headers": "Origin, X-Session-ID"}
TEXT = "text/plain; charset=utf-8"
POLL = ('{"Sid":"%s","Version":"1.3","Type":"standalone","NAT":"unrestricted","Clients":0,'
        '"AcceptedRelayPattern":"snowflake.torproject.net$"}')
NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'



class Env:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.ep = "ipc://%s/m.ipc" % tmp
        self.port = 18000 + os.getpid() % 1000
        self.stub = self.fe = None

    def start_stub(self, *args):
        """Start the stub and wait for its bind (it prints READY once bound). Whether the
        frontend's DEALER has connected is each caller's own wait (reaches_stub, /debug)."""
        path = os.path.join(self.tmp, "stub.log")
        ready = open(path).read().count("READY ") if os.path.exists(path) else 0
        self.stub_log = open(path, "a")
        self.stub = subprocess.Popen([STUB, "--bind", self.ep, "--proxy-hold", "1",
                                      "--client-hold", "1", *args], stdout=self.stub_log)
        wait_for(lambda: self.stub_text().count("READY ") > ready or self.stub.poll() is not None,
                 15, "the stub's bind")
        assert self.stub.poll() is None, "stub exited: %r" % self.stub_text()[-2000:]

    def stop_stub(self):
        self.stub.kill()
        self.stub.wait()

    def stub_text(self):
        self.stub_log.flush()
        return open(os.path.join(self.tmp, "stub.log")).read()

    def fe_text(self):
        with open(os.path.join(self.tmp, "fe.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def start_fe(self, *args, tls=None):
        """Start the frontend (its stderr to fe.log, shown at the end on failure) and wait
        until /debug answers 200: listening, and its DEALER connected to the (answering)
        stub."""
        with open(os.path.join(self.tmp, "fe.log"), "ab") as log:
            self.fe = subprocess.Popen([self.binary, "--addr", "127.0.0.1:%d" % self.port,
                                        "--matcher", self.ep, "--proxy-timeout", "1s",
                                        "--client-timeout", "1s", *args], stderr=log)
        wait_for(lambda: debug_status(self, tls) == 200 or self.fe.poll() is not None, 15,
                 "the frontend to listen and reach the stub")
        assert self.fe.poll() is None, "frontend exited: %r" % self.fe_text()[-2000:]


def req(env, method, path, body=None, headers=None, tls=None, timeout=6):
    if tls:
        c = http.client.HTTPSConnection("127.0.0.1", env.port, context=tls, timeout=timeout)
    else:
        c = http.client.HTTPConnection("127.0.0.1", env.port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data


def debug_status(env, tls=None):
    """Status of GET /debug, or None while the frontend does not accept connections."""
    try:
        return req(env, "GET", "/debug", tls=tls, timeout=5)[0]
    except (OSError, http.client.HTTPException):
        return None


def answered_at_once(env, method, path, status):
    """True if the frontend answers this request with `status` in under 0.5 s: it has no
    matcher connection (a request sent into a pipe libzmq has not yet seen die waits for its
    deadline instead)."""
    t = time.monotonic()
    try:
        s = req(env, method, path, timeout=5)[0]
    except (OSError, http.client.HTTPException):
        return False
    return s == status and time.monotonic() - t < 0.5


def reaches_stub(env):
    """Send GET /debug and watch both ends: True once the stub logs it (the DEALER is
    connected), False if the frontend answers it itself first (not connected yet). For the
    --mute stub, which never answers; the held /debug is dropped (CANCELled) on close."""
    n = env.stub_text().count("RECV DEBUG")
    try:
        sock = socket.create_connection(("127.0.0.1", env.port), timeout=5)
    except OSError:
        return False
    try:
        sock.sendall(b"GET /debug HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(0.02)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if env.stub_text().count("RECV DEBUG") > n:
                return True
            try:
                if sock.recv(4096):
                    return False
            except socket.timeout:
                pass
            except OSError:
                return False
        return False
    finally:
        sock.close()


def expect(env, name, method, path, body, status, want_body, ctype, cors=True, extra=None):
    s, h, b = req(env, method, path, body)
    check(s == status, "%s: status %d != %d" % (name, s, status))
    check(b == want_body, "%s: body %r != %r" % (name, b, want_body))
    check(h.get("content-type") == ctype, "%s: content-type %r" % (name, h.get("content-type")))
    check(h.get("content-length") == str(len(want_body)), name + ": content-length")
    check("server" not in h, name + ": Server header present")
    for k, v in (CORS if cors else {}).items():
        check(h.get(k) == v, "%s: %s" % (name, k))
    if not cors:
        check("access-control-allow-origin" not in h, name + ": unexpected CORS")
    for k, v in (extra or {}).items():
        check(h.get(k) == v, "%s: %s=%r" % (name, k, h.get(k)))


def test_captures(env):
    t = time.monotonic()
    expect(env, "proxy no match", "POST", "/proxy", POLL % "A", 200, NO_MATCH, TEXT)
    check(0.9 < time.monotonic() - t < 1.9, "proxy no match held ~1 s")
    rej = b'{"Status":"incorrect relay pattern","Offer":"","NAT":"","RelayURL":""}'
    expect(env, "proxy old", "POST", "/proxy", '{"Sid":"x","Version":"1.2"}', 200, rej, TEXT)
    expect(env, "proxy malformed", "POST", "/proxy", "{", 400, b"", None)
    expect(env, "GET /proxy", "GET", "/proxy", None, 400, b"", None)
    expect(env, "client none", "POST", "/client", '1.0\n{"offer":"fake","nat":"unknown"}', 200,
           b'{"error":"no snowflake proxies currently available"}', TEXT)
    expect(env, "client fp", "POST", "/client",
           '1.0\n{"offer":"fake","fingerprint":"8838024498816A039FCBBAB14E6F40A0843051FA"}', 200,
           b'{"error":"bridge with requested fingerprint is unknown to the broker"}', TEXT)
    expect(env, "client version", "POST", "/client", '2.0\n{"offer":"fake"}', 200,
           b'{"error":"unsupported message version"}', TEXT)
    expect(env, "client legacy", "POST", "/client", '{"type":"offer","sdp":"v=0"}', 503, b"",
           None)
    expect(env, "answer gone", "POST", "/answer",
           '{"Version":"1.3","Sid":"nope","Answer":"a=candidate"}', 200,
           b'{"Status":"client gone"}', TEXT)
    expect(env, "answer no cand", "POST", "/answer", '{"Version":"1.3","Sid":"x","Answer":"y"}',
           400, b"", None)
    expect(env, "options", "OPTIONS", "/client", None, 200, b"", None)
    dbg = (b"current snowflakes available: 0\n\tunknown proxies: 0\nNAT Types available:\n"
           b"\trestricted: 0\n\tunrestricted: 0\n\tunknown: 0")
    expect(env, "debug", "GET", "/debug", None, 200, dbg, TEXT)
    expect(env, "robots", "GET", "/robots.txt", None, 200, b"User-agent: *\nDisallow: /\n",
           TEXT, cors=False)
    nf = {"x-content-type-options": "nosniff"}
    expect(env, "404", "GET", "/nonexistent", None, 404, b"404 page not found\n", TEXT,
           cors=False, extra=nf)
    expect(env, "metrics", "GET", "/metrics", None, 404, b"404 page not found\n", TEXT, extra=nf)
    expect(env, "prometheus without metricsd", "GET", "/prometheus", None, 503, b"", None,
           cors=False)
    expect(env, "amp redirect", "GET", "/amp/client", None, 301,
           b'<a href="/amp/client/">Moved Permanently</a>.\n\n', "text/html; charset=utf-8",
           cors=False, extra={"location": "/amp/client/"})
    expect(env, "clean redirect", "GET", "/amp/client/0abc//def", None, 301,
           b'<a href="/amp/client/0abc/def">Moved Permanently</a>.\n\n',
           "text/html; charset=utf-8", cors=False, extra={"location": "/amp/client/0abc/def"})


AMP_START = (b'<!doctype html>\n<html amp>\n<head>\n<meta charset="utf-8">\n'
             b'<script async src="https://cdn.ampproject.org/v0.js"></script>\n'
             b'<link rel="canonical" href="#">\n'
             b'<meta name="viewport" content="width=device-width">\n')


def test_amp(env):
    amp = {"cache-control": "max-age=15"}
    path = "/amp/client/0AAAAAAAAAAAA/MS4wCnsib2ZmZXIiOiAiZmFrZSIsICJuYXQiOiAidW5rbm93biJ9"
    tail = (b"<pre>\n0eyJlcnJvciI6Im5vIHNub3dmbGFrZSB\nwcm94aWVzIGN1cnJlbnRseSBhdmFpbGF\n"
            b"ibGUifQ==\n</pre>\n</body>\n</html>")
    s, h, b = req(env, "GET", path)
    check(s == 200 and h.get("content-type") == "text/html" and h.get("cache-control") ==
          "max-age=15" and h.get("access-control-allow-origin") == "*", "amp: headers")
    check(b.startswith(AMP_START) and b.endswith(b"</head>\n<body>\n" + tail),
          "amp: armored no-proxies body")
    s, h, b = req(env, "GET", "/amp/client/1bad/YWJj")
    check(s == 200 and b.endswith(b"<pre>\n0eyJlcnJvciI6ImNhbm5vdCBkZWNvZGU\ngVVJMIHBhdGgifQ==\n"
                                  b"</pre>\n</body>\n</html>"), "amp: cannot decode URL path")
    s, h, b = req(env, "OPTIONS", path)
    check(s == 200 and b == b"" and h.get("access-control-allow-origin") == "*", "amp: OPTIONS")


def test_body_limit(env):
    base = '{"Sid":"x","Version":"1.2","pad":"'
    exact = base + "p" * (100000 - len(base) - 2) + '"}'
    check(len(exact) == 100000, "100000-byte body built")
    s, _, b = req(env, "POST", "/proxy", exact)
    check(s == 200 and b"incorrect relay pattern" in b, "100000-byte body accepted (%d)" % s)
    s, h, b = req(env, "POST", "/proxy", exact + " ")
    check(s == 400 and b == b"" and "content-type" not in h, "100001-byte body: 400 (%d)" % s)


def test_match_and_cancel(env, tls=None):
    tag = "tls " if tls else ""
    # a proxy that goes away while held is CANCELled and never matched
    sock = socket.create_connection(("127.0.0.1", env.port))
    if tls:
        sock = tls.wrap_socket(sock, server_hostname="localhost")
    body = POLL % "GONE"
    n = env.stub_text().count("'GONE'")
    sock.sendall(("POST /proxy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body)).encode())
    wait_for(lambda: env.stub_text().count("'GONE'") > n, 10, tag + "the poll held at the stub")
    sock.close()
    log = env.stub_text()
    rid = [ln.split()[2] for ln in log.splitlines() if "'GONE'" in ln][-1]
    # only after this poll: the TLS run's ids start again at 1 in a new frontend
    cancel = "\nRECV CANCEL %s\n" % rid
    wait_for(lambda: cancel in env.stub_text()[log.rfind("'GONE'"):], 10,
             tag + "the stub to receive the CANCEL")
    log = env.stub_text()
    check(cancel in log[log.rfind("'GONE'"):], tag + "CANCEL for a disconnected proxy")
    s, _, b = req(env, "POST", "/client", '1.0\n{"offer":"o"}', tls=tls)
    check(b == b'{"error":"no snowflake proxies currently available"}',
          tag + "cancelled proxy never matched: %r" % b)


def test_matcher_down_and_back(env):
    env.stop_stub()
    # libzmq's I/O thread must notice the death first: a request sent within those few ms
    # still enters the dying pipe and is answered at its deadline instead (seen on a busy
    # machine). "At once" is about what follows.
    wait_for(lambda: answered_at_once(env, "GET", "/debug", 503), 20,
             "the frontend to notice the stub is gone (/debug 503 at once)")
    t = time.monotonic()
    s, _, b = req(env, "POST", "/proxy", POLL % "D")
    # at once: well before the 2 s deadline a request sent into the dead pipe would wait for
    check(b == NO_MATCH and time.monotonic() - t < 1.0, "matcher down: proxy no match at once")
    s, _, b = req(env, "POST", "/client", '1.0\n{"offer":"o"}')
    check(b == b'{"error":"no snowflake proxies currently available"}', "down: client")
    s, _, b = req(env, "POST", "/client", '{"legacy":1}')
    check(s == 503, "down: legacy client 503")
    s, _, b = req(env, "POST", "/answer", '{"Version":"1.0","Sid":"s","Answer":"a=candidate"}')
    check(b == b'{"Status":"client gone"}', "down: answer")
    s, _, b = req(env, "GET", "/debug")
    check(s == 503 and b == b"", "down: debug 503")
    env.start_stub("--mute")  # up, but never answers: the frontend's own deadlines
    wait_for(lambda: reaches_stub(env), 20, "the frontend to reach the mute stub")
    t = time.monotonic()
    s, _, b = req(env, "POST", "/client", '1.0\n{"offer":"o"}')
    el = time.monotonic() - t
    check(b == b'{"error":"timed out waiting for answer!"}' and 1.8 < el < 3.0,
          "mute: client times out at deadline (%.2f s)" % el)
    s, _, b = req(env, "POST", "/client", '{"legacy":1}')
    check(s == 504, "mute: legacy client 504")
    s, _, b = req(env, "GET", "/debug")
    check(s == 503, "mute: debug 503")
    env.stop_stub()
    env.start_stub()
    wait_for(lambda: debug_status(env) == 200, 20, "matcher back: /debug 200 again")
    s, _, b = req(env, "GET", "/debug")
    check(s == 200, "matcher back: service resumes without restart")


def test_sigterm(env):
    out = {}

    def held():
        out["r"] = req(env, "POST", "/proxy", POLL % "T")
        out["t"] = time.monotonic()
    import threading
    th = threading.Thread(target=held)
    env.stop_stub()
    env.start_stub("--mute")
    wait_for(lambda: reaches_stub(env), 20, "the frontend to reach the mute stub")
    n = env.stub_text().count("'T'")
    th.start()
    wait_for(lambda: env.stub_text().count("'T'") > n, 10, "the T poll held at the stub")
    t = time.monotonic()
    env.fe.send_signal(signal.SIGTERM)
    th.join(3)
    check(out.get("r", (0, 0, b""))[2] == NO_MATCH, "SIGTERM: held proxy gets no match")
    check(out.get("t", t + 99) - t < 1.0, "SIGTERM: held proxy answered within 1 s")
    rc = env.fe.wait(timeout=5)  # exits by itself after a short drain
    check(rc == 0, "SIGTERM: exit code 0 (%s)" % rc)
    wait_for(lambda: "RECV CANCEL" in env.stub_text().split("'T'")[-1], 5,
             "SIGTERM: CANCEL received by the stub")


def make_cert(tmp, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=" + name, "-keyout", tmp + "/key.pem", "-out", tmp + "/cert.pem"],
                   check=True, capture_output=True)


def peer_cn(env, tls):
    s = tls.wrap_socket(socket.create_connection(("127.0.0.1", env.port)),
                        server_hostname="localhost")
    alpn = s.selected_alpn_protocol()
    der = s.getpeercert(binary_form=True)
    s.close()
    return der, alpn


def test_tls(env):
    make_cert(env.tmp, "one")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.set_alpn_protocols(["h2", "http/1.1"])
    env.start_fe("--cert", env.tmp + "/cert.pem", "--key", env.tmp + "/key.pem", tls=tls)
    der1, alpn = peer_cn(env, tls)
    check(alpn == "http/1.1", "TLS: ALPN http/1.1 only (%r)" % alpn)
    s, _, b = req(env, "GET", "/robots.txt", tls=tls)
    check(s == 200, "TLS: robots")
    test_match_and_cancel(env, tls)
    keep = http.client.HTTPSConnection("127.0.0.1", env.port, context=tls, timeout=5)
    keep.request("GET", "/robots.txt")
    keep.getresponse().read()
    make_cert(env.tmp, "two")
    reloads = env.fe_text().count("SIGHUP: TLS certificate reloaded")
    env.fe.send_signal(signal.SIGHUP)
    wait_for(lambda: env.fe_text().count("SIGHUP: TLS certificate reloaded") > reloads, 10,
             "the frontend to log the certificate reload")
    der2, _ = peer_cn(env, tls)
    check(der1 != der2, "SIGHUP: new connections get the new certificate")
    keep.request("GET", "/robots.txt")
    check(keep.getresponse().status == 200, "SIGHUP: old connection still served")
    keep.close()
    env.fe.send_signal(signal.SIGTERM)
    env.fe.wait(timeout=3)


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(binary, tmp)
        env.start_stub()
        env.start_fe("--disable-tls")
        try:
            test_captures(env)
            test_amp(env)
            test_body_limit(env)
            test_match_and_cancel(env)
            test_matcher_down_and_back(env)
            test_sigterm(env)
            env.stop_stub()
            env.start_stub()
            test_tls(env)
        except BaseException:
            FAILS.append("exception")
            raise
        finally:
            for p in (env.fe, env.stub):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
            if FAILS and env.fe is not None:
                print("---- frontend stderr ----\n" + env.fe_text()[-6000:], flush=True)
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
