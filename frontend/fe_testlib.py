"""Helpers shared by the frontend's standalone python tests (fe_stub_test.py,
fe_geo_report_test.py): failure collection and bounded condition waits."""

import time

FAILS = []  # what failed; the tests exit 1 when it is not empty


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def wait_for(cond, timeout, what):
    """Poll `cond` until it is true or `timeout` seconds pass; raise with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(0.01)
