"""Helpers shared by the frontend's standalone python tests (fe_stub_test.py,
fe_geo_report_test.py): failure collection and bounded condition waits."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "pylib"))
from waits import wait_for  # noqa: E402,F401 - re-exported

FAILS = []  # what failed; the tests exit 1 when it is not empty


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
