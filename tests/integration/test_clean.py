#!/usr/bin/env python3
"""Integration tests: recover clean, not just intact (scan.h).

Restore-point sets in the lab's vault whose newest points carry what an
intrusion leaves (a ransom note, a .lockbit file, a string a YARA rule in
tests/integration/data/clean.yar matches); a scan in quarantine on the
destination, fallback to older points, verdicts kept for resume, the
compromise time an indicator sets. Run by CTest as
    python3 -m pytest tests/integration/test_clean.py --drover build/drover
"""

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

import test_failover as tf  # noqa: E402

LAB = tf.LAB
ROOT = tf.ROOT
HERE = os.path.dirname(os.path.abspath(__file__))
VAULT = ROOT + "/va-bk1/itest/clean"
DST = ROOT + "/to-db1/itest/clean"
NOTE = "All your important files are stolen and encrypted. LockBit Black\n"


def setup_module(module):
    for d in (VAULT, DST):
        shutil.rmtree(d, ignore_errors=True)
        # itest/ too belongs to the lab user: other tests write there.
        subprocess.run(["install", "-d", "-o", "drlab", "-g", "drlab",
                        os.path.dirname(d), d], check=True)
    shutil.copy(os.path.join(HERE, "data", "clean.yar"), DST + "/rules.yar")
    os.chmod(DST + "/rules.yar", 0o644)


def teardown_module(module):
    for d in (VAULT, DST):
        shutil.rmtree(d, ignore_errors=True)


def make_set(tenant, points):
    """points: [(stamp, age_hours, {name: text})]: one tar per point with
    its sha256 manifest, dated age_hours ago. Returns {stamp: mtime}."""
    d = os.path.join(VAULT, tenant)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    made = {}
    for stamp, age_h, files in points:
        src = tempfile.mkdtemp(prefix="pt-")
        for name, text in files.items():
            with open(os.path.join(src, name), "w") as f:
                f.write(text)
        tarf = os.path.join(d, "payroll-%s.tar" % stamp)
        subprocess.run(["tar", "-cf", tarf, "-C", src] + sorted(files),
                       check=True)
        digest = subprocess.run(["sha256sum", tarf], stdout=subprocess.PIPE,
                                check=True).stdout.decode().split()[0]
        with open(tarf + ".sha256", "w") as mf:
            mf.write("%s  %s\n" % (digest, os.path.basename(tarf)))
        t = time.time() - age_h * 3600
        os.utime(tarf, (t, t))
        os.utime(tarf + ".sha256", (t, t))
        made[stamp] = t
    subprocess.run(["chmod", "-R", "a+rX", VAULT], check=True)
    return made


YARA_SCAN = ("out=$(yara -r %s/rules.yar {}) || exit 2; "
             "[ -z \"$out\" ] || { printf '%%s\\n' \"$out\"; exit 1; }" % DST)


def clean_plan(name, copy_extra="", services_extra="", tenants=None,
               indicators="", limits=""):
    tenants = tenants or ["t1"]
    tn = "tenants = ( %s );" % ", ".join(
        '{ name = "%s"; priority = %d; }' % (t, i + 1)
        for i, t in enumerate(tenants))
    svc = """
      { name = "payroll"; tier = 1; scope = "tenant"; rpo = "4d"; steps = (
        { name = "prepare"; on = "torino:to-db1";
          run = "mkdir -p %(dst)s/${tenant}"; },
        { name = "fetch"; timeout = "2m";
          copy = { from = "vault:backup:%(vault)s/${tenant}/payroll-*.tar";
                   to = "torino:to-db1:%(dst)s/${tenant}/payroll.tar";
                   sha256 = "manifest"; %(extra)s }; } ); }
      %(more)s
    """ % {"dst": DST, "vault": VAULT, "extra": copy_extra,
           "more": services_extra}
    p = tf.plan(name, svc, tenants=tn + "\n" + indicators, limits=limits)
    return p


