#!/bin/bash
# scale.sh: drover at the incident's size. Generates westpole-shaped plans
# (TENANTS tenants x 5 services x 4 steps of `true`, on the lab's three
# torino hosts, limits 64/64/4) and runs them with drover; sends the same
# commands through warm OpenSSH ControlMaster connections (xargs -P 12, one
# master per host, drover's kex, cipher and MAC) for comparison, and reports
# the masters' own CPU per command beside drover's. A benchmark, not a test: it prints
# figures and asserts nothing about them; it fails only when a run did not
# succeed (the comparison would be void) or the setup is broken.
#
#   sudo tests/bench/scale.sh [DROVER]     DROVER: binary or build dir
#                                          (default build-bench/drover)
# Environment:
#   SIZES="1300 3900"   tenant counts (tasks = 20 x tenants)
#   XARGS=1             0 skips the ControlMaster comparison
#   KEEP=0              1 keeps the temporary directory
#   PERF=0              1 records drover with perf (perf-TENANTS.data in the
#                       kept directory; implies KEEP=1; perf's cost shows)
#
# The fdatasync count comes from DROVER_JOURNAL_STATS, which a build with
# -DDROVER_TEST_HOOKS=ON prints; other builds show "n/a". Needs root (the
# lab), GNU time, python3, OpenSSH. Writes tests/bench/results/scale-DATE.md
# (gitignored) and prints it.
set -euo pipefail

PROG=scale.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
LAB=${DROVER_LAB_DIR:-/var/lib/drover-lab}
SIZES=${SIZES:-1300 3900}
XARGS=${XARGS:-1}
KEEP=${KEEP:-0}
PERF=${PERF:-0}
((PERF)) && KEEP=1

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

