"""Integration tests: failover onto a site that does not exist yet.

plans/lab.cfg's site "fresh" lists no hosts. Its provision step runs the
lab's provisioner (contrib/lab/lab provision), which starts one new sshd
host per role on 127.0.6.x with the host keys drover generated; drover pins
them before it connects. Real sshd servers, real libssh2 sessions.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import labtest

TOP = labtest.TOP
LAB = labtest.LAB
DROVER = None  # set by conftest.py
LABCMD = os.path.join(TOP, "contrib", "lab", "lab")
LAB_PLAN = os.path.join(TOP, "plans", "lab.cfg")
FRESH = ("fr-db1", "fr-app1", "fr-web1")


def check(cond, what, out=""):
    if not cond:
        raise AssertionError(what + ("\n--- output ---\n" + out[-4000:]
                                     if out else ""))


def lab(*args):
    p = subprocess.run([LABCMD] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check(p.returncode == 0, "lab %s" % " ".join(args),
          p.stdout.decode(errors="replace"))


def fresh_start():
    """The lab as before an incident, and site fresh not there."""
    lab("deprovision", "fresh")
    lab("reset")


def drover(state, *args, timeout=300):
    env = dict(os.environ, DROVER_STATE_DIR=state)
    p = subprocess.run([DROVER] + list(args), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def failover(plan, state, *args, timeout=300):
    return drover(state, "failover", plan, "--from", "milan,rome", "--to",
                  "fresh", "--yes", "--auto-approve", *args, timeout=timeout)


def only_run(state):
    runs = os.listdir(os.path.join(state, "runs"))
    check(len(runs) == 1, "one run: %s" % runs)
    return runs[0], os.path.join(state, "runs", runs[0])


def report(run_dir):
    with open(os.path.join(run_dir, "report.json")) as f:
        return json.load(f)


def pins(state, rid):
    rc, out = drover(state, "audit", "show", rid)
    check(rc == 0, "audit show", out)
    return [l for l in out.splitlines() if re.search(r"\bpin\b", l)], out


def sshd_log(host):
    p = os.path.join(LAB, "sshd", host, "sshd.log")
    return open(p, errors="replace").read() if os.path.exists(p) else ""


def keyscan(addr):
    """The ed25519 key a host presents, 'ssh-ed25519 BASE64'."""
    p = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", "2222", addr],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=30)
    for line in p.stdout.decode().splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == "ssh-ed25519":
            return f[1] + " " + f[2]
    return None


def plan_copy(d, provision_cmd):
    """plans/lab.cfg with another provision command (run from d)."""
    text = open(LAB_PLAN).read()
    text, n = re.subn(r'command = "[^"]*lab provision";',
                      'command = "%s";' % provision_cmd, text)
    check(n == 1, "the lab plan's provision command was replaced")
    p = os.path.join(d, "lab.cfg")
    with open(p, "w") as f:
        f.write(text)
    return p


def script(d, name, body):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(body)
    os.chmod(p, 0o755)
    return p


# ---------------------------------------------------------------- tests


def test_plan_lists_no_fresh_hosts():
    """The site is declared with roles only; show renders it per role."""
    text = open(LAB_PLAN).read()
    m = re.search(r'\{ name = "fresh";(.*?)\},', text, re.S)
    check(m and "provisioned = true" in m.group(1), "fresh is provisioned")
    check("hosts" not in m.group(1), "fresh lists no hosts: " + m.group(1))
    state = tempfile.mkdtemp()
    rc, out = drover(state, "show", LAB_PLAN, "--from", "milan,rome", "--to",
                     "fresh")
    check(rc == 0, "show", out)
    check("hosts known after provisioning" in out, "placeholders", out)
    check("payroll/comune-brescia/restore@fresh/role:app" in out,
          "a task per role", out)


def test_check_before_provisioning():
    """check says what it can before the hosts exist, and reaches none."""
    lab("deprovision", "fresh")
    state = tempfile.mkdtemp()
    rc, out = drover(state, "check", LAB_PLAN, "--to", "fresh")
    check("fresh  not checked  provisioned at run time" in out,
          "the site is reported as not checked", out)
    check("roles declared: db, app, web" in out, "roles", out)
    check(re.search(r"controller  ok  provisioner hook `.*lab provision "
                    r"--help`", out), "the hook ran and passed", out)
    for h in FRESH:
        check(h not in out, "no row for a host that does not exist: " + h,
              out)
    check(rc == 0, "check passes (exit %d)" % rc, out)


def test_fresh_failover():
    """milan and rome lost; fresh created; everything back there."""
    fresh_start()
    state = tempfile.mkdtemp()
    rc, out = failover(LAB_PLAN, state)
    rid, run_dir = only_run(state)
    check(rc == 0, "failover to fresh exit %d" % rc, out)
    rep = report(run_dir)
    check(rep["state"] == "succeeded", "report state", out)
    states = {t["state"] for t in rep["tasks"]}
    check(states == {"succeeded"}, "every task succeeded: %s" % states, out)
    hosts = {t["host"] for t in rep["tasks"] if t.get("site") == "fresh"}
    check(hosts == set(FRESH), "tasks ran on the three new hosts: %s" % hosts)
    probes = [t for t in rep["tasks"] if t["action"] == "probe"]
    for tenant in ("comune-brescia", "comune-bergamo", "comune-lodi"):
        for svc in ("payroll", "anagrafe", "einvoicing", "website"):
            check(any(t["service"] == svc and t["tenant"] == tenant and
                      t["state"] == "succeeded" for t in probes),
                  "a probe passed for %s of %s" % (svc, tenant))
    for s in rep["services"]:
        check(s["recovered"], "recovered: %s" % s)
    lines, audit = pins(state, rid)
    check(len(lines) == 3, "three pin records:\n" + audit)
    kh = open(os.path.join(run_dir, "known_hosts")).read()
    for i, h in enumerate(FRESH):
        addr = "127.0.6.%d" % (i + 1)
        check(any(h in l and addr in l and "SHA256:" in l for l in lines),
              "pin of %s names its address and fingerprint" % h, audit)
        presented = keyscan(addr)
        check(presented and ("[%s]:2222 %s" % (addr, presented)) in kh,
              "%s presents the key pinned in the run's known_hosts" % h, kh)
        check("Accepted publickey" in sshd_log(h),
              "drover logged in to %s" % h)
    # The private host keys did not stay with the controller.
    for root, _, files in os.walk(os.path.join(run_dir, "provision")):
        for f in files:
            check(f.endswith(".pub") or f == "stdout",
                  "only public keys remain: %s/%s" % (root, f))
    lab("deprovision", "fresh")


def test_wrong_key_refused():
    """The inventory swaps two hosts' keys: refused before authentication."""
    fresh_start()
    d = tempfile.mkdtemp()
    script(d, "swap.py", """#!/usr/bin/python3
import json, subprocess, sys
out = subprocess.run([%r, "provision"], stdout=subprocess.PIPE, check=True)
inv = json.loads(out.stdout)
hv = inv["_meta"]["hostvars"]
hv["fr-db1"]["drover_host_key"], hv["fr-app1"]["drover_host_key"] = \\
    hv["fr-app1"]["drover_host_key"], hv["fr-db1"]["drover_host_key"]
json.dump(inv, sys.stdout)
""" % LABCMD)
    p = plan_copy(d, "./swap.py")
    state = tempfile.mkdtemp()
    rc, out = failover(p, state)
    check(rc != 0, "the run fails", out)
    m = re.search(r"fresh/fr-db1: host key changed: got (SHA256:\S+), "
                  r"expected (SHA256:[^ ,]+)", out)
    check(m and m.group(1) != m.group(2),
          "the message names the host and both fingerprints", out)
    for h in ("fr-db1", "fr-app1"):
        check("Accepted publickey" not in sshd_log(h),
              "%s: no key was accepted" % h, sshd_log(h)[-2000:])
    lab("deprovision", "fresh")


