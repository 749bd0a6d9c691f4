#!/bin/bash
# copy-throughput.sh: one big file from the lab's vault (va-bk1) to torino
# (to-db1), relayed through this machine, by drover's copy step and by
# `scp -3 -O` with the same key, pinned keys and algorithms, side by side.
# Then one direction, from this machine to to-db1: drover (a copy from a
# local file), curl's scp:// (libssh2, the library drover is built on) and
# `scp -O` (OpenSSH), to show how much of the gap is the SSH library's.
# A benchmark, not a test: it prints figures and asserts nothing about
# timings; it fails only when a copy did not arrive intact (then the
# comparison is void) or the setup is broken.
#
#   sudo tests/bench/copy-throughput.sh [DROVER]   DROVER: binary or build dir
#                                                  (default build-bench/drover)
# Environment:
#   SIZE=300M   file size, as head -c takes it (300M, 3G: powers of 1024)
#   ROUNDS=3    timed rounds; each runs every tool once, the order rotating
#   ONEWAY=1    0: skip the one-direction part (it needs curl with scp://)
#   KEEP=0      1: keep the temporary directory (plan, logs, time records)
#   PERF=0      1: record drover with perf (perf.ROUND.data in the kept
#               directory; implies KEEP=1); its CPU then includes perf's
#
# Needs root (the lab's sshd servers and their host directories), GNU time,
# scp, python3, and for the one-direction part curl and openssl. Brings the
# lab up when va-bk1 or to-db1 is down (`lab up` is idempotent) and never
# takes it down: others use it.
#
# What the figures mean: wall is the whole command (connect, relay, and for
# drover the manifest read and the digest at the destination before the
# rename; scp and curl verify nothing), CPU is user+sys of the tool and the
# children it waited for, RSS the peak of its largest process. sshd-src and
# sshd-dst are what the servers of each host spent (sshd, the shell, cat,
# the digest, scp -f/-t), sampled from /proc; busy is the share of the
# machine's CPUs in use during the run, everyone's. Client and servers
# share this machine: when busy nears 100%, the machine, not the tool,
# bounds the result, and other work on it shows up in busy and in the
# spread of the rounds.
set -euo pipefail

PROG=copy-throughput.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/contrib/lab/lab

SIZE=${SIZE:-300M}
ROUNDS=${ROUNDS:-3}
ONEWAY=${ONEWAY:-1}
KEEP=${KEEP:-0}
PERF=${PERF:-0}
PERF_CMD=
if ((PERF)); then
	KEEP=1
	PERF_CMD="perf record -q -F 2000 -g -o "
fi

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

drover=${1:-$repo/build-bench/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built (cmake -S $repo -B $repo/build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $repo/build-bench)"
[[ $SIZE =~ ^[0-9]+[KMG]?$ ]] || die "SIZE must be a number with an optional K, M or G suffix"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1)) || die "ROUNDS must be >= 1"
[[ $ONEWAY == [01] ]] || die "ONEWAY must be 0 or 1"
if ((ONEWAY)) && ! curl -V 2>/dev/null | grep -q '^Protocols:.* scp\b'; then
	die "curl with scp:// is not installed (apt-get install curl), or run with ONEWAY=0"
