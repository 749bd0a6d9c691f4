"""Controller HA over etcd (ha.h), against the lab's three etcd members and
two controllers, each with its own state directory (as on two sites):

- kill -9 the leader mid-run: the standby takes the run over within the
  lease TTL + 5 s and finishes it; no succeeded task runs twice, and a
  non-idempotent task whose outcome is unknown waits for a decision;
- SIGSTOP the leader past its TTL, the standby takes over, SIGCONT: the old
  leader starts no task and exits non-zero saying it lost the leadership;
- cut the leader off from etcd (stop two members): it stops starting tasks
  within the TTL; with two members down no standby takes over, and
  failover --no-quorum --attest runs alone, the attestation in the audit
  trail and the report.

Every task appends a line (the fencing token it was given) to its own
marker file, so the tests count how many times each one ran. The plans
have a unique name per test, so earlier runs' keys in etcd never matter.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402

import pytest  # noqa: E402

if not os.path.exists("/usr/bin/etcd"):
    pytest.skip("no etcd-server (contrib/install-deps installs it)",
                allow_module_level=True)

LAB = labtest.LAB
DROVER = None
TTL = 2
LABCMD = os.path.join(labtest.TOP, "contrib", "lab", "lab")


def etcd_urls():
    out = subprocess.run([LABCMD, "env"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    for line in out.splitlines():
        if line.startswith("export DROVER_LAB_ETCD="):
            return line.split("=", 1)[1].replace("\\,", ",")
    raise AssertionError("lab env has no DROVER_LAB_ETCD")


def lab(*args):
    subprocess.run([LABCMD] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


STEP = ('{ name = "%s"; on = "to:db"; %s'
        'run = "echo \\"$DROVER_FENCING_TOKEN\\" >> ${var.marks}/%s; %s"; }')


def plan(steps):
    """A plan on the lab's torino with steps (name, idempotent, extra
    shell); returns (path, marks dir)."""
    d = tempfile.mkdtemp(prefix="drover-ha-")
    # Where the lab user can write: the host's own root on the lab's disk.
    marks = os.path.join(LAB, "hosts", "to-db1", "ha-" + uuid.uuid4().hex)
    os.mkdir(marks)
    os.chmod(marks, 0o777)
    text = """version = 1;
name = "ha-%s";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222;
            connect_timeout = "20s"; timeout = "1m"; retries = 0; };
