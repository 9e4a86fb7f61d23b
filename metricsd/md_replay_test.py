#!/usr/bin/python3
"""md_replay_test.py - metricsd loses nothing it can recover: the REAL snowflake-matcher and
snowflake-metricsd on ipc:// endpoints in a temp dir, 4 s stats intervals on both, short holds.
A Python DEALER plays the frontends (proto/sfb_msg.h frames) and runs the same workload
(proxy polls from several addresses, one address as two proxy types, every NAT kind, a
rejected poll, denied clients, matched clients with answers, a client timeout and a late
answer) in four intervals:

  A  uninterrupted: the reference block;
  B  metricsd is killed with SIGKILL while proxies are held and restarted after more traffic
     (within the ring): the block equals A's, and metricsd counted every event exactly once;
  C  the matcher is killed with SIGKILL mid-interval and restarted with the same --state-dir:
     the block equals A's (unique-address counts exact: tags persisted, no event twice);
  D  a matcher with --event-ring 16 and a metricsd outage of 40 events: exactly 24 counted
     missed (Prometheus health text), nothing crashes.

Blocks are compared on every line but snowflake-stats-end. Every wait is bounded and awaits
a condition; every process started is stopped.
Usage: md_replay_test.py --matcher PATH --metricsd PATH
"""
import argparse
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

INTERVAL = 4.0
HOLD = "500ms"
PATTERN = "snowflake.torproject.net$"
DEFAULT_FP = bytes.fromhex("2B280B23E1107BB62ABFC40DDCC8824814F80A72")
PROXY_POLL, CLIENT_OFFER, PROXY_ANSWER, DEBUG, REPLAY_GET = 1, 2, 3, 5, 7
PROXY_REPLY, CLIENT_REPLY, ANSWER_REPLY, DEBUG_REPLY, REPLAY_REPLY = 65, 66, 67, 69, 71
NO_MATCH, MATCH, BAD_RELAY = 0, 1, 2
ANSWER, NO_PROXIES, TIMEOUT = 0, 1, 2
SUCCESS, CLIENT_GONE = 0, 1
NAT_UNKNOWN, NAT_RESTRICTED, NAT_UNRESTRICTED = 0, 1, 2
STANDALONE, WEBEXT, BADGE, IPTPROXY = 1, 2, 3, 4
HTTP, AMPCACHE = 0, 1
CKPT_SEQ_OFFSET, CKPT_EPOCH_OFFSET = 32, 48  # md_agg.h
NET = "198.51.100."


class Dealer:
    """One DEALER as a frontend uses it; replies are kept by req_id (they interleave)."""
    next_req = 1

    def __init__(self, ctx, endpoint):
        self.s = ctx.socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.connect(endpoint)
        self.replies = {}

    def close(self):
        self.s.close(0)

    def send(self, mtype, *fields):
        Dealer.next_req += 1
        self.s.send(msgpack.packb([1, mtype, Dealer.next_req] + list(fields), use_bin_type=True))
        return Dealer.next_req

    def wait(self, req, mtype, timeout=3.0):
        deadline = time.monotonic() + timeout
        while req not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0 or not self.s.poll(int(left * 1000) + 1):
                fail("no reply type %d to request %d" % (mtype, req))
            m = msgpack.unpackb(self.s.recv(), raw=False)
            self.replies[m[2]] = m
        m = self.replies.pop(req)
        if m[0] != 1 or m[1] != mtype:
            fail("reply to %d: want type %d, got %r" % (req, mtype, m[:4]))
        return m

    def poll(self, sid, ptype, nat, addr, cc, pattern=PATTERN):
        return self.send(PROXY_POLL, sid, ptype, nat, 0, pattern, NET + addr, cc)

    def offer(self, offer, nat, method, cc):
        return self.send(CLIENT_OFFER, offer, nat, DEFAULT_FP, method, False, NET + "200", cc)

    def barrier(self):
        """A DEBUG round trip: everything sent before has been handled."""
        self.wait(self.send(DEBUG), DEBUG_REPLY, timeout=10)

    def position(self):
        """(epoch, newest seq) of the matcher, from two REPLAY_GET probes (max 0)."""
        epoch = self.wait(self.send(REPLAY_GET, 0, 0, 0), REPLAY_REPLY)[3]
        m = self.wait(self.send(REPLAY_GET, epoch, 2**64 - 1, 0), REPLAY_REPLY)
        if m[3] != epoch or m[5] != 0:
            fail("probe reply %r" % m[:6])
        return epoch, m[4] - 1


