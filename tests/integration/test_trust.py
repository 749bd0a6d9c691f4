#!/usr/bin/env python3
"""Integration tests: what a recovery tool must never do, on the real lab.

Usage: test_trust.py DROVER_BINARY [TEST...]

Hostile plan values in many shell contexts (inert, or refused with
FILE:LINE); a connection lost mid-command (indeterminate, never run twice);
an operator's decision that survives a refused resume; a deadline that
holds with the host's sshd stopped; directions that would turn the plan
against production; the drill interlock for every action; an interrupted
drill that still cleans up; a full state filesystem; SIGHUP; inputs that
are not plans. Exit 77 (skipped) when not root.
"""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402
import test_durability as td  # noqa: E402  (lab plans and runners)

TOP = labtest.TOP
LAB = td.LAB
ROOT = td.ROOT
check = td.check


def itdir(host, name):
    return "%s/%s/itest/%s" % (ROOT, host, name)


def fresh(host, name):
    d = itdir(host, name)
    subprocess.run(["rm", "-rf", d])
    os.makedirs(d)
    subprocess.run(["chown", "-R", "drlab", os.path.dirname(d)])
    return d


def sshd_log_size(host):
    return os.path.getsize("%s/sshd/%s/sshd.log" % (LAB, host))


def sshd_connections_since(host, size):
    with open("%s/sshd/%s/sshd.log" % (LAB, host), errors="replace") as f:
        f.seek(size)
        return [l for l in f if "Connection from" in l or "Accepted" in l]


def listener_pid(host):
    with open("%s/sshd/%s/sshd.pid" % (LAB, host)) as f:
        return int(f.read().split()[0])


def descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def session_sshds(host):
    """The per-connection sshd processes of a lab host (not its listener)."""
    pids = []
    for p in descendants(listener_pid(host)):
        try:
            with open("/proc/%d/comm" % p) as f:
                if f.read().strip() == "sshd":
                    pids.append(p)
        except OSError:
            pass
    return pids