controllers: { ttl = "%ds"; };
vars = { marks = "%s"; };
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; } ); }
);
services = ( { name = "work"; tier = 1; scope = "global"; steps = ( %s ); } );
""" % (uuid.uuid4().hex[:10], LAB, LAB, TTL, marks,
       ",\n".join(STEP % (n, "idempotent = true; " if idem else "", n, extra)
                  for n, idem, extra in steps))
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p, marks


def runs(marks, name):
    """The fencing tokens of each run of task name (one line per run)."""
    try:
        with open(os.path.join(marks, name)) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def wait_for(cond, what, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Proc:
    """A drover process with its own state directory and output file."""

    def __init__(self, args, state=None):
        self.state = state or tempfile.mkdtemp(prefix="drover-ha-state-")
        self.out = tempfile.NamedTemporaryFile(delete=False)
        self.p = subprocess.Popen(
            [DROVER] + args, env=dict(os.environ, DROVER_STATE_DIR=self.state),
            stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

    def text(self):
        with open(self.out.name, "rb") as f:
            return f.read().decode(errors="replace")

    def wait(self, timeout=90):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("still running:\n" + self.text())
        out = self.text()
        # ASan/UBSan reports; a loop closed with live handles.
        for bad in ("Sanitizer", "runtime error:", "internal:"):
            assert bad not in out, out
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def leader(p, etcd, *extra):
    return Proc(["failover", p, "--from", "milan", "--to", "torino",
                 "--yes", "--etcd", etcd] + list(extra))


def standby(p, etcd, *extra, state=None):
    return Proc(["standby", p, "--from", "milan", "--to", "torino", "--yes",
                 "--etcd", etcd] + list(extra), state=state)


def test_kill9_leader_standby_resumes():
    etcd = etcd_urls()
    p, marks = plan([("first", False, ""),
                     ("slow", True, "sleep 5"),  # the kill comes in it
                     ("last", False, "")])
    sb = standby(p, etcd)
    wait_for(lambda: "waiting for one" in sb.text(), "the standby")
    ld = leader(p, etcd)
    try:
        wait_for(lambda: runs(marks, "slow"), "the slow step to start")
        # One leader per plan and target: a second one is refused.
        two = leader(p, etcd)
        assert two.wait() == 4, two.text()
        assert "leads /drover/" in two.text(), two.text()
        ld.p.send_signal(signal.SIGKILL)
        ld.wait()
        killed = time.monotonic()
        wait_for(lambda: "took over run" in sb.text(), "the takeover")
        took = time.monotonic() - killed
        rc = sb.wait()
    finally:
        ld.kill()
        sb.kill()
    out = sb.text()
    assert rc == 0, out
    assert took <= TTL + 5, "took over after %.1fs:\n%s" % (took, out)
    assert "SUCCEEDED" in out, out
    # Succeeded before the kill: never again. Idempotent and unknown: again
    # under the new leader's token. Never run by the old one: once.
    first, slow, last = runs(marks, "first"), runs(marks, "slow"), \
        runs(marks, "last")
    assert len(first) == 1, (first, out)
    assert len(slow) == 2 and slow[0] != slow[1], (slow, out)
    assert last == [slow[1]], (last, slow, out)
    assert int(slow[1]) > int(slow[0])  # a new leader, a larger token
    # The token each command got is its leader's, and in every audit
    # record the new leader wrote.
    assert "fencing token %s)" % slow[1] in out, out
    rid = re.search(r"took over run (\S+)", out).group(1)
    a = subprocess.run([DROVER, "audit", "show", rid],
                       env=dict(os.environ, DROVER_STATE_DIR=sb.state),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    audit = a.stdout.decode(errors="replace").splitlines()
    resumed = [x for x in audit if " resume " in x]
    assert resumed, audit
    after = audit[audit.index(resumed[0]):]
    assert all("[fencing token %s]" % slow[1] in x for x in after), audit
    assert any("[fencing token %s]" % slow[0] in x for x in audit), audit
    v = subprocess.run([DROVER, "audit", "verify", rid],
                       env=dict(os.environ, DROVER_STATE_DIR=sb.state),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert v.returncode == 0, v.stdout


def test_kill9_non_idempotent_waits_for_decision():
    etcd = etcd_urls()
    p, marks = plan([("first", False, ""),
                     ("slow", False, "sleep 3"),
                     ("last", False, "")])
    state = tempfile.mkdtemp(prefix="drover-ha-state-")
    sb = standby(p, etcd, state=state)
    wait_for(lambda: "waiting for one" in sb.text(), "the standby")
    ld = leader(p, etcd)
    try:
        wait_for(lambda: runs(marks, "slow"), "the slow step to start")
        ld.p.send_signal(signal.SIGKILL)
        ld.wait()
        rc = sb.wait()
    finally:
        ld.kill()
        sb.kill()
    out = sb.text()
    assert rc == 3, out  # a decision is awaited
    assert "--assume-done work/slow@torino/to-db1" in out, out
    time.sleep(1)  # the old command ends on the host
    assert len(runs(marks, "slow")) == 1 and not runs(marks, "last"), out
    # The operator checked on the host: a standby with the decision
    # takes the run over at once (the first one gave the lease up).
    sb2 = standby(p, etcd, "--assume-done", "work/slow@torino/to-db1",
                  state=state)
    rc = sb2.wait()
    out = sb2.text()
    assert rc == 0, out
    assert len(runs(marks, "first")) == 1, out
    assert len(runs(marks, "slow")) == 1, out
    assert len(runs(marks, "last")) == 1, out


def test_sigstop_old_leader_starts_nothing():
    etcd = etcd_urls()
    p, marks = plan([("first", False, ""),
                     ("slow", True, "sleep 2"),
                     ("last", False, "")])
    sb = standby(p, etcd)
    wait_for(lambda: "waiting for one" in sb.text(), "the standby")
    ld = leader(p, etcd)
    try:
        wait_for(lambda: runs(marks, "slow"), "the slow step to start")
        ld.p.send_signal(signal.SIGSTOP)
        rc = sb.wait()  # took over (past the TTL) and finished the run
        out = sb.text()
        assert rc == 0 and "took over run" in out, out
        assert len(runs(marks, "last")) == 1, out
        time.sleep(1)  # the paused leader's command ends on the host
        ld.p.send_signal(signal.SIGCONT)
        lrc = ld.wait()
    finally:
        ld.p.send_signal(signal.SIGCONT)
        ld.kill()
        sb.kill()
    lout = ld.text()
    assert lrc != 0, lout
    assert "lost the leadership" in lout, lout
    # It woke up with "slow" done on the host: "last" is not started again.
    assert len(runs(marks, "last")) == 1, lout
    assert "work last torino/to-db1 start" not in lout, lout


def test_cut_off_then_no_quorum():
    etcd = etcd_urls()
    steps = [("s%02d" % i, False, "date +%s.%N >> ${var.marks}/t; "
              "sleep 0.2") for i in range(40)]
    p, marks = plan(steps)
    sb = standby(p, etcd)
    wait_for(lambda: "waiting for one" in sb.text(), "the standby")
    ld = leader(p, etcd)
    stopped = False
    try:
        wait_for(lambda: len(runs(marks, "s03")) == 1, "a few steps")
        lab("etcd-stop", "milan")
        stopped = True
        lab("etcd-stop", "rome")
        cut = time.time()  # the quorum was lost by now
        lrc = ld.wait()
        lout = ld.text()
        assert lrc != 0, lout
        assert "lost the leadership" in lout, lout
        starts = [float(x) for x in runs(marks, "t")]
        assert len(starts) < 40, lout
        # No task started later than the TTL after the cut (its lease
        # was last renewed before it).
        assert max(starts) <= cut + TTL, (max(starts) - cut, lout)
        # No quorum: the standby takes nothing over by itself.
        time.sleep(3 * TTL)
        sout = sb.text()
        assert "took over" not in sout, sout
        assert "without an etcd quorum nothing takes over" in sout, sout
        n = len(starts)
        assert len(runs(marks, "t")) == n
        # The operator attests, and runs the plan as a single controller.
        text = "h14 test: milan and rome lost, one etcd member left"
        one = Proc(["failover", p, "--from", "milan", "--to", "torino",
                    "--yes", "--etcd", etcd, "--no-quorum", "--attest",
                    text])
        rc = one.wait()
        out = one.text()
        assert rc == 0, out
        assert "attested" in out and text in out, out
        rid = re.search(r"^run (\S+): ", out, re.M).group(1)
        a = subprocess.run([DROVER, "audit", "show", rid],
                           env=dict(os.environ, DROVER_STATE_DIR=one.state),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        audit = a.stdout.decode(errors="replace")
        assert "attest" in audit and text in audit, audit
        with open(os.path.join(one.state, "runs", rid, "report.json")) as f:
            assert text in json.load(f)["attestation"]
        with open(os.path.join(one.state, "runs", rid, "report.md")) as f:
            assert text in f.read()
    finally:
        ld.kill()
        sb.kill()  # before the members return: it would take over
        if stopped:
            lab("etcd-start", "milan")
            lab("etcd-start", "rome")


def test_interrupted_leader_resumes_under_etcd():
    etcd = etcd_urls()
    p, marks = plan([("first", False, ""),
                     ("slow", True, "sleep 3"),
                     ("last", False, "")])
    sb = standby(p, etcd)
    wait_for(lambda: "waiting for one" in sb.text(), "the standby")
    ld = leader(p, etcd)
    sb2 = None
    try:
        wait_for(lambda: runs(marks, "slow"), "the slow step to start")
        ld.p.send_signal(signal.SIGINT)  # the operator stops it
        assert ld.wait() == 3, ld.text()
        # The run key says how it ended: the standby does not take an
        # interrupted run over, it exits with its status.
        assert sb.wait() == 3, sb.text()
        assert "took over" not in sb.text(), sb.text()
        rid = re.search(r"^run (\S+): ", ld.text(), re.M).group(1)
        sb2 = standby(p, etcd)
        wait_for(lambda: "waiting for one" in sb2.text(), "the standby")
        res = Proc(["resume", rid, "--yes", "--etcd", etcd], state=ld.state)
        assert res.wait() == 0, res.text()
        assert "leads the run on etcd" in res.text(), res.text()
        # The standby saw the run resumed, then finished by its leader.
        assert sb2.wait() == 0, sb2.text()
        assert "took over" not in sb2.text(), sb2.text()
    finally:
        ld.kill()
        sb.kill()
        if sb2:
            sb2.kill()
    assert len(runs(marks, "first")) == 1
    assert len(runs(marks, "last")) == 1


TESTS = [test_kill9_leader_standby_resumes,
         test_kill9_non_idempotent_waits_for_decision,
         test_sigstop_old_leader_starts_nothing,
         test_interrupted_leader_resumes_under_etcd,
         test_cut_off_then_no_quorum]
