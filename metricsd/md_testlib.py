"""Helpers shared by metricsd's standalone python tests (test_metricsd.py, md_replay_test.py):
failing and bounded condition waits."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "pylib"))
from waits import wait_for  # noqa: E402,F401 - re-exported


def fail(msg):
    raise AssertionError(msg)
