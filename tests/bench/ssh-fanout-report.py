#!/usr/bin/env python3
# ssh-fanout-report.py: the table and results file of ssh-fanout.sh, from
# the raw results it keeps in TMP/res (KEEP=1 keeps them):
#   ssh-fanout-report.py RES HOSTS ROUNDS WARMUP OUT.md NAME...
# Environment: FANOUT_DROVER, FANOUT_GIT (what was measured).
import json, os, re, statistics, subprocess, sys, platform, glob

res, N, R, W, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
names = sys.argv[6:]
env = os.environ

def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"

def msd(xs):
    if not xs:
        return (float("nan"), float("nan"))
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)

# pass 1
p1 = {}
for n in names:
    e, u, s, m, x = open(f"{res}/{n}.time").read().split()[-5:]
    f = open(f"{res}/{n}.sys").read().split()
    if len(f) == 8:
        rc, busy, tot, s0, s1, *load = f
    else:  # no server figures
        rc, busy, tot, *load = f
        s0 = s1 = "nan"
    d = dict(wall=float(e), user=float(u), sys=float(s), maxrss=int(m), rc=int(rc),
             busy=int(busy), tot=int(tot), load=" ".join(load), server=float(s1) - float(s0),
             err=open(f"{res}/{n}.err").read())
    if n == "drover":
        rep = json.load(open(f"{res}/drover-report.json"))
        st = {}
        for t in rep["tasks"]:
            st[t["state"]] = st.get(t["state"], 0) + 1
        d["ok"] = st.get("succeeded", 0)
        d["states"] = st
        d["rep"] = rep
        d["rss_sum"] = None
    else:
        recs = [l.split() for l in open(f"{res}/{n}.per") if l.strip()]
        d["per_n"] = len(recs)
        d["ok"] = sum(1 for r in recs if r[0] == "0")
        d["rss_sum"] = sum(int(r[1]) for r in recs)
        d["rss_max1"] = max((int(r[1]) for r in recs), default=0)
        d["per_cpu"] = sum(float(r[2]) + float(r[3]) for r in recs)
        we, wu, ws, wm, wx = open(f"{res}/{n}.wtime").read().split()[-5:]
        d["wrc"] = int(wx)
    p1[n] = d

# pass 2
hf = {n: dict(wall=[], cpu=[]) for n in names}
loads = []
for r in range(1, R + 1):
    j = json.load(open(f"{res}/round-{r}.json"))
    loads.append(open(f"{res}/round-{r}.load").read().strip())
    for x in j["results"]:
        hf[x["command"]]["wall"] += x["times"]
        hf[x["command"]]["cpu"].append(x["user"] + x["system"])

valid = all(p1[n]["ok"] == N and p1[n]["rc"] == 0 for n in names)

L = []
P = L.append
P(f"# ssh fan-out: `true` on {N} hosts: drover vs pdsh vs parallel OpenSSH")
P("")
P(f"- date (UTC): {sh('date -u +%FT%TZ')}")
cpu_model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
mem = sh("free -m | awk '/Mem:/ {print $2}'")
libssh2 = sh("dpkg-query -W -f='${Version}' libssh2-1")
P(f"- machine: {sh('nproc')} CPUs, {cpu_model}, {mem} MiB RAM, kernel {platform.release()}")
P(f"- drover: `{env.get('FANOUT_DROVER', '?')}` (git {env.get('FANOUT_GIT', '?')})")
P(f"- {sh('ssh -V 2>&1')}; {sh('pdsh -V 2>&1 | head -n 1')}; {sh('hyperfine --version')}; "
  f"{sh('/usr/bin/time --version 2>&1 | head -n 1')}; libssh2 {libssh2}")
P(f"- hosts: {N} lab sshd servers on 127.10.X.Y:2222 (contrib/lab/lab bench-up), same machine")
P(f"- rounds: {R} (hyperfine --runs 1 per command per round, commands interleaved; warmup {W} in round 1)")
P(f"- load average at each round: {'; '.join(loads)}")
P("")
P("## Commands")
P("")
for n in names:
    cmd = open(f"{res}/../cmds/{n}").read().strip() if os.path.exists(f"{res}/../cmds/{n}") else "?"
    P(f"- {n}: `{cmd}`")
