#!/usr/bin/env python3
"""Integration tests: drover failover against the lab's real sshd servers.

Usage: test_failover.py DROVER_BINARY [TEST...]

Brings the lab up (contrib/lab/lab up; needs root), then runs drover on
small plans that point at the lab's hosts and checks report.json, the
per-task logs, the hosts' files and the sshd logs. Exit 77 (skipped) when
not root. Prints 'N passed, N failed' at the end.
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

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.environ.get("DROVER_LAB_DIR", "/var/lib/drover-lab")
ROOT = LAB + "/hosts"
DROVER = None

SITES = """
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; },
              { name = "mi-app1"; address = "127.0.1.2"; roles = ["app", "web"]; } ); },
  { name = "rome"; role = "secondary";
    hosts = ( { name = "ro-db1"; address = "127.0.2.1"; roles = ["db"]; },
              { name = "ro-app1"; address = "127.0.2.2"; roles = ["app", "web"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; },
              { name = "to-app1"; address = "127.0.3.2"; roles = ["app"]; },
              { name = "to-web1"; address = "127.0.3.3"; roles = ["web"]; } %s ); },
  { name = "vault"; role = "vault";
    hosts = ( { name = "va-bk1"; address = "127.0.4.1"; roles = ["backup"]; } ); } %s
);
"""


def plan(name, services, known_hosts=None, limits="", extra_host="",
         tenants="", extra_sites=""):
    """Writes a lab plan to a temp dir and returns its path."""
    d = tempfile.mkdtemp(prefix="drover-it-")
    text = """version = 1;
name = "%s";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s"; port = 2222; connect_timeout = "3s";
            timeout = "1m"; retries = 0; retry_delay = "100ms"; };
%s
vars = { root = "%s"; };
%s
%s
services = ( %s );
""" % (name, LAB, known_hosts or (LAB + "/known_hosts"), limits, ROOT,
       SITES % (extra_host, extra_sites), tenants, services)
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def run(plan_path, *args, env_extra=None, timeout=240):
    """Runs drover failover; returns (rc, output, report dict or None)."""
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    if env_extra:
        env.update(env_extra)
    cmd = [DROVER, "failover", plan_path, "--from", "milan,rome", "--to",
           "torino", "--yes", "--auto-approve"] + list(args)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace")
    report = None
    runs = os.path.join(state, "runs")
    if os.path.isdir(runs):
        for r in os.listdir(runs):
            rp = os.path.join(runs, r, "report.json")
            if os.path.exists(rp):
                with open(rp) as f:
                    report = json.load(f)
                report["_dir"] = os.path.join(runs, r)
    return p.returncode, out, report


def task(report, key_prefix):
    for t in report["tasks"]:
        if t["key"].startswith(key_prefix):
            return t
    raise AssertionError("no task %s in %s" % (key_prefix,
                                                [t["key"] for t in report["tasks"]]))


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- drover output ---\n" + out[-3000:] if out else ""))


def itdir(host, test):
    return "%s/%s/itest/%s" % (ROOT, host, test)


def clean(host, test):
    shutil.rmtree(itdir(host, test), ignore_errors=True)


# ---------------------------------------------------------------- tests


def test_lab_failover():
    """The README's main job: milan and rome lost, everything back on torino."""
    rc, out, rep = run(os.path.join(TOP, "plans", "lab.cfg"), "--json")
    check(rc == 0, "lab failover exit %d" % rc, out)
    check(rep and rep["state"] == "succeeded", "report state", out)
    states = {t["state"] for t in rep["tasks"]}
    check(states == {"succeeded"}, "every task succeeded: %s" % states, out)
    fence_sites = {t["site"] for t in rep["tasks"] if t["service"] == "fence"
                   and t["site"]}
    check({"milan", "rome"} <= fence_sites, "fence reached both sites: %s" %
          fence_sites)
    probes = [t for t in rep["tasks"] if t["action"] == "probe"]
    for tenant in ("comune-brescia", "comune-bergamo", "comune-lodi"):
        check(any(t["service"] == "payroll" and t["tenant"] == tenant
                  for t in probes),
              "an HTTP probe checked payroll of %s" % tenant)
    payroll_end = max(t["end_ms"] for t in rep["tasks"] if t["service"] == "payroll")
    website_start = min(t["start_ms"] for t in rep["tasks"] if t["service"] == "website")
    check(payroll_end <= website_start,
          "every payroll task ended before any website task started")
    for s in rep["services"]:
        check(s["recovered"], "recovered: %s" % s)
        # A service with an RTO has a verdict; one without has none.
        if s["rto_ms"] is None:
            check(s["rto_met"] is None, "no RTO, no verdict: %s" % s)
        else:
            check(s["rto_met"] is True, "recovered within RTO: %s" % s)
    # NDJSON on stdout: every line an object.
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(len(events) >= 2 * len(rep["tasks"]), "json events")


