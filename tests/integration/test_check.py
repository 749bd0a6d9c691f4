#!/usr/bin/env python3
"""Integration tests: drover check against the lab's real sshd servers.

Usage: test_check.py DROVER_BINARY [TEST...]

Brings the lab up (contrib/lab/lab up; needs root), then runs drover check on
the lab plan and on small plans that point at the lab's hosts: host keys,
backups (missing, unreadable, bad manifest, older than the RPO), required
commands, unreachable hosts, the duration estimate. Files a test needs are
created under the hosts' itest/ directories and removed afterwards; the lab
itself is never changed. Exit 77 (skipped) when not root. Prints
'N passed, N failed' at the end.
"""

import atexit
import hashlib
import json
import os
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
TEMPS = []


def tmpdir(prefix):
    """A temp dir removed when the tests end."""
    d = tempfile.mkdtemp(prefix=prefix)
    TEMPS.append(d)
    return d


@atexit.register
def _remove_temps():
    for d in TEMPS:
        shutil.rmtree(d, ignore_errors=True)

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
    hosts = ( { name = "va-bk1"; address = "127.0.4.1"; roles = ["backup"]; } ); }
);
"""

TENANTS = """
tenants = ( { name = "comune-lodi"; priority = 1; } );
"""


def plan(name, services, known_hosts=None, extra_host="", tenants=TENANTS):
    """Writes a lab plan to a temp dir and returns its path."""
    d = tmpdir("drover-check-plan-")
    text = """version = 1;
name = "%s";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s"; port = 2222; connect_timeout = "3s";
            timeout = "1m"; retries = 0; retry_delay = "100ms"; };
limits: { sessions = 8; per_site = 4; per_host = 2; };
vars = { root = "%s"; };
%s
%s
services = ( %s );
""" % (name, LAB, known_hosts or (LAB + "/known_hosts"), ROOT,
       SITES % extra_host, tenants, services)
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def run(plan_path, *args, state=None, timeout=120):
    """Runs drover check; returns (rc, stdout, stderr)."""
    if state is None:
        state = tmpdir("drover-check-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    cmd = [DROVER, "check", plan_path] + list(args)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def run_json(plan_path, *args, **kw):
    """Runs drover check --json; returns (rc, rows, stdout+stderr)."""
    rc, out, err = run(plan_path, "--json", *args, **kw)
    rows = []
    for line in out.splitlines():
        rows.append(json.loads(line))  # every stdout line is one object
    return rc, rows, out + err


def row(rows, host, check_name):
    for r in rows:
        if r["host"] == host and r["check"] == check_name:
            return r
    raise AssertionError("no row %s %s in %s" % (
        host, check_name, [(r["host"], r["check"]) for r in rows]))


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- drover output ---\n" + out[-3000:] if out else ""))


def itdir(host, test):
    return "%s/%s/itest/%s" % (ROOT, host, test)


def make_backup(test, name, age=None, manifest=True, mode=0o644):
    """Creates a backup file (and its manifest) in the vault host's root."""
    d = itdir("va-bk1", test)
    os.makedirs(d, exist_ok=True)
    os.chmod(os.path.dirname(d), 0o755)
    os.chmod(d, 0o755)
    p = os.path.join(d, name)
    data = b"backup %s\n" % name.encode()
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
    if manifest is True:
        with open(p + ".sha256", "w") as f:
            f.write("%s  %s\n" % (hashlib.sha256(data).hexdigest(), name))
    elif manifest:
        with open(p + ".sha256", "w") as f:
            f.write(manifest)
    if age:
        subprocess.run(["touch", "-d", age, p], check=True)
    return p


def copy_service(src, rpo=None, sha256="manifest", tier=1, name="payroll"):
    return """
      { name = "%s"; tier = %d; scope = "tenant"; %s
        steps = (
          { name = "fetch"; copy = { from = "vault:backup:%s";
                                     to = "to:db:${var.root}/${host}/itest/check-restore/";
                                     sha256 = "%s"; }; } ); }
    """ % (name, tier, 'rpo = "%s";' % rpo if rpo else "", src, sha256)


def clean(host, test):
    shutil.rmtree(itdir(host, test), ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(itdir(host, test)))  # itest/, when empty
    except OSError:
        pass


# ---------------------------------------------------------------- tests


