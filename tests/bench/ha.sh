#!/bin/bash
# ha.sh: the cost of controller HA over etcd. Runs the lab failover
# (the lab's own plan: milan and rome lost, to torino) ROUNDS times without
# etcd and ROUNDS times as the leader on the lab's three etcd members
# (--etcd, lease TTL from the plan: 10 s), alternating, the lab's fixtures
# put back (lab reset) before each run. Prints each run's wall time, the
# median of each mode and the overhead, and for the etcd runs the
# replication txns against the group commits (journal + audit trail
# fdatasyncs): there must be at most one txn per group commit. A benchmark,
# not a test: it asserts nothing about time; it fails when a run fails or
# when a run sent more txns than group commits.
#
#   sudo tests/bench/ha.sh [DROVER]    DROVER: binary or build dir
#                                      (default build/drover; a build with
#                                      -DDROVER_TEST_HOOKS=ON prints the
#                                      counters)
# Environment: ROUNDS=5, DROVER_LAB_DIR (the lab's root).
set -euo pipefail

PROG=ha.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
lab=$repo/contrib/lab/lab

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

drover=${1:-$repo/build/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built"
(($(id -u) == 0)) || die "run as root: the lab starts sshd servers"

"$lab" up >/dev/null 2>&1 || die "lab up failed"
eval "$("$lab" env)"
[[ -n ${DROVER_LAB_ETCD:-} ]] || die "the lab has no etcd (contrib/install-deps)"
plan=$DROVER_LAB_DIR/lab.cfg
tmp=$(mktemp -d /tmp/drover-ha-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# run MODE N: one failover; prints "wall txns commits".
run() {
	local mode=$1 n=$2 t0 t1 st=$tmp/state-$1-$2 err=$tmp/err-$1-$2
	local -a extra=()
	[[ $mode == etcd ]] && extra=(--etcd "$DROVER_LAB_ETCD")
	"$lab" reset >/dev/null 2>&1
	t0=$EPOCHREALTIME
	if ! DROVER_STATE_DIR=$st DROVER_JOURNAL_STATS=1 "$drover" failover "$plan" \
		--from milan,rome --to torino --yes --auto-approve "${extra[@]}" \
		>"$tmp/out-$mode-$n" 2>"$err"; then
		cat "$tmp/out-$mode-$n" "$err" >&2
		die "$mode run $n failed"
	fi
	t1=$EPOCHREALTIME
	local txns=- commits=-
	if [[ $mode == etcd ]] && grep -q '^ha:' "$err"; then
		read -r _ txns _ _ _ commits _ < <(grep '^ha:' "$err")
	fi
	echo "$(python3 -c "print('%.3f' % ($t1 - $t0))") $txns $commits"
}

declare -a plain=() etcd=()
printf '%-6s %-5s %8s %6s %8s\n' mode round wall_s txns commits
for ((i = 1; i <= ROUNDS; i++)); do
	read -r w _ _ < <(run plain "$i")
	plain+=("$w")
	printf '%-6s %-5s %8s %6s %8s\n' plain "$i" "$w" - -
	read -r w x c < <(run etcd "$i")
	etcd+=("$w")
	printf '%-6s %-5s %8s %6s %8s\n' etcd "$i" "$w" "$x" "$c"
	if [[ $x != - && $x -gt $c ]]; then
		die "round $i: $x replication txns for $c group commits"
	fi
done
python3 - "${plain[*]}" "${etcd[*]}" <<'EOF'
import statistics, sys
p = [float(x) for x in sys.argv[1].split()]
e = [float(x) for x in sys.argv[2].split()]
mp, me = statistics.median(p), statistics.median(e)
print("median wall: plain %.3f s, etcd %.3f s, overhead %+.1f%%"
      % (mp, me, (me - mp) / mp * 100))
EOF