def test_retry():
    clean("to-db1", "retry")
    d = "${var.root}/${host}/itest/retry"
    p = plan("retry", """
      { name = "flaky"; tier = 1; scope = "global"; steps = (
        { name = "once"; on = "torino:to-db1"; retries = 2; retry_delay = "200ms";
          run = "mkdir -p %s && cd %s && if [ -f seen ]; then echo second; else touch seen; echo first; exit 7; fi"; } ); }
    """ % (d, d))
    rc, out, rep = run(p)
    check(rc == 0, "retried step succeeds (rc %d)" % rc, out)
    t = task(rep, "flaky/once")
    check(t["attempts"] == 2, "two attempts, got %d" % t["attempts"], out)
    check("failed (attempt 1)" in out, "the first failure is shown", out)


def hung(idempotent):
    marker = "sleep 3%03d%d" % (os.getpid() % 1000, idempotent)
    p = plan("hung", """
      { name = "hang"; tier = 1; scope = "global"; steps = (
        { name = "forever"; on = "torino:to-app1"; timeout = "2s";
          idempotent = %s; run = "%s & %s; wait"; } ); }
    """ % ("true" if idempotent else "false", marker, marker))
    t0 = time.time()
    rc, out, rep = run(p)
    t = task(rep, "hang/forever")
    check(time.time() - t0 < 30, "killed near its deadline")
    check("timed out after 2" in (t["message"] or ""),
          "message says timed out: %s" % t["message"])
    # The kill ran in the background, with its own bound, and says so.
    check("hang/forever" in out and "stopped after the deadline" in out,
          "the board confirms the remote kill", out)
    left = subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                          stdout=subprocess.PIPE).stdout.decode().split()
    check(not left, "remote processes gone after the deadline: %s" % left)
    return rc, out, t


def test_hung_idempotent_step_fails():
    """An idempotent step at its deadline: failed, timed out (exit 1)."""
    rc, out, t = hung(True)
    check(rc == 1, "hung step fails the run (rc %d)" % rc, out)
    check(t["state"] == "failed", "state failed", out)


def test_hung_step_outcome_unknown():
    """A non-idempotent step killed at its deadline may have done part of
    its work: indeterminate, the operator decides (exit 3, resumable)."""
    rc, out, t = hung(False)
    check(rc == 3, "a run with an undecided task exits 3 (rc %d)" % rc, out)
    check(t["state"] == "indeterminate", "state indeterminate: %s" %
          t["state"], out)
    check("outcome unknown" in t["message"], "says why: %s" % t["message"])


def test_hostkey_changed():
    clean("to-db1", "hostkey")
    d = tempfile.mkdtemp(prefix="drover-kh-")
    kh = labtest.changed_known_hosts(d)
    log = LAB + "/sshd/to-db1/sshd.log"
    before = os.path.getsize(log)
    p = plan("hostkey", """
      { name = "touchy"; tier = 1; scope = "global"; steps = (
        { name = "mark"; on = "torino:to-db1";
          run = "mkdir -p ${var.root}/${host}/itest/hostkey && touch ${var.root}/${host}/itest/hostkey/ran"; } ); }
    """, known_hosts=kh)
    rc, out, rep = run(p)
    check(rc == 1, "changed key fails (rc %d)" % rc, out)
    t = task(rep, "touchy/mark")
    check("host key" in (t["message"] or "") and "SHA256:" in t["message"],
          "message names the key and fingerprints: %s" % t["message"])
    check(t["attempts"] == 1, "a refused key is not retried")
    check(not os.path.exists(itdir("to-db1", "hostkey") + "/ran"), "nothing ran")
    time.sleep(0.3)
    with open(log, errors="replace") as f:
        f.seek(before)
        tail = f.read()
    check("Accepted publickey" not in tail, "no authentication happened:\n" + tail)