fi
(($(id -u) == 0)) || die "run as root: the files live in the lab's host directories"
command -v scp >/dev/null 2>&1 || die "scp is not installed (openssh-client)"
/usr/bin/time -v true 2>/dev/null || die "/usr/bin/time is not GNU time (apt-get install time)"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed (it samples the servers' CPU)"

eval "$("$lab" env)"
status=$("$lab" status 2>/dev/null || true)
for h in va-bk1 to-db1; do
	if ! awk -v h="$h" '$3 == h && $6 == "up" { ok = 1 } END { exit !ok }' <<<"$status"; then
		note "lab: $h is down: lab up"
		"$lab" up >/dev/null
		break
	fi
done
status=$("$lab" status)
src_addr=$(awk '$3 == "va-bk1" { print $4 }' <<<"$status")
dst_addr=$(awk '$3 == "to-db1" { print $4 }' <<<"$status")
[[ -n $src_addr && -n $dst_addr ]] || die "lab status names no va-bk1 or to-db1"
listener() { cat "$DROVER_LAB_DIR/sshd/$1/sshd.pid"; }
src_sshd=$(listener va-bk1)
dst_sshd=$(listener to-db1)

# What drover offers first is what it negotiates: the client's order wins.
pref() {
	sed -n "s/^static const char $1\[\] = \"\([^,\"]*\).*/\1/p" \
		"$repo/orchestrator/exec/ssh.c"
}
kex=$(pref KEX_PREF) cipher=$(pref CIPHER_PREF) mac=$(pref MAC_PREF)
[[ -n $kex && -n $cipher && -n $mac ]] || die "cannot read drover's algorithms from orchestrator/exec/ssh.c"

# --- files ----------------------------------------------------------------------

tmp= srcdir= dstdir=
cleanup() {
	local rc=$?
	set +e
	[[ -n $srcdir ]] && rm -rf "$srcdir"
	[[ -n $dstdir ]] && rm -rf "$dstdir"
	if [[ -n $tmp ]]; then
		if ((KEEP)); then note "kept $tmp"; else rm -rf "$tmp"; fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-copy.XXXXXX")
srcdir=$DROVER_LAB_HOSTS_DIR/va-bk1/bench-copy.$$
dstdir=$DROVER_LAB_HOSTS_DIR/to-db1/bench-copy.$$
mkdir -p "$srcdir" "$dstdir"
chown "$DROVER_LAB_USER:" "$dstdir"
chmod 0755 "$srcdir" "$dstdir"
file=$srcdir/big.bin
note "writing $SIZE of random bytes to $file"
head -c "$SIZE" /dev/urandom >"$file"
chmod 0644 "$file"
bytes=$(stat -c %s "$file")
(cd "$srcdir" && sha256sum big.bin >big.bin.sha256)
want=$(cut -d' ' -f1 "$srcdir/big.bin.sha256")

plan=$tmp/copy.cfg
cat >"$plan" <<EOF
# written by tests/bench/copy-throughput.sh
version = 1;
name = "copy-throughput";
defaults: { user = "$DROVER_LAB_USER"; identity = "$DROVER_LAB_IDENTITY";
            known_hosts = "$DROVER_LAB_KNOWN_HOSTS"; port = $DROVER_LAB_PORT;
            connect_timeout = "10s"; timeout = "2h"; retries = 0;
            retry_delay = "100ms"; };
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; },
              { name = "mi-app1"; address = "127.0.1.2"; roles = ["app", "web"]; } ); },
  { name = "rome"; role = "secondary";
    hosts = ( { name = "ro-db1"; address = "127.0.2.1"; roles = ["db"]; },
              { name = "ro-app1"; address = "127.0.2.2"; roles = ["app", "web"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "$dst_addr"; roles = ["db"]; },
              { name = "to-app1"; address = "127.0.3.2"; roles = ["app"]; },
              { name = "to-web1"; address = "127.0.3.3"; roles = ["web"]; } ); },
  { name = "vault"; role = "vault";
    hosts = ( { name = "va-bk1"; address = "$src_addr"; roles = ["backup"]; } ); }
);
services = (
  { name = "restore"; tier = 1; scope = "global"; steps = (
    { name = "big"; copy = { from = "vault:va-bk1:$file";
                             to = "torino:to-db1:$dstdir/"; sha256 = "manifest"; }; } ); }
);
EOF
"$drover" validate "$plan" >/dev/null || die "$plan: invalid"

# One direction: the same bytes from a file on this machine. curl is given
# to-db1's pinned key (the SHA-256 of the lab's known_hosts entry) and, as
# libcurl sets no algorithms, negotiates libssh2's defaults, which on Debian
# 12 are drover's (curve25519-sha256, aes128-ctr, hmac-sha2-256: seen in a
# debug sshd's "kex:" lines).
upplan=$tmp/up.cfg
if ((ONEWAY)); then
	mkdir "$tmp/local"
	cp "$file" "$tmp/local/big.bin"
	sed -e "s|from = \"vault:va-bk1:$file\"|from = \"$tmp/local/big.bin\"|" \
		-e "s|sha256 = \"manifest\"|sha256 = \"$want\"|" "$plan" >"$upplan"
	grep -q "from = \"$tmp/local/big.bin\"" "$upplan" || die "$upplan: no local source"
	"$drover" validate "$upplan" >/dev/null || die "$upplan: invalid"
	dst_pin=$(awk -v h="[$dst_addr]:$DROVER_LAB_PORT" '$1 == h && $2 == "ssh-ed25519" { print $3 }' \
		"$DROVER_LAB_KNOWN_HOSTS" | base64 -d | openssl dgst -sha256 -binary | base64 | tr -d '=')
	[[ -n $dst_pin ]] || die "$DROVER_LAB_KNOWN_HOSTS: no ed25519 key for to-db1"