class Harness:
    def __init__(self, args):
        self.args = args
        self.not_before = 0.0  # fresh_interval() picks no interval starting earlier
        self.tmp = tempfile.mkdtemp(prefix="md_replay_")
        self.mstate = os.path.join(self.tmp, "mstate")
        self.mdstate = os.path.join(self.tmp, "mdstate")
        os.mkdir(self.mstate)
        os.mkdir(self.mdstate)
        self.log = os.path.join(self.tmp, "stats.log")
        self.router = "ipc://%s/router.ipc" % self.tmp
        self.pub = "ipc://%s/events.ipc" % self.tmp
        self.listen = "ipc://%s/md.ipc" % self.tmp
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.http_port = s.getsockname()[1]
        self.ctx = zmq.Context()
        self.matcher = self.md = None
        self.fe = None
        self.procs = []
        self.md_err = open(os.path.join(self.tmp, "metricsd.err"), "w+")
        self.m_err = open(os.path.join(self.tmp, "matcher.err"), "w+")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.fe:
            self.fe.close()
        self.ctx.term()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_matcher(self, ring=None):
        cmd = [self.args.matcher, "--router", self.router, "--pub", self.pub,
               "--proxy-timeout", HOLD, "--client-timeout", HOLD, "--metrics-interval", "4s",
               "--allowed-relay-pattern", PATTERN, "--state-dir", self.mstate]
        if ring is not None:
            cmd += ["--event-ring", str(ring)]
        self.matcher = subprocess.Popen(cmd, stderr=self.m_err)
        self.procs.append(self.matcher)
        if self.fe:
            self.fe.close()
        self.fe = Dealer(self.ctx, self.router)  # a fresh pipe: nothing stale queued
        self.fe.barrier()

    def kill_matcher(self, sig=signal.SIGKILL):
        self.matcher.send_signal(sig)
        self.matcher.wait(10)

    def start_metricsd(self):
        cmd = [self.args.metricsd, "--events", self.pub, "--listen", self.listen,
               "--matcher", self.router, "--metrics-log", self.log, "--metrics-interval", "4s",
               "--state-dir", self.mdstate, "--checkpoint-interval", "100ms",
               "--prometheus-addr", "127.0.0.1:%d" % self.http_port]
        self.md = subprocess.Popen(cmd, stderr=self.md_err)
        self.procs.append(self.md)
        wait_for(self.health_or_none, 10, "metricsd's /metrics")

    def kill_metricsd(self):
        self.md.send_signal(signal.SIGKILL)
        self.md.wait(10)

    def health_or_none(self):
        try:
            url = "http://127.0.0.1:%d/metrics" % self.http_port
            with urllib.request.urlopen(url, timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        out = {}
        for line in text.splitlines():
            if line.startswith("snowflake_metricsd_"):
                name, value = line.split()
                out[name[len("snowflake_metricsd_"):]] = float(value)
        return out

    def health(self):
        h = self.health_or_none()
        if h is None:
            fail("metricsd's /metrics is not answering")
        return h

    def ckpt(self):
        """(epoch, seq) of metricsd's checkpoint, or None."""
        try:
            with open(os.path.join(self.mdstate, "metricsd.state"), "rb") as f:
                data = f.read()
            return (struct.unpack_from("<Q", data, CKPT_EPOCH_OFFSET)[0],
                    struct.unpack_from("<Q", data, CKPT_SEQ_OFFSET)[0])
        except (FileNotFoundError, struct.error):
            return None

    def caught_up(self):
        """Wait until metricsd has counted everything the matcher published; return its
        health figures, scraped after that.

        A scrape is not a snapshot: each figure is read on its own while events are being
        counted, and events_total is rendered before last_sequence, so the scrape that first
        shows the newest seq may lack that event's count. The next one cannot."""
        _, newest = self.fe.position()

        def done():
            h = self.health()
            return h["last_sequence"] == newest and h["catching_up"] == 0
        wait_for(done, 10, "metricsd at seq %d" % newest)
        return self.health()

    def block(self, start):
        end = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + INTERVAL))
        first = "snowflake-stats-end %s (4 s)\n" % end

        def find():
            try:
                text = open(self.log).read()
            except FileNotFoundError:
                return None
            at = text.find(first)
            if at < 0:
                return None
            nxt = text.find("snowflake-stats-end", at + 1)
            return text[at:nxt if nxt >= 0 else len(text)]
        return wait_for(find, 15, "the block ending " + end)