def tiers_plan(name, indicators):
    """Two tenants' sets restored in order: t1's in tier 1, t2's in tier 2
    (tiers are strict: t2's copy starts once t1's has ended)."""
    svcs = ",".join("""
      { name = "payroll-%(t)s"; tier = %(tier)d; scope = "global"; rpo = "4d"; steps = (
        { name = "prepare"; on = "torino:to-db1"; run = "mkdir -p %(dst)s/%(t)s"; },
        { name = "fetch"; timeout = "2m";
          copy = { from = "vault:backup:%(vault)s/%(t)s/payroll-*.tar";
                   to = "torino:to-db1:%(dst)s/%(t)s/payroll.tar";
                   sha256 = "manifest"; }; } ); }""" % {
        "t": t, "tier": i + 1, "dst": DST, "vault": VAULT}
        for i, t in enumerate(("t1", "t2")))
    return tf.plan(name, svcs, tenants=indicators)


def rejected(t):
    return [(os.path.basename(r["backup"]), r["reason"]) for r in t["rejected"]]


def test_newest_infected_previous_clean_restored():
    make_set("t1", [("a-3d", 72, {"pay.csv": "a\n"}),
                    ("b-2d", 48, {"pay.csv": "b\n"}),
                    ("c-1d", 24, {"pay.csv": "c\n", "README.txt": NOTE})])
    p = clean_plan("clean1", 'scan = "%s"; scan_timeout = "1m";' %
                   YARA_SCAN.replace('"', '\\"'))
    rc, out, rep = tf.run(p)
    tf.check(rc == 0, "the run succeeds on the older clean point (rc %d)" % rc,
             out)
    t = tf.task(rep, "payroll/t1/fetch")
    tf.check(t["backup"].endswith("payroll-b-2d.tar"),
             "the previous clean point is used: %s" % t)
    rj = rejected(t)
    tf.check(len(rj) == 1 and rj[0][0] == "payroll-c-1d.tar" and
             "drover_lab_lockbit_note" in rj[0][1],
             "the infected point is rejected, naming the rule: %s" % rj)
    got = subprocess.run(["tar", "-xOf", DST + "/t1/payroll.tar", "pay.csv"],
                         stdout=subprocess.PIPE, check=True).stdout
    tf.check(got == b"b\n", "the restored file is that point: %r" % got)
    left = [f for f in os.listdir(DST + "/t1") if f.startswith(".drover-q")]
    tf.check(not left, "the quarantine is removed after a clean point: %s"
             % left)
    # The report names the finding; the journal holds both verdicts.
    md = open(os.path.join(rep["_dir"], "report.md")).read()
    tf.check("drover_lab_lockbit_note" in md,
             "report.md names the finding")
    verdicts = [json.loads(line) for line in journal_payloads(rep["_dir"])
                if '"verdict"' in line]
    got = {(os.path.basename(v["backup"]), v["verdict"]) for v in verdicts
           if v.get("type") == "verdict"}
    tf.check(got == {("payroll-c-1d.tar", "infected"),
                     ("payroll-b-2d.tar", "clean")},
             "both verdicts journaled: %s" % got)


def journal_payloads(run_dir):
    """The journal's JSON payloads, read through drover's own reader."""
    data = open(os.path.join(run_dir, "journal"), "rb").read()
    out = []
    i = 0
    while True:
        j = data.find(b'{"type"', i)
        if j < 0:
            break
        depth, k, instr, esc = 0, j, False, False
        while k < len(data):
            ch = data[k:k + 1]
            if instr:
                if esc:
                    esc = False
                elif ch == b"\\":
                    esc = True
                elif ch == b'"':
                    instr = False
            elif ch == b'"':
                instr = True
            elif ch == b"{":
                depth += 1
            elif ch == b"}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        out.append(data[j:k + 1].decode(errors="replace"))
        i = k + 1
    return out