def test_unreachable():
    p = plan("unreach", """
      { name = "dark"; tier = 1; scope = "global"; steps = (
        { name = "poke"; on = "torino:to-ghost"; run = "true"; } ); },
      { name = "dark-ok"; tier = 2; scope = "global"; steps = (
        { name = "poke"; on = "torino:to-ghost"; run = "true"; unreachable = "continue"; },
        { name = "after"; on = "torino:to-db1"; run = "true"; } ); }
    """, extra_host=', { name = "to-ghost"; address = "127.0.3.99"; roles = ["ghost"]; }',
             limits='limits: { sessions = 8; per_site = 8; per_host = 2; };')
    rc, out, rep = run(p, "--only", "dark")
    check(rc == 1, "unreachable host fails (rc %d)" % rc, out)
    t = task(rep, "dark/poke")
    check(t["state"] == "failed" and t["unreachable"], "reported as unreachable: %s" % t)
    check("unreachable" in out, "board says unreachable", out)
    rc, out, rep = run(p, "--only", "dark-ok")
    check(rc == 0, "unreachable = continue goes on (rc %d)" % rc, out)
    check(task(rep, "dark-ok/poke")["state"] == "skipped", "skipped", out)
    check(task(rep, "dark-ok/after")["state"] == "succeeded", "dependent ran", out)


def test_megabytes_of_output():
    p = plan("mega", """
      { name = "loud"; tier = 1; scope = "global"; steps = (
        { name = "spew"; on = "torino:to-web1";
          run = "head -c 6000000 /dev/zero | tr '\\\\0' a; head -c 4000000 /dev/zero | tr '\\\\0' b >&2; echo done-marker"; } ); }
    """)
    rc, out, rep = run(p)
    check(rc == 0, "megabytes succeed (rc %d)" % rc, out)
    # The task's output, all of it, in order, from the run's one file.
    state = os.path.dirname(os.path.dirname(rep["_dir"]))
    logs = subprocess.run([DROVER, "logs", os.path.basename(rep["_dir"]),
                           "loud/spew@torino/to-web1"],
                          env=dict(os.environ, DROVER_STATE_DIR=state),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)
    data = logs.stdout
    check(logs.returncode == 0, "drover logs: " + logs.stderr.decode())
    check(len(data) == 10000000 + len("done-marker\n"),
          "drover logs gives all 10 MB: %d bytes" % len(data))
    check(b"done-marker\n" in data and data.count(b"b") == 4000000,
          "in order and whole")
    check(os.listdir(os.path.join(rep["_dir"], "logs")) == ["output.log"],
          "one output file for the run, not one per task")
    check(len(out) < 100000, "the board did not get the output")