fi

cat >"$tmp/ssh_config" <<EOF
# drover's algorithms (orchestrator/exec/ssh.c), the lab's key and pins
Host va-bk1
	HostName $src_addr
Host to-db1
	HostName $dst_addr
Host *
	User $DROVER_LAB_USER
	Port $DROVER_LAB_PORT
	IdentityFile $DROVER_LAB_IDENTITY
	IdentitiesOnly yes
	UserKnownHostsFile $DROVER_LAB_KNOWN_HOSTS
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	UpdateHostKeys no
	HostKeyAlgorithms ssh-ed25519
	BatchMode yes
	ControlMaster no
	ControlPath none
	Compression no
	KexAlgorithms $kex
	Ciphers $cipher
	MACs $mac
EOF

# --- one run ----------------------------------------------------------------------

# The servers' side: every process below each host's sshd listener (the
# session's sshd, the shell, cat, sha256sum or openssl, scp -f/-t), sampled
# from /proc every 0.1 s while the tool runs; a process's CPU time is its
# last sample (so up to 0.1 s of each one's end is missed, and any other
# session on these hosts meanwhile is counted). Then the machine: the share
# of all CPUs busy over the run, from /proc/stat.
cat >"$tmp/sample.py" <<'EOF_PY'
import os, signal, sys, time
roots = [int(x) for x in sys.argv[1:]]
hz = os.sysconf("SC_CLK_TCK")
last = {}
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return int(f[1]), int(f[19]), int(f[11]) + int(f[12])
def sample():
    info, kids = {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            r = stat(int(d))
            if r:
                info[int(d)] = r
                kids.setdefault(r[0], []).append(int(d))
    for i, root in enumerate(roots):
        todo = list(kids.get(root, []))
        while todo:
            p = todo.pop()
            todo.extend(kids.get(p, []))
            last[(p, info[p][1])] = (i, info[p][2])
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]
t0, i0 = busy()
while not stop:
    sample()
    time.sleep(0.1)
sample()
t1, i1 = busy()
cpu = [0.0] * len(roots)
for i, c in last.values():
    cpu[i] += c / hz
print(" ".join("%.2f" % c for c in cpu), "%.0f" % (100.0 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF_PY

# run TOOL ROUND: one copy; appends to $results
# "tool round wall user sys rss_kib sshd_src_cpu sshd_dst_cpu busy%".
run() {
	local tool=$1 round=$2 t0 t1 sp rc=0
	local tv=$tmp/time.$1.$2 log=$tmp/log.$1.$2 sv=$tmp/sample.$1.$2
	rm -f "$dstdir/big.bin"
	sync
	python3 "$tmp/sample.py" "$src_sshd" "$dst_sshd" >"$sv" &
	sp=$!
	t0=$(date +%s.%N)
	case $tool in
	drover)
		DROVER_STATE_DIR=$tmp/state.$round /usr/bin/time -v -o "$tv" \
			${PERF_CMD:+$PERF_CMD$tmp/perf.$round.data} "$drover" failover "$plan" --from milan,rome --to torino --yes \
			>"$log" 2>&1 </dev/null || rc=$?
		;;
	scp)
		/usr/bin/time -v -o "$tv" scp -3 -O -q -F "$tmp/ssh_config" \
			"va-bk1:$file" "to-db1:$dstdir/big.bin" >"$log" 2>&1 </dev/null || rc=$?
		;;
	drover-up)
		DROVER_STATE_DIR=$tmp/state.up.$round /usr/bin/time -v -o "$tv" \
			"$drover" failover "$upplan" --from milan,rome --to torino --yes \
			>"$log" 2>&1 </dev/null || rc=$?
		;;
	curl-up)
		/usr/bin/time -v -o "$tv" curl -sS --hostpubsha256 "$dst_pin" \
			--key "$DROVER_LAB_IDENTITY" -u "$DROVER_LAB_USER:" -T "$tmp/local/big.bin" \
			"scp://$dst_addr:$DROVER_LAB_PORT$dstdir/big.bin" >"$log" 2>&1 </dev/null || rc=$?
		;;
	scp-up)
		/usr/bin/time -v -o "$tv" scp -O -q -F "$tmp/ssh_config" \
			"$tmp/local/big.bin" "to-db1:$dstdir/big.bin" >"$log" 2>&1 </dev/null || rc=$?
		;;
	esac
	t1=$(date +%s.%N)
	sleep 0.2 # the sessions' sshd end a moment after the client
	kill -TERM "$sp"
	wait "$sp" || true
	((rc == 0)) || {
		cat "$log" >&2
		die "$tool round $round: exit $rc (log above)"
	}
	[[ $(sha256sum <"$dstdir/big.bin" | cut -d' ' -f1) == "$want" ]] ||
		die "$tool round $round: $dstdir/big.bin differs from the source: comparison void"
	read -r src_cpu dst_cpu busy <"$sv"
	awk -v tool="$tool" -v r="$round" -v t0="$t0" -v t1="$t1" \
		-v s="$src_cpu" -v d="$dst_cpu" -v b="$busy" '
		/User time/ { u = $NF } /System time/ { y = $NF }
		/Maximum resident set size/ { m = $NF }
		END { printf "%s %d %.3f %.2f %.2f %d %.2f %.2f %d\n", tool, r, t1 - t0, u, y, m, s, d, b }' \
		"$tv" >>"$results"
}