def fresh_interval(h):
    """Return the start of an interval with at least 2.8 s left that began at or after
    h.not_before, sleeping into the next one if needed (the workload takes about 1.5 s)."""
    t = time.time()
    start = t - t % INTERVAL
    if t - start > INTERVAL - 2.8 or start < h.not_before:
        # the interval boundary is the condition: metricsd's intervals follow the wall clock
        time.sleep(start + INTERVAL - t + 0.05)
        start += INTERVAL
    return start


class Crossed(Exception):
    """The workload ran past the end of its interval: its block cannot be compared."""


def ended_in(start):
    """Raise Crossed unless the workload just run fits the interval starting at `start`
    (events carry the matcher's wall-clock time, which cannot be ahead of this one)."""
    now = time.time()
    if now >= start + INTERVAL:
        raise Crossed("the workload crossed the interval end %s" %
                      time.strftime("%H:%M:%S", time.gmtime(start + INTERVAL)), now)


def in_one_interval(run, h, *args):
    """Run `run`; if its workload crossed an interval end (a stalled machine), once more in
    an interval free of its events. A second crossing fails the test."""
    try:
        return run(h, *args)
    except Crossed as e:
        print("note: %s; once more in a later interval" % e.args[0], flush=True)
        h.not_before = e.args[1]
        return run(h, *args)


def workload(h, after_polls=None, after_denied=None):
    """The interval's traffic; the hooks run while proxies are held / between phases."""
    fe = h.fe
    polls = [("p1", STANDALONE, NAT_RESTRICTED, "7", "CA"),
             ("p2", WEBEXT, NAT_UNRESTRICTED, "8", "DE"),
             ("p3", BADGE, NAT_RESTRICTED, "7", "CA"),  # one address, two proxy types
             ("p4", STANDALONE, NAT_UNKNOWN, "9", "FR")]
    held = [fe.poll(*p) for p in polls]
    rej = fe.poll("p5", STANDALONE, NAT_UNRESTRICTED, "10", "CA", pattern=None)
    if fe.wait(rej, PROXY_REPLY)[3] != BAD_RELAY:
        fail("poll without a relay pattern not refused")
    if after_polls:
        after_polls()
    for req in held:
        if fe.wait(req, PROXY_REPLY)[3] != NO_MATCH:
            fail("held proxy matched")
    for nat, method, cc in [(NAT_UNKNOWN, HTTP, "CA")] * 3 + [(NAT_RESTRICTED, AMPCACHE, "DE"),
                                                              (NAT_UNRESTRICTED, HTTP, "JP")]:
        if fe.wait(fe.offer("denied", nat, method, cc), CLIENT_REPLY)[3] != NO_PROXIES:
            fail("client not denied")
    if after_denied:
        after_denied()
        fe = h.fe
    for sid, ptype, addr, cc in (("m1", WEBEXT, "8", "DE"), ("m2", STANDALONE, "11", "CA")):
        preq = fe.poll(sid, ptype, NAT_UNRESTRICTED, addr, cc)
        fe.barrier()
        creq = fe.offer("offer " + sid, NAT_UNKNOWN, HTTP, "CA")
        if fe.wait(preq, PROXY_REPLY)[3] != MATCH:
            fail("proxy %s not matched" % sid)
        if fe.wait(fe.send(PROXY_ANSWER, sid, "answer " + sid), ANSWER_REPLY)[3] != SUCCESS:
            fail("answer of %s not delivered" % sid)
        if fe.wait(creq, CLIENT_REPLY)[3] != ANSWER:
            fail("client of %s got no answer" % sid)
    preq = fe.poll("m3", IPTPROXY, NAT_UNRESTRICTED, "12", "CA")
    fe.barrier()
    creq = fe.offer("offer m3", NAT_UNRESTRICTED, AMPCACHE, "DE")
    if fe.wait(preq, PROXY_REPLY)[3] != MATCH:
        fail("proxy m3 not matched")
    if fe.wait(creq, CLIENT_REPLY)[3] != TIMEOUT:
        fail("client of m3 did not time out")
    if fe.wait(fe.send(PROXY_ANSWER, "m3", "late"), ANSWER_REPLY)[3] != CLIENT_GONE:
        fail("late answer not CLIENT_GONE")


