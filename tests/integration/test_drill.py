#!/usr/bin/env python3
"""Integration tests: drills and restore points against the lab's sshd servers.

Usage: test_drill.py DROVER_BINARY [TEST...]

Exit 77 (skipped) when not root. Prints 'N passed, N failed'.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402

import test_failover as tf  # noqa: E402  (plan(), run(), check(), LAB)

LAB = tf.LAB
ROOT = tf.ROOT

DRILL_SITE = """,
  { name = "drill"; role = "drill";
    hosts = ( { name = "dr-db1"; address = "127.0.5.1"; roles = ["db"]; },
              { name = "dr-app1"; address = "127.0.5.2"; roles = ["app"]; },
              { name = "dr-web1"; address = "127.0.5.3"; roles = ["web"]; } ); }"""


def drill_plan(name, services):
    """A lab plan with the drill site added."""
    return tf.plan(name, services, extra_sites=DRILL_SITE)


def run_drill(plan_path, *args, timeout=240):
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    cmd = [tf.DROVER, "drill", plan_path, "--to", "drill", "--yes",
           "--auto-approve"] + list(args)
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
                report = json.load(open(rp))
                report["_dir"] = os.path.join(runs, r)
                report["_state"] = state
    return p.returncode, out, report


def sshd_log_size(host):
    return os.path.getsize("%s/sshd/%s/sshd.log" % (LAB, host))


def sshd_log_since(host, offset):
    with open("%s/sshd/%s/sshd.log" % (LAB, host), errors="replace") as f:
        f.seek(offset)
        return f.read()


def test_lab_drill_leaves_drill_site_clean():
    before = {h: sshd_log_size(h) for h in ("mi-db1", "mi-app1", "ro-db1",
                                            "ro-app1")}
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    metrics = os.path.join(state, "drill.prom")
    p = subprocess.run([tf.DROVER, "drill", os.path.join(tf.TOP, "plans", "lab.cfg"),
                        "--to", "drill", "--yes", "--auto-approve",
                        "--metrics", metrics],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=300)
    out = p.stdout.decode(errors="replace")
    tf.check(p.returncode == 0, "lab drill succeeds (rc %d)" % p.returncode, out)
    # Production was not touched: no connection reached milan or rome.
    for h, off in before.items():
        log = sshd_log_since(h, off)
        tf.check("Connection from" not in log and "Accepted" not in log,
                 "no connection to production host %s during the drill:\n%s"
                 % (h, log))
    # Cleanup ran and left the drill site as it was: no restored data, no
    # web server.
    for h in ("dr-app1", "dr-web1", "dr-db1"):
        www = "%s/%s/www" % (ROOT, h)
        left = []
        if os.path.isdir(www):
            for d, _, files in os.walk(www):
                left += [os.path.join(d, f) for f in files]
        tf.check(not left, "drill site %s left clean: %s" % (h, left[:5]))
    pids = subprocess.run(["pgrep", "-u", "drlab", "-f", "http.server"],
                          stdout=subprocess.PIPE).stdout.decode().split()
    for pid in pids:
        cmd = open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace")
        tf.check("127.0.5." not in cmd, "no web server left on the drill site")
    # The metrics file is there and says success.
    text = open(metrics).read()
    tf.check("drover_drill_last_success" in text and
             'drover_drill_last_success{plan="lab-recovery"} 1' in text,
             "metrics record the drill's success:\n" + text[:500])


def test_drill_refuses_production_before_connecting():
    off = sshd_log_size("mi-db1")
    p = drill_plan("refuse", """
      { name = "touch-prod"; tier = 1; scope = "global"; steps = (
        { name = "write"; on = "milan:mi-db1"; run = "touch ${var.root}/${host}/itest-refused"; } ); },
      { name = "restore"; tier = 1; scope = "global"; steps = (
        { name = "ok"; on = "to:db"; run = "true"; } ); }
    """)
    rc, out, rep = run_drill(p)
    tf.check(rc == 1, "a drill with a production write fails (rc %d)" % rc, out)
    t = tf.task(rep, "touch-prod/write")
    tf.check(t["state"] == "refused" and t["attempts"] == 0,
             "refused before any attempt: %s" % t)
    tf.check(tf.task(rep, "restore/ok")["state"] == "succeeded",
             "the rest of the drill ran", out)
    tf.check(not os.path.exists("%s/mi-db1/itest-refused" % ROOT), "nothing written")
    time.sleep(0.3)
    log = sshd_log_since("mi-db1", off)
    tf.check("Connection from" not in log,
             "milan's sshd saw no connection:\n" + log)


def make_backups(d, stamps_ages, corrupt=()):
    """Dated tar files with sha256 manifests; ages in hours before now."""
    os.makedirs(d, exist_ok=True)
    subprocess.run(["chown", "drlab:drlab", d], check=True)
    made = {}
    for stamp, age_h in stamps_ages:
        f = os.path.join(d, "payroll-%s.tar" % stamp)
        payload = os.path.join(d, "payload-%s" % stamp)
        with open(payload, "w") as pf:
            pf.write("payroll %s\n" % stamp)
        subprocess.run(["tar", "-cf", f, "-C", d, os.path.basename(payload)],
                       check=True)
        os.unlink(payload)
        digest = subprocess.run(["sha256sum", f], stdout=subprocess.PIPE,
                                check=True).stdout.decode().split()[0]
        if stamp in corrupt:
            digest = "0" * 64
        with open(f + ".sha256", "w") as mf:
            mf.write("%s  %s\n" % (digest, os.path.basename(f)))
        t = time.time() - age_h * 3600
        os.utime(f, (t, t))
        os.utime(f + ".sha256", (t, t))
        made[stamp] = t
    subprocess.run(["chmod", "-R", "a+rX", d], check=True)
    return made


def rp_plan(name, rpo="2d"):
    return tf.plan(name, """
      { name = "payroll"; tier = 1; scope = "global"; rpo = "%s"; steps = (
        { name = "prepare"; on = "torino:to-db1"; run = "mkdir -p ${var.root}/${host}/itest/rp"; },
        { name = "fetch"; copy = { from = "vault:backup:${var.root}/va-bk1/itest/rp/payroll-*.tar";
                                   to = "torino:to-db1:${var.root}/${host}/itest/rp/payroll.tar";
                                   sha256 = "manifest"; }; } ); }
    """ % rpo)


def test_incident_at_picks_restore_point():
    d = "%s/va-bk1/itest/rp" % ROOT
    subprocess.run(["rm", "-rf", d, "%s/to-db1/itest/rp" % ROOT])
    made = make_backups(d, [("a-3d", 72), ("b-2d", 48), ("c-1d", 24),
                            ("d-1h", 1)], corrupt=("c-1d",))
    incident = time.time() - 12 * 3600
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(incident))
    p = rp_plan("rp")
    rc, out, rep = tf.run(p, "--incident-at", at)
    tf.check(rc == 0, "restore point run succeeds (rc %d)" % rc, out)
    t = tf.task(rep, "payroll/fetch")
    tf.check(t.get("backup", "").endswith("payroll-b-2d.tar"),
             "picked the newest verified backup before the incident: %s" % t)
    tf.check("payroll-c-1d.tar" in (t["message"] or ""),
             "the corrupt newer one was passed over: %s" % t["message"])
    tf.check("payroll-d-1h" not in (t.get("backup") or ""),
             "a backup after the incident is never used")
    got = open("%s/to-db1/itest/rp/payroll.tar" % ROOT, "rb").read()
    tf.check(b"payroll b-2d" in got, "the restored file is that backup")
    svc = [s for s in rep["services"] if s["service"] == "payroll"][0]
    want = (incident - made["b-2d"]) * 1000
    tf.check(abs(svc["data_loss_ms"] - want) < 5000,
             "data-loss window %s ms, want ~%d" % (svc["data_loss_ms"], want))
    tf.check(svc["rpo_met"] is True, "36h of loss within a 2d RPO")
    tf.check(rep.get("incident_at", "").startswith(at[:16]), "incident time kept")


def test_incident_at_no_backup_before():
    d = "%s/va-bk1/itest/rp" % ROOT
    subprocess.run(["rm", "-rf", d])
    make_backups(d, [("x-1h", 1)])
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 6 * 3600))
    rc, out, rep = tf.run(rp_plan("rp2"), "--incident-at", at)
    tf.check(rc == 1, "no usable backup fails (rc %d)" % rc, out)
    t = tf.task(rep, "payroll/fetch")
    tf.check("before the incident" in (t["message"] or ""),
             "says why: %s" % t["message"])
    subprocess.run(["rm", "-rf", d, "%s/to-db1/itest/rp" % ROOT])