def kill_sessions(host):
    """Kills a lab host's per-connection sshds: its sessions end at once."""
    for pid in session_sshds(host):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(cond, timeout=30, what="condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def report_of(state):
    run_dir, run_id = td.only_run(state)
    with open(os.path.join(run_dir, "report.json")) as f:
        return json.load(f), run_dir, run_id


def task(rep, prefix):
    for t in rep["tasks"]:
        if t["key"].startswith(prefix):
            return t
    raise AssertionError("no task %s" % prefix)


# ------------------------------------------------------- values as code

# A value that tries everything: quotes, substitutions, a subscript bash
# would evaluate, a newline that ends a comment, a heredoc delimiter.
def hostile(mark):
    return ("it's \"q\" $(touch %s/a) `touch %s/b` a[$(touch %s/c)] ;"
            " touch %s/d\nEOF\ntouch %s/e # ${HOME}") % ((mark,) * 5)


CONTEXTS = [
    # name, command writing the value to $o (the output file)
    ("word", "printf '%s' ${var.x} >\"$o\""),
    ("dquote", "printf '%s' \"${var.x}\" >\"$o\""),
    ("comment", "# note: \"quoted\nprintf '%s' \"${var.x}\" >\"$o\" # \""),
    ("case", "case ${var.x} in *) printf '%s' ${var.x} >\"$o\";; esac"),
    ("nested", "printf '%s' \"$(printf '%s' \"$(printf '%s' ${var.x})\")\" "
               ">\"$o\""),
    ("backtick", "printf '%s' \"`printf '%s' ${var.x}`\" >\"$o\""),
    ("heredoc", "cat >\"$o\" <<EOF\n${var.x}\nEOF"),
    ("param", "v=${var.x}; printf '%s' \"$${v:-none}\" >\"$o\""),
    ("for", "for w in ${var.x}; do printf '%s' \"$w\" >\"$o\"; done"),
    ("subshell", "( printf '%s' ${var.x} ) >\"$o\""),
    ("pipeline", "printf '%s' ${var.x} | cat >\"$o\""),
    ("continued", "printf '%s' \\\n${var.x} >\"$o\""),
]

# Constructs that would run the value as code: refused by validate.
REFUSED = [
    ("arith", "echo $(( ${var.x} + 1 ))", "arithmetic"),
    ("arith-cmd", "(( ${var.x} > 1 ))", "arithmetic"),
    ("let", "let n=${var.x}", "let"),
    ("dbracket", "[[ ${var.x} -eq 1 ]]", "arithmetic"),
    ("subscript", "a[${var.x}]=1", "subscript"),
    ("eval", "eval echo ${var.x}", "eval"),
    ("shell", "sh -c \"echo ${var.x}\"", "shell"),
    ("read-name", "read ${var.x} </dev/null", "name"),
    ("command", "${var.x} --help", "command"),
    ("squote", "echo '${var.x}'", "single quotes"),
    ("qheredoc", "cat <<'EOF'\n${var.x}\nEOF", "quoted here-document"),
    ("awk", "awk \"BEGIN{print \\\"${var.x}\\\"}\"", "awk"),
]


def libconfig_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n") + '"'


def test_hostile_values_inert():
    """Every accepted context gives the value back byte for byte, in the
    lab's /bin/sh, and no marker the value tries to create appears."""
    d = fresh("to-app1", "hostile")
    value = hostile(d)
    steps = []
    for name, cmd in CONTEXTS:
        steps.append('{ name = "%s"; on = "torino:to-app1"; run = %s; }' % (
            name, libconfig_str("o=%s/%s.out\n" % (d, name) + cmd)))
    p = td.plan("hostile", """
      { name = "ctx"; tier = 1; scope = "global"; steps = ( %s ); }
    """ % ",\n".join(steps))
    # The plan's own vars block holds root; add x to it.
    text = open(p).read().replace('vars = { root',
                                  'vars = { x = %s; root' %
                                  libconfig_str(value))
    open(p, "w").write(text)
    rc, out = td.drover(td.new_state(), "validate", p)
    check(rc == 0, "the plan of accepted contexts validates", out)
    rc, out = td.failover(p, td.new_state())
    check(rc == 0, "the run succeeds (rc %d)" % rc, out)
    for m in "abcde":
        check(not os.path.exists("%s/%s" % (d, m)),
              "the value ran code: %s/%s exists" % (d, m), out)
    want = {"heredoc": value + "\n", "nested": value.rstrip("\n"),
            "backtick": value.rstrip("\n")}
    for name, _ in CONTEXTS:
        got = open("%s/%s.out" % (d, name)).read()
        check(got == want.get(name, value),
              "context %s: want %r got %r" % (name, want.get(name, value),
                                              got))


def test_hostile_contexts_refused():
    """Constructs that evaluate the value as code are refused by validate,
    each with FILE:LINE, and a failover of the plan starts nothing."""
    d = fresh("to-app1", "refused")
    steps, lines = [], {}
    for i, (name, cmd, _) in enumerate(REFUSED):
        steps.append('{ name = "%s"; on = "torino:to-app1"; run = %s; }' % (
            name, libconfig_str(cmd)))
    p = td.plan("refused", """
      { name = "ctx"; tier = 1; scope = "global"; steps = (
      %s ); }
    """ % ",\n      ".join(steps))
    text = open(p).read().replace('vars = { root',
                                  'vars = { x = %s; root' %
                                  libconfig_str(hostile(d)))
    open(p, "w").write(text)
    for n, line in enumerate(text.split("\n"), 1):
        m = re.search(r'name = "([a-z-]+)"; on = "torino', line)
        if m:
            lines[m.group(1)] = n
    size = sshd_log_size("to-app1")
    rc, out = td.drover(td.new_state(), "validate", p)
    check(rc == 1, "validate refuses (rc %d)" % rc, out)
    for name, _, why in REFUSED:
        want = "%s:%d: service \"ctx\" step \"%s\"" % (p, lines[name], name)
        hit = [l for l in out.splitlines() if l.startswith(want)]
        check(hit and why in hit[0], "%s refused at its line for %r:\n%s" % (
            name, why, out))
    rc, out = td.failover(p, td.new_state())
    check(rc == 1, "failover refuses the plan (rc %d)" % rc, out)
    check(not sshd_connections_since("to-app1", size), "nothing connected")
    for m in "abcde":
        check(not os.path.exists("%s/%s" % (d, m)), "no marker", out)


def test_probe_url_with_crlf_refused():
    p = td.plan("crlf", """
      { name = "web"; tier = 1; scope = "global"; steps = (
        { name = "h"; on = "to:app"; probe = { http = "http://${address}:8080/${var.x}"; }; } ); }
    """)
    text = open(p).read().replace('vars = { root',
                                  'vars = { x = "a\\r\\nX-Evil: 1"; root')
    open(p, "w").write(text)
    rc, out = td.drover(td.new_state(), "validate", p)
    check(rc == 1 and re.search(r"plan\.cfg:\d+: .*line break", out),
          "a CR/LF in a probe URL is a FILE:LINE error", out)


# -------------------------------------------------- outcomes not guessed


def test_lost_connection_indeterminate():
    """The session's sshd dies mid-command: the outcome is unknown, the
    non-idempotent step is not retried (it ran once), the run exits 3."""
    d = fresh("to-app1", "lost")
    p = td.plan("lost", """
      { name = "once"; tier = 1; scope = "global"; steps = (
        { name = "count"; on = "torino:to-app1"; retries = 3; retry_delay = "100ms";
          run = "echo run >> %s/count; sleep 20"; } ); }
    """ % d)
    state = td.new_state()
    proc = td.start_failover(p, state)
    wait_for(lambda: os.path.exists(d + "/count"), what="the command started")
    kill_sessions("to-app1")
    proc.wait(timeout=60)
    out = td.popen_output(proc)
    check(proc.returncode == 3, "exit 3, resumable (rc %d)" % proc.returncode,
          out)
    rep, _, run_id = report_of(state)
    t = task(rep, "once/count")
    check(t["state"] == "indeterminate", "indeterminate: %s" % t["state"], out)
    check(t["attempts"] == 1, "not retried: %d attempts" % t["attempts"])
    time.sleep(0.5)
    n = len(open(d + "/count").read().splitlines())
    check(n == 1, "the command ran once, not %d times" % n)
    rc, out = td.drover(state, "resume", run_id, "--yes")
    check(rc == 3 and "--assume-done once/count" in out,
          "resume asks for the decision (rc %d)" % rc, out)
    check(len(open(d + "/count").read().splitlines()) == 1, "still once")


def test_failed_and_unknown_say_what_to_decide():
    """A run that ends with one task failed and one of unknown outcome
    (its connection lost mid-command) exits 1, and its end says both: the
    summary counts the indeterminate task, the end lists it apart from the
    failures, and gives the decision a resume waits for. Before, the
    summary and `drover status` left it out, and the end said only that a
    resume would run the failed task again."""
    d = fresh("to-app1", "unknown")
    p = td.plan("unknown", """
      { name = "once"; tier = 1; scope = "global"; steps = (
        { name = "count"; on = "torino:to-app1";
          run = "echo run >> %s/count; sleep 20"; } ); },
      { name = "bad"; tier = 1; scope = "global"; steps = (
        { name = "fail"; on = "torino:to-db1";
          run = "while [ ! -e %s/count ]; do sleep 0.1; done; exit 7"; } ); }
    """ % (d, d))
    state = td.new_state()
    proc = td.start_failover(p, state)
    wait_for(lambda: os.path.exists(d + "/count"), what="the command started")
    time.sleep(1)  # bad/fail sees the file and fails; once/count still runs
    kill_sessions("to-app1")
    proc.wait(timeout=60)
    out = td.popen_output(proc)
    check(proc.returncode == 1, "a failed task: exit 1 (rc %d)" %
          proc.returncode, out)
    rep, _, run_id = report_of(state)
    check(task(rep, "once/count")["state"] == "indeterminate",
          "once/count indeterminate", out)
    check(task(rep, "bad/fail")["state"] == "failed", "bad/fail failed", out)
    check(re.search(r"^FAILED \S+: 0 succeeded, 1 failed, 1 indeterminate, ",
                    out, re.M), "the summary counts the indeterminate task",
          out)
    m = re.search(r"^what failed:\n((?:  .*\n)+)", out, re.M)
    check(m and "bad/fail" in m.group(1) and "once/count" not in m.group(1),
          "what failed lists the failure only", out)
    m = re.search(r"^outcome unknown \(.*\):\n((?:  .*\n)+)", out, re.M)
    check(m and m.group(1).startswith("  once/count@torino/to-app1  "
                                      "indeterminate: outcome unknown"),
          "the unknown outcome is listed apart, with why", out)
    check("drover resume %s --assume-done once/count@torino/to-app1" % run_id
          in out and "drover resume %s --rerun once/count@torino/to-app1" %
          run_id in out, "the end gives the decision", out)
    check("a resume starts nothing until it is decided" in out,
          "and says a resume waits for it", out)
    rc, st = td.drover(state, "status", run_id)
    check(rc == 0 and re.search(r"^  0 succeeded, 1 failed, 1 indeterminate, "
                                r"0 running, ", st, re.M),
          "status counts it (rc %d)" % rc, st)
    rc, res = td.drover(state, "resume", run_id, "--yes")
    check(rc == 3 and "--assume-done once/count" in res,
          "resume waits for the decision (rc %d)" % rc, res)
    check(len(open(d + "/count").read().splitlines()) == 1, "ran once")


def test_decision_survives_refused_resume():
    """Two undecided tasks; --assume-done A is refused for B, yet recorded:
    a later --rerun-indeterminate reruns B only."""
    da, db = fresh("to-app1", "deca"), fresh("to-db1", "decb")
    p = td.plan("decide", """
      { name = "a"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-app1"; run = "echo run >> %s/count; [ $(wc -l < %s/count) -gt 1 ] || sleep 30"; } ); },
      { name = "b"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-db1"; run = "echo run >> %s/count; [ $(wc -l < %s/count) -gt 1 ] || sleep 30"; } ); }
    """ % (da, da, db, db))
    state = td.new_state()
    proc = td.start_failover(p, state)
    wait_for(lambda: os.path.exists(da + "/count") and
             os.path.exists(db + "/count"), what="both started")
    time.sleep(0.3)
    proc.kill()  # the controller dies: both outcomes unknown
    proc.wait()
    for pat in ("sleep 30",):
        subprocess.run(["pkill", "-u", "drlab", "-f", pat])
    _, run_id = td.only_run(state)
    ka = "a/s@torino/to-app1"
    rc, out = td.drover(state, "resume", run_id, "--yes", "--assume-done", ka)
    check(rc == 3 and "--assume-done b/s@torino/to-db1" in out and
          "--assume-done " + ka not in out,
          "refused for b only, a decided (rc %d)" % rc, out)
    rc, out = td.drover(state, "resume", run_id, "--yes",
                        "--rerun-indeterminate", timeout=120)
    # b runs again (30 s sleep): let it, then count.
    check(rc == 0, "the resume runs (rc %d)" % rc, out)
    na = len(open(da + "/count").read().splitlines())
    nb = len(open(db + "/count").read().splitlines())
    check(na == 1, "a was assumed done, never rerun: %d runs" % na, out)
    check(nb == 2, "b was rerun: %d runs" % nb, out)
    audit = open(os.path.join(state, "runs", run_id, "audit")).read()
    check("assume-done " + ka in audit and "rerun b/s@torino/to-db1" in audit,
          "both decisions are in the audit trail")


def test_readonly_not_indeterminate_after_crash():
    d = fresh("to-app1", "ro")
    p = td.plan("ro", """
      { name = "look"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-app1"; readonly = true;
          run = "echo run >> %s/count; sleep 3"; } ); }
    """ % d)
    state = td.new_state()
    proc = td.start_failover(p, state)
    wait_for(lambda: os.path.exists(d + "/count"), what="started")
    proc.kill()
    proc.wait()
    _, run_id = td.only_run(state)
    rc, out = td.drover(state, "resume", run_id, "--yes")
    check(rc == 0 and "readonly: running it again" in out,
          "a readonly step is simply run again (rc %d)" % rc, out)


def test_resume_of_a_live_run_names_the_holder():
    """A live run is steered, not resumed: resume exits 4 naming it and
    writes nothing to its journal."""
    marker = "sleep 6%03d" % (os.getpid() % 1000)
    p = td.plan("live", """
      { name = "l"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-app1"; idempotent = true; run = "%s"; } ); }
    """ % marker)
    state = td.new_state()
    proc = td.start_failover(p, state)
    try:
        wait_for(lambda: subprocess.run(["pgrep", "-u", "drlab", "-f",
                                         marker],
                                        stdout=subprocess.PIPE).returncode
                 == 0, what="the run")
        run_dir, run_id = td.only_run(state)
        before = os.path.getsize(run_dir + "/journal")
        rc, out = td.drover(state, "resume", run_id, "--yes",
                            "--assume-done", "l/s@torino/to-app1")
        check(rc == 4 and "held by another run" in out and run_id in out
              and "pid %d" % proc.pid in out,
              "resume names the live holder (rc %d)" % rc, out)
        check(os.path.getsize(run_dir + "/journal") == before,
              "nothing was written to the live run's journal")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


# ------------------------------------------------------------ deadlines


def test_deadline_with_sshd_stopped():
    """A 4 s step on a host whose sshd is stopped mid-command, keepalives at
    30 s: the task ends at its deadline, long before any keepalive."""
    d = fresh("to-web1", "stopped")
    p = td.plan("stopped", """
      { name = "hang"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-web1"; timeout = "4s";
          run = "touch %s/started; sleep 60"; } ); }
    """ % d)
    text = open(p).read().replace('retry_delay = "100ms";',
                                  'retry_delay = "100ms"; keepalive = "30s";')
    open(p, "w").write(text)
    state = td.new_state()
    proc = td.start_failover(p, state)
    stopped = []
    try:
        wait_for(lambda: os.path.exists(d + "/started"), what="started")
        stopped = [listener_pid("to-web1")] + session_sshds("to-web1")
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        proc.wait(timeout=90)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        subprocess.run(["pkill", "-u", "drlab", "-f", "sleep 60"])
    out = td.popen_output(proc)
    rep, _, _ = report_of(state)
    t = task(rep, "hang/s")
    took = (t["end_ms"] - t["start_ms"]) / 1000.0
    check(took < 15, "the task ended at its deadline, not by keepalive: "
          "%.1fs" % took, out)
    check("timed out" in t["message"], "says timed out: %s" % t["message"])
    check(t["state"] == "indeterminate", "not idempotent, killed mid-way: "
          "its outcome is unknown (%s)" % t["state"])
    # The stopped sshd cannot confirm the kill: the board says so, once
    # the kill's own bound expired.
    check("hang/s@torino/to-web1: NOT CONFIRMED stopped" in out,
          "the background kill reports its own bound", out)


# ------------------------------------------------------------ direction


def test_to_production_refused():
    size = sshd_log_size("mi-db1")
    for args, why in (
            (["--from", "rome", "--to", "milan"],
             '--to site "milan" is primary (production, possibly '
             'compromised); a failover goes to a standby site'),
            (["--from", "torino", "--to", "drill"],
             '--from site "torino" is standby; --from names the lost '
             'production sites')):
        rc, out = td.drover(td.new_state(), "failover",
                            os.path.join(TOP, "plans", "lab.cfg"), *args,
                            "--yes", "--auto-approve")
        check(rc == 1, "%s refused (rc %d)" % (args, rc), out)
        check(why in out, "the roles are named: %s" % why, out)
    rc, out = td.drover(td.new_state(), "drill",
                        os.path.join(TOP, "plans", "lab.cfg"),
                        "--to", "torino", "--yes")
    check(rc == 1 and "a drill runs into a drill site" in out,
          "a drill into a standby site is refused", out)
    time.sleep(0.3)
    check(not sshd_connections_since("mi-db1", size), "milan saw nothing")


def test_confirmation_shows_roles():
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["DROVER_STATE_DIR"] = td.new_state()
        os.execv(td.DROVER, [td.DROVER, "failover",
                             os.path.join(TOP, "plans", "lab.cfg"), "--from",
                             "milan,rome", "--to", "torino"])
    buf = b""
    t0 = time.time()
    while b"to go on" not in buf and time.time() - t0 < 20:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            buf += os.read(fd, 4096)
    os.write(fd, b"milan\n")
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    _, status = os.waitpid(pid, 0)
    text = buf.decode(errors="replace")
    check("milan (primary, LOST), rome (secondary, LOST) -> torino (standby)"
          in text, "the prompt names each site's role", text)
    check(os.WEXITSTATUS(status) == 1 and "not confirmed" in text,
          "a wrong answer starts nothing", text)


# ------------------------------------------------------ drill interlock


def test_readonly_copy_invalid():
    p = td.plan("rocopy", """
      { name = "c"; tier = 1; scope = "global"; steps = (
        { name = "s"; readonly = true; copy = { from = "vault:backup:/etc/hostname";
          to = "to:db:/tmp/x"; }; } ); }
    """)
    rc, out = td.drover(td.new_state(), "validate", p)
    check(rc == 1 and re.search(r"plan\.cfg:\d+: .*a copy always writes its "
                                r"destination", out),
          "readonly on a copy is refused with FILE:LINE", out)


DRILL_SITE = """,
  { name = "drill"; role = "drill";
    hosts = ( { name = "dr-db1"; address = "127.0.5.1"; roles = ["db"]; },
              { name = "dr-app1"; address = "127.0.5.2"; roles = ["app"]; },
              { name = "dr-bad"; address = "127.0.1.2"; roles = ["web"]; } ); }
"""


def drill_plan(name, services):
    p = td.plan(name, services)
    text = open(p).read()
    text = text.replace('roles = ["backup"]; } ); }\n);',
                        'roles = ["backup"]; } ); }' + DRILL_SITE + ");")
    open(p, "w").write(text)
    return p


def test_drill_refuses_production_before_connecting():
    """In a drill, a probe to a production address and a copy reading a
    production host are refused before any connection; a drill host whose
    address is production's is refused by the connect-time guard. The
    production sshd logs show no connection."""
    p = drill_plan("interlock", """
      { name = "i"; tier = 1; scope = "global"; steps = (
        { name = "probe-prod"; probe = { tcp = "127.0.1.1:2222"; within = "2s"; }; },
        { name = "copy-prod"; copy = { from = "rome:ro-db1:/etc/hostname";
          to = "to:db:/tmp/drill-x"; }; },
        { name = "bad-host"; on = "to:web"; run = "true"; readonly = true; } ); }
    """)
    logs = {h: sshd_log_size(h) for h in ("mi-db1", "mi-app1", "ro-db1")}
    state = td.new_state()
    rc, out = td.drover(state, "drill", p, "--from", "milan", "--to",
                        "drill", "--yes", "--auto-approve")
    check(rc == 1, "the drill fails (rc %d)" % rc, out)
    rep, _, _ = report_of(state)
    for key in ("i/probe-prod", "i/copy-prod"):
        t = task(rep, key)
        check(t["state"] == "refused" and "production" in t["message"],
              "%s refused: %s %s" % (key, t["state"], t["message"]))
    t = task(rep, "i/bad-host")
    check(t["state"] == "failed" and "refused before connecting: 127.0.1.2 "
          "is milan/mi-app1, a production host" in t["message"],
          "the guard refused the production address: %s %s" %
          (t["state"], t["message"]))
    time.sleep(0.3)
    for h, size in logs.items():
        check(not sshd_connections_since(h, size), "%s saw a connection" % h)


def test_interrupted_drill_cleans_up():
    d = fresh("dr-app1", "cleanup")
    p = drill_plan("intdrill", """
      { name = "work"; tier = 1; scope = "global"; steps = (
        { name = "long"; on = "to:app"; idempotent = true; run = "touch %s/started; sleep 30"; } ); },
      { name = "undo"; tier = 2; scope = "global"; steps = (
        { name = "s"; on = "to:app"; cleanup = true; idempotent = true; run = "touch %s/cleaned"; } ); }
    """ % (d, d))
    state = td.new_state()
    proc = subprocess.Popen([td.DROVER, "drill", p, "--to", "drill", "--yes"],
                            env=td.env_for(state), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(d + "/started"), what="started")
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0].decode(errors="replace")
    check(proc.returncode == 3, "interrupted: exit 3 (rc %d)" % proc.returncode,
          out)
    check(os.path.exists(d + "/cleaned"), "the cleanup step ran", out)
    rep, _, _ = report_of(state)
    check(task(rep, "undo/s")["state"] == "succeeded", "cleanup succeeded")


