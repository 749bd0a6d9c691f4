"""Integration tests: a run as a team answers it (issue 12).

Run by CTest as

    python3 -m pytest tests/integration/test_team.py --drover build/drover

against the lab (conftest.py brings it up; needs root). A failover started
without a terminal and without --auto-approve waits at its gate; other
processes answer it through the run's control socket (drover approve,
deny, abort, answer, watch), as other users when the test adds them
(useradd, removed after); webhook receivers on loopback get the
notifications.
"""

import atexit
import grp
import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402

DROVER = None  # set by conftest.py
LAB = labtest.LAB
SECRET = "s3cr3t-h12a-value"

SITES = """
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; } ); }
);
"""


def plan(gate_keys="", notify="", extra_steps="", defaults="",
         other_service=""):
    """A plan whose fence waits at gate fence/confirm-isolation, then marks
    torino; returns its path."""
    d = tempfile.mkdtemp(prefix="drover-team-")
    text = """version = 1;
name = "team";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222;
            connect_timeout = "3s"; timeout = "2m"; retries = 0; %s };
secrets = ( { name = "token"; env = "DROVER_T_TOKEN"; } );
%s
%s
services = (
  { name = "fence"; tier = 0; scope = "global"; steps = (
      { name = "confirm-isolation"; approve = "is milan isolated?"; %s },
      { name = "mark"; on = "to:db"; run = "echo fenced"; } %s ); }
  %s
);
""" % (LAB, LAB, defaults, notify, SITES, gate_keys, extra_steps,
       other_service)
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def env_for(state):
    env = dict(os.environ)
    env["DROVER_STATE_DIR"] = state
    env["DROVER_T_TOKEN"] = SECRET
    env["DROVER_BOARD"] = "lines"
    return env


def start(p, state, extra=()):
    """drover failover without a terminal (stdin /dev/null), no
    --auto-approve. Returns the Popen."""
    return subprocess.Popen(
        [DROVER, "failover", p, "--from", "milan", "--to", "torino",
         "--yes"] + list(extra),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env_for(state))


_PUBLIC = []


def public_drover():
    """The binary where another user can run it: the build directory may
    sit in a directory only root enters (a clone in a mktemp -d)."""
    if not _PUBLIC:
        d = tempfile.mkdtemp(prefix="drover-team-bin-", dir="/tmp")
        os.chmod(d, 0o755)
        shutil.copy2(DROVER, d + "/drover")
        os.chmod(d + "/drover", 0o755)
        atexit.register(shutil.rmtree, d, True)
        _PUBLIC.append(d + "/drover")
    return _PUBLIC[0]


def drover(state, *args, user=None):
    cmd = [DROVER] + list(args)
    if user:
        cmd = ["runuser", "-u", user, "--", "env",
               "DROVER_STATE_DIR=" + state, public_drover()] + list(args)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env_for(state), timeout=60,
                          cwd="/" if user else None)