def test_every_point_within_max_fallback_infected():
    make_set("t1", [("a-3d", 72, {"pay.csv": "a\n"}),
                    ("b-2d", 48, {"pay.csv": "b\n", "x.lockbit": "??"}),
                    ("c-1d", 24, {"pay.csv": "c\n", "README.txt": NOTE})])
    if os.path.exists(DST + "/t1/payroll.tar"):
        os.unlink(DST + "/t1/payroll.tar")
    p = clean_plan(
        "clean2", 'scan = "%s"; max_fallback = 1;' %
        YARA_SCAN.replace('"', '\\"'),
        # A digest: the quarantine sees it, the hunt on the vault does not
        # (with a name or an extension the hunt would set the compromise
        # time first, and the window would start before it).
        indicators='indicators = { sha256 = ["%s"]; };'
        % hashlib.sha256(b"??").hexdigest())
    rc, out, rep = tf.run(p)
    tf.check(rc == 1, "no clean point within max_fallback fails (rc %d)" % rc,
             out)
    t = tf.task(rep, "payroll/t1/fetch")
    tf.check(t["state"] == "failed" and "max_fallback = 1" in t["message"],
             "says why: %s" % t["message"])
    tf.check(t["backup"] is None, "no point used: %s" % t)
    rj = rejected(t)
    tf.check([r[0] for r in rj] == ["payroll-c-1d.tar", "payroll-b-2d.tar"],
             "both newest points rejected, newest first: %s" % rj)
    tf.check("sha256 %s" % hashlib.sha256(b"??").hexdigest() in rj[1][1],
             "the indicator is named: %s" % rj[1][1])
    names = os.listdir(DST + "/t1")
    tf.check("payroll.tar" not in names,
             "nothing was put in place: %s" % names)
    q = [n for n in names if n.startswith(".drover-quarantine-")]
    tf.check(len(q) == 1 and [n for n in names if not n.startswith(".")] == [],
             "only the quarantine is left beside the destination: %s" % names)


def test_hanging_scan_killed_at_timeout():
    make_set("t1", [("a-3d", 72, {"pay.csv": "a\n"})])
    p = clean_plan("clean3", 'scan = "sleep 3017; exit 0"; '
                             'scan_timeout = "2s";')
    t0 = time.monotonic()
    rc, out, rep = tf.run(p)
    tf.check(rc == 1, "a hanging scan fails the task (rc %d)" % rc, out)
    t = tf.task(rep, "payroll/t1/fetch")
    tf.check("timed out after 2.0s and was killed" in t["message"] or
             "timed out after 2s and was killed" in t["message"],
             "says the scan timed out: %s" % t["message"])
    tf.check(time.monotonic() - t0 < 100, "it did not wait for the sleep")
    left = subprocess.run(["pgrep", "-u", "drlab", "-f", "sleep 3017"],
                          stdout=subprocess.PIPE).stdout.decode().split()
    tf.check(not left, "the scan's process is gone: %s" % left)


def test_indicator_moves_every_tenant_before_it():
    # t1's newest point (5h old) holds the ransom note: the run's
    # compromise time becomes that point's time, so t2, whose own newest
    # point (2h) is clean, is restored from before it (24h).
    m1 = make_set("t1", [("old", 48, {"pay.csv": "1\n"}),
                         ("new", 5, {"pay.csv": "1\n",
                                     "README-LOCKBIT.txt": "pay\n"})])
    m2 = make_set("t2", [("old", 72, {"pay.csv": "2\n"}),
                         ("mid", 24, {"pay.csv": "2\n"}),
                         ("new", 2, {"pay.csv": "2\n"})])
    p = tiers_plan("clean4",
                   'indicators = { names = ["README-LOCKBIT.txt"]; '
                   'yara = "%s/rules.yar"; };' % DST)
    rc, out, rep = tf.run(p)
    tf.check(rc == 0, "run succeeds (rc %d)" % rc, out)
    t1 = tf.task(rep, "payroll-t1/fetch")
    t2 = tf.task(rep, "payroll-t2/fetch")
    tf.check(t1["backup"].endswith("payroll-old.tar"), "t1: %s" % t1)
    tf.check("file name README-LOCKBIT.txt" in rejected(t1)[0][1],
             "t1's rejection names the ransom note: %s" % rejected(t1))
    tf.check(t2["backup"].endswith("payroll-mid.tar"),
             "t2 is restored from before the compromise time: %s" % t2)
    tf.check(rejected(t2)[0][0] == "payroll-new.tar" and
             "compromise time" in rejected(t2)[0][1],
             "t2's newer clean point is passed over: %s" % rejected(t2))
    tf.check(rep.get("compromise_at", "").startswith(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(m1["new"]))),
        "report.json names the compromise time: %s" % rep.get("compromise_at"))
    svc = {s["service"]: s for s in rep["services"]}
    tf.check(svc["payroll-t2"]["data_loss_ms"] > 20 * 3600 * 1000 and
             svc["payroll-t1"]["data_loss_ms"] > 40 * 3600 * 1000,
             "a data-loss window for each: %s" % svc)
    del m1, m2