note "$bytes bytes, $ROUNDS rounds; kex $kex, cipher $cipher, mac $mac; load $(cut -d' ' -f1-3 /proc/loadavg)"
results=$tmp/results
: >"$results"
for r in $(seq "$ROUNDS"); do
	if ((r % 2)); then run drover "$r" && run scp "$r"; else run scp "$r" && run drover "$r"; fi
done
if ((ONEWAY)); then
	results=$tmp/results.up
	: >"$results"
	for r in $(seq "$ROUNDS"); do
		case $((r % 3)) in
		1) run drover-up "$r" && run curl-up "$r" && run scp-up "$r" ;;
		2) run curl-up "$r" && run scp-up "$r" && run drover-up "$r" ;;
		0) run scp-up "$r" && run drover-up "$r" && run curl-up "$r" ;;
		esac
	done
fi

# --- figures ------------------------------------------------------------------------

# figures RESULTS TITLE BASE TOOL...: the table of RESULTS, then each TOOL's
# throughput over BASE's, of the means and of the best runs. BASE's label in
# the ratio line is TITLE's.
figures() {
	local res=$1 title=$2 base=$3
	shift 3
	awk -v bytes="$bytes" -v base="$base" -v title="$title" -v tools="$*" '
	function row(t, r, w, u, y, m, s, d, b) {
		printf "%-9s %5s %8.2f %8.1f %8.2f %8.1f %11.2f %11.2f %5.0f%%\n", t, r, w,
		    bytes / 1048576 / w, u + y, m / 1024, s, d, b
	}
	BEGIN {
		printf "%-9s %5s %8s %8s %8s %8s %11s %11s %6s\n", "tool", "round", "wall s",
		    "MiB/s", "CPU s", "RSS MiB", "sshd-src s", "sshd-dst s", "busy"
	}
	{
		row($1, $2, $3, $4, $5, $6, $7, $8, $9)
		if (!($1 in n)) order[++nt] = $1
		n[$1]++; w[$1] += $3; u[$1] += $4; y[$1] += $5; s[$1] += $7; d[$1] += $8; b[$1] += $9
		if ($6 > m[$1]) m[$1] = $6
		if (!($1 in best) || $3 < best[$1]) best[$1] = $3
	}
	END {
		print ""
		for (i = 1; i <= nt; i++) {
			t = order[i]
			row(t, "mean", w[t] / n[t], u[t] / n[t], y[t] / n[t], m[t], s[t] / n[t],
			    d[t] / n[t], b[t] / n[t])
		}
		print ""
		k = split(tools, tl, " ")
		for (i = 1; i <= k; i++) {
			t = tl[i]
			if (n[t] && n[base])
				printf "%s throughput / %s throughput: %.2f (means), %.2f (best runs)\n",
				    t, title, (w[base] / n[base]) / (w[t] / n[t]), best[base] / best[t]
		}
	}' "$res"
}

echo "relayed from va-bk1 to to-db1 through this machine:"
figures "$tmp/results" "scp -3 -O" scp drover
if ((ONEWAY)); then
	echo
	echo "one direction, from this machine to to-db1 ($(curl -V | head -1 | grep -o 'libssh2/[^ ]*')):"
	figures "$tmp/results.up" "scp -O" scp-up drover-up curl-up
fi
note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
