#!/usr/bin/python3
"""test_metricsd.py - end-to-end test of snowflake-metricsd and snowflake-events.

A Python XPUB plays the matcher (msgpack bodies laid out exactly as proto/sfb_event.c
encodes them). metricsd runs with 2 s intervals and a temporary state dir. The test checks
an interval's block line by line, kills metricsd with SIGKILL in the middle of the next
interval, restarts it, keeps publishing, and checks that this interval's block equals the
uninterrupted expectation. It also fetches both reports with REPORT_GET over a DEALER and
GET /metrics over HTTP, runs `promtool check metrics` on both (required), and checks
snowflake-events' JSON lines. Every wait is bounded; every process started is stopped.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack
import zmq

from md_testlib import fail, wait_for

INTERVAL = 2.0
CKPT_SEQ_OFFSET = 32  # MD_AGG_CKPT_SEQ_OFFSET in md_agg.h
TOPICS = (b"proxy-poll", b"client-poll", b"proxy-answer")


def event(seq, kind, outcome, cc, ptype=None, nat=None, method=None, relay=None, tag=None,
          ts=None):
    """The msgpack body of one event, with keys in sfb_event_encode's order."""
    m = {"v": 1, "seq": seq, "ts": int(time.time() * 1000) if ts is None else ts,
         "kind": kind, "outcome": outcome, "cc": cc}
    if kind in ("proxy-poll", "proxy-answer"):
        m["type"] = ptype
    if kind != "proxy-answer":
        m["nat"] = nat
    if kind == "client-poll":
        m["method"] = method
    if kind == "proxy-poll":
        m["relay_pattern"] = relay
    if tag is not None:
        m["tag"] = tag
    return kind.encode(), msgpack.packb(m, use_bin_type=True)


T1, T2, T3, T4 = (bytes([i] * 8) for i in (0x11, 0x22, 0x33, 0x44))


def script_part1():
    """Events before the kill: proxies and the nine CA clients."""
    ev = [("proxy-poll", "idle", "CA", "standalone", "restricted", None, True, T1),
          ("proxy-poll", "matched", "CA", "badge", "restricted", None, True, T1),
          ("proxy-poll", "idle", "DE", "webext", "unknown", None, True, T2),
          ("proxy-poll", "cancelled", "FR", "unknown", "unrestricted", None, False, T3)]
    ev += [("client-poll", "denied", "CA", None, "unknown", "http", None, None)] * 9
    return ev


def script_part2(repeat):
    """Events after the restart. `repeat` re-polls T1, already seen in this interval."""
    ev = [("proxy-poll", "idle", "??", "standalone", "unknown", None, True, None),
          ("proxy-poll", "rejected", "CA", "iptproxy", "unrestricted", None, True, T4),
          ("client-poll", "denied", "DE", None, "unrestricted", "http", None, None),
          ("client-poll", "matched", "??", None, "restricted", "ampcache", None, None),
          ("client-poll", "timeout", "JP", None, "unrestricted", "sqs", None, None),
          ("proxy-answer", "success", "??", "standalone", None, None, None, None),
          ("proxy-answer", "client-gone", "??", "unknown", None, None, None, None)]
    if repeat:
        ev.append(("proxy-poll", "idle", "CA", "standalone", "restricted", None, True, T1))
    return ev


# The block of one interval holding script_part1() + script_part2(either), binned by hand.
EXPECTED_BODY = """snowflake-ips CA=1,DE=1,FR=1
snowflake-ips-iptproxy 0
snowflake-ips-standalone 1
snowflake-ips-webext 1
snowflake-ips-badge 1
snowflake-ips-total 3
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
client-ampcache-ips ??=8
client-sqs-count 8
client-sqs-ips JP=8
snowflake-ips-nat-restricted 1
snowflake-ips-nat-unrestricted 1
snowflake-ips-nat-unknown 1
"""

EMPTY_BODY = """snowflake-ips 
snowflake-ips-iptproxy 0
snowflake-ips-standalone 0
snowflake-ips-webext 0
snowflake-ips-badge 0
snowflake-ips-total 0
snowflake-idle-count 0
snowflake-proxy-poll-with-relay-url-count 0
snowflake-proxy-poll-without-relay-url-count 0
snowflake-proxy-rejected-for-relay-url-count 0
client-denied-count 0
client-restricted-denied-count 0
client-unrestricted-denied-count 0
client-snowflake-match-count 0
client-snowflake-timeout-count 0
client-http-count 0
client-http-ips 
client-ampcache-count 0
client-ampcache-ips 
client-sqs-count 0
client-sqs-ips 
snowflake-ips-nat-restricted 0
snowflake-ips-nat-unrestricted 0
snowflake-ips-nat-unknown 0
"""


def end_line(start):
    end = start + INTERVAL
    return "snowflake-stats-end %s (2 s)\n" % time.strftime("%Y-%m-%d %H:%M:%S",
                                                          time.gmtime(end))