def test_lab_plan():
    """The lab plan, milan and rome lost, torino the target: all ready."""
    lab = os.path.join(TOP, "plans", "lab.cfg")
    rc, rows, out = run_json(lab, "--from", "milan,rome", "--to", "torino")
    check(rc == 0, "lab check exit %d" % rc, out)
    hosts = {r["host"] for r in rows if r["check"] == "ssh"}
    want = {"to-db1", "to-app1", "to-web1", "va-bk1", "mi-db1", "mi-app1",
            "ro-db1", "ro-app1"}
    check(want <= hosts, "ssh rows for %s, got %s" % (want, hosts), out)
    check(not any(r["site"] == "drill" for r in rows), "no drill host", out)
    check(all(r["status"] == "ok" for r in rows), "every row ok", out)
    backups = [r for r in rows if r["kind"] == "backup"]
    check(len(backups) == 15, "5 services x 3 tenants backups: %d" %
          len(backups), out)
    for b in backups:
        check(b["host"] == "va-bk1" and b["rpo_ms"] == 86400000 and
              b["age_ms"] is not None and "rpo 24h" in b["detail"],
              "backup row with age and rpo: %s" % b, out)
    check("check: %d ok, 0 failed" % len(rows) in out, "summary line", out)
    # The table form: same result, grouped by site.
    rc, text, err = run(lab, "--from", "milan,rome", "--to", "torino")
    check(rc == 0, "table exit %d" % rc, text + err)
    for site in ("milan", "rome", "torino", "vault"):
        check("\n%s\n" % site in text, "site group %s" % site, text)
    check("backup payroll/comune-lodi" in text and " old, rpo 24h" in text,
          "backup row with its age", text)
    check("check: %d ok, 0 failed" % len(rows) in text, "summary", text)
    check("no past runs to estimate from" in text, "no estimate", text)


def test_default_from_and_drill():
    """Without --from: every primary/secondary site; --drill: drill mode."""
    lab = os.path.join(TOP, "plans", "lab.cfg")
    rc, text, err = run(lab, "--to", "torino")
    check(rc == 0, "default from exit %d" % rc, text + err)
    check("from milan,rome to torino" in text, "both sites lost", text)
    rc, rows, out = run_json(lab, "--to", "drill", "--drill")
    check(rc == 0, "drill check exit %d" % rc, out)
    hosts = {r["host"] for r in rows if r["check"] == "ssh"}
    check({"dr-db1", "dr-app1", "dr-web1", "va-bk1"} <= hosts,
          "drill hosts checked: %s" % hosts, out)
    check(not hosts & {"mi-db1", "mi-app1", "ro-db1", "ro-app1"},
          "a drill never connects to production: %s" % hosts, out)


def test_hostkey_changed():
    d = tmpdir("drover-check-kh-")
    kh = labtest.changed_known_hosts(d)
    log = LAB + "/sshd/to-db1/sshd.log"
    before = os.path.getsize(log)
    p = plan("check-hostkey", """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "a"; on = "to:*"; run = "true"; requires = ["sh"]; } ); }
    """, known_hosts=kh)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "changed key fails (rc %d)" % rc, out)
    r = row(rows, "to-db1", "ssh")
    check(r["status"] == "failed" and "host key" in r["detail"] and
          r["detail"].count("SHA256:") == 2,
          "ssh row names the key and both fingerprints: %s" % r, out)
    check(row(rows, "to-db1", "command sh")["status"] == "skipped",
          "nothing checked without a session", out)
    for h in ("to-app1", "to-web1"):
        check(row(rows, h, "ssh")["status"] == "ok", "%s still ok" % h, out)
        check(row(rows, h, "command sh")["status"] == "ok", "%s sh" % h, out)
    rc, text, err = run(p, "--from", "milan", "--to", "torino")
    check(rc == 1 and "host key changed" in text and "check: 4 ok, 1 failed, 1 not checked" in text,
          "table names the key", text + err)
    time.sleep(0.3)
    with open(log, errors="replace") as f:
        f.seek(before)
        tail = f.read()
    check("Accepted publickey" not in tail, "no authentication happened:\n" + tail)


def test_hostkey_unknown_and_auth_refused():
    d = tmpdir("drover-check-kh-")
    kh = d + "/known_hosts"
    with open(kh, "w") as f:
        for l in open(LAB + "/known_hosts"):
            if not l.startswith("[127.0.3.2]:2222 "):
                f.write(l)
    svc = """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "a"; on = "to:*"; run = "true"; } ); }
    """
    p = plan("check-unknown", svc, known_hosts=kh)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "unknown key fails (rc %d)" % rc, out)
    r = row(rows, "to-app1", "ssh")
    check(r["status"] == "failed" and "host key unknown" in r["detail"] and
          "SHA256:" in r["detail"], "unknown key named: %s" % r, out)
    check(row(rows, "to-db1", "ssh")["status"] == "ok", "others ok", out)
    # A key the hosts do not accept.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    d + "/stranger"], check=True)
    p = plan("check-auth", svc)
    with open(p) as f:
        text = f.read().replace(LAB + "/client/id_ed25519", d + "/stranger")
    with open(p, "w") as f:
        f.write(text)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "refused auth fails (rc %d)" % rc, out)
    for h in ("to-db1", "to-app1", "to-web1"):
        r = row(rows, h, "ssh")
        check(r["status"] == "failed" and "auth refused" in r["detail"],
              "auth refused: %s" % r, out)


