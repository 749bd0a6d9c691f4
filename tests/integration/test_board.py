"""Integration tests: the board of drover failover on a terminal (issue 11).

Run by CTest as

    python3 -m pytest tests/integration/test_board.py --drover build/drover

against the lab (conftest.py brings it up; needs root). drover runs under
a pseudo-terminal, as an operator's would: on it the board is the live one,
redrawn in place, and the summary table follows it; DROVER_BOARD=lines
brings the line per change back; with --json the NDJSON goes to stdout and
the live board to the terminal on stderr.
"""

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtest  # noqa: E402

DROVER = None  # set by conftest.py
LAB = labtest.LAB
TENANTS = 30
ROWS, COLS = 40, 120

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

CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plan():
    """2 services x 30 tenants of a short sleep on torino; returns its path."""
    d = tempfile.mkdtemp(prefix="drover-board-")
    tenants = ",\n".join('  { name = "t%02d"; priority = %d; }' % (i, i + 1)
                         for i in range(TENANTS))
    text = """version = 1;
name = "board";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222;
            connect_timeout = "3s"; timeout = "1m"; retries = 0; };
limits: { sessions = 16; per_site = 16; per_host = 8; };
%s
tenants = (
%s
);
services = (
  { name = "db"; tier = 1; rto = "10m"; scope = "tenant"; steps = (
      { name = "restore"; on = "to:db"; run = "sleep 0.05"; } ); },
  { name = "app"; tier = 1; rto = "15m"; scope = "tenant"; steps = (
      { name = "start"; on = "to:app"; run = "sleep 0.05"; } ); }
);
""" % (LAB, LAB, SITES, tenants)
    p = os.path.join(d, "plan.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def on_pty(args, env_extra=None, stdout_pipe=False, timeout=240):
    """Runs drover failover with the terminal a pseudo-terminal of ROWS x
    COLS (stdin, stderr, and stdout unless stdout_pipe). Returns (rc, what
    the terminal got, stdout if piped, seconds it took)."""
    state = tempfile.mkdtemp(prefix="drover-state-")
    env = dict(os.environ, DROVER_STATE_DIR=state)
    env.pop("DROVER_BOARD", None)
    env.pop("DROVER_TRACE", None)
    if env_extra:
        env.update(env_extra)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ,
                struct.pack("HHHH", ROWS, COLS, 0, 0))
    cmd = [DROVER, "failover", plan(), "--from", "milan,rome", "--to",
           "torino", "--yes", "--auto-approve"] + list(args)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdin=slave,
                         stdout=subprocess.PIPE if stdout_pipe else slave,
                         stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            raise AssertionError("drover did not end in %ds:\n%s" %
                                 (timeout, b"".join(chunks)[-3000:]))
        r, _, _ = select.select([master], [], [], min(left, 1.0))
        if not r:
            if p.poll() is not None and not chunks:
                break
            continue
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: every end of the terminal closed
            break
        if not b:
            break
        chunks.append(b)
    out = p.stdout.read().decode(errors="replace") if stdout_pipe else None
    rc = p.wait()
    took = time.monotonic() - t0
    os.close(master)
    return rc, b"".join(chunks).decode(errors="replace"), out, took


def plain(s):
    return CSI.sub("", s).replace("\r", "")


def frames(term):
    """The frames the terminal got, as text: every frame ends with
    "erase below" (CSI J); what follows the last one is the summary."""
    parts = term.split("\x1b[J")
    return [plain(p) for p in parts[:-1]], plain(parts[-1])


def row(frame, label):
    """done, run, fail, skip, pend of a table row, or None."""
    m = re.search(r"^%s\s+\[[#X>.\-]+\]\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)"
                  r"\s+(\d+)" % re.escape(label), frame, re.M)
    return tuple(int(x) for x in m.groups()) if m else None


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- terminal ---\n" + out[-4000:]
                                     if out else ""))


# ---------------------------------------------------------------- tests


