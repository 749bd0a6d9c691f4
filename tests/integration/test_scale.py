"""Integration test: a 1,300-tenant plan on the lab, to success.

The incident's size in tenants, with short steps so that the suite stays
quick: two tenant services on torino (2,600 tasks). The figures (CPU, wall,
memory) are for tests/bench/scale.sh; here: it succeeds, in order, the
journal syncs fewer times than there are tasks, every task's output is in
the run's one output file and `drover logs` gives one back.
"""

import json
import os
import re
import subprocess
import tempfile

import labtest

LAB = labtest.LAB
DROVER = None  # set by conftest.py
TENANTS = 1300


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- output ---\n" + out[-4000:]
                                     if out else ""))


def plan(d):
    lines = ['version = 1;', 'name = "scale-it";', 'strict_tiers = true;',
             'defaults: { user = "drlab"; identity = "%s/client/id_ed25519";'
             ' known_hosts = "%s/known_hosts"; port = 2222; timeout = "1m";'
             ' retries = 0; };' % (LAB, LAB),
             'limits: { sessions = 32; per_site = 32; per_host = 4; };',
             '''sites = (
  { name = "milan"; role = "primary"; hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby"; hosts = (
      { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; },
      { name = "to-app1"; address = "127.0.3.2"; roles = ["app"]; },
      { name = "to-web1"; address = "127.0.3.3"; roles = ["web"]; } ); }
);''', 'tenants = (']
    lines.append(',\n'.join(
        '  { name = "comune-%05d"; priority = %d; }' % (i, (i * 7919) %
                                                       TENANTS + 1)
        for i in range(TENANTS)))
    lines.append(''');
services = (
  { name = "payroll"; tier = 1; scope = "tenant"; steps = (
    { name = "restore"; on = "to:db"; run = "echo ${tenant} restored"; } ); },
  { name = "website"; tier = 2; scope = "tenant"; steps = (
    { name = "publish"; on = "to:web"; run = "true"; } ); }
);''')
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def test_thirteen_hundred_tenants():
    d = tempfile.mkdtemp()
    state = tempfile.mkdtemp()
    env = dict(os.environ, DROVER_STATE_DIR=state, DROVER_JOURNAL_STATS="1")
    p = subprocess.run([DROVER, "failover", plan(d), "--from", "milan",
                        "--to", "torino", "--yes"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=900)
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0, "exit %d" % p.returncode, err + out)
    rid = os.listdir(os.path.join(state, "runs"))[0]
    run_dir = os.path.join(state, "runs", rid)
    rep = json.load(open(os.path.join(run_dir, "report.json")))
    tasks = rep["tasks"]
    check(len(tasks) == 2 * TENANTS, "%d tasks" % len(tasks))
    check({t["state"] for t in tasks} == {"succeeded"}, "all succeeded")
    # Strict tiers: every payroll task ended before any website task began.
    pay_end = max(t["end_ms"] for t in tasks if t["service"] == "payroll")
    web_start = min(t["start_ms"] for t in tasks
                    if t["service"] == "website")
    check(pay_end <= web_start, "tier 1 before tier 2")
    # The journal groups its syncs: fewer than one per task.
    m = re.search(r"journal: (\d+) records, (\d+) syncs", err)
    check(m is not None, "journal stats printed (a test build)", err)
    records, syncs = int(m.group(1)), int(m.group(2))
    # Counted when the run ends: the last few records may still be on
    # their way to disk then, so only a lower bound holds.
    check(records >= len(tasks), "%d records for %d tasks" %
          (records, len(tasks)))
    check(syncs < len(tasks), "%d syncs for %d tasks" % (syncs, len(tasks)))
    # One output file, not 2,600; a task's output through drover logs.
    check(os.listdir(os.path.join(run_dir, "logs")) == ["output.log"],
          "one output file")
    lg = subprocess.run([DROVER, "logs", rid,
                         "payroll/comune-00042/restore@torino/to-db1"],
                        env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=60)
    check(lg.stdout.decode() == "comune-00042 restored\n",
          "drover logs shows the task's output", lg.stdout.decode())