def test_missing_backup():
    clean("va-bk1", "check-missing")
    p = plan("check-missing", copy_service(
        "${var.root}/${host}/itest/check-missing/no-such-%d.tar" % os.getpid(),
        rpo="1d"))
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "missing backup fails (rc %d)" % rc, out)
    r = row(rows, "va-bk1", "backup payroll/comune-lodi")
    check(r["status"] == "failed" and "missing" in r["detail"] and
          "no-such-" in r["detail"], "row says missing: %s" % r, out)
    check(row(rows, "va-bk1", "ssh")["status"] == "ok", "ssh ok", out)
    check(row(rows, "to-db1", "ssh")["status"] == "ok", "destination ok", out)


def test_backup_too_old():
    test = "check-age"
    clean("va-bk1", test)
    try:
        make_backup(test, "old.tar", age="3 days ago")
        src = "${var.root}/${host}/itest/%s/old.tar" % test
        p = plan("check-age", copy_service(src, rpo="1d"))
        rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
        check(rc == 1, "too old fails (rc %d)" % rc, out)
        r = row(rows, "va-bk1", "backup payroll/comune-lodi")
        check(r["status"] == "failed" and "too old" in r["detail"] and
              "3d old" in r["detail"] and "rpo 24h" in r["detail"],
              "row shows the age: %s" % r, out)
        check(abs(r["age_ms"] - 3 * 86400000) < 600000, "age ~3d: %s" % r)
        rc, text, err = run(p, "--from", "milan", "--to", "torino")
        check(rc == 1 and "3d old, rpo 24h" in text, "table shows it", text)
        # The same, fresh.
        make_backup(test, "old.tar")
        rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
        check(rc == 0, "fresh backup passes (rc %d)" % rc, out)
        r = row(rows, "va-bk1", "backup payroll/comune-lodi")
        check(r["status"] == "ok" and r["age_ms"] < 600000 and
              "rpo 24h" in r["detail"], "fresh row ok: %s" % r, out)
    finally:
        clean("va-bk1", test)


def test_backup_manifest_and_access():
    """Manifest missing or malformed, file unreadable by the login user."""
    test = "check-manifest"
    clean("va-bk1", test)
    try:
        make_backup(test, "noman.tar", manifest=False)
        make_backup(test, "badman.tar", manifest="not a digest\n")
        make_backup(test, "secret.tar", mode=0o600)
        make_backup(test, "hex.tar", manifest=False)
        base = "${var.root}/${host}/itest/%s/" % test
        p = plan("check-manifest", ",".join([
            copy_service(base + "noman.tar", name="s1"),
            copy_service(base + "badman.tar", name="s2"),
            copy_service(base + "secret.tar", name="s3"),
            copy_service(base + "hex.tar", name="s4", sha256="0" * 64)]))
        rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
        check(rc == 1, "fails (rc %d)" % rc, out)
        r = row(rows, "va-bk1", "backup s1/comune-lodi")
        check(r["status"] == "failed" and "manifest missing" in r["detail"],
              "manifest missing: %s" % r, out)
        r = row(rows, "va-bk1", "backup s2/comune-lodi")
        check(r["status"] == "failed" and "no sha256 digest" in r["detail"],
              "bad manifest: %s" % r, out)
        r = row(rows, "va-bk1", "backup s3/comune-lodi")
        check(r["status"] == "failed" and "not readable by drlab" in r["detail"],
              "unreadable: %s" % r, out)
        r = row(rows, "va-bk1", "backup s4/comune-lodi")
        check(r["status"] == "ok" and r["rpo_ms"] is None and
              "no rpo" in r["detail"],
              "a set digest needs no manifest: %s" % r, out)
    finally:
        clean("va-bk1", test)


def test_local_backup():
    """A copy from the controller's disk is checked on the controller."""
    d = tmpdir("drover-check-local-")
    with open(d + "/a.tar", "w") as f:
        f.write("a\n")
    with open(d + "/a.tar.sha256", "w") as f:
        f.write("%s  a.tar\n" % hashlib.sha256(b"a\n").hexdigest())
    with open(d + "/b.tar", "w") as f:
        f.write("b\n")
    subprocess.run(["touch", "-d", "3 days ago", d + "/b.tar"], check=True)
    steps = ",".join("""
        { name = "%s"; copy = { from = "%s/%s.tar";
                                to = "to:db:${var.root}/${host}/itest/check-restore/";
                                sha256 = "%s"; }; }""" % (n, d, n, s)
                     for n, s in (("a", "manifest"), ("b", "0" * 64)))
    p = plan("check-local", """
      { name = "local"; tier = 1; scope = "global"; rpo = "1d"; steps = ( %s ); }
    """ % steps)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "old local file fails (rc %d)" % rc, out)
    a = row(rows, None, "backup local (a)")
    b = row(rows, None, "backup local (b)")
    check(a["site"] == "controller" and a["status"] == "ok", "a ok: %s" % a, out)
    check(b["status"] == "failed" and "3d old" in b["detail"], "b old: %s" % b, out)