# Unique addresses: .7 (standalone+badge, restricted, CA), .8 (webext, unrestricted, DE,
# twice), .9 (standalone, unknown NAT, FR), .11 (standalone, unrestricted, CA), .12
# (iptproxy, unrestricted, CA); .10 was rejected and does not count.
UNIQUE_LINES = ["snowflake-ips CA=3,DE=1,FR=1", "snowflake-ips-iptproxy 1",
                "snowflake-ips-standalone 3", "snowflake-ips-webext 1", "snowflake-ips-badge 1",
                "snowflake-ips-total 5", "snowflake-ips-nat-restricted 1",
                "snowflake-ips-nat-unrestricted 3", "snowflake-ips-nat-unknown 1"]
EVENTS_PER_WORKLOAD = 5 + 5 + 2 * 3 + 3  # polls, denied clients, matches, timeout + late


def body(block):
    return block.split("\n", 1)[1]


def compare(name, got, want):
    if body(got) != body(want):
        fail("block %s differs from A:\n%s\nA:\n%s" % (name, got, want))
    print("ok: block %s equals A" % name, flush=True)


def sync(h):
    """Wait out the slow joiner: metricsd has seen the matcher's stream."""
    def seen():
        req = h.fe.poll("sync", STANDALONE, NAT_UNKNOWN, "1", "CA", pattern=None)
        h.fe.wait(req, PROXY_REPLY)
        _, newest = h.fe.position()
        try:
            return wait_for(lambda: h.health()["last_sequence"] == newest, 0.3, "")
        except AssertionError:
            return False
    wait_for(seen, 10, "metricsd to receive events")


def run_a(h):
    start = fresh_interval(h)
    before = h.caught_up()
    workload(h)
    ended_in(start)
    after = h.caught_up()
    if after["events_total"] - before["events_total"] != EVENTS_PER_WORKLOAD:
        fail("run A counted %d events" % (after["events_total"] - before["events_total"]))
    a = h.block(start)
    for line in UNIQUE_LINES:
        if "\n%s\n" % line not in a:
            fail("block A lacks %r:\n%s" % (line, a))
    print("ok: run A block (%d events)" % EVENTS_PER_WORKLOAD, flush=True)
    return a