def test_kill_after_provision_then_resume():
    """SIGKILL right after provisioning; resume reuses hosts and pins."""
    fresh_start()
    d = tempfile.mkdtemp()
    count = os.path.join(d, "count")
    script(d, "counted.sh", """#!/bin/sh
echo run >> %s
exec %s provision
""" % (count, LABCMD))
    p = plan_copy(d, "./counted.sh")
    state = tempfile.mkdtemp()
    env = dict(os.environ, DROVER_STATE_DIR=state)
    proc = subprocess.Popen([DROVER, "failover", p, "--from", "milan,rome",
                             "--to", "fresh", "--yes", "--auto-approve"],
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.time() + 120
    jpath = None
    while time.time() < deadline:
        runs = os.path.join(state, "runs")
        if jpath is None and os.path.isdir(runs) and os.listdir(runs):
            jpath = os.path.join(runs, os.listdir(runs)[0], "journal")
        data = open(jpath, "rb").read() if jpath and os.path.exists(jpath) \
            else b""
        if re.search(rb'"key":"provision/create-hosts"[^\n]*"state":'
                     rb'"succeeded"', data):
            break
        check(proc.poll() is None, "drover still runs")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rid, run_dir = only_run(state)
    check(open(count).read().count("run") == 1, "provisioned once")
    kh_before = open(os.path.join(run_dir, "known_hosts")).read() \
        if os.path.exists(os.path.join(run_dir, "known_hosts")) else None
    rc, out = drover(state, "resume", rid, "--yes")
    check(rc == 0, "resume exit %d" % rc, out)
    check(open(count).read().count("run") == 1,
          "the provisioner did not run again", out)
    rep = report(run_dir)
    hosts = {(t["host"]) for t in rep["tasks"] if t.get("site") == "fresh"}
    check(hosts == set(FRESH), "the same hosts: %s" % hosts)
    lines, audit = pins(state, rid)
    check(len(lines) == 3, "still three pins:\n" + audit)
    kh = open(os.path.join(run_dir, "known_hosts")).read()
    if kh_before is not None:
        check(kh == kh_before, "the same pins")
    for i, h in enumerate(FRESH):
        addr = "127.0.6.%d" % (i + 1)
        check(("[%s]:2222 %s" % (addr, keyscan(addr))) in kh,
              "%s still presents its pinned key" % h, kh)
    lab("deprovision", "fresh")


BAD = {
    "not JSON": ('{"db": {"hosts": ["fr-db1"]', "JSON"),
    "unknown role": ({"db": {"hosts": ["fr-db1"]},
                      "cache": {"hosts": ["fr-db1"]}}, '"cache"'),
    "duplicate host": ({"db": {"hosts": ["fr-db1", "fr-db1"]}}, "fr-db1"),
    "missing address": ({"db": {"hosts": ["fr-db1"]}, "nohost": True},
                        "ansible_host"),
    "missing key": ({"db": {"hosts": ["fr-db1"]}, "nokey": True},
                    "drover_host_key"),
    "rsa key": ({"db": {"hosts": ["fr-db1"]}, "rsa": True},
                "drover_host_key"),
    "role with no host": ({"db": {"hosts": ["fr-db1"]}, "app": {"hosts": []}},
                          '"app"'),
    # A real host's own key, but not one drover generated for this run.
    "key not generated": ({"db": {"hosts": ["fr-db1"]},
                           "app": {"hosts": ["fr-db1"]}}, "did not generate"),
}


def bad_inventory(case):
    """The inventory text for a case: fr-db1 on torino's to-db1 address."""
    spec, _ = BAD[case]
    if isinstance(spec, str):
        return spec
    inv = {k: v for k, v in spec.items() if isinstance(v, dict)}
    hv = {"ansible_host": "127.0.3.1", "ansible_port": 2222,
          "drover_host_key": "ssh-ed25519 " + keyscan("127.0.3.1").split()[1]}
    if spec.get("nohost"):
        del hv["ansible_host"]
    if spec.get("nokey"):
        del hv["drover_host_key"]
    if spec.get("rsa"):
        hv["drover_host_key"] = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7"
                                 "vbqajDRETvfXmsrzb4eq6bQpvnhSzfP1hxTCWH")
    inv["_meta"] = {"hostvars": {"fr-db1": hv}}
    return json.dumps(inv)