def test_logs_follow_live_run():
    """drover logs --follow prints a live task's output as it comes and
    ends when the run does."""
    p = plan("follow", """
      { name = "slow"; tier = 1; scope = "global"; steps = (
        { name = "talk"; on = "torino:to-app1";
          run = "for i in 1 2 3 4 5 6; do echo line-$$i; sleep 0.3; done"; } ); }
    """)
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    run_p = subprocess.Popen([DROVER, "failover", p, "--from", "milan,rome",
                              "--to", "torino", "--yes"], env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
    runs = os.path.join(state, "runs")
    deadline = time.time() + 30
    while time.time() < deadline and not (os.path.isdir(runs) and
                                          os.listdir(runs)):
        time.sleep(0.05)
    rid = os.listdir(runs)[0]
    t0 = time.time()
    fol = subprocess.run([DROVER, "logs", rid, "slow/talk@torino/to-app1",
                          "--follow"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=60)
    run_p.wait(timeout=60)
    out = fol.stdout.decode()
    check(fol.returncode == 0, "logs --follow exit %d" % fol.returncode, out)
    check(out.split() == ["line-%d" % i for i in range(1, 7)],
          "every line, in order", out)
    check(time.time() - t0 >= 1.0, "it followed the live run")


def test_exit_signal():
    p = plan("sig", """
      { name = "sig"; tier = 1; scope = "global"; steps = (
        { name = "die"; on = "torino:to-web1"; run = "kill -TERM $$$$"; } ); }
    """)
    rc, out, rep = run(p)
    check(rc == 1, "killed command fails (rc %d)" % rc, out)
    t = task(rep, "sig/die")
    check(t["exit_signal"] == "TERM", "exit signal reported: %s" % t)


def sessions(host):
    p = "%s/sshd/%s/sshd.log" % (LAB, host)
    return open(p, errors="replace").read().count("Starting session")


def test_copy_reads_source_writes_destination():
    """A copy reads on the source's session and writes on the
    destination's, whichever connects first: the vault serves one session
    (the read), torino two (the write, the check), each after the one
    session every new connection opens first to check the login shell.
    Each run connects anew, so the order in which the two connects finish
    varies between runs."""
    clean("to-db1", "cpdir")
    p = plan("cpdir", """
      { name = "cp"; tier = 1; scope = "global"; steps = (
        { name = "one"; copy = { from = "vault:backup:${var.root}/va-bk1/backups/comune-lodi/payroll.tar";
                                 to = "torino:to-db1:${var.root}/${host}/itest/cpdir/"; }; } ); }
    """)
    for i in range(8):
        v0, t0 = sessions("va-bk1"), sessions("to-db1")
        rc, out, rep = run(p)
        check(rc == 0, "copy %d succeeds (rc %d)" % (i, rc), out)
        dv, dt = sessions("va-bk1") - v0, sessions("to-db1") - t0
        check((dv, dt) == (1 + 1, 1 + 2),
              "run %d: sessions on the vault %d (want 2: the shell check "
              "and the read), on torino %d (want 3: the shell check, write "
              "and check)" % (i, dv, dt))


def test_copy_checksum_mismatch():
    clean("to-db1", "copy")
    p = plan("copy", """
      { name = "cp"; tier = 1; scope = "global"; steps = (
        { name = "bad"; copy = { from = "vault:backup:${var.root}/va-bk1/backups/comune-lodi/payroll.tar";
                                 to = "torino:to-db1:${var.root}/${host}/itest/copy/";
                                 sha256 = "%s"; }; } ); }
    """ % ("0" * 64))
    rc, out, rep = run(p)
    check(rc == 1, "mismatch fails (rc %d)" % rc, out)
    t = task(rep, "cp/bad")
    check("0" * 64 in t["message"] and "checksum" in t["message"],
          "message names the checksum mismatch and the digest wanted: %s" %
          t["message"])
    d = itdir("to-db1", "copy")
    check(not os.path.exists(d + "/payroll.tar"), "no file left in place")
    left = os.listdir(d) if os.path.isdir(d) else []
    check(not left, "no temporary file left: %s" % left)


def test_limits():
    steps = ",\n".join(
        '{ name = "s%d"; on = "to:*"; run = "sleep 0.4"; }' % i for i in range(1))
    services = ",\n".join(
        '{ name = "w%d"; tier = 1; scope = "global"; steps = ( %s ); }' % (i, steps)
        for i in range(8))
    p = plan("limits", services,
             limits="limits: { sessions = 4; per_site = 3; per_host = 2; };")
    rc, out, rep = run(p)
    check(rc == 0, "limits run (rc %d)" % rc, out)
    ev = []
    for t in rep["tasks"]:
        ev.append((t["start_ms"], 1, t))
        ev.append((t["end_ms"], -1, t))
    ev.sort(key=lambda e: (e[0], e[1]))
    per_host, per_site, total = {}, {}, 0
    peak = {"host": 0, "site": 0, "total": 0}
    for _, d, t in ev:
        per_host[t["host"]] = per_host.get(t["host"], 0) + d
        per_site[t["site"]] = per_site.get(t["site"], 0) + d
        total += d
        peak["host"] = max(peak["host"], per_host[t["host"]])
        peak["site"] = max(peak["site"], per_site[t["site"]])
        peak["total"] = max(peak["total"], total)
    check(peak["host"] <= 2 and peak["site"] <= 3 and peak["total"] <= 4,
          "limits held: %s" % peak)
    check(peak["site"] == 3, "the site limit was reached, so it was tested: %s" % peak)


def test_gate_needs_operator():
    """--yes starts the run but does not pass gates without --auto-approve:
    without a terminal the gate waits for drover approve (test_team.py)
    until its step's timeout, then fails."""
    p = plan("gate", """
      { name = "go"; tier = 1; scope = "global"; steps = (
        { name = "ask"; approve = "Open the routes?"; timeout = "2s"; },
        { name = "after"; on = "torino:to-db1"; run = "true"; } ); }
    """)
    state = tempfile.mkdtemp(prefix="drover-state-")
    r = subprocess.run([DROVER, "failover", p, "--from", "milan,rome", "--to",
                        "torino", "--yes"], env=dict(os.environ,
                        DROVER_STATE_DIR=state), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 1, "an unanswered gate fails the run (rc %d)" %
          r.returncode, out)
    check("drover approve " in out, "says how to answer the gate", out)
    check("no answer within 2" in out, "says nobody answered in time", out)
    rc, out, rep = run(p)  # run() passes --auto-approve
    check(rc == 0 and task(rep, "go/ask")["state"] == "succeeded",
          "--auto-approve passes it", out)


def test_interrupt_and_status():
    """First SIGINT: start nothing new, cancel running tasks, exit 3."""
    marker = "sleep 4%03d" % (os.getpid() % 1000)
    p = plan("intr", """
      { name = "long"; tier = 1; scope = "global"; steps = (
        { name = "wait"; on = "torino:to-app1"; run = "%s"; },
        { name = "never"; on = "torino:to-app1"; run = "true"; } ); }
    """ % marker)
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    proc = subprocess.Popen([DROVER, "failover", p, "--from", "milan,rome",
                             "--to", "torino", "--yes"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    t0 = time.time()
    while time.time() - t0 < 20:
        if subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                          stdout=subprocess.PIPE).returncode == 0:
            break
        time.sleep(0.1)
    run_id = os.listdir(os.path.join(state, "runs"))[0]
    st = subprocess.run([DROVER, "status", run_id], env=env,
                        stdout=subprocess.PIPE).stdout.decode()
    check("state running" in st, "status shows the live run:\n" + st)
    proc.send_signal(2)
    out = proc.communicate(timeout=60)[0].decode(errors="replace")
    check(proc.returncode == 3, "interrupted run exits 3 (rc %d)" %
          proc.returncode, out)
    rep = json.load(open(os.path.join(state, "runs", run_id, "report.json")))
    # It was killed mid-command and is not idempotent: its outcome is
    # unknown, resume will ask for a decision.
    check(task(rep, "long/wait")["state"] == "indeterminate",
          "the running task's outcome is unknown: %s" %
          task(rep, "long/wait")["state"])
    check(task(rep, "long/never")["state"] == "cancelled" and
          task(rep, "long/never")["attempts"] == 0, "nothing new started")
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                          stdout=subprocess.PIPE).stdout.decode().split()
    check(not left, "the remote command was killed: %s" % left)
    st = subprocess.run([DROVER, "status"], env=env,
                        stdout=subprocess.PIPE).stdout.decode()
    check("interrupted" in st, "status lists it as interrupted:\n" + st)
    # PROGRESS counts the tasks that need nothing more: the indeterminate
    # and the cancelled ones have ended but are not done.
    done = sum(1 for t in rep["tasks"]
               if t["state"] in ("succeeded", "skipped", "refused"))
    line = [l for l in st.splitlines() if l.startswith(run_id)]
    check(line and line[0].split()[4] == "%d/%d" % (done, len(rep["tasks"]))
          and done < len(rep["tasks"]),
          "PROGRESS is %d/%d:\n%s" % (done, len(rep["tasks"]), st))
    r = subprocess.run([DROVER, "resume", run_id, "--yes"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    o = r.stdout.decode(errors="replace")
    check(r.returncode == 3 and "--assume-done long/wait" in o,
          "resume asks for a decision (rc %d)" % r.returncode, o)


def test_dry_run_connects_nowhere():
    logs = ["%s/sshd/%s/sshd.log" % (LAB, h) for h in ("to-db1", "va-bk1",
                                                        "mi-db1")]
    sizes = [os.path.getsize(l) for l in logs]
    state = tempfile.mkdtemp(prefix="drover-state-")
    r = subprocess.run([DROVER, "failover", os.path.join(TOP, "plans", "lab.cfg"),
                        "--from", "milan,rome", "--to", "torino", "--dry-run"],
                       env=dict(os.environ, DROVER_STATE_DIR=state),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0 and "payroll/comune-brescia/restore" in out,
          "dry run lists the tasks", out)
    check(out.index("payroll/comune-lodi") < out.index("website/comune-brescia"),
          "in run order", out)
    time.sleep(0.3)
    check([os.path.getsize(l) for l in logs] == sizes, "no host saw a connection")
    check(not os.path.exists(os.path.join(state, "runs")), "no run was recorded")
