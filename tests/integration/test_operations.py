#!/usr/bin/python3
"""Operations: certificate renewal under load (SIGHUP, no failed request) and graceful drain on
SIGTERM (every held request answered within a second, no connection reset)."""

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

from harness import Async, Broker, debug_count, main, proxy_body, request, wait_for

NO_MATCH = b'{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'


def server_cert_sha256(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def new_cert(d, name):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + name], check=True, capture_output=True,
                   timeout=30)
    return cert, key


class CertificateReload(unittest.TestCase):
    def test_renewal_under_load_fails_no_request(self):
        b = Broker(frontends=1, tls=True)
        try:
            port = b.port
            before = server_cert_sha256(port)
            stop = threading.Event()
            counts = {"ok": 0, "failed": 0}
            lock = threading.Lock()

            def load():
                while not stop.is_set():
                    try:
                        r = request(port, "GET", "/robots.txt", tls=True, timeout=5)
                        good = r.status == 200
                    except OSError:
                        good = False
                    with lock:
                        counts["ok" if good else "failed"] += 1

            threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
            for t in threads:
                t.start()
            wait_for(lambda: counts["ok"] >= 50, 20, "load running")
            # renew: write the new files in place (as an ACME client does), then SIGHUP
            cert, key = new_cert(b.dir, "renewed")
            os.replace(cert, os.path.join(b.dir, "cert.pem"))
            os.replace(key, os.path.join(b.dir, "key.pem"))
            b.frontends[0].p.send_signal(signal.SIGHUP)
            wait_for(lambda: server_cert_sha256(port) != before, 10, "the renewed certificate")
            seen = counts["ok"]
            wait_for(lambda: counts["ok"] >= seen + 50, 20, "load after the renewal")
            stop.set()
            for t in threads:
                t.join(10)
            self.assertEqual(counts["failed"], 0, counts)
        finally:
            b.close(self)


class GracefulDrain(unittest.TestCase):
    def test_sigterm_answers_every_held_request(self):
        b = Broker(frontends=2, proxy_timeout="10s")
        try:
            held = [Async(b.port, "POST", "/proxy", proxy_body("drain%d" % i), timeout=10)
                    for i in range(20)]
            wait_for(lambda: debug_count(b.port) == 20, 10, "20 held polls")
            fe = b.frontends[0]
            t0 = time.monotonic()
            fe.p.send_signal(signal.SIGTERM)
            for a in held:
                r = a.result(5)  # raises on a reset or a hang
                self.assertEqual((r.status, r.body), (200, NO_MATCH))
                self.assertLess(a.finished - t0, 1.0)  # the promise: answered within 1 s
            # then it exits by itself (after a short drain; the time depends on the build)
            fe.p.wait(5)
            self.assertEqual(fe.p.returncode, 0)
            b.killed.add(fe)
            fe.logf.close()
            # the drained frontend's CANCELs made the matcher let go of every one of them,
            # long before the polls' own 10 s hold would have
            wait_for(lambda: debug_count(b.ports[1]) == 0, 5, "matcher released the polls")
        finally:
            b.close(self)


if __name__ == "__main__":
    main()