def test_restored_before_compromise_known_is_flagged():
    # An indicator the hunt on the vault cannot see (a file digest: only
    # the quarantine looks at digests, so there is no hunt): t1 goes first
    # (tier 1) and restores its clean 3h point; t2's 5h point then holds a
    # file with a listed digest: the compromise time is 5h ago, after t1
    # was restored. The report says so and how to restore t1 again.
    evil = "x\n"
    make_set("t1", [("old", 48, {"pay.csv": "1\n"}), ("new", 3, {"pay.csv": "1\n"})])
    make_set("t2", [("old", 48, {"pay.csv": "2\n"}),
                    ("new", 5, {"pay.csv": "2\n", "tool.bin": evil})])
    p = tiers_plan("clean7",
                   'indicators = { sha256 = ["%s"]; };'
                   % hashlib.sha256(evil.encode()).hexdigest())
    rc, out, rep = tf.run(p)
    tf.check(rc == 0, "run succeeds (rc %d)" % rc, out)
    tf.check(not [t for t in rep["tasks"] if t["service"] == "hunt"],
             "no hunt: the vault side cannot see digests")
    tf.check(tf.task(rep, "payroll-t1/fetch")["backup"].endswith("payroll-new.tar"),
             "t1 restored its newest point before anything was found")
    md = open(os.path.join(rep["_dir"], "report.md")).read()
    tf.check("**taken after the compromise time** (restored before it was "
             "known): restore it again with --clean-before" in md,
             "the report flags t1's point:\n" + md[md.find("## Restore"):][:1500])