def test_missing_command():
    p = plan("check-cmd", """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "a"; on = "torino:to-db1"; run = "true";
          requires = ["no-such-cmd-xyz", "tar", "sh"]; },
        { name = "b"; on = "torino:to-db1"; run = "true"; requires = ["tar"]; } ); }
    """)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "missing command fails (rc %d)" % rc, out)
    r = row(rows, "to-db1", "command no-such-cmd-xyz")
    check(r["status"] == "failed" and "no-such-cmd-xyz" in r["detail"],
          "row names it: %s" % r, out)
    check(row(rows, "to-db1", "command tar")["status"] == "ok", "tar", out)
    check(row(rows, "to-db1", "command sh")["status"] == "ok", "sh", out)
    check(len([r for r in rows if r["check"] == "command tar"]) == 1,
          "one row per command and host", out)
    rc, text, err = run(p, "--from", "milan", "--to", "torino")
    check(rc == 1 and "command no-such-cmd-xyz" in text and
          "check: 3 ok, 1 failed" in text, "table", text + err)


def test_unreachable():
    ghost = ', { name = "to-ghost"; address = "127.0.3.99"; roles = ["ghost"]; }'
    p = plan("check-unreach", """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "a"; on = "torino:to-ghost"; run = "true"; requires = ["sh"]; } ); }
    """, extra_host=ghost)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 1, "unreachable fails (rc %d)" % rc, out)
    r = row(rows, "to-ghost", "ssh")
    check(r["status"] == "failed" and "unreachable" in r["detail"],
          "reason: %s" % r, out)
    p = plan("check-unreach-ok", """
      { name = "svc"; tier = 1; scope = "global"; steps = (
        { name = "a"; on = "torino:to-ghost"; run = "true"; unreachable = "continue"; } ); }
    """, extra_host=ghost)
    rc, rows, out = run_json(p, "--from", "milan", "--to", "torino")
    check(rc == 0, "unreachable = continue is a warning (rc %d)" % rc, out)
    check(row(rows, "to-ghost", "ssh")["status"] == "warning", "warning", out)


def test_estimate():
    state = tmpdir("drover-check-state-")

    def report(run_id, plan_name, mode, st, dur):
        d = os.path.join(state, "runs", run_id)
        os.makedirs(d)
        with open(os.path.join(d, "report.json"), "w") as f:
            json.dump({"run_id": run_id, "plan": plan_name, "mode": mode,
                       "state": st, "duration_ms": dur, "tasks": []}, f)

    report("20250101T000001Z-a", "lab-recovery", "failover", "succeeded", 5000)
    report("20250101T000002Z-b", "lab-recovery", "failover", "succeeded", 7300)
    report("20250101T000003Z-c", "lab-recovery", "failover", "succeeded", 9100)
    report("20250101T000004Z-d", "lab-recovery", "failover", "failed", 100)
    report("20250101T000005Z-e", "lab-recovery", "drill", "succeeded", 60000)
    report("20250101T000006Z-f", "other-plan", "failover", "succeeded", 1)
    os.makedirs(os.path.join(state, "runs", "20250101T000007Z-broken"))
    lab = os.path.join(TOP, "plans", "lab.cfg")
    rc, text, err = run(lab, "--to", "torino", state=state)
    check(rc == 0, "exit %d" % rc, text + err)
    check("estimated duration: 7.3s (median of 3 past runs)" in text,
          "estimate from 3 matching runs", text)
    rc, text, err = run(lab, "--to", "drill", "--drill", state=state)
    check("estimated duration: 1m00s (median of 1 past run)" in text,
          "drill estimate", text)


def test_usage():
    lab = os.path.join(TOP, "plans", "lab.cfg")
    rc, out, err = run(lab)
    check(rc == 2 and "--to" in err, "no --to is a usage error (rc %d)" % rc,
          out + err)
    rc, out, err = run(lab, "--to", "torino", "--bogus")
    check(rc == 2, "unknown option (rc %d)" % rc, out + err)
    rc, out, err = run(lab, "--to", "nowhere")
    check(rc == 1 and "\"nowhere\" is not in the plan" in err,
          "unknown site (rc %d)" % rc,
          out + err)