def test_malformed_inventory():
    """Each malformed inventory: a clear error naming host and field, and
    no connection to the hosts it names (torino's to-db1 address)."""
    d = tempfile.mkdtemp()
    plan = """version = 1;
name = "bad-inventory";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222; connect_timeout = "3s";
            timeout = "30s"; retries = 0; };
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "fresh"; role = "standby"; provisioned = true; roles = ["db", "app"]; }
);
services = (
  { name = "make"; tier = 0; scope = "global"; steps = (
    { name = "hosts";
      provision = { command = "cat inventory.json"; host_keys = "%s"; }; } ); },
  { name = "use"; tier = 1; scope = "global"; steps = (
    { name = "touch"; on = "to:db"; run = "true"; } ); }
);
"""
    p = os.path.join(d, "plan.cfg")
    for case, (_, field) in BAD.items():
        # Keys learned out of band, so that each check is reached; the
        # last case is about the keys drover generated.
        with open(p, "w") as f:
            f.write(plan % (LAB, LAB, "generated" if case == "key not generated"
                                      else "reported"))
        with open(os.path.join(d, "inventory.json"), "w") as f:
            f.write(bad_inventory(case))
        before = len(sshd_log("to-db1"))
        state = tempfile.mkdtemp()
        rc, out = drover(state, "failover", p, "--from", "milan", "--to",
                         "fresh", "--yes")
        check(rc == 1, "%s: the run fails (exit %d)" % (case, rc), out)
        check("inventory" in out and field in out,
              "%s: the error names %s" % (case, field), out)
        if case not in ("not JSON", "role with no host", "unknown role"):
            check("fr-db1" in out, "%s: the error names the host" % case, out)
        check("touch@fresh" not in out, "%s: no task on fresh ran" % case,
              out)
        after = sshd_log("to-db1")[before:]
        check("Connection from" not in after and "Accepted" not in after,
              "%s: nothing connected to the address it names" % case, after)


