"""Helpers shared by metricsd's standalone python tests (test_metricsd.py, md_replay_test.py):
failing and bounded condition waits."""

import time


def fail(msg):
    raise AssertionError(msg)


def wait_for(pred, timeout, what):
    """Poll `pred` until it returns something true (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            fail("timed out waiting for " + what)
        time.sleep(0.01)
