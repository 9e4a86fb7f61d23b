#!/usr/bin/python3
"""fe_stub_matcher.py - a tiny stand-in matcher (ROUTER) for testing snowflake-frontend alone.

Speaks proto/sfb_msg.h: one msgpack frame [1, type, req_id, fields...] per message. Holds
proxy polls for --proxy-hold seconds, matches a client offer with the oldest held proxy,
routes the proxy's answer back to the client, answers /debug, and prints one line per
received message on stdout ("RECV <type> <req_id> ...") so tests can see CANCELs.
--mute: receive and print, never reply (to exercise the frontend's own deadlines).
--dump FILE: also append each received message to FILE as one JSON line
{"type": NAME, "req_id": N, "fields": [...]} (bytes as hex), for exact field checks.
Needs /usr/bin/python3 with python3-zmq and python3-msgpack (Debian)."""
import argparse
import json
import sys
import time

import msgpack
import zmq

PROXY_POLL, CLIENT_OFFER, PROXY_ANSWER, CANCEL, DEBUG = 1, 2, 3, 4, 5
PROXY_REPLY, CLIENT_REPLY, ANSWER_REPLY, DEBUG_REPLY = 65, 66, 67, 69
NAMES = {1: "PROXY_POLL", 2: "CLIENT_OFFER", 3: "PROXY_ANSWER", 4: "CANCEL", 5: "DEBUG"}
DEFAULT_FP = bytes.fromhex("2B280B23E1107BB62ABFC40DDCC8824814F80A72")
RELAY = "wss://snowflake.torproject.net/"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="ipc:///tmp/snowflake-matcher.ipc")
    ap.add_argument("--proxy-hold", type=float, default=10.0)
    ap.add_argument("--client-hold", type=float, default=5.0)
    ap.add_argument("--mute", action="store_true")
    ap.add_argument("--dump")
    a = ap.parse_args()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(a.bind)
    print("READY", a.bind, flush=True)
    proxies = []  # [deadline, ident, req_id, sid, nat]; oldest first
    clients = {}  # sid -> (deadline, ident, req_id)

    def send(ident, *msg):
        try:
            sock.send_multipart([ident, msgpack.packb([1, *msg], use_bin_type=True)],
                                zmq.DONTWAIT)
        except zmq.ZMQError as e:
            print("SENDFAIL", e, flush=True)

    while True:
        now = time.monotonic()
        for p in [p for p in proxies if p[0] <= now]:
            proxies.remove(p)
            if not a.mute:
                send(p[1], PROXY_REPLY, p[2], 0, "", 0, "")
        for sid in [s for s, c in clients.items() if c[0] <= now]:
            _, ident, rid = clients.pop(sid)
            if not a.mute:
                send(ident, CLIENT_REPLY, rid, 2, "")
        if not sock.poll(50):
            continue
        ident, frame = sock.recv_multipart()
        m = msgpack.unpackb(frame, raw=False)
        _, typ, rid, *f = m
        print("RECV", NAMES.get(typ, typ), rid, *[repr(x) for x in f], flush=True)
        if a.dump:
            with open(a.dump, "a") as d:
                d.write(json.dumps({"type": NAMES.get(typ, typ), "req_id": rid, "fields": [
                    x.hex() if isinstance(x, bytes) else x for x in f]}) + "\n")
        if a.mute:
            continue
        if typ == PROXY_POLL:
            sid, ptype, nat, clients_n, pattern, addr, cc = f
            if pattern is None:
                send(ident, PROXY_REPLY, rid, 2, "", 0, "")
            else:
                proxies.append([now + a.proxy_hold, ident, rid, sid, nat])
        elif typ == CLIENT_OFFER:
            offer, nat, fp, method, legacy, addr, cc = f
            if fp != DEFAULT_FP:
                send(ident, CLIENT_REPLY, rid, 3, "")
            elif not proxies:
                send(ident, CLIENT_REPLY, rid, 1, "")
            else:
                p = proxies.pop(0)
                send(p[1], PROXY_REPLY, p[2], 1, offer, nat, RELAY)
                clients[p[3]] = (now + a.client_hold, ident, rid)
        elif typ == PROXY_ANSWER:
            sid, answer = f
            c = clients.pop(sid, None)
            if c is None:
                send(ident, ANSWER_REPLY, rid, 1)
            else:
                send(c[1], CLIENT_REPLY, c[2], 0, answer)
                send(ident, ANSWER_REPLY, rid, 0)
        elif typ == CANCEL:
            proxies[:] = [p for p in proxies if not (p[1] == ident and p[2] == rid)]
        elif typ == DEBUG:
            text = ("current snowflakes available: %d\n\tunknown proxies: %d\n"
                    "NAT Types available:\n\trestricted: 0\n\tunrestricted: 0\n\tunknown: 0"
                    % (len(proxies), len(proxies)))
            send(ident, DEBUG_REPLY, rid, text)


if __name__ == "__main__":
    sys.exit(main())