def wait_for(what, cond, proc=None, bound=60):
    """Polls cond() until it holds; fails after bound seconds (a bound on
    waiting, not a timing assertion) or when proc ended first."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("%s: the run ended first (exit %d):\n%s%s"
                                 % (what, proc.returncode, out.decode(),
                                    err.decode()))
        time.sleep(0.1)
    raise AssertionError("%s: not within %ds" % (what, bound))


def run_id(state):
    runs = os.path.join(state, "runs")
    ids = sorted(os.listdir(runs)) if os.path.isdir(runs) else []
    return ids[-1] if ids else None


def waiting_gate(state, gate="fence/confirm-isolation"):
    """The run id once drover status lists gate as waiting."""
    rid = run_id(state)
    if rid is None:
        return None
    st = drover(state, "status")
    return rid if ("gate %s waiting" % gate) in st.stdout.decode() else None


def finish(proc, bound=120):
    out, err = proc.communicate(timeout=bound)
    return proc.returncode, out.decode(), err.decode()


def report(state, rid):
    with open(os.path.join(state, "runs", rid, "report.json")) as f:
        return json.load(f)


def task(rep, key):
    for t in rep["tasks"]:
        if t["key"] == key:
            return t
    raise AssertionError("no task %s in the report" % key)


def audit(state, rid):
    a = drover(state, "audit", "show", rid)
    assert a.returncode == 0, a.stderr.decode()
    return a.stdout.decode()


def state_dir():
    return tempfile.mkdtemp(prefix="state-")


# --- the tests ----------------------------------------------------------


def test_waits_then_approve_from_another_process_and_watch():
    p = plan()
    state = state_dir()
    proc = start(p, state)
    rid = wait_for("the gate waits", lambda: waiting_gate(state), proc)
    # Without a terminal it waits, not fails: still running.
    assert proc.poll() is None
    w = subprocess.Popen([DROVER, "watch", rid], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env_for(state))
    # The watcher is connected once the board's head has come.
    head = w.stdout.readline().decode()
    assert "watching, read-only" in head, head
    bad = drover(state, "approve", rid, "fence/nope")
    assert bad.returncode == 1 and b"no gate fence/nope" in bad.stderr
    ok = drover(state, "approve", rid, "fence/confirm-isolation",
                "--comment", "netops confirmed on the bridge")
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"approved by root (uid 0)" in ok.stdout
    rc, out, err = finish(proc)
    assert rc == 0, out + err
    wout = head + w.stdout.read().decode()  # until the run closes it
    assert w.wait(timeout=60) == 0, wout
    assert "watching, read-only" in wout
    assert "gate fence/confirm-isolation waiting" in wout, wout
    assert "fence mark torino/to-db1 ok" in wout
    assert ("run %s ended: succeeded" % rid) in wout
    # The audit names the approver, the kernel's uid and the comment.
    a = audit(state, rid)
    assert "approve" in a and "by root (uid 0): netops confirmed" in a, a
    rep = report(state, rid)
    g = task(rep, "fence/confirm-isolation")
    assert g["state"] == "succeeded"
    assert "approved by root (uid 0)" in g["message"]
    with open(os.path.join(state, "runs", rid, "report.md")) as f:
        md = f.read()
    assert "Decisions at gates" in md and "approved by root (uid 0)" in md
    # The socket goes with the run.
    assert not os.path.exists(os.path.join(state, "runs", rid,
                                           "control.sock"))
    assert drover(state, "approve", rid, "fence/confirm-isolation"
                  ).returncode == 3


def test_deny_fails_the_gate_as_on_failure_says():
    other = """, { name = "other"; tier = 0; scope = "global"; steps = (
      { name = "note"; on = "to:db"; run = "echo other"; } ); }"""
    p = plan(gate_keys='on_failure = "continue";', other_service=other)
    state = state_dir()
    proc = start(p, state)
    rid = wait_for("the gate waits", lambda: waiting_gate(state), proc)
    d = drover(state, "deny", rid, "fence/confirm-isolation", "--comment",
               "milan still answers on 10.10.0.11")
    assert d.returncode == 0, d.stderr.decode()
    rc, out, err = finish(proc)
    assert rc == 1, out + err
    rep = report(state, rid)
    g = task(rep, "fence/confirm-isolation")
    assert g["state"] == "failed"
    assert "denied by root (uid 0): milan still answers" in g["message"]
    # continue: its dependents are skipped, the rest goes on.
    assert task(rep, "fence/mark@torino/to-db1")["state"] == "skipped"
    assert task(rep, "other/note@torino/to-db1")["state"] == "succeeded"
    assert "deny" in audit(state, rid)


def test_abort_exits_3_and_resume_continues():
    p = plan()
    state = state_dir()
    proc = start(p, state)
    rid = wait_for("the gate waits", lambda: waiting_gate(state), proc)
    a = drover(state, "abort", rid)
    assert a.returncode == 0, a.stderr.decode()
    rc, out, err = finish(proc)
    assert rc == 3, out + err
    assert "abort by root" in err
    assert "abort" in audit(state, rid)
    r = subprocess.run([DROVER, "resume", rid, "--yes", "--auto-approve"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env_for(state),
                       timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    rep = report(state, rid)
    assert task(rep, "fence/confirm-isolation")["state"] == "succeeded"
    assert task(rep, "fence/mark@torino/to-db1")["state"] == "succeeded"


def test_answer_a_paused_task():
    extra = """, { name = "flaky"; on = "to:db"; run = "exit 3";
                   on_failure = "pause"; }"""
    p = plan(extra_steps=extra)
    state = state_dir()
    proc = start(p, state, ["--auto-approve"])

    def paused():
        rid = run_id(state)
        if rid is None:
            return None
        st = drover(state, "status").stdout.decode()
        return rid if "paused fence/flaky@torino/to-db1" in st else None

    rid = wait_for("the task pauses", paused, proc)
    assert drover(state, "answer", rid, "fence/flaky@torino/to-db1",
                  "maybe").returncode == 2
    a = drover(state, "answer", rid, "fence/flaky@torino/to-db1", "skip")
    assert a.returncode == 0, a.stderr.decode()
    rc, out, err = finish(proc)
    assert rc == 1, out + err  # skipped: a failure, its dependents skip
    assert task(report(state, rid),
                "fence/flaky@torino/to-db1")["state"] == "failed"
    assert "pause-answer" in audit(state, rid)


def test_pause_holds_new_tasks_until_continue():
    p = plan()
    state = state_dir()
    proc = start(p, state)
    rid = wait_for("the gate waits", lambda: waiting_gate(state), proc)
    a = drover(state, "pause", rid)
    assert a.returncode == 0, a.stderr.decode()
    assert b"held by drover pause" in drover(state, "status").stdout
    assert drover(state, "approve", rid,
                  "fence/confirm-isolation").returncode == 0

    def gate_done():
        out = drover(state, "status", rid).stdout.decode()
        return out if "1 of 2 tasks ended" in out else None

    out = wait_for("the gate passes", gate_done, proc)
    # Held: mark is ready and does not start.
    assert "1 tasks not started yet" in out, out
    assert proc.poll() is None
    assert "pause" in audit(state, rid)
    c = drover(state, "continue", rid)
    assert c.returncode == 0, c.stderr.decode()
    rc, out, err = finish(proc)
    assert rc == 0, out + err
    assert "paused by root" in err and "continued by root" in err
    assert "continue" in audit(state, rid)


class Users:
    """A group and two local users (one in it, one not), removed after."""

    GROUP = "drh12a-team"
    IN = "drh12a-ok"
    OUT = "drh12a-out"

    def __enter__(self):
        self.__exit__()
        subprocess.run(["groupadd", self.GROUP], check=True)
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", "-G", self.GROUP,
                        self.IN], check=True)
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", self.OUT],
                       check=True)
        return self

    def __exit__(self, *exc):
        for u in (self.IN, self.OUT):
            subprocess.run(["userdel", u], stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", self.GROUP], stderr=subprocess.DEVNULL)


def team_state():
    """A team's state directory, as README "Shared state" sets it up:
    group drh12a-team, setgid, 2770; where other users can reach it."""
    d = tempfile.mkdtemp(prefix="drh12a-", dir="/tmp")
    os.chown(d, 0, grp.getgrnam(Users.GROUP).gr_gid)
    os.chmod(d, 0o2770)
    return d


def test_not_by_starter_needs_another_user_and_group_is_enforced():
    with Users():
        p = plan(gate_keys="not_by_starter = true;")
        state = team_state()
        try:
            proc = start(p, state)
            rid = wait_for("the gate waits", lambda: waiting_gate(state),
                           proc)
            run_dir = os.path.join(state, "runs", rid)
            sock = os.path.join(run_dir, "control.sock")
            st = os.stat(sock)
            assert st.st_mode & 0o777 == 0o660
            assert st.st_gid == grp.getgrnam(Users.GROUP).gr_gid
            # The starter alone does not pass it.
            s = drover(state, "approve", rid, "fence/confirm-isolation")
            assert s.returncode == 1
            assert b"started this run" in s.stderr, s.stderr
            assert proc.poll() is None
            # A user outside the group: the socket refuses them.
            o = drover(state, "approve", rid, "fence/confirm-isolation",
                       user=Users.OUT)
            assert o.returncode != 0 and proc.poll() is None, o.stderr
            # Even through a socket others could open, the run checks
            # the kernel's word on who it is.
            os.chmod(state, 0o2775)
            for sub in ("runs", "runs/" + rid):
                os.chmod(os.path.join(state, sub), 0o2775)
            os.chmod(sock, 0o666)
            o = drover(state, "approve", rid, "fence/confirm-isolation",
                       user=Users.OUT)
            assert o.returncode == 1, o.stderr
            assert b"not in the run's group drh12a-team" in o.stderr, \
                o.stderr
            assert proc.poll() is None
            os.chmod(sock, 0o660)
            for sub in ("runs", "runs/" + rid):
                os.chmod(os.path.join(state, sub), 0o2770)
            os.chmod(state, 0o2770)
            # The second person sees the live run and what it waits for.
            s = drover(state, "status", user=Users.IN)
            out = s.stdout.decode()
            assert s.returncode == 0, s.stderr.decode()
            assert rid in out and "running" in out, out
            assert "gate fence/confirm-isolation waiting" in out, out
            assert "not the starter" in out, out
            # A second person, in the group, completes it.
            i = drover(state, "approve", rid, "fence/confirm-isolation",
                       "--comment", "second pair of eyes", user=Users.IN)
            assert i.returncode == 0, i.stderr.decode()
            rc, out, err = finish(proc)
            assert rc == 0, out + err
            a = audit(state, rid)
            uid = pwd.getpwnam(Users.IN).pw_uid
            assert "approve-not-counted" in a
            assert ("by %s (uid %d): second pair of eyes"
                    % (Users.IN, uid)) in a, a
            g = task(report(state, rid), "fence/confirm-isolation")
            assert ("approved by %s (uid %d)" % (Users.IN, uid)) in \
                g["message"]
            # The team sees the run: its records are the group's.
            s = drover(state, "status", rid, user=Users.IN)
            assert s.returncode == 0, s.stderr.decode()
            assert b"succeeded" in s.stdout
        finally:
            shutil.rmtree(state, ignore_errors=True)


def test_two_approvers_must_be_two_people():
    with Users():
        p = plan(gate_keys="approvers = 2;")
        state = team_state()
        try:
            proc = start(p, state)
            rid = wait_for("the gate waits", lambda: waiting_gate(state),
                           proc)
            a = drover(state, "approve", rid, "fence/confirm-isolation")
            assert a.returncode == 0 and b"approval 1 of 2" in a.stdout, a
            a = drover(state, "approve", rid, "fence/confirm-isolation")
            assert a.returncode == 1 and b"approved already" in a.stderr, a
            assert b"1 of 2 approvals (root)" in drover(state,
                                                          "status").stdout
            assert proc.poll() is None
            i = drover(state, "approve", rid, "fence/confirm-isolation",
                       user=Users.IN)
            assert i.returncode == 0, i.stderr.decode()
            rc, out, err = finish(proc)
            assert rc == 0, out + err
            uid = pwd.getpwnam(Users.IN).pw_uid
            g = task(report(state, rid), "fence/confirm-isolation")
            assert g["message"] == ("approved by root (uid 0), %s (uid %d)"
                                    % (Users.IN, uid)), g["message"]
        finally:
            shutil.rmtree(state, ignore_errors=True)


class Receiver:
    """A webhook receiver on loopback: keeps each POSTed JSON body."""

    def __init__(self):
        bodies = self.bodies = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_webhook_gets_gate_waiting_and_run_ended_without_secrets():
    r = Receiver()
    try:
        leak = """, { name = "leaky"; on = "to:db";
                      run = "echo token=${secret.token} >&2; exit 4";
                      on_failure = "continue"; }"""
        p = plan(notify='notify = { webhooks = ["%s"]; timeout = "5s"; '
                 'command = "echo \\"$DROVER_EVENT\\" >> events.ndjson"; };'
                 % r.url, extra_steps=leak)
        state = state_dir()
        proc = start(p, state)
        rid = wait_for("the gate waits", lambda: waiting_gate(state), proc)
        wait_for("gate-waiting is posted", lambda: any(
            b["event"]["type"] == "gate-waiting" for b in r.bodies), proc)
        assert drover(state, "approve", rid,
                      "fence/confirm-isolation").returncode == 0
        rc, out, err = finish(proc)
        assert rc == 1, out + err
        types = [b["event"]["type"] for b in r.bodies]
        for t in ("run-start", "gate-waiting", "task-failed", "run-ended"):
            assert t in types, types
        for b in r.bodies:
            assert isinstance(b["text"], str) and b["text"]
            assert b["event"]["run"] == rid and b["event"]["plan"] == "team"
            assert SECRET not in json.dumps(b)
        gw = [b for b in r.bodies if b["event"]["type"] == "gate-waiting"][0]
        assert gw["event"]["task"] == "fence/confirm-isolation"
        assert gw["event"]["command"] == \
            "drover approve %s fence/confirm-isolation" % rid
        assert gw["event"]["command"] in gw["text"]
        end = [b for b in r.bodies if b["event"]["type"] == "run-ended"][0]
        assert end["event"]["state"] == "failed"
        # The local command got the same events, in its environment.
        with open(os.path.join(os.path.dirname(p), "events.ndjson")) as f:
            cmd = [json.loads(line) for line in f if line.strip()]
        ctypes = [b["event"]["type"] for b in cmd]
        for t in ("run-start", "gate-waiting", "task-failed", "run-ended"):
            assert t in ctypes, ctypes
        assert all(SECRET not in json.dumps(b) for b in cmd)
    finally:
        r.close()


def test_receiver_that_never_answers_costs_one_deadline_at_most():
    # Accepts connections (the backlog) and never answers.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(64)
    url = "http://127.0.0.1:%d/hook" % dead.getsockname()[1]
    deadline = 3
    try:
        base = plan()
        slow = plan(notify='notify = { webhooks = ["%s"]; timeout = "%ds"; '
                    'retries = 3; };' % (url, deadline))
        times = []
        for p in (base, slow):
            state = state_dir()
            t0 = time.monotonic()
            r = subprocess.run(
                [DROVER, "failover", p, "--from", "milan", "--to",
                 "torino", "--yes", "--auto-approve"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env_for(state), timeout=120)
            times.append(time.monotonic() - t0)
            assert r.returncode == 0, (r.stdout + r.stderr).decode()
        # The failure is said, never fatal (exit 0 above).
        assert b"notification to " + url.encode() in r.stderr, r.stderr
        # Blocking on it, or retrying after the end, would cost at least
        # two deadlines (four attempts: four).
        print("run without / with a receiver that never answers "
              "(deadline %ds, 3 retries): %.2fs / %.2fs"
              % (deadline, times[0], times[1]))
        assert times[1] - times[0] < 2 * deadline, times
    finally:
        dead.close()


TESTS = [
    test_waits_then_approve_from_another_process_and_watch,
    test_deny_fails_the_gate_as_on_failure_says,
    test_abort_exits_3_and_resume_continues,
    test_answer_a_paused_task,
    test_pause_holds_new_tasks_until_continue,
    test_not_by_starter_needs_another_user_and_group_is_enforced,
    test_two_approvers_must_be_two_people,
    test_webhook_gets_gate_waiting_and_run_ended_without_secrets,
    test_receiver_that_never_answers_costs_one_deadline_at_most,
]