def test_hunt_before_concurrent_choices_and_resume():
    # Two tenants' copies in the same tier, at once (per_host = 4): t1's
    # newest point (3h) is clean but newer than t2's newest (5h), which
    # holds the ransom note. The hunt on the vault runs before either
    # chooses: both restore a point from before 5h ago. The first run's
    # scans err (a flag file), after the hunt; resume keeps the compromise
    # time from the journal and does not hunt again.
    m1 = make_set("t1", [("old", 48, {"pay.csv": "1\n"}),
                         ("new", 3, {"pay.csv": "1\n"})])
    m2 = make_set("t2", [("old", 49, {"pay.csv": "2\n"}),
                         ("new", 5, {"pay.csv": "2\n",
                                     "README-LOCKBIT.txt": NOTE})])
    flag = DST + "/scan-err"
    open(flag, "w").close()
    scan = "if [ -e %s ]; then exit 2; fi; exit 0" % flag
    p = clean_plan("clean8", 'scan = "%s";' % scan, tenants=["t1", "t2"],
                   indicators='indicators = { names = ["README-LOCKBIT.txt"]; };',
                   limits="limits: { sessions = 8; per_site = 8; per_host = 4; };")
    rc, out, rep = tf.run(p)
    tf.check(rc == 1, "first run: the scans err (rc %d)" % rc, out)
    h = tf.task(rep, "hunt/indicators@vault/va-bk1")
    tf.check(h["state"] == "succeeded" and "compromise time" in h["message"],
             "the hunt ran first and found the note: %s" % h)
    want = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(m2["new"]))
    tf.check(rep.get("compromise_at", "").startswith(want),
             "the compromise time is t2's point: %s" % rep.get("compromise_at"))
    os.unlink(flag)
    run_id = os.path.basename(rep["_dir"])
    state = os.path.dirname(os.path.dirname(rep["_dir"]))
    env = dict(os.environ, DROVER_STATE_DIR=state)
    r = subprocess.run([tf.DROVER, "resume", run_id, "--yes"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=240)
    text = r.stdout.decode(errors="replace")
    tf.check(r.returncode == 0, "resume succeeds (rc %d)" % r.returncode, text)
    rep2 = json.load(open(os.path.join(rep["_dir"], "report.json")))
    t1 = tf.task(rep2, "payroll/t1/fetch")
    t2 = tf.task(rep2, "payroll/t2/fetch")
    tf.check(t1["backup"].endswith("payroll-old.tar"),
             "t1's newer clean point is not used: %s" % t1)
    tf.check(rejected(t1)[0][0] == "payroll-new.tar" and
             "compromise time" in rejected(t1)[0][1],
             "t1's point after the compromise time is passed over: %s"
             % rejected(t1))
    tf.check(t2["backup"].endswith("payroll-old.tar"), "t2: %s" % t2)
    tf.check(rejected(t2)[0][0] == "payroll-new.tar" and
             "hunt/indicators@vault/va-bk1" in rejected(t2)[0][1] and
             "README-LOCKBIT.txt" in rejected(t2)[0][1],
             "t2's infected point is rejected from the hunt's verdict: %s"
             % rejected(t2))
    tf.check(rep2.get("compromise_at", "").startswith(want),
             "resume keeps the compromise time: %s" % rep2.get("compromise_at"))
    hunts = [json.loads(x) for x in journal_payloads(rep["_dir"])
             if '"hunt/indicators@' in x and '"running"' in x]
    tf.check(len(hunts) == 1, "the hunt ran once: %s" % hunts)
    md = open(os.path.join(rep["_dir"], "report.md")).read()
    tf.check("hunt" in md and "indicators" in md, "report.md shows the hunt")
    del m1


def test_hunt_fails_copies_do_not_choose():
    # The hunt's YARA rules file is a FIFO nobody writes: yara blocks on
    # it, the hunt's deadline (defaults.scan_timeout) ends it, and no copy
    # from a set starts: drover never chooses without the hunt.
    make_set("t1", [("old", 48, {"pay.csv": "1\n"}),
                    ("new", 3, {"pay.csv": "1\n"})])
    fifo = VAULT + "/rules.fifo"
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo, 0o644)
    if os.path.exists(DST + "/t1/payroll.tar"):
        os.unlink(DST + "/t1/payroll.tar")
    p = clean_plan("clean9", indicators='indicators = { yara = "%s"; };'
                   % fifo)
    text = open(p).read().replace('retry_delay = "100ms"; };',
                                  'retry_delay = "100ms"; '
                                  'scan_timeout = "2s"; };', 1)
    open(p, "w").write(text)
    rc, out, rep = tf.run(p)
    os.unlink(fifo)
    tf.check(rc == 1, "the run fails (rc %d)" % rc, out)
    h = tf.task(rep, "hunt/indicators@vault/va-bk1")
    tf.check(h["state"] == "failed" and "timed out" in (h["message"] or ""),
             "the hunt timed out: %s" % h)
    t = tf.task(rep, "payroll/t1/fetch")
    tf.check(t["state"] != "succeeded" and t["attempts"] == 0 and
             t["backup"] is None, "the copy never started: %s" % t)
    tf.check(not os.path.exists(DST + "/t1/payroll.tar"),
             "nothing was restored")
    left = subprocess.run(["pgrep", "-u", "drlab", "-f", fifo],
                          stdout=subprocess.PIPE).stdout.decode().split()
    tf.check(not left, "the hunt's yara is gone: %s" % left)