drover=${1:-$repo/build-bench/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built (cmake -S $repo -B $repo/build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVER_TEST_HOOKS=ON && cmake --build $repo/build-bench)"
(($(id -u) == 0)) || die "run as root: the lab starts sshd servers"
for t in python3 /usr/bin/ssh /usr/bin/time xargs; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not installed"
done
/usr/bin/time -f %e true 2>/dev/null || die "/usr/bin/time is not GNU time"

"$repo/contrib/lab/lab" up >/dev/null
tmp=$(mktemp -d /tmp/drover-scale.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	if ((XARGS)); then
		for h in 127.0.3.1 127.0.3.2 127.0.3.3; do
			ssh -F "$tmp/ssh_config" -O exit "$h" >/dev/null 2>&1 || true
		done
	fi
	((KEEP)) || rm -rf "$tmp"
}
trap cleanup EXIT

# plan TENANTS FILE: 5 services in tiers 1-5, each 4 steps of `true`
# spread over to:db, to:app, to:web (torino's three hosts).
plan() {
	python3 - "$1" "$LAB" >"$2" <<'PY'
import sys
n, lab = int(sys.argv[1]), sys.argv[2]
print('version = 1;\nname = "scale-%d";\nstrict_tiers = true;' % n)
print('defaults: { user = "drlab"; identity = "%s/client/id_ed25519"; '
      'known_hosts = "%s/known_hosts"; port = 2222; timeout = "1m"; '
      'retries = 0; };' % (lab, lab))
print('limits: { sessions = 64; per_site = 64; per_host = 4; };')
print('''sites = (
  { name = "milan"; role = "primary"; hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby"; hosts = (
      { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; },
      { name = "to-app1"; address = "127.0.3.2"; roles = ["app"]; },
      { name = "to-web1"; address = "127.0.3.3"; roles = ["web"]; } ); }
);''')
print('tenants = (')
print(',\n'.join('  { name = "comune-%05d"; priority = %d; vars = { code = "C%05d"; }; }'
                 % (i, (i * 7919) % n + 1, i) for i in range(n)))
print(');\nservices = (')
svcs = ["payroll", "anagrafe", "einvoicing", "preservation", "website"]
roles = ["db", "app", "web", "app"]
out = []
for k, s in enumerate(svcs):
    steps = ', '.join('{ name = "s%d"; on = "to:%s"; run = "true"; }' % (j, roles[j])
                      for j in range(4))
    out.append('  { name = "%s"; tier = %d; scope = "tenant"; steps = ( %s ); }'
               % (s, k + 1, steps))
print(',\n'.join(out))
print(');')
PY
}

# The OpenSSH side: one ControlMaster per host, the same key and pins, and
# what drover negotiates (its client order wins: orchestrator/exec/ssh.c).
pref() {
	sed -n "s/^static const char $1\[\] = \"\([^,\"]*\).*/\1/p" \
		"$repo/orchestrator/exec/ssh.c"
}
kex=$(pref KEX_PREF) cipher=$(pref CIPHER_PREF) mac=$(pref MAC_PREF)
[[ -n $kex && -n $cipher && -n $mac ]] || die "cannot read drover's algorithms from orchestrator/exec/ssh.c"
cat >"$tmp/ssh_config" <<EOF
Host *
  User drlab
  Port 2222
  IdentityFile $LAB/client/id_ed25519
  UserKnownHostsFile $LAB/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  KexAlgorithms $kex
  Ciphers $cipher
  MACs $mac
  ControlMaster auto
  ControlPath $tmp/cm-%h
  ControlPersist 600
EOF
masters=()
if ((XARGS)); then
	for h in 127.0.3.1 127.0.3.2 127.0.3.3; do
		ssh -F "$tmp/ssh_config" -fN "$h" || die "cannot open a master to $h"
		masters+=("$(ssh -F "$tmp/ssh_config" -O check "$h" 2>&1 |
			sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')")
	done
fi

# masters_cpu: the masters' user+sys CPU so far, in clock ticks. They are
# not children of xargs, so GNU time around it sees only the clients; the
# masters do the per-channel work that drover does (open, exec, exit status,
# close), which makes their CPU per command the like-for-like figure.
masters_cpu() {
	local p t=0
	for p in "${masters[@]}"; do
		[[ -r /proc/$p/stat ]] || die "the ControlMaster $p is gone"
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}

declare -A R
for n in $SIZES; do
	p=$tmp/scale-$n.cfg
	plan "$n" "$p"
	tasks=$((n * 20))
	state=$tmp/state-$n
	note "$n tenants, $tasks tasks: drover"
	perf=()
	((PERF)) && perf=(perf record -q -F 499 -g -o "$tmp/perf-$n.data")
	env DROVER_STATE_DIR="$state" DROVER_JOURNAL_STATS=1 /usr/bin/time \
		-f 'TIME %e %U %S %M' -o "$tmp/time-$n" \
		"${perf[@]}" \
		"$drover" failover "$p" \
		--from milan --to torino --yes >"$tmp/out-$n" 2>"$tmp/err-$n" ||
		die "drover failed on $n tenants: $(tail -5 "$tmp/err-$n")"
	read -r _ wall user sys rss <"$tmp/time-$n"
	syncs=$(sed -n 's/^journal: .* \([0-9]*\) syncs$/\1/p' "$tmp/err-$n")
	R[$n]="$tasks $wall $user $sys $rss ${syncs:-n/a}"
	if ((XARGS)); then
		note "$n tenants: xargs -P 12 over ControlMaster"
		python3 - "$n" >"$tmp/cmds-$n" <<'PY'
import sys
n = int(sys.argv[1])
hosts = {"db": "127.0.3.1", "app": "127.0.3.2", "web": "127.0.3.3"}
roles = ["db", "app", "web", "app"]
for s in range(5):
    for t in range(n):
        for r in roles:
            print(hosts[r])
PY
		m0=$(masters_cpu)
		/usr/bin/time -f 'TIME %e %U %S %M' -o "$tmp/xtime-$n" \
			xargs -P 12 -I{} ssh -F "$tmp/ssh_config" {} true \
			<"$tmp/cmds-$n" || die "xargs/ssh failed"
		m1=$(masters_cpu)
		read -r _ xwall xuser xsys xrss <"$tmp/xtime-$n"
		R[x$n]="$xwall $xuser $xsys $xrss $((m1 - m0))"
	fi
done

hz=$(getconf CLK_TCK)
mkdir -p "$here/results"
res=$here/results/scale-$(date -u +%Y%m%dT%H%M%SZ).md
{
	echo "# scale.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) ($(nproc) cores)"
	echo
	echo "drover: $drover"
	echo
	echo "| tenants | tasks | drover wall | drover user+sys | CPU per task | peak RSS | fdatasyncs | ControlMaster wall | wall ratio | masters' CPU | masters' CPU per command | clients' CPU |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for n in $SIZES; do
		read -r tasks wall user sys rss syncs <<<"${R[$n]}"
		cpu=$(python3 -c "print('%.2f' % ($user + $sys))")
		per=$(python3 -c "print('%.3f' % (($user + $sys) * 1000 / $tasks))")
		if ((XARGS)); then
			read -r xwall xuser xsys _ mt <<<"${R[x$n]}"
			ratio=$(python3 -c "print('%.2f' % ($wall / $xwall))")
			mcpu=$(python3 -c "print('%.2f s' % ($mt / $hz))")
			mper=$(python3 -c "print('%.3f ms' % ($mt * 1000 / $hz / $tasks))")
			xcpu=$(python3 -c "print('%.2f s' % ($xuser + $xsys))")
		else
			xwall=- ratio=- mcpu=- mper=- xcpu=-
		fi
		echo "| $n | $tasks | ${wall} s | ${cpu} s | ${per} ms | $((rss / 1024)) MB | $syncs | ${xwall} s | $ratio | $mcpu | $mper | $xcpu |"
	done
	set -- $SIZES
	if (($# >= 2)); then
		read -r _ _ u1 s1 _ _ <<<"${R[$1]}"
		read -r _ _ u2 s2 _ _ <<<"${R[$2]}"
		echo
		echo "CPU at $2 tenants / CPU at $1 tenants: $(python3 -c "print('%.2f' % (($u2 + $s2) / ($u1 + $s1)))") (tasks x$(python3 -c "print('%.1f' % ($2 / $1))"))"
	fi
} | tee "$res"
note "wrote $res"
