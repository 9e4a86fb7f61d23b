#!/usr/bin/python3
"""ZeroMQ-level smoke test of snowflake-matcher: start the built binary on ipc:// endpoints in
a temp dir with 1 s holds, speak the msgpack protocol of proto/sfb_msg.h over DEALER sockets,
subscribe to the PUB stream, and check matching, holds, cancel, relay rejection, /debug text,
SIGHUP reload, SIGTERM shutdown, the events, REPLAY_GET over a DEALER (replayed bodies
byte-identical to the published ones), and IP tags (equal for one address, different across
addresses, unchanged after a kill -9 restart with the same --state-dir). Bounded in time;
kills what it starts.
Usage: mt_zmq_test.py PATH/TO/snowflake-matcher"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

V = 1
PROXY_POLL, CLIENT_OFFER, PROXY_ANSWER, CANCEL, DEBUG, REPLAY_GET = 1, 2, 3, 4, 5, 7
PROXY_REPLY, CLIENT_REPLY, ANSWER_REPLY, DEBUG_REPLY, REPLAY_REPLY = 65, 66, 67, 69, 71
NO_MATCH, MATCH, BAD_RELAY = 0, 1, 2
ANSWER, NO_PROXIES, TIMEOUT, UNKNOWN_BRIDGE = 0, 1, 2, 3
SUCCESS, CLIENT_GONE = 0, 1
NAT_UNKNOWN, NAT_RESTRICTED, NAT_UNRESTRICTED = 0, 1, 2
STANDALONE = 1
HTTP, AMPCACHE = 0, 1
DEFAULT_FP = bytes.fromhex("2B280B23E1107BB62ABFC40DDCC8824814F80A72")
SECOND_FP = bytes.fromhex("8838024498816A039FCBBAB14E6F40A0843051FA")
THIRD_FP = bytes.fromhex("00112233445566778899AABBCCDDEEFF00112233")
PATTERN = "snowflake.torproject.net$"
EVENT_KEYS = {"v", "epoch", "seq", "ts", "kind", "outcome", "cc", "type", "nat", "method",
              "relay_pattern", "tag"}
EMPTY_DEBUG = ("current snowflakes available: 0\n\tunknown proxies: 0\nNAT Types available:"
               "\n\trestricted: 0\n\tunrestricted: 0\n\tunknown: 0")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def bridge_line(name, url, fp):
    return ('{"displayName":"%s", "webSocketAddress":"%s", "fingerprint":"%s"}\n'
            % (name, url, fp.hex().upper()))


class Frontend:
    """One DEALER, as a frontend uses it: one frame per message."""
    next_req = 1000

    def __init__(self, ctx, endpoint):
        self.s = ctx.socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.connect(endpoint)

    def send(self, mtype, *fields, req=None):
        if req is None:
            Frontend.next_req += 1
            req = Frontend.next_req
        self.s.send(msgpack.packb([V, mtype, req] + list(fields), use_bin_type=True))
        return req

    def poll(self, sid, nat=NAT_UNRESTRICTED, pattern=PATTERN, clients=0, cc="DE",
             addr="192.0.2.7"):
        return self.send(PROXY_POLL, sid, STANDALONE, nat, clients, pattern, addr, cc)

    def offer(self, offer, nat=NAT_UNKNOWN, fp=DEFAULT_FP, method=HTTP, cc="CA"):
        return self.send(CLIENT_OFFER, offer, nat, fp, method, False, "198.51.100.9", cc)

    def answer(self, sid, answer):
        return self.send(PROXY_ANSWER, sid, answer)

    def recv(self, timeout=2.0):
        if not self.s.poll(int(timeout * 1000)):
            return None
        frames = self.s.recv_multipart()
        assert len(frames) == 1, frames
        return msgpack.unpackb(frames[0], raw=False)

    def expect(self, mtype, req, timeout=2.0):
        m = self.recv(timeout)
        check(m is not None and m[0] == V and m[1] == mtype and m[2] == req,
              "reply type %d req %d, got %r" % (mtype, req, m))
        return m or [None] * 8

    def silent(self, timeout=0.3):
        m = self.recv(timeout)
        check(m is None, "no reply expected, got %r" % (m,))


class Events:
    def __init__(self, ctx, endpoint):
        self.s = ctx.socket(zmq.SUB)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.SUBSCRIBE, b"")
        self.s.connect(endpoint)
        self.last_seq = None
        self.epoch = None
        self.bodies = {}  # seq -> body exactly as published

    def recv(self, timeout=2.0):
        if not self.s.poll(int(timeout * 1000)):
            return None
        topic, body = self.s.recv_multipart()
        ev = msgpack.unpackb(body, raw=False)
        check(self.epoch is None or ev["epoch"] == self.epoch, "one epoch per matcher run")
        check(b"192.0.2." not in body and b"203.0.113." not in body and b"198.51.100." not in body,
              "no address in an event")
        if "tag" in ev:
            check(isinstance(ev["tag"], bytes) and len(ev["tag"]) == 8, "tag is 8 bytes")
            check(ev["kind"] == "proxy-poll" and ev["outcome"] != "rejected",
                  "only counted proxy polls are tagged: %r" % ev)
        self.epoch = ev["epoch"]
        self.bodies[ev["seq"]] = body
        check(topic.decode() == ev["kind"], "topic %r matches kind %r" % (topic, ev["kind"]))
        check(set(ev) <= EVENT_KEYS, "event keys %r" % sorted(ev))
        check(ev["v"] == 1, "schema 1")
        check(abs(ev["ts"] / 1000.0 - time.time()) < 10, "ts is wall-clock ms")
        if self.last_seq is not None:
            check(ev["seq"] == self.last_seq + 1, "seq %d follows %d" % (ev["seq"], self.last_seq))
        self.last_seq = ev["seq"]
        return ev

    def expect(self, kind, outcome, **fields):
        ev = self.recv()
        check(ev is not None and ev["kind"] == kind and ev["outcome"] == outcome,
              "event %s/%s, got %r" % (kind, outcome, ev))
        for k, v in fields.items():
            check(ev is not None and ev.get(k) == v, "event %s=%r in %r" % (k, v, ev))
        return ev

    def none(self, timeout=0.3):
        ev = self.recv(timeout)
        check(ev is None, "no event expected, got %r" % (ev,))


def sync(fe, ev):
    """Wait out the PUB slow-joiner: send rejected polls until their event arrives."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        req = fe.poll("sync", pattern=None)
        fe.expect(PROXY_REPLY, req)
        e = ev.recv(0.2)
        if e is not None:
            check(e["kind"] == "proxy-poll" and e["outcome"] == "rejected", "sync event")
            check(e["relay_pattern"] is False, "rejected without pattern")
            while ev.recv(0.2) is not None:
                pass
            return
    raise AssertionError("no events from the matcher")