def test_clean_before_flag():
    make_set("t1", [("a", 72, {"pay.csv": "a\n"}), ("b", 24, {"pay.csv": "b\n"})])
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 48 * 3600))
    p = clean_plan("clean5", 'scan = "true";')
    rc, out, rep = tf.run(p, "--clean-before", at)
    tf.check(rc == 0, "run succeeds (rc %d)" % rc, out)
    t = tf.task(rep, "payroll/t1/fetch")
    tf.check(t["backup"].endswith("payroll-a.tar") and
             "compromise time" in rejected(t)[0][1],
             "--clean-before moves the choice: %s" % t)


def test_resume_does_not_rescan_judged_point():
    make_set("t1", [("a-3d", 72, {"pay.csv": "a\n"}),
                    ("b-2d", 48, {"pay.csv": "b\n"}),
                    ("c-1d", 24, {"pay.csv": "c\n"})])
    log = DST + "/t1/scans.log"
    flag = DST + "/t1/hang"
    for f in (log,):
        if os.path.exists(f):
            os.unlink(f)
    open(flag, "w").close()
    scan = ("ls {} | grep -v '^\\\\.' >> %s; for f in {}/*; do case \\\"$f\\\" in "
            "*c-1d*) echo \\\"evil in $f\\\"; exit 1;; esac; done; "
            "if [ -e %s ]; then sleep 3023; fi; exit 0" % (log, flag))
    p = clean_plan("clean6", 'scan = "%s"; scan_timeout = "2s";' % scan)
    rc, out, rep = tf.run(p)
    tf.check(rc == 1, "first run: the second point's scan hangs (rc %d)" % rc,
             out)
    os.unlink(flag)
    run_id = os.path.basename(rep["_dir"])
    state = os.path.dirname(os.path.dirname(rep["_dir"]))
    env = dict(os.environ, DROVER_STATE_DIR=state)
    r = subprocess.run([tf.DROVER, "resume", run_id, "--yes"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=240)
    text = r.stdout.decode(errors="replace")
    tf.check(r.returncode == 0, "resume succeeds (rc %d)" % r.returncode, text)
    rep2 = json.load(open(os.path.join(rep["_dir"], "report.json")))
    t = tf.task(rep2, "payroll/t1/fetch")
    tf.check(t["backup"].endswith("payroll-b-2d.tar"), "b restored: %s" % t)
    tf.check("not scanned again" in rejected(t)[0][1],
             "the infected point is rejected from the journal: %s" % rejected(t))
    scans = open(log).read().split()
    tf.check(scans.count("payroll-c-1d.tar") == 1,
             "the infected point was scanned once: %s" % scans)
    tf.check(scans.count("payroll-b-2d.tar") == 2,
             "the unjudged (timed out) one was scanned again: %s" % scans)


def test_lab_failover_restores_databases():
    """plans/lab.cfg (the lab's copy): every tenant's payroll and anagrafe
    come back in PostgreSQL on torino from the newest clean point before
    the incident; each table's rows match the backup's manifest and the
    count the lab put in that night's database."""
    plan = os.path.join(LAB, "lab.cfg")
    rc, out, rep = tf.run(plan, timeout=400)
    tf.check(rc == 0, "lab failover succeeds (rc %d)" % rc, out)
    pgbin = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
    psql = "/usr/lib/postgresql/%s/bin/psql" % pgbin
    sock = ROOT + "/to-app1/run/pg"
    for tenant, code in (("comune-brescia", "BS"), ("comune-bergamo", "BG"),
                         ("comune-lodi", "LO")):
        for svc, table, base, per in (("payroll", "employees", 120, 7),
                                      ("anagrafe", "residents", 900, 31)):
            t = tf.task(rep, "%s/%s/fetch-backup" % (svc, tenant))
            d = "%s/va-bk1/points/%s" % (ROOT, tenant)
            pts = sorted((f for f in os.listdir(d) if f.startswith(svc + "-")
                          and f.endswith(".dump")),
                         key=lambda f: -os.path.getmtime(os.path.join(d, f)))
            tf.check(os.path.basename(t["backup"]) == pts[1],
                     "%s/%s: the newest clean point %s: %s"
                     % (svc, tenant, pts[1], t["backup"]))
            tf.check([r[0] for r in rejected(t)] == [pts[0]],
                     "%s/%s: the point with the intrusion is rejected: %s"
                     % (svc, tenant, rejected(t)))

            def q(sql):
                r = subprocess.run(["runuser", "-u", "drlab", "--", psql,
                                    "-h", sock, "-p", "5432", "-d",
                                    "%s_%s" % (svc, code), "-Atc", sql],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, cwd="/")
                tf.check(r.returncode == 0, "psql: %s" % r.stdout.decode())
                return int(r.stdout.decode().strip())
            n = q("SELECT count(*) FROM %s" % table)
            m = q("SELECT rows FROM drover_manifest WHERE tbl = '%s'" % table)
            mult = 3 if svc == "anagrafe" else 1
            want = base + per * 3 + mult * len(tenant)
            tf.check(n == m == want, "%s_%s.%s: %d rows, manifest %d, lab %d"
                     % (svc, code, table, n, m, want))
    payroll = [t for t in rep["tasks"] if t["service"] == "payroll" and
               "fetch-backup" in t["key"]]
    tf.check(all("drover_lab_lockbit_note" in t["rejected"][0]["reason"]
                 for t in payroll), "the finding is named: %s" %
             [t["rejected"] for t in payroll])


def test_check_lists_newest_clean_point():
    """drover check: per tenant and service the newest clean point of each
    set, its age against the RPO, the points passed over; nothing copied."""
    plan = os.path.join(LAB, "lab.cfg")
    state = tempfile.mkdtemp(prefix="drover-state-")
    before = sorted(os.listdir(ROOT + "/to-app1"))
    r = subprocess.run([tf.DROVER, "check", plan, "--from", "milan,rome",
                        "--to", "torino", "--json"],
                       env=dict(os.environ, DROVER_STATE_DIR=state),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=120)
    out = r.stdout.decode(errors="replace")
    rows = {}
    for line in out.splitlines():
        if line.startswith("{"):
            o = json.loads(line)
            rows[o["check"]] = o
    for tenant in ("comune-brescia", "comune-bergamo", "comune-lodi"):
        d = "%s/va-bk1/points/%s" % (ROOT, tenant)
        for svc in ("payroll", "anagrafe", "einvoicing", "website"):
            o = rows.get("backup %s/%s" % (svc, tenant))
            tf.check(o is not None, "a row for %s/%s" % (svc, tenant), out)
            pts = sorted((f for f in os.listdir(d) if f.startswith(svc + "-")
                          and not f.endswith(".sha256")),
                         key=lambda f: -os.path.getmtime(os.path.join(d, f)))
            infected = svc == "payroll" or \
                (svc, tenant) in (("einvoicing", "comune-brescia"),
                                  ("website", "comune-lodi"))
            want = pts[1] if infected else pts[0]
            tf.check(o["status"] == "ok" and
                     ("newest clean point %s," % want) in o["detail"] and
                     "rpo 24h" in o["detail"],
                     "%s/%s: %s" % (svc, tenant, o["detail"]))
            if infected:
                tf.check(("passed over: %s: infected" % pts[0]) in o["detail"],
                         "names the infected point: %s" % o["detail"])
            else:
                tf.check("after the compromise time" in o["detail"],
                         "a point after the compromise is flagged: %s"
                         % o["detail"])
    tf.check(sorted(os.listdir(ROOT + "/to-app1")) == before,
             "check copied nothing to the target")


TESTS = [test_newest_infected_previous_clean_restored,
         test_every_point_within_max_fallback_infected,
         test_hanging_scan_killed_at_timeout,
         test_indicator_moves_every_tenant_before_it,
         test_restored_before_compromise_known_is_flagged,
         test_hunt_before_concurrent_choices_and_resume,
         test_hunt_fails_copies_do_not_choose,
         test_clean_before_flag,
         test_resume_does_not_rescan_judged_point,
         test_check_lists_newest_clean_point,
         test_lab_failover_restores_databases]