# ------------------------------------------------------------- faults


def test_full_state_filesystem():
    mnt = tempfile.mkdtemp(prefix="drover-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", mnt],
                   check=True)
    try:
        p = td.plan("full", """
          { name = "noisy"; tier = 1; scope = "global"; steps = (
            { name = "s"; on = "torino:to-db1"; idempotent = true;
              run = "head -c 300000 /dev/zero | tr '\\\\0' x"; } ); }
        """)
        rc, out = td.failover(p, mnt)
        check(rc != 0, "a run whose records could not be written is not ok "
              "(rc %d)" % rc, out)
        check("No space left on device" in out or
              "no space left on device" in out, "the errno is shown", out)
    finally:
        subprocess.run(["umount", "-l", mnt])


def test_sighup_cancels_remote_work():
    marker = "sleep 5%03d" % (os.getpid() % 1000)
    p = td.plan("hup", """
      { name = "h"; tier = 1; scope = "global"; steps = (
        { name = "s"; on = "torino:to-app1"; idempotent = true; run = "%s"; } ); }
    """ % marker)
    state = td.new_state()
    proc = td.start_failover(p, state)
    wait_for(lambda: subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                                    stdout=subprocess.PIPE).returncode == 0,
             what="the remote command")
    proc.send_signal(signal.SIGHUP)
    proc.wait(timeout=60)
    out = td.popen_output(proc)
    check(proc.returncode == 3, "SIGHUP: exit 3 (rc %d)" % proc.returncode,
          out)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-u", "drlab", "-f", marker],
                          stdout=subprocess.PIPE).stdout.decode().split()
    check(not left, "the remote command was killed: %s" % left)
    rep, run_dir, _ = report_of(state)
    check(task(rep, "h/s")["state"] == "cancelled", "journaled as cancelled")
    check("SIGHUP" in open(run_dir + "/audit").read(), "audited")


