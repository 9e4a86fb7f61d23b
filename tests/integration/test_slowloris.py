#!/usr/bin/python3
"""Slow and greedy peers against the real binaries (ARCHITECTURE §5, last row): 1,000
slowloris connections (a partial header, then a byte every two seconds, reopened when the
frontend closes them) and 10,000 held proxy polls at once, while normal proxies and clients are
served within their usual latency; the header timeout closes every slowloris connection however
it trickles; and the --max-pending and --max-connections refusals.

Bounded: one thread drives every slowloris socket with a selector, the held polls are plain
non-blocking sockets, every wait has a deadline, and the whole file runs in well under 60 s."""

import resource
import selectors
import socket
import sys
import threading
import time
import unittest

from harness import (Async, Broker, answer_body, client_body, debug_count, main, proxy_body,
                     request, rss_kb, wait_for)

NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'
NO_PROXIES = b'{"error":"no snowflake proxies currently available"}'
HEADER_TIMEOUT_S = 4
SLOWLORIS = 1000
HELD_POLLS = 10000
TRICKLE_S = 2.0


def log(fmt, *args):
    sys.stderr.write("[slowloris] " + (fmt % args) + "\n")
    sys.stderr.flush()


def raise_nofile():
    """Raise this process's descriptor limit to the hard limit; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Slowloris(threading.Thread):
    """Keep `count` connections open that never finish their request header: each sends a
    request line and part of a header, then one more byte every TRICKLE_S seconds. A connection
    the server closes is recorded (lifetime, whether any byte came back) and reopened."""

    HEAD = b"POST /proxy HTTP/1.1\r\nHost: broker\r\nX-Pad: "

    def __init__(self, port, count):
        super().__init__(daemon=True)
        self.addr = ("127.0.0.1", port)
        self.count = count
        self.sel = selectors.DefaultSelector()
        self.conns = {}          # socket -> [opened_at, next_send_at, bytes_sent]
        self.lifetimes = []      # seconds from connect to the server's close
        self.answered = 0        # closes that came with response bytes (must stay 0)
        self.trickled = 0        # single bytes sent after the partial header
        self.peak = 0
        self.stop_ev = threading.Event()
        self.error = None

    def _open(self, now):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(self.addr)
        self.conns[s] = [now, now + 0.05, 0]
        self.sel.register(s, selectors.EVENT_READ)

    def _closed(self, s, now, got_bytes):
        opened = self.conns.pop(s)[0]
        self.sel.unregister(s)
        s.close()
        self.lifetimes.append(now - opened)
        self.answered += 1 if got_bytes else 0

    def _send_due(self, now):
        for s, st in list(self.conns.items()):
            if now < st[1]:
                continue
            data = self.HEAD if st[2] == 0 else b"a"
            try:
                s.send(data)
            except (BlockingIOError, OSError):
                st[1] = now + 0.05  # not connected yet (or closing): the read side decides
                continue
            self.trickled += 1 if st[2] else 0
            st[2] += len(data)
            st[1] = now + TRICKLE_S

    def _loop(self):
        while not self.stop_ev.is_set():
            now = time.monotonic()
            for _ in range(min(200, self.count - len(self.conns))):
                self._open(now)
            self.peak = max(self.peak, len(self.conns))
            for key, _ in self.sel.select(timeout=0.05):
                try:
                    data = key.fileobj.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                self._closed(key.fileobj, time.monotonic(), bool(data))
            self._send_due(time.monotonic())

    def run(self):
        try:
            self._loop()
        except BaseException as e:  # noqa: B902 - reported by the test
            self.error = e
        for s in list(self.conns):
            self.sel.unregister(s)
            s.close()
        self.conns.clear()


def open_held_polls(port, n):
    """Open n connections, each with a complete proxy poll the matcher will hold (restricted
    NAT, so restricted clients never take them). Return the sockets, non-blocking."""
    socks = []
    for i in range(n):
        body = proxy_body("held-%05d" % i, nat="restricted").encode()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /proxy HTTP/1.1\r\nHost: broker\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        s.setblocking(False)
        socks.append(s)
    return socks


def still_held(socks):
    """How many of the sockets have had no byte of response and are still open."""
    n = 0
    for s in socks:
        try:
            s.recv(1)  # a response byte, or b"" at EOF: not held any more
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def accept_queue(port):
    """Connections waiting in the accept queue of the listener on 127.0.0.1:`port` (for a
    listening socket, /proc/net/tcp's rx_queue is that count); None if it is not listening."""
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fs = ln.split()
            if fs[3] == "0A" and fs[1] == "0100007F:%04X" % port:
                return int(fs[4].split(":")[1], 16)
    return None


def rendezvous(port, sid, answer="ans a=candidate"):
    """One normal rendezvous: an unrestricted proxy polls, a restricted client (which only
    unrestricted proxies can serve) offers, the proxy answers. Return the seconds it took."""
    t0 = time.monotonic()
    base = debug_count(port)
    p = Async(port, "POST", "/proxy", proxy_body(sid, nat="unrestricted"), timeout=10)
    wait_for(lambda: debug_count(port) > base, 5, "the normal proxy held")
    c = Async(port, "POST", "/client", client_body("offer-" + sid, nat="restricted"), timeout=10)
    pr = p.result(10)
    assert b"client match" in pr.body, pr
    ar = request(port, "POST", "/answer", answer_body(sid, answer), timeout=10)
    assert ar.body == b'{"Status":"success"}', ar
    cr = c.result(10)
    assert cr.body == b'{"answer":"%s"}' % answer.encode(), cr
    return time.monotonic() - t0


class SlowlorisAndHeldPolls(unittest.TestCase):
    def test_service_under_attack(self):
        nofile = raise_nofile()
        held_target = min(HELD_POLLS, nofile - SLOWLORIS - 1000)
        if held_target < HELD_POLLS:
            log("RLIMIT_NOFILE is %d: holding %d polls instead of %d", nofile, held_target,
                HELD_POLLS)
        b = Broker(frontends=1, proxy_timeout="40s", client_timeout="3s",
                   frontend_args=["--header-timeout", "%ds" % HEADER_TIMEOUT_S,
                                  "--max-pending", str(HELD_POLLS + 1000)])
        held, attacker = [], None
        try:
            port = b.port
            t0 = time.monotonic()
            held = open_held_polls(port, held_target)
            wait_for(lambda: debug_count(port) >= held_target, 30, "%d held polls" % held_target)
            log("%d polls held after %.1f s", held_target, time.monotonic() - t0)
            attacker = Slowloris(port, SLOWLORIS)
            attacker.start()
            wait_for(lambda: attacker.peak >= SLOWLORIS, 10, "slowloris connections open")
            # normal service while attacked: a rendezvous, /debug, and a few dozen requests
            took = rendezvous(port, "normal-1")
            log("rendezvous under attack: %.3f s", took)
            self.assertLess(took, 2.0)
            latencies, i = [], 0
            # normal requests throughout two generations of slowloris connections
            deadline = time.monotonic() + 30
            while len(attacker.lifetimes) < 2 * SLOWLORIS or i < 60:
                self.assertLess(time.monotonic(), deadline, "two slowloris generations")
                i += 1
                kind = i % 4
                if kind == 0:
                    r = request(port, "GET", "/debug", timeout=5)
                    self.assertEqual(r.status, 200)
                    self.assertLess(r.elapsed, 1.0)
                elif kind == 1:
                    r = request(port, "GET", "/robots.txt", timeout=5)
                    self.assertEqual(r.status, 200)
                elif kind == 2:
                    r = request(port, "POST", "/client", client_body("x", nat="restricted"),
                                timeout=5)
                    self.assertEqual(r.body, NO_PROXIES)
                else:
                    r = request(port, "POST", "/proxy",
                                proxy_body("bad-%d" % i, pattern="example.com$"), timeout=5)
                    self.assertIn(b"incorrect relay pattern", r.body)
                latencies.append(r.elapsed)
                # pacing, not a wait: spread the normal requests over the two slowloris
                # generations the loop runs through
                time.sleep(0.1)
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            log("%d normal requests: p50 %.1f ms, p99 %.1f ms, max %.1f ms", len(latencies),
                latencies[len(latencies) // 2] * 1e3, p99 * 1e3, latencies[-1] * 1e3)
            self.assertLess(p99, 0.5)
            log("frontend RSS under attack: %.1f MB (%d held polls, %d slowloris)",
                rss_kb(b.frontends[0].p.pid) / 1024, held_target, SLOWLORIS)
            took = rendezvous(port, "normal-2")
            self.assertLess(took, 2.0)
            attacker.stop_ev.set()
            attacker.join(10)
            self.assertIsNone(attacker.error)
            lt = sorted(attacker.lifetimes)
            log("slowloris: peak %d open, %d closed by the frontend, lifetime %.2f..%.2f s "
                "(header timeout %d s), %d bytes trickled, %d answered", attacker.peak, len(lt),
                lt[0], lt[-1], HEADER_TIMEOUT_S, attacker.trickled, attacker.answered)
            self.assertEqual(attacker.answered, 0)  # closed silently, nothing parsed
            self.assertGreater(attacker.trickled, SLOWLORIS)  # they did trickle
            self.assertGreater(lt[0], HEADER_TIMEOUT_S - 0.5)
            self.assertLess(lt[-1], HEADER_TIMEOUT_S + 1.5)  # trickling never extended it
            n = still_held(held)
            log("held polls still waiting at the end: %d of %d", n, held_target)
            self.assertEqual(n, held_target)
        finally:
            if attacker is not None:
                attacker.stop_ev.set()
                attacker.join(10)
            for s in held:
                s.close()
            b.close(self)


class Limits(unittest.TestCase):
    def setUp(self):
        self.b = Broker(frontends=1, proxy_timeout="10s", client_timeout="2s",
                        frontend_args=["--max-pending", "3", "--max-connections", "8",
                                       "--header-timeout", "5s"])

    def tearDown(self):
        self.b.close(self)

    def test_max_pending_and_max_connections(self):
        b, port = self.b, self.b.port
        # /debug on `port` would count against its cap: watch the matcher through a second,
        # uncapped frontend instead
        observer = b.add_frontend([])
        held = [Async(port, "POST", "/proxy", proxy_body("p%d" % i), timeout=15)
                for i in range(3)]
        wait_for(lambda: debug_count(observer) == 3, 10, "the three polls held by the matcher")
        self.assertFalse(any(a.done() for a in held))
        # past the pending cap: each endpoint's error form at once (well before the 4 s
        # client and 41 s proxy deadlines a queued request would wait for)
        r = request(port, "POST", "/proxy", proxy_body("over"))
        self.assertEqual((r.status, r.body), (200, NO_MATCH))
        self.assertLess(r.elapsed, 1.0)
        r = request(port, "POST", "/client", client_body("o"))
        self.assertEqual((r.status, r.body), (200, NO_PROXIES))
        self.assertLess(r.elapsed, 1.0)
        r = request(port, "POST", "/client", '{"sdp":"legacy"}')
        self.assertEqual((r.status, r.body), (503, b""))
        self.assertLess(r.elapsed, 1.0)
        # the connection cap: 3 held + 5 idle = 8 open; the ninth waits in the accept queue
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
        wait_for(lambda: accept_queue(port) == 0, 10, "the five idle connections accepted")
        waiting = Async(port, "GET", "/robots.txt", timeout=10)
        wait_for(lambda: accept_queue(port) == 1, 10, "the ninth connection in the accept queue")
        # the window the test measures, not a wait: the ninth stays unaccepted and unserved
        # for a whole second
        time.sleep(1.0)
        self.assertFalse(waiting.done(), "served past --max-connections")
        self.assertEqual(accept_queue(port), 1, "accepted past --max-connections")
        idle.pop().close()
        r = waiting.result(1.0)  # accepted as soon as one closes, well before any timeout
        self.assertEqual(r.status, 200)
        for s in idle:
            s.close()
        for a in held:
            a.result(15)
        out = b.stop_proc(b.frontends[0], self)
        text = out.decode("utf-8", "replace")
        log("%s", [ln for ln in text.splitlines() if "stopped (" in ln])
        self.assertIn("refused 3", text)
        self.assertIn("--max-pending", text)
        self.assertIn("--max-connections", text)
        self.assertRegex(text, r"cap pauses [1-9]")
        self.assertRegex(text, r"file descriptors: \d+, max connections 8")


if __name__ == "__main__":
    main()