def run_b(h, a):
    start = fresh_interval(h)
    at_kill = {}

    def kill():
        h.kill_metricsd()
        at_kill["ckpt"] = h.ckpt()

    workload(h, after_polls=kill, after_denied=h.start_metricsd)
    ended_in(start)
    epoch, newest = h.fe.position()
    after = h.caught_up()
    ck_epoch, ck_seq = at_kill["ckpt"]
    if ck_epoch != epoch:
        fail("checkpoint epoch %x, matcher %x" % (ck_epoch, epoch))
    # the new process counted every event after its checkpoint exactly once
    if after["events_total"] != newest - ck_seq or after["missed_events_total"] != 0:
        fail("after the restart: %d events counted, %d missed; want %d, 0 (health %r)" %
             (after["events_total"], after["missed_events_total"], newest - ck_seq, after))
    if after["replayed_events_total"] < 10 or after["late_events_total"] != 0:
        fail("replayed %d, late %d" % (after["replayed_events_total"],
                                       after["late_events_total"]))
    compare("B (metricsd kill -9)", h.block(start), a)
    print("ok: run B: %d events after the checkpoint, %d replayed, %d duplicates" %
          (newest - ck_seq, after["replayed_events_total"], after["duplicate_events_total"]),
          flush=True)


def run_c(h, a):
    start = fresh_interval(h)
    before = h.caught_up()
    seen = {}

    def restart_matcher():
        seen["e1"] = h.fe.position()
        h.caught_up()  # a killed PUB loses what it had queued: let it be delivered first
        h.kill_matcher()
        h.start_matcher()

    workload(h, after_denied=restart_matcher)
    ended_in(start)
    e2, newest2 = h.fe.position()
    after = h.caught_up()
    if e2 == seen["e1"][0]:
        fail("the restarted matcher kept its epoch")
    want = EVENTS_PER_WORKLOAD
    if after["events_total"] - before["events_total"] != want or \
            after["missed_events_total"] != 0 or \
            after["publisher_restarts_total"] - before["publisher_restarts_total"] != 1:
        fail("across the matcher restart: %r" % after)
    compare("C (matcher kill -9)", h.block(start), a)
    print("ok: run C: %d events of the new epoch, unique counts exact" % newest2, flush=True)


def run_d(h):
    h.kill_matcher(signal.SIGTERM)
    h.start_matcher(ring=16)
    sync(h)
    epoch, newest = h.fe.position()
    wait_for(lambda: h.ckpt() == (epoch, newest), 5, "checkpoint at (%x, %d)" % (epoch, newest))
    h.kill_metricsd()
    for i in range(40):
        h.fe.wait(h.fe.offer("while down", NAT_UNKNOWN, HTTP, "CA"), CLIENT_REPLY)
    h.start_metricsd()
    after = h.caught_up()
    if after["missed_events_total"] != 40 - 16 or after["replayed_events_total"] != 16:
        fail("outage beyond the ring: missed %d, replayed %d; want 24, 16" %
             (after["missed_events_total"], after["replayed_events_total"]))
    h.md_err.seek(0)
    if "lost 24 events" not in h.md_err.read():
        fail("no warning about the lost events")
    if h.md.poll() is not None or h.matcher.poll() is not None:
        fail("a process died")
    print("ok: run D: 24 events older than the ring counted missed, 16 replayed", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--matcher", required=True)
    ap.add_argument("--metricsd", required=True)
    args = ap.parse_args()
    h = Harness(args)
    t0 = time.monotonic()
    ok = False
    try:
        h.start_matcher()
        h.start_metricsd()
        sync(h)
        a = in_one_interval(run_a, h)
        in_one_interval(run_b, h, a)
        in_one_interval(run_c, h, a)
        run_d(h)
        h.md.send_signal(signal.SIGTERM)
        if h.md.wait(10) != 0:
            fail("metricsd exit status %d" % h.md.returncode)
        h.kill_matcher(signal.SIGTERM)
        if h.matcher.returncode != 0:
            fail("matcher exit status %d" % h.matcher.returncode)
        for f in (h.md_err, h.m_err):
            f.seek(0)
            if NET in f.read():
                fail("an address reached a log")
        ok = True
    finally:
        if not ok:
            for name, f in (("metricsd", h.md_err), ("matcher", h.m_err)):
                f.seek(0)
                sys.stdout.write("---- %s stderr (tail)\n%s\n" % (name, f.read()[-6000:]))
            try:
                sys.stdout.write("---- stats log\n%s\n" % open(h.log).read()[-3000:])
            except FileNotFoundError:
                pass
        h.close()
    print("PASS in %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
