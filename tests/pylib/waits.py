"""Bounded waits for every python test (tests/, frontend/, metricsd/): poll a condition until
it holds or its time is up."""

import time


def wait_for(cond, timeout, what):
    """Call `cond` every 10 ms, at least once, until it returns something true, and return
    that; raise AssertionError naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(0.01)