def test_live_board_on_terminal():
    """On a terminal: frames redrawn in place, far fewer than the changes,
    with the per-service counts; then the summary table as before."""
    rc, term, _, took = on_pty([])
    check(rc == 0, "failover exit %d" % rc, plain(term))
    ntasks, changes = 2 * TENANTS, 4 * TENANTS  # a start and an end each
    check("\x1b[J" in term, "frames erase what the last one left", term)
    check(re.search(r"\r\x1b\[\d+A", term),
          "frames move the cursor up over the last one", term)
    fs, tail = frames(term)
    check(1 <= len(fs) < changes / 2,
          "%d frames for %d state changes" % (len(fs), changes), term)
    # At most ten a second, and one each for the question-free end.
    check(len(fs) <= 10 * took + 5,
          "%d frames in %.1fs: more than ten a second" % (len(fs), took))
    # No line per change on the terminal.
    check(not re.search(r"\] tier 1 \S+ \S+ torino/\S+ (start|ok)",
                        plain(term)),
          "per-change lines on a terminal", plain(term))
    last = fs[-1]
    check(row(last, "all") == (ntasks, 0, 0, 0, 0), "final all row", last)
    check(row(last, "  db") == (TENANTS, 0, 0, 0, 0), "final db row", last)
    check(row(last, "  app") == (TENANTS, 0, 0, 0, 0), "final app row",
          last)
    check(re.search(r"^  db .* met in \S+ of 10m00s$", last, re.M),
          "db's RTO met in the final frame", last)
    check("all %d tasks ended" % ntasks in last, "final header", last)
    # While it ran, a frame showed work in progress, counted per service.
    progress = [f for f in fs if row(f, "all") and 0 < row(f, "all")[0] <
                ntasks]
    check(progress, "a frame during the run", "\n".join(fs))
    for f in progress:
        for svc in ("  db", "  app"):
            r = row(f, svc)
            check(r is not None and sum(r) == TENANTS,
                  "%s counts add up to its tasks: %s" % (svc, r), f)
        check(row(f, "tier 1") is not None, "the tier's row", f)
    # Then the summary, exactly as with lines.
    check(re.search(r"^SUCCEEDED \S+: %d succeeded, 0 failed" % ntasks,
                    tail, re.M), "SUCCEEDED line after the frames", tail)
    check(re.search(r"^tier\s+service/tenant\s+recovered\s+rto", tail,
                    re.M), "summary table header", tail)
    check(re.search(r"^1\s+db/t00\s+\S+\s+10m00s\s+met", tail, re.M),
          "summary rows", tail)


def test_lines_forced_on_terminal():
    """DROVER_BOARD=lines: one line per change even on a terminal."""
    rc, term, _, _ = on_pty([], env_extra={"DROVER_BOARD": "lines"})
    text = plain(term)
    check(rc == 0, "failover exit %d" % rc, text)
    check("\x1b[" not in term, "no escape sequences", term)
    starts = re.findall(r"^\[\d\d:\d\d:\d\d\] tier 1 \S+ \S+ torino/\S+ "
                        r"start$", text, re.M)
    oks = re.findall(r"^\[\d\d:\d\d:\d\d\] tier 1 \S+ \S+ torino/\S+ ok ",
                     text, re.M)
    check(len(starts) == 2 * TENANTS and len(oks) == 2 * TENANTS,
          "a line per change: %d starts, %d ok" % (len(starts), len(oks)),
          text)
    check(re.search(r"^tier\s+service/tenant\s+recovered\s+rto", text,
                    re.M), "summary table", text)


def test_json_live_on_stderr():
    """--json: NDJSON on stdout (a pipe) as before; the live board on the
    terminal that stderr is."""
    rc, term, out, _ = on_pty(["--json"], stdout_pipe=True)
    check(rc == 0, "failover exit %d" % rc, plain(term))
    events = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(len(events) >= 4 * TENANTS, "NDJSON events: %d" % len(events), out)
    check("\x1b[" not in out, "no escapes in the NDJSON", out)
    fs, tail = frames(term)
    check(fs and row(fs[-1], "all") == (2 * TENANTS, 0, 0, 0, 0),
          "live frames on stderr", term)
    check(re.search(r"^tier\s+service/tenant\s+recovered\s+rto", tail,
                    re.M), "summary on stderr", tail)


TESTS = [test_live_board_on_terminal, test_lines_forced_on_terminal,
         test_json_live_on_stderr]
