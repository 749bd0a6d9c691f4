"""What the lab integration tests share (see conftest.py for the fixtures)."""

import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


LAB = os.environ.get("DROVER_LAB_DIR", "/var/lib/drover-lab")
DROVER = None  # set by conftest.py


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