def barrier(fe):
    """A DEBUG round trip: everything fe sent before has been handled (one pipe, one thread)."""
    debug_text(fe)


def wait_log(log, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        if text in log.read():
            return True
        time.sleep(0.02)
    check(False, "log line %r" % text)
    return False


def debug_text(fe):
    req = fe.send(DEBUG)
    return fe.expect(DEBUG_REPLY, req)[3]


def scenario(binary, tmp, ctx):
    router = "ipc://%s/router.ipc" % tmp
    pub = "ipc://%s/events.ipc" % tmp
    blist = os.path.join(tmp, "bridges.jsonl")
    with open(blist, "w") as f:
        f.write(bridge_line("default", "wss://snowflake.torproject.net/", DEFAULT_FP))
        f.write(bridge_line("second", "wss://02.snowflake.torproject.net", SECOND_FP))
    args = [binary, "--router", router, "--pub", pub, "--proxy-timeout", "1s",
            "--client-timeout", "1s", "--allowed-relay-pattern", PATTERN,
            "--bridge-list-path", blist, "--state-dir", tmp]
    log = open(os.path.join(tmp, "matcher.log"), "w+")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(router[6:]) and time.monotonic() < deadline:
            check(proc.poll() is None, "matcher running")
            time.sleep(0.02)  # poll interval of this bounded wait for the bind
        check(os.path.exists(router[6:]), "matcher bound its ROUTER within 10 s")
        ev = Events(ctx, pub)
        fe, fe2 = Frontend(ctx, router), Frontend(ctx, router)
        sync(fe, ev)
        run_checks(fe, fe2, ev, blist, proc, log)
        tag = tag_checks(fe, ev)
        replay_checks(Frontend(ctx, router), ev)
        # SIGTERM: the held proxy gets NO_MATCH, the waiting client TIMEOUT, exit 0
        preq = fe.poll("held-at-exit", nat=NAT_RESTRICTED)
        mreq = fe.poll("matched-at-exit")
        barrier(fe)
        creq = fe2.offer("exit offer", fp=THIRD_FP)  # the list holds only THIRD_FP by now
        m = fe.recv()
        check(m is not None and m[2] == mreq and m[3] == MATCH, "matched before exit")
        proc.send_signal(signal.SIGTERM)
        replies = {}
        for _ in range(2):
            for s in (fe, fe2):
                m = s.recv(1.0)
                if m is not None:
                    replies[m[2]] = m
        check(preq in replies and replies[preq][3] == NO_MATCH, "held proxy NO_MATCH at exit")
        check(creq in replies and replies[creq][3] == TIMEOUT, "waiting client TIMEOUT at exit")
        check(proc.wait(5) == 0, "exit code 0 after SIGTERM")
        key = os.path.join(tmp, "tag-key")
        check(os.path.exists(key) and os.stat(key).st_mode & 0o777 == 0o600, "tag-key mode 0600")
        day = time.time() // 86400
        t1 = restart_tag(binary, tmp, ctx, signal.SIGKILL)
        t2 = restart_tag(binary, tmp, ctx, signal.SIGTERM)
        if time.time() // 86400 == day:  # same stats interval (24h default) as the first run
            check(t1 == tag and t2 == tag, "tags survive restarts, kill -9 included")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.seek(0)
        text = log.read()
        check("192.0.2.7" not in text and "198.51.100.9" not in text, "no address in logs")
        if failures:
            print("matcher log:\n" + text)


def split_bodies(blob):
    """Cut a REPLAY_REPLY blob into its event bodies (raw bytes) and decoded maps."""
    u = msgpack.Unpacker(raw=False)
    u.feed(blob)
    out, at = [], 0
    for obj in u:
        out.append((blob[at:u.tell()], obj))
        at = u.tell()
    check(at == len(blob), "blob is whole event bodies")
    return out


def replay(md, epoch, from_seq, mx):
    req = md.send(REPLAY_GET, epoch, from_seq, mx)
    m = md.expect(REPLAY_REPLY, req)
    check(len(m) == 7 and isinstance(m[6], bytes), "REPLAY_REPLY shape %r" % (m[:6],))
    return m[3], m[4], m[5], split_bodies(m[6] or b"")


def replay_checks(md, ev):
    """metricsd's view: REPLAY_GET over its own DEALER to the same ROUTER."""
    seqs = sorted(ev.bodies)
    lo, hi = seqs[0], seqs[-1]
    check(seqs == list(range(lo, hi + 1)), "SUB saw consecutive seqs")
    # everything the SUB saw comes back byte for byte
    epoch, first, count, got = replay(md, ev.epoch, lo, 100000)
    check(epoch == ev.epoch and first == lo and count == len(got) and count >= hi - lo + 1,
          "replay from %d: epoch/first/count %r" % (lo, (epoch, first, count)))
    for i, (raw, obj) in enumerate(got):
        check(obj["seq"] == lo + i, "replayed seq %d" % obj["seq"])
        if obj["seq"] in ev.bodies:
            check(raw == ev.bodies[obj["seq"]], "replayed body %d identical" % obj["seq"])
    # the events before the SUB joined (slow joiner) are there too, from seq 1; max is obeyed
    epoch, first, count, got = replay(md, ev.epoch, 0, 3)
    check(first == 1 and count == 3 and [o["seq"] for _, o in got] == [1, 2, 3],
          "replay from 0 starts at 1, max 3: %r" % ((first, count),))
    check(all(o["epoch"] == ev.epoch for _, o in got), "replayed epoch")
    # up to date, and a probe with max 0
    _, first, count, _ = replay(md, ev.epoch, hi + 1, 10)
    check((first, count) == (hi + 1, 0), "replay after the newest: nothing, first = newest + 1")
    _, first, count, got = replay(md, ev.epoch, 2, 0)
    check((first, count, got) == (2, 0, []), "max 0 is a probe")
    # a subscriber of another incarnation is told where this one starts
    epoch, first, count, got = replay(md, ev.epoch ^ 1, 5, 10)
    check((epoch, first, count, got) == (ev.epoch, 1, 0, []), "other epoch: resync from 1")


def cancelled_tag(fe, ev, sid, addr):
    """Poll from `addr`, cancel it, and return the tag of its proxy-poll event (or None)."""
    req = fe.poll(sid, addr=addr)
    barrier(fe)
    fe.send(CANCEL, req=req)
    e = ev.expect("proxy-poll", "cancelled")
    return e.get("tag") if e else None


def tag_checks(fe, ev):
    a = cancelled_tag(fe, ev, "t1", "203.0.113.1")
    check(a is not None, "a cancelled poll carries a tag")
    check(cancelled_tag(fe, ev, "t2", "203.0.113.1") == a, "same address, same tag")
    check(cancelled_tag(fe, ev, "t3", "203.0.113.2") not in (a, None), "other address, other tag")
    check(cancelled_tag(fe, ev, "t4", "") is None, "no address, no tag")
    req = fe.poll("t5", pattern=None, addr="203.0.113.1")
    fe.expect(PROXY_REPLY, req)
    check("tag" not in (ev.expect("proxy-poll", "rejected") or {}), "rejected poll has no tag")
    req = fe.poll("t6", addr="203.0.113.1")  # matched, then the client gets its answer
    barrier(fe)
    creq = fe.offer("o", fp=THIRD_FP)  # the list holds only THIRD_FP by now
    fe.expect(PROXY_REPLY, req)
    check(ev.expect("proxy-poll", "matched").get("tag") == a, "matched poll: same tag")
    fe.answer("t6", "a")
    fe.recv()
    fe.expect(CLIENT_REPLY, creq)
    ev.expect("proxy-answer", "success")
    check("tag" not in (ev.expect("client-poll", "matched") or {}), "client polls have no tag")
    return a


def restart_tag(binary, tmp, ctx, sig):
    """Start a fresh matcher on the same --state-dir, return the tag of 203.0.113.1, stop it
    with `sig` (SIGKILL: no clean shutdown)."""
    router, pub = "ipc://%s/router2.ipc" % tmp, "ipc://%s/events2.ipc" % tmp
    log = open(os.path.join(tmp, "matcher2.log"), "a+")
    proc = subprocess.Popen([binary, "--router", router, "--pub", pub, "--state-dir", tmp,
                             "--allowed-relay-pattern", PATTERN],
                            stdout=log, stderr=subprocess.STDOUT)
    ev = fe = None
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(router[6:]) and time.monotonic() < deadline:
            time.sleep(0.02)  # poll interval of this bounded wait for the bind
        check(os.path.exists(router[6:]), "matcher bound its ROUTER within 10 s")
        ev = Events(ctx, pub)
        fe = Frontend(ctx, router)
        sync(fe, ev)
        return cancelled_tag(fe, ev, "r1", "203.0.113.1")
    finally:
        proc.send_signal(sig)
        proc.wait(5)
        for sock in (ev, fe):
            if sock is not None:
                sock.s.close()
        if os.path.exists(router[6:]):  # left behind by kill -9; the next run waits for it
            os.unlink(router[6:])


def run_checks(fe, fe2, ev, blist, proc, log):
    # relay rejection with a pattern that is too narrow
    req = fe.poll("narrow", pattern="^snowflake.torproject.net$")
    check(fe.expect(PROXY_REPLY, req)[3] == BAD_RELAY, "BAD_RELAY")
    ev.expect("proxy-poll", "rejected", relay_pattern=True, nat="unrestricted", cc="DE")

    check(debug_text(fe) == EMPTY_DEBUG, "empty /debug text")

    # match + answer, across two frontends
    preq = fe.poll("p1")
    barrier(fe)
    check(debug_text(fe2).startswith("current snowflakes available: 1\n\tstandalone proxies: 1"),
          "debug counts the pooled proxy")
    creq = fe2.offer("the offer", nat=NAT_RESTRICTED, method=AMPCACHE)
    m = fe.expect(PROXY_REPLY, preq)
    check(m[3:] == [MATCH, "the offer", NAT_RESTRICTED, "wss://snowflake.torproject.net/"],
          "MATCH fields %r" % (m,))
    ev.expect("proxy-poll", "matched", type="standalone", nat="unrestricted", cc="DE",
              relay_pattern=True)
    areq = fe.answer("p1", "the answer")
    check(fe.expect(ANSWER_REPLY, areq)[3] == SUCCESS, "answer SUCCESS")
    check(fe2.expect(CLIENT_REPLY, creq)[3:] == [ANSWER, "the answer"], "client gets answer")
    ev.expect("proxy-answer", "success", type="standalone", cc="??")
    ev.expect("client-poll", "matched", nat="restricted", method="ampcache", cc="CA")

    # relay URL of the requested bridge
    preq = fe.poll("p1b")
    barrier(fe)
    creq = fe2.offer("o", fp=SECOND_FP)
    check(fe.expect(PROXY_REPLY, preq)[6] == "wss://02.snowflake.torproject.net", "second relay")
    ev.expect("proxy-poll", "matched")
    fe.answer("p1b", "a")
    fe.recv()
    fe2.expect(CLIENT_REPLY, creq)
    ev.expect("proxy-answer", "success")
    ev.expect("client-poll", "matched")

    # no match after the hold
    t0 = time.monotonic()
    preq = fe.poll("p2", nat=NAT_RESTRICTED)
    m = fe.expect(PROXY_REPLY, preq, timeout=3)
    dt = time.monotonic() - t0
    check(m[3:] == [NO_MATCH, "", NAT_UNKNOWN, ""] and 0.9 <= dt <= 2.5,
          "NO_MATCH after ~1 s (%.3f s)" % dt)
    ev.expect("proxy-poll", "idle", nat="restricted")

    # denied client, unknown bridge
    creq = fe2.offer("o", nat=NAT_UNRESTRICTED)
    check(fe2.expect(CLIENT_REPLY, creq)[3] == NO_PROXIES, "NO_PROXIES")
    ev.expect("client-poll", "denied", nat="unrestricted", method="http")
    creq = fe2.offer("o", fp=THIRD_FP)
    check(fe2.expect(CLIENT_REPLY, creq)[3] == UNKNOWN_BRIDGE, "UNKNOWN_BRIDGE")
    ev.none()

    # client timeout, then the late answer gets client gone
    preq = fe.poll("p3")
    barrier(fe)
    t0 = time.monotonic()
    creq = fe2.offer("o")
    fe.expect(PROXY_REPLY, preq)
    ev.expect("proxy-poll", "matched")
    m = fe2.expect(CLIENT_REPLY, creq, timeout=3)
    dt = time.monotonic() - t0
    check(m[3] == TIMEOUT and 0.9 <= dt <= 2.5, "TIMEOUT after ~1 s (%.3f s)" % dt)
    ev.expect("client-poll", "timeout")
    areq = fe.answer("p3", "late")
    check(fe.expect(ANSWER_REPLY, areq)[3] == CLIENT_GONE, "late answer CLIENT_GONE")
    ev.expect("proxy-answer", "client-gone", type="unknown")

    # cancel a held proxy, then a waiting client
    preq = fe.poll("p4")
    barrier(fe)
    fe.send(CANCEL, req=preq)
    ev.expect("proxy-poll", "cancelled")
    fe.silent()
    check(debug_text(fe) == EMPTY_DEBUG, "cancelled proxy left the Sid map")
    preq = fe.poll("p5")
    barrier(fe)
    creq = fe2.offer("o")
    fe.expect(PROXY_REPLY, preq)
    ev.expect("proxy-poll", "matched")
    fe2.send(CANCEL, req=creq)
    ev.expect("client-poll", "timeout")
    areq = fe.answer("p5", "a")
    check(fe.expect(ANSWER_REPLY, areq)[3] == CLIENT_GONE, "answer after cancel CLIENT_GONE")
    ev.expect("proxy-answer", "client-gone")
    fe2.silent()

    # garbage and badly framed messages are dropped; the matcher carries on
    fe.s.send(b"\xc1garbage")
    fe.s.send_multipart([b"", msgpack.packb([V, DEBUG, 1])])
    fe.silent()
    check(proc.poll() is None and debug_text(fe) == EMPTY_DEBUG, "alive after garbage")

    # SIGHUP: a bad file keeps the old list, a good one replaces it
    with open(blist, "w") as f:
        f.write(bridge_line("third", "wss://03.example/", THIRD_FP) + "\n")  # empty line: bad
    proc.send_signal(signal.SIGHUP)
    wait_log(log, "keeping the old bridge list")
    creq = fe2.offer("o", fp=SECOND_FP)
    check(fe2.expect(CLIENT_REPLY, creq)[3] == NO_PROXIES, "old list kept after bad reload")
    ev.expect("client-poll", "denied")
    with open(blist, "w") as f:
        f.write(bridge_line("third", "wss://03.example/", THIRD_FP))
    proc.send_signal(signal.SIGHUP)
    wait_log(log, "reloaded 1 bridges")
    preq = fe.poll("p6")
    barrier(fe)
    creq = fe2.offer("o", fp=THIRD_FP)
    check(fe.expect(PROXY_REPLY, preq)[6] == "wss://03.example/", "reloaded list used")
    ev.expect("proxy-poll", "matched")
    creq2 = fe2.offer("o", fp=DEFAULT_FP)
    check(fe2.expect(CLIENT_REPLY, creq2)[3] == UNKNOWN_BRIDGE, "default replaced by reload")
    check(fe2.expect(CLIENT_REPLY, creq)[3] == TIMEOUT, "p6 client times out")
    ev.expect("client-poll", "timeout")


def flags(binary, tmp):
    r = subprocess.run([binary, "--no-such-flag"], capture_output=True, timeout=10)
    check(r.returncode == 2, "bad flag exits 2")
    r = subprocess.run([binary, "--proxy-timeout", "ten"], capture_output=True, timeout=10)
    check(r.returncode == 2, "bad duration exits 2")
    r = subprocess.run([binary, "--check-config"], capture_output=True, timeout=10)
    check(r.returncode == 0, "check-config ok")
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"fingerprint":"00"}\n')
    r = subprocess.run([binary, "--check-config", "--bridge-list-path", bad],
                       capture_output=True, timeout=10)
    check(r.returncode == 1, "check-config with a bad bridge list exits 1")
    r = subprocess.run([binary, "--check-config", "--state-dir", bad], capture_output=True,
                       timeout=10)
    check(r.returncode == 1, "check-config with a --state-dir that is a file exits 1")
    r = subprocess.run([binary, "--check-config", "--metrics-interval", "10ms"],
                       capture_output=True, timeout=10)
    check(r.returncode == 2, "--metrics-interval below 1s exits 2")


def main():
    binary = os.path.abspath(sys.argv[1])
    signal.alarm(90)  # hard bound on the whole test
    tmp = tempfile.mkdtemp(prefix="mt-zmq-")
    ctx = zmq.Context()
    try:
        flags(binary, tmp)
        scenario(binary, tmp, ctx)
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("mt_zmq_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