def test_inputs_that_are_not_plans():
    for path in ("/dev/zero", "/tmp"):
        t0 = time.time()
        rc, out = td.drover(td.new_state(), "failover", path, "--from",
                            "milan", "--to", "torino", "--yes", timeout=20)
        check(rc == 1 and "not a regular file" in out and
              time.time() - t0 < 10, "%s refused at once" % path, out)


def test_default_state_directory():
    home = tempfile.mkdtemp(prefix="drover-home-")
    env = dict(os.environ, HOME=home)
    env.pop("DROVER_STATE_DIR", None)
    env.pop("XDG_STATE_HOME", None)
    r = subprocess.run([td.DROVER, "failover",
                        os.path.join(TOP, "plans", "lab.cfg"), "--from",
                        "milan,rome", "--to", "torino", "--yes",
                        "--auto-approve"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       timeout=300)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0, "lab failover on a fresh home (rc %d)" %
          r.returncode, out)
    sd = os.path.join(home, ".local", "state", "drover")
    check(os.stat(sd).st_mode & 0o777 == 0o700, "created 0700")
    runs = os.listdir(os.path.join(sd, "runs"))
    check(len(runs) == 1 and os.path.exists(
        os.path.join(sd, "runs", runs[0], "report.json")), "report written")
    subprocess.run([os.path.join(TOP, "contrib", "lab", "lab"), "reset"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_check_agrees_with_failover():
    """What failover would refuse, check fails too: an unset secret, a
    missing known_hosts file, a private key others can read."""
    p = td.plan("agree", """
      { name = "s"; tier = 1; scope = "global"; steps = (
        { name = "x"; on = "torino:to-db1"; run = "test -n ${secret.pw}"; } ); }
    """, extra='secrets = ( { name = "pw"; env = "DROVER_TEST_UNSET_PW"; } );')
    os.environ.pop("DROVER_TEST_UNSET_PW", None)
    state = td.new_state()
    rc_c, out_c = td.drover(state, "check", p, "--to", "torino", "--from",
                            "milan,rome")
    rc_f, out_f = td.failover(p, state)
    check(rc_c == 1 and "DROVER_TEST_UNSET_PW" in out_c,
          "check fails on the unset secret", out_c)
    check(rc_f == 1 and "DROVER_TEST_UNSET_PW" in out_f,
          "failover refuses it too", out_f)
    key = tempfile.mkdtemp(prefix="drover-key-") + "/id"
    subprocess.run(["cp", LAB + "/client/id_ed25519", key], check=True)
    os.chmod(key, 0o644)
    text = open(p).read().replace(LAB + "/client/id_ed25519", key)
    p2 = os.path.join(os.path.dirname(p), "plan2.cfg")
    open(p2, "w").write(text)
    env = {"DROVER_TEST_UNSET_PW": "x"}
    size = sshd_log_size("to-db1")
    rc_c, out_c = td.drover(state, "check", p2, "--to", "torino",
                            env_extra=env)
    rc_f, out_f = td.failover(p2, state, env_extra=env)
    check(rc_c == 1 and "readable by group or others" in out_c,
          "check refuses the key", out_c)
    check(rc_f == 1 and "readable by group or others" in out_f,
          "failover refuses the key before connecting", out_f)
    time.sleep(0.3)
    check(not [l for l in sshd_connections_since("to-db1", size)
               if "Accepted" in l], "the key was never used")
