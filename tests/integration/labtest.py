"""Shared runner of the lab integration tests (test_*.py in this folder).

Each test is a function that raises on failure. main() checks the
arguments, skips (exit 77) when not root, brings the lab up, runs the tests
(or those named on the command line) and prints 'N passed, N failed'.
"""

import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


LAB = os.environ.get("DROVER_LAB_DIR", "/var/lib/drover-lab")


def changed_known_hosts(d, hostport="[127.0.3.1]:2222"):
    """Writes d/known_hosts: the lab's, with hostport pinned to a freshly
    generated key (as if the host's key had changed). Returns its path."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    d + "/other"], check=True)
    other = open(d + "/other.pub").read().split()[1]
    lines = []
    for line in open(LAB + "/known_hosts"):
        if line.startswith(hostport + " "):
            line = "%s ssh-ed25519 %s\n" % (hostport, other)
        lines.append(line)
    kh = d + "/known_hosts"
    with open(kh, "w") as f:
        f.writelines(lines)
    return kh


def main(tests, set_drover, argv=None):
    argv = argv if argv is not None else sys.argv
    if len(argv) < 2:
        print("usage: %s DROVER [TEST...]" % os.path.basename(argv[0]),
              file=sys.stderr)
        return 2
    set_drover(os.path.abspath(argv[1]))
    if os.geteuid() != 0:
        print("skipped: the lab needs root (it starts sshd servers)")
        return 77
    up = subprocess.run([os.path.join(TOP, "contrib", "lab", "lab"), "up"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if up.returncode != 0:
        print(up.stdout.decode(errors="replace"))
        print("lab up failed")
        return 1
    only = argv[2:]
    passed = failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - t0))
        except Exception as e:  # report and go on
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
