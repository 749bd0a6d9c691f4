"""pytest fixtures for the integration tests against the lab.

Run by CTest (tests/CMakeLists.txt) as

    python3 -m pytest tests/integration/test_X.py --drover build/drover

- the lab (contrib/lab/lab up) is brought up once per session; without
  root every test is skipped and the session exits 77, which CTest counts
  as skipped;
- every tempfile.mkdtemp() of a test lands in that test's own tmp_path, so
  plans, state directories and scratch files go away with pytest's
  temporary directory;
- tests run in the order of the module's TESTS list when it has one (some
  tests leave the lab in a state the next one expects), else by name.
"""

import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import labtest  # noqa: E402

NOT_ROOT = os.geteuid() != 0


def pytest_addoption(parser):
    parser.addoption("--drover", required=True,
                     help="the drover binary under test")


def pytest_collection_modifyitems(session, config, items):
    def key(item):
        mod = item.module
        order = getattr(mod, "TESTS", None)
        names = [f.__name__ for f in order] if order else []
        name = item.name
        return (item.fspath.strpath,
                names.index(name) if name in names else len(names), name)
    items.sort(key=key)


@pytest.fixture(scope="session", autouse=True)
def lab(request):
    """The lab, up; and DROVER set in every test module that uses it."""
    path = os.path.abspath(request.config.getoption("--drover"))
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None) or ""
        if f.startswith(HERE) and hasattr(mod, "DROVER"):
            mod.DROVER = path
    labtest.DROVER = path
    if NOT_ROOT:
        pytest.skip("the lab needs root (it starts sshd servers)")
    up = subprocess.run([os.path.join(labtest.TOP, "contrib", "lab", "lab"),
                         "up"], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    if up.returncode != 0:
        pytest.exit("lab up failed:\n" + up.stdout.decode(errors="replace"),
                    returncode=1)
    return labtest.LAB


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """Every temporary directory a test makes is inside its tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def pytest_sessionfinish(session, exitstatus):
    if NOT_ROOT and exitstatus == 0:
        session.exitstatus = 77  # all skipped: tell CTest so