def test_inventory_from_a_file():
    """inventory = FILE: read from there; the command's stdout is only
    logged. Keys reported out of band (here: to-db1's own)."""
    d = tempfile.mkdtemp()
    inv = {"db": {"hosts": ["fr-db1"]},
           "_meta": {"hostvars": {"fr-db1": {
               "ansible_host": "127.0.3.1", "ansible_port": 2222,
               "drover_host_key": keyscan("127.0.3.1")}}}}
    with open(os.path.join(d, "given.json"), "w") as f:
        json.dump(inv, f)
    with open(os.path.join(d, "plan.cfg"), "w") as f:
        f.write("""version = 1;
name = "inventory-file";
defaults: { user = "drlab"; identity = "%s/client/id_ed25519";
            known_hosts = "%s/known_hosts"; port = 2222; timeout = "30s"; };
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "fresh"; role = "standby"; provisioned = true; roles = ["db"]; }
);
services = (
  { name = "make"; tier = 0; scope = "global"; steps = (
    { name = "hosts"; provision = { command = "echo not-an-inventory; cp given.json out/inv.json";
                                    inventory = "out/inv.json"; host_keys = "reported"; }; } ); },
  { name = "use"; tier = 1; scope = "global"; steps = (
    { name = "where"; on = "to:db"; run = "echo host ${host} addr ${address}"; } ); }
);
""" % (LAB, LAB))
    os.mkdir(os.path.join(d, "out"))
    state = tempfile.mkdtemp()
    rc, out = drover(state, "failover", os.path.join(d, "plan.cfg"), "--from",
                     "milan", "--to", "fresh", "--yes")
    check(rc == 0, "exit %d" % rc, out)
    rid, run_dir = only_run(state)
    _, where = drover(state, "logs", rid, "use/where@fresh/fr-db1")
    check("host fr-db1 addr 127.0.3.1" in where, "ran on the reported host",
          where)
    _, made = drover(state, "logs", rid, "make/hosts")
    check("not-an-inventory" in made, "the command's stdout is logged", made)


def listening(addr):
    p = subprocess.run(["ss", "-Hltn", "src", addr], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.stdout.decode().strip()


def test_drill_provisions_and_removes():
    """A drill into scratch creates it, rehearses there, and removes it."""
    lab("deprovision", "scratch")
    state = tempfile.mkdtemp()
    rc, out = drover(state, "drill", LAB_PLAN, "--to", "scratch", "--yes",
                     "--auto-approve")
    rid, run_dir = only_run(state)
    check(rc == 0, "drill into scratch exit %d" % rc, out)
    rep = report(run_dir)
    states = {t["state"] for t in rep["tasks"] if t.get("site") == "scratch"}
    check(states == {"succeeded"}, "the drill ran on scratch: %s" % states,
          out)
    hosts = {t["host"] for t in rep["tasks"] if t.get("site") == "scratch"}
    check(len(hosts) == 3 and all(h.startswith("sc-") for h in hosts),
          "three new hosts: %s" % hosts)
    rm = [t for t in rep["tasks"] if t["key"] == "drill-cleanup/remove-hosts"]
    check(len(rm) == 1 and rm[0]["state"] == "succeeded",
          "the deprovision step ran last and succeeded", out)
    last = max(t["end_ms"] for t in rep["tasks"])
    check(rm[0]["end_ms"] == last, "nothing ended after the deprovision")
    lines, audit = pins(state, rid)
    check(len(lines) == 3, "three pins:\n" + audit)
    inv = json.load(open(os.path.join(run_dir, "inventory.json")))
    for h in inv["hosts"]:
        check(listening(h["address"]) == "",
              "%s (%s) is gone after the drill" % (h["name"], h["address"]))
    check(not os.path.exists(os.path.join(LAB, "provisioned", "scratch")),
          "the lab has no record of scratch left")


TESTS = [test_plan_lists_no_fresh_hosts, test_check_before_provisioning,
         test_fresh_failover, test_wrong_key_refused,
         test_kill_after_provision_then_resume, test_malformed_inventory,
         test_inventory_from_a_file, test_drill_provisions_and_removes]
