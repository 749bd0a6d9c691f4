"""Integration tests: what drover says to do next when a run ends badly,
and RUN operands as prefixes and "last", on real runs (issue 12).

Run by CTest as

    python3 -m pytest tests/integration/test_cli.py --drover build/drover

against the lab (conftest.py brings it up; needs root). A run whose task
fails (exit 1) names the task, prints the drover logs / report / resume
lines on stderr (stdout keeps --json's NDJSON only); a second run onto a
site a live run holds (exit 4) names the holder, its user, host and pid;
the live run interrupted (exit 3) prints its resume line. The commands it
prints work as printed, and a unique prefix or last names the run.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402

DROVER = None  # set by conftest.py
LAB = labtest.LAB

SITES = """
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "rome"; role = "secondary";
    hosts = ( { name = "ro-db1"; address = "127.0.2.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; },
              { name = "to-app1"; address = "127.0.3.2"; roles = ["app"]; } ); }
);
"""


def plan(name, services):
    d = tempfile.mkdtemp(prefix="drover-cli-")
    text = """version = 1;
name = "%s";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222;
            connect_timeout = "3s"; timeout = "1m"; retries = 0; };
%s
services = ( %s );
""" % (name, LAB, LAB, SITES, services)
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- output ---\n" + out[-3000:]
                                     if out else ""))


def drover(env, *args, timeout=120):
    r = subprocess.run([DROVER] + list(args), env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return (r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace"))


def test_failed_run_says_what_next():
    """Exit 1: the failed task, its logs and report lines, resume retries."""
    p = plan("clifail", """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "boom"; on = "torino:to-db1";
          run = "echo about to fail; exit 7"; },
        { name = "after"; on = "torino:to-db1"; run = "true"; } ); }
    """)
    env = dict(os.environ, DROVER_STATE_DIR=tempfile.mkdtemp(prefix="st-"))
    rc, out, err = drover(env, "failover", p, "--from", "milan,rome", "--to",
                          "torino", "--yes", "--json")
    check(rc == 1, "the failed run exits 1 (rc %d)" % rc, err)
    for line in out.splitlines():  # stdout: --json's events only
        json.loads(line)
    check("drover logs" not in out, "no hint on stdout", out)
    run_id = os.listdir(os.path.join(env["DROVER_STATE_DIR"], "runs"))[0]
    check("what failed:" in err and "svc/boom" in err,
          "names the failed task", err)
    m = re.search(r"drover logs %s (\S+)" % run_id, err)
    check(m and m.group(1).startswith("svc/boom"), "the logs line", err)
    key = m.group(1)
    check("drover report %s" % run_id in err, "the report line", err)
    check("drover resume %s" % run_id in err and
          "runs the failed task again" in err,
          "says resume runs it again", err)
    # The line printed works, and so do a prefix and last.
    rc, o, e = drover(env, "logs", run_id, key)
    check(rc == 0 and "about to fail" in o, "drover logs as printed", o + e)
    rc, o, e = drover(env, "logs", "last", key)
    check(rc == 0 and "about to fail" in o, "drover logs last", o + e)
    rc, o, e = drover(env, "status", run_id[:12])
    check(rc == 0 and ("run " + run_id) in o, "status PREFIX", o + e)
    rc, o, e = drover(env, "report", "last", "--format", "json")
    check(rc == 0 and json.loads(o)["run_id"] == run_id, "report last",
          o + e)
    rc, o, e = drover(env, "audit", "verify", run_id[:16])
    check(rc == 0 and "chain intact" in o, "audit verify PREFIX", o + e)


def test_locked_and_interrupted_say_what_next():
    """Exit 4 names the holder; the holder interrupted exits 3 with its
    resume line, which resumes it."""
    marker = "sleep 5%03d" % (os.getpid() % 1000)
    # The first attempt leaves a mark and sleeps; the resumed one finds
    # the mark and ends at once.
    d = "%s/hosts/to-app1/itest/clilock" % LAB
    shutil.rmtree(d, ignore_errors=True)
    p = plan("clilock", """
      { name = "long"; tier = 1; scope = "global"; steps = (
        { name = "wait"; on = "torino:to-app1"; idempotent = true;
          run = "mkdir -p %s && if [ -f %s/mark ]; then exit 0; fi; touch %s/mark; %s"; } ); }
    """ % (d, d, d, marker))
    env = dict(os.environ, DROVER_STATE_DIR=tempfile.mkdtemp(prefix="st-"))
    live = subprocess.Popen([DROVER, "failover", p, "--from", "milan,rome",
                             "--to", "torino", "--yes"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        t0 = time.time()
        while time.time() - t0 < 30:
            if subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                              stdout=subprocess.PIPE).returncode == 0:
                break
            time.sleep(0.1)
        run_id = os.listdir(os.path.join(env["DROVER_STATE_DIR"], "runs"))[0]
        rc, out, err = drover(env, "failover", p, "--from", "milan,rome",
                              "--to", "torino", "--yes")
        check(rc == 4, "a second run onto torino exits 4 (rc %d)" % rc, err)
        check("site torino is held by run %s" % run_id in err,
              "names the holder", err)
        check("pid %d" % live.pid in err and "drover status %s" % run_id
              in err, "its pid and the status line", err)
        rc, o, e = drover(env, "resume", "last", "--yes")
        check(rc == 4 and "held by run %s" % run_id in e,
              "resume of the live run: exit 4, the holder named", e)
    finally:
        live.send_signal(2)
        out, err = live.communicate(timeout=60)
    err = err.decode(errors="replace")
    check(live.returncode == 3, "interrupted: exit 3 (rc %d)" %
          live.returncode, err)
    check("drover resume %s" % run_id in err, "the resume line", err)
    rc, o, e = drover(env, "resume", run_id[:20], "--yes", timeout=120)
    check(rc == 0, "the resume line continues it (rc %d)" % rc, o + e)