P("")
P("## Results")
P("")
P("| tool | ok | wall mean ± sd (s) | wall min (s) | CPU user+sys (s), GNU time | CPU mean ± sd (s), hyperfine | CPU/host (ms) | max RSS one process (MiB) | sum of per-process peak RSS (MiB) |")
P("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
row = {}
for n in names:
    d, h = p1[n], hf[n]
    wm, ws = msd(h["wall"])
    cm, cs = msd(h["cpu"])
    cpu1 = d["user"] + d["sys"]
    row[n] = dict(wall=wm, cpu=cm, cpu1=cpu1)
    rss_sum = "= max (one process)" if d["rss_sum"] is None else "%.0f (%d ssh) + the parent" % (d["rss_sum"] / 1024, d["per_n"])
    P(f"| {n} | {d['ok']}/{N} | {wm:.2f} ± {ws:.2f} | {min(h['wall']):.2f} | {cpu1:.2f} ({d['user']:.2f} + {d['sys']:.2f}) "
      f"| {cm:.2f} ± {cs:.2f} | {1000 * cm / N:.1f} | {d['maxrss'] / 1024:.1f} | {rss_sum} |")
P("")
P("wall: hyperfine over the rounds (every run exited 0: pdsh -S and xargs exit non-zero if any host fails, drover if any task does). "
  "CPU: user+sys of the tool and all its children (GNU time on one run; hyperfine's rusage of the whole tree, mean over the rounds). "
  "CPU/host uses the hyperfine mean. max RSS (GNU time %M) is the peak of the largest single process in the tree; "
  "for pdsh and xargs the sum runs every ssh under its own GNU time in a separate run (the parent pdsh/xargs adds at most the max RSS column); "
  "RSS counts shared library pages in every process, so the sum overstates the memory really used.")
P("")
P("## Ratios (targets: wall ≤ 0.7 of pdsh; CPU per host ≤ 1/10 of one OpenSSH client)")
P("")
def ratio_lines(suffix, label):
    p, x = "pdsh" + suffix, "xargs-ssh" + suffix
    if p not in row or x not in row:
        return
    w = row["drover"]["wall"] / row[p]["wall"]
    c = (row["drover"]["cpu"] / N) / (row[x]["cpu"] / N)
    c1 = (row["drover"]["cpu1"] / N) / (row[x]["cpu1"] / N)
    P(f"- vs OpenSSH with {label}: drover wall / {p} wall = **{w:.2f}** (target ≤ 0.7: {'met' if w <= 0.7 else 'NOT met'}); "
      f"drover CPU/host ÷ {x} CPU/host = **{c:.3f}** = 1/{1 / c:.0f} (target ≤ 0.1: {'met' if c <= 0.1 else 'NOT met'}; GNU-time run alone: {c1:.3f})")
ratio_lines("", "its default algorithms (sntrup761x25519 kex, chacha20-poly1305)")
ratio_lines("-c25519", "drover's algorithms (curve25519 kex, aes-ctr, hmac-sha2): the like-for-like comparison")
if not valid:
    P("")
    P("**VOID: not every tool succeeded on every host in the GNU time pass; see below.**")
P("")
P("## Success and machine load per tool (GNU time pass)")
P("")
P("| tool | exit | ok | other | machine busy during run | load avg before | bench sshd CPU (s) | sshd CPU/host (ms) |")
P("| --- | --- | --- | --- | --- | --- | --- | --- |")
for n in names:
    d = p1[n]
    other = ", ".join(f"{k} {v}" for k, v in d.get("states", {}).items() if k != "succeeded") if n == "drover" \
        else f"{d['per_n'] - d['ok']} ssh failed of {d['per_n']} (per-process run exit {d['wrc']})"
    busy = 100.0 * d["busy"] / d["tot"] if d["tot"] else float("nan")
    P(f"| {n} | {d['rc']} | {d['ok']}/{N} | {other or '-'} | {busy:.0f}% of all CPUs | {d['load']} | {d['server']:.2f} | {1000 * d['server'] / N:.0f} |")
    if d["err"].strip():
        P(f"|  | stderr: {d['err'].strip().splitlines()[0][:120]} |")
P("")
P("bench sshd CPU: the servers' side of the same run (the bench listeners' utime+stime+cutime+cstime, delta); "
  "client and servers share this machine's CPUs.")
# drover phases from its report: connect (start to job start) vs command
rep = p1["drover"]["rep"]
t0 = min(t["start_ms"] for t in rep["tasks"])
ends, cmd_s, conn_s = [], [], []
for t in rep["tasks"]:
    ends.append((t["end_ms"] - t0) / 1000)
    m = re.search(r"after ([0-9.]+)(ms|s)", t.get("message") or "")
    if m:
        c = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        cmd_s.append(c)
        conn_s.append((t["end_ms"] - t["start_ms"]) / 1000 - c)
def q(xs):
    xs = sorted(xs)
    return " / ".join("%.2f" % xs[int(p * (len(xs) - 1))] for p in (0, .5, .9, 1)) if xs else "-"
P("")
P(f"drover run (GNU time pass): report duration {rep['duration_ms'] / 1000:.2f} s; task end after run start, s (min / p50 / p90 / max): {q(ends)}; "
  f"time from channel start to exit (the `after` in each task message), s: {q(cmd_s)}; "
  f"so task start to channel start (connect, key exchange, auth) took {q(conn_s)} s. "
  "Sessions stay open until the run ends, then all disconnect.")
pf = f"{res}/perf-stat.txt"
if os.path.exists(pf):
    P("")
    P("## perf stat, one drover run")
    P("")
    P("```")
    P("\n".join(l for l in open(pf).read().splitlines() if l.strip() and not l.startswith("#")))
    P("```")
text = "\n".join(L) + "\n"
open(out, "w").write(text)
print(text)
sys.exit(0 if valid else 1)
