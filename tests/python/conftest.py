"""Shared by the Python package's tests: where the tree and the program are
(tests/python.sh sets them; run by hand, the source tree's defaults)."""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("top_builddir") or SRCDIR
PROGRAM = os.environ.get("DMBP_PROGRAM") or os.path.join(BUILDDIR, "dmbp")
MODELS = os.path.join(SRCDIR, "models")


def slow_enabled():
    return os.environ.get("DMBP_SLOW") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "slow: minutes of work; run with DMBP_SLOW=1")


def pytest_collection_modifyitems(config, items):
    if slow_enabled():
        return
    skip = pytest.mark.skip(reason="slow (set DMBP_SLOW=1 to run)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def run_program(*args, cwd=None):
    """Run the dmbp program; (status, stdout, stderr)."""
    p = subprocess.run([PROGRAM] + [str(a) for a in args], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return p.returncode, p.stdout, p.stderr