def blocks(path):
    """The stats log split into blocks: {first line: whole block}."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return {}
    out, cur = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("snowflake-stats-end "):
            cur = line
            out[cur] = ""
        out[cur] += line
    return out


class Harness:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="md_it_")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.log = os.path.join(self.tmp, "stats.log")
        self.ev_ep = "ipc://%s/events.ipc" % self.tmp
        self.listen_ep = "ipc://%s/md.ipc" % self.tmp
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.http_port = s.getsockname()[1]
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.pub.setsockopt(zmq.SNDHWM, 100000)
        self.pub.bind(self.ev_ep)
        self.seq = 0
        self.procs = []
        self.md = None

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.pub.close(0)
        self.ctx.term()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_metricsd(self):
        cmd = [self.args.metricsd, "-events", self.ev_ep, "-listen", self.listen_ep,
               "-metrics-log", self.log, "-metrics-interval", "2s", "-state-dir", self.state,
               "-checkpoint-interval", "100ms", "-matcher", "ipc:///nonexistent",
               "-prometheus-addr", "127.0.0.1:%d" % self.http_port]
        self.md = subprocess.Popen(cmd)
        self.procs.append(self.md)
        self.await_subscribers(set(TOPICS))

    def await_subscribers(self, topics):
        """XPUB shows each SUBSCRIBE: wait for all topics so nothing is lost to a slow join."""
        seen = set()
        deadline = time.monotonic() + 10
        while not topics <= seen:
            if time.monotonic() > deadline:
                fail("subscriber did not subscribe to %s" % topics)
            if self.pub.poll(100):
                msg = self.pub.recv()
                if msg[:1] == b"\x01":
                    seen.add(msg[1:])

    def publish(self, script):
        for kind, outcome, cc, ptype, nat, method, relay, tag in script:
            self.seq += 1
            topic, body = event(self.seq, kind, outcome, cc, ptype, nat, method, relay, tag)
            self.pub.send_multipart([topic, body])

    def ckpt_seq(self):
        try:
            with open(os.path.join(self.state, "metricsd.state"), "rb") as f:
                data = f.read()
            return struct.unpack_from("<Q", data, CKPT_SEQ_OFFSET)[0]
        except (FileNotFoundError, struct.error):
            return 0

    def report_get(self, kind):
        d = self.ctx.socket(zmq.DEALER)
        d.connect(self.listen_ep)
        try:
            d.send(msgpack.packb([1, 6, 4242 + kind, kind]))
            if not d.poll(5000):
                fail("no REPORT_REPLY")
            rep = msgpack.unpackb(d.recv(), raw=False)
        finally:
            d.close(0)
        if rep[:3] != [1, 70, 4242 + kind]:
            fail("bad REPORT_REPLY header %r" % rep[:3])
        return rep[3], rep[4]

    def http_metrics(self):
        url = "http://127.0.0.1:%d/metrics" % self.http_port
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()


def interval_start(t):
    return t - t % INTERVAL


def at_fresh_interval(margin):
    """Sleep until the current interval has at least `margin` seconds left."""
    t = time.time()
    if INTERVAL - (t - interval_start(t)) < margin:
        # the interval boundary is the condition: metricsd's intervals follow the wall clock
        time.sleep(interval_start(t) + INTERVAL - t + 0.02)
    return interval_start(time.time())


def check_block(h, start, body):
    first = end_line(start)
    got = wait_for(lambda: blocks(h.log).get(first), 10, "block " + first.strip())
    want = first + body
    if got != want:
        for i, (a, b) in enumerate(zip(got.splitlines(), want.splitlines())):
            if a != b:
                fail("block line %d: got %r want %r" % (i + 1, a, b))
        fail("block differs:\n%s\nwant:\n%s" % (got, want))
    print("ok: block ending", first.strip()[20:])


def promtool(text, what):
    tool = shutil.which("promtool")
    if tool is None:  # scripts/install-deps.sh installs it (Debian package prometheus)
        fail("promtool missing (Debian package prometheus): cannot check %s" % what)
    r = subprocess.run([tool, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    if r.returncode != 0:
        fail("promtool on %s: %s %s" % (what, r.stdout.decode(), r.stderr.decode()))
    print("ok: promtool check metrics (%s)" % what)


def test_restart(h):
    h.start_metricsd()
    # Interval A: the whole script, no restart.
    a = at_fresh_interval(1.5)
    h.publish(script_part1() + script_part2(True))
    check_block(h, a, EXPECTED_BODY)

    # Interval B: part 1, wait for its checkpoint, SIGKILL, restart, part 2.
    b = at_fresh_interval(1.5)
    h.publish(script_part1())
    want_seq = h.seq
    wait_for(lambda: h.ckpt_seq() == want_seq, 5, "checkpoint of seq %d" % want_seq)
    h.md.send_signal(signal.SIGKILL)
    h.md.wait()
    h.start_metricsd()
    h.publish(script_part2(True))
    if interval_start(time.time()) != b:
        fail("restart took longer than the interval; cannot check the resumed interval")
    check_block(h, b, EXPECTED_BODY)
    # Every interval between A and B (if the harness had to wait) is empty.
    for s in range(int(a + INTERVAL), int(b), int(INTERVAL)):
        check_block(h, s, EMPTY_BODY)

    metrics = h.http_metrics()
    if "\nsnowflake_metricsd_missed_events_total 0\n" not in metrics:
        fail("events missed across the restart:\n" + metrics)
    if "\nsnowflake_metricsd_late_events_total 0\n" not in metrics:
        fail("late events:\n" + metrics)
    promtool(metrics, "GET /metrics")
    return a, b


def test_reports(h):
    # A block may be written between the file read and the request (one every 2 s): compare
    # a REPORT_GET bracketed by two equal reads of the file.
    for _ in range(5):
        before = open(h.log).read()
        found, text = h.report_get(0)
        if open(h.log).read() == before:
            break
    if not found or text != before:
        fail("REPORT_GET stats log differs from the file")
    print("ok: REPORT_GET stats log (%d bytes)" % len(text))
    # Prometheus counters count since this process started (after the restart): T1 was
    # restored in the unique set, so no snowflake_proxy_total series exists yet.
    found, text = h.report_get(1)
    if not found or "snowflake_proxy_total" in text:
        fail("REPORT_GET prometheus not found")
    for want in ('snowflake_rounded_client_poll_total{cc="??",nat="restricted",'
                 'rendezvous_method="ampcache",status="matched"} 8\n',
                 'snowflake_rounded_proxy_answer_total{status="timeout",type=""} 8\n',
                 'snowflake_rounded_proxy_poll_total{nat="restricted",status="idle",'
                 'type="standalone"} 8\n'):
        if want not in text:
            fail("prometheus text lacks %r:\n%s" % (want, text))
    names = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")]
    if names != sorted(names) or "snowflake_metricsd" in text:
        fail("prometheus families unsorted or leaking health figures: %r" % names)
    promtool(text, "REPORT_GET prometheus")


def test_events_cli(h):
    """snowflake-events prints exactly the chosen topics as JSON lines and stops on SIGTERM."""
    cli = subprocess.Popen([h.args.events_bin, "-events", h.ev_ep, "-topic", "client-poll",
                            "--topic=proxy-answer"], stdout=subprocess.PIPE)
    h.procs.append(cli)
    h.await_subscribers({b"client-poll", b"proxy-answer"})
    h.publish([("proxy-poll", "idle", "CA", "standalone", "restricted", None, True, T1),
               ("client-poll", "denied", "CA", None, "unknown", "http", None, None)])
    line = cli.stdout.readline()
    got = json.loads(line)
    if list(got) != ["v", "seq", "ts", "kind", "outcome", "cc", "nat", "method"] or \
            got["kind"] != "client-poll" or got["seq"] != h.seq:
        fail("snowflake-events printed %r" % line)
    cli.send_signal(signal.SIGTERM)
    if cli.wait(timeout=5) != 0:
        fail("snowflake-events exit status %d" % cli.returncode)

    cli = subprocess.Popen([h.args.events_bin, "-events", h.ev_ep], stdout=subprocess.PIPE)
    h.procs.append(cli)
    h.await_subscribers({b""})
    h.publish([("proxy-poll", "matched", "DE", "webext", "unrestricted", None, False,
                bytes.fromhex("00ff10abcdef0102"))])
    got = json.loads(cli.stdout.readline())
    want = {"v": 1, "seq": h.seq, "kind": "proxy-poll", "outcome": "matched", "cc": "DE",
            "type": "webext", "nat": "unrestricted", "relay_pattern": False,
            "tag": "00ff10abcdef0102"}
    if {k: got[k] for k in want} != want:
        fail("snowflake-events printed %r" % got)
    cli.send_signal(signal.SIGINT)
    if cli.wait(timeout=5) != 0:
        fail("snowflake-events exit status %d" % cli.returncode)
    print("ok: snowflake-events")


def test_sigterm(h):
    before = h.ckpt_seq()
    h.md.send_signal(signal.SIGTERM)
    if h.md.wait(timeout=10) != 0:
        fail("metricsd exit status %d after SIGTERM" % h.md.returncode)
    if h.ckpt_seq() != h.seq or before > h.seq:
        fail("final checkpoint has seq %d, want %d" % (h.ckpt_seq(), h.seq))
    print("ok: SIGTERM, final checkpoint at seq", h.seq)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metricsd", required=True)
    ap.add_argument("--events-bin", required=True)
    args = ap.parse_args()
    h = Harness(args)
    try:
        test_restart(h)
        test_reports(h)
        test_events_cli(h)
        test_sigterm(h)
    finally:
        h.close()
    print("PASS")


if __name__ == "__main__":
    main()
