#!/bin/sh
# journal-overhead.sh BUILD_DIR [TASKS]: the cost of durability.
#
# Runs a plan of TASKS (default 10000) local no-op steps (`local = "true"`,
# 100 chains of TASKS/100 steps, 64 at a time) twice: with the journal
# (every task change appended, intent fdatasync'd before each start, group
# commit), and with DROVER_NO_JOURNAL=1 (benchmarks only). Prints wall and
# CPU time per task for both, and the journal's records and fdatasync calls
# per task. A benchmark, not a test: nothing is asserted.
set -eu
build=${1:?usage: journal-overhead.sh BUILD_DIR [TASKS]}
tasks=${2:-10000}
drover=$(cd "$build" && pwd)/drover
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chains=100
steps=$((tasks / chains))

{
	echo 'version = 1; name = "noop"; limits = { sessions = 64; };'
	echo 'sites = ( { name = "gone"; role = "primary"; hosts = ( { name = "g1"; address = "192.0.2.1"; roles = ["x"]; } ); },'
	echo '          { name = "here"; role = "standby"; hosts = ( { name = "h1"; address = "192.0.2.2"; roles = ["x"]; } ); } );'
	echo 'services = ('
	c=1
	while [ $c -le $chains ]; do
		printf '{ name = "c%d"; tier = 1; scope = "global"; steps = (' $c
		s=1
		while [ $s -le $steps ]; do
			[ $s -gt 1 ] && printf ','
			printf '{ name = "s%d"; local = "true"; }' $s
			s=$((s + 1))
		done
		printf ' ); }'
		[ $c -lt $chains ] && printf ','
		echo
		c=$((c + 1))
	done
	echo ');'
} > "$work/noop.cfg"
"$drover" validate "$work/noop.cfg"

run() { # LABEL ENV...
	label=$1
	shift
	export DROVER_STATE_DIR="$work/state-$label"
	/usr/bin/time -f "%e %U %S %M" -o "$work/time-$label" \
		env "$@" DROVER_JOURNAL_STATS=1 "$drover" failover "$work/noop.cfg" \
		--from gone --to here --yes >"$work/out-$label" 2>"$work/err-$label"
	read -r wall user sys rss <"$work/time-$label"
	stats=$(grep '^journal:' "$work/err-$label" || echo "journal: - records, - syncs")
	echo "$label $wall $user $sys $rss $stats"
}

echo "tasks: $tasks local no-op steps ($chains chains x $steps), sessions = 64"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-11s %8s %8s %8s %9s  %s\n' mode wall_s user_s sys_s maxrss_kb journal
for i in 1 2 3; do
	set -- $(run journal DROVER_X=1)
	printf '%-11s %8s %8s %8s %9s  %s %s %s %s\n' "$1" "$2" "$3" "$4" "$5" "$7" "$8" "$9" "${10}"
	set -- $(run no-journal DROVER_NO_JOURNAL=1)
	printf '%-11s %8s %8s %8s %9s  %s\n' "$1" "$2" "$3" "$4" "$5" "(off)"
done
echo
echo "per task: divide wall and cpu by $tasks; fdatasync per task = syncs / $tasks"
