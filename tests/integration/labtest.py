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
