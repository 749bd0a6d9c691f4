#!/bin/bash
# scan.sh: what recovering clean costs. Two figures on the lab:
#
# 1. The time a scan adds per GB restored: one restore point of SIZE (1G by
#    default: a tar holding one file of random bytes) copied from the vault
#    (va-bk1) to torino (to-db1) by a restore-point-set copy, ROUNDS times
#    each way: plain, and scanned (quarantine, the plan's indicators with
#    drover's own unpacking and a YARA rules file, the plan's scan running
#    yara too, the move into place). The difference over SIZE is the cost.
# 2. Whether scans of different tenants run in parallel within the limits:
#    TENANTS tenants (3), each with its own set of one small point, whose
#    scan writes its start and end times and sleeps HOLD seconds (2); once
#    with per_host = 4, once with per_host = 1. The most scans seen at once
#    must be min(TENANTS, per_host) each time.
#
# A benchmark, not a test: it prints figures and asserts nothing about
# timings; it fails when a copy did not arrive or the setup is broken.
#
#   sudo tests/bench/scan.sh [DROVER]   DROVER: binary or build dir
#                                       (default build-bench/drover)
# Environment: SIZE=1G ROUNDS=2 TENANTS=3 HOLD=2 KEEP=0.
# Needs root, yara (contrib/install-deps) and GNU tar; brings the lab up when
# it is down and never takes it down. Run it in your own network namespace
# with your own DROVER_LAB_DIR when others use the machine (see
# contrib/lab/README.md).
set -euo pipefail

PROG=scan.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/contrib/lab/lab
SIZE=${SIZE:-1G}
ROUNDS=${ROUNDS:-2}
TENANTS=${TENANTS:-3}
HOLD=${HOLD:-2}
KEEP=${KEEP:-0}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

drover=${1:-$repo/build-bench/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built"
(($(id -u) == 0)) || die "run as root: the files live in the lab's host directories"
command -v yara >/dev/null 2>&1 || die "yara is not installed (contrib/install-deps)"
[[ $SIZE =~ ^[0-9]+[KMG]$ ]] || die "SIZE: a number with K, M or G"

eval "$("$lab" env)"
if ! "$lab" status >/dev/null 2>&1; then
	note "lab: starting it"
	"$lab" up >/dev/null
fi
root=$DROVER_LAB_DIR/hosts
tmp=$(mktemp -d /tmp/drover-bench-scan.XXXXXX)
src=$root/va-bk1/bench-scan
dst=$root/to-db1/bench-scan
cleanup() {
	rm -rf "$src" "$dst"
	if ((KEEP)); then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
rm -rf "$src" "$dst"
install -d -o drlab -g drlab "$src" "$dst"
cp "$repo/tests/integration/data/clean.yar" "$src/rules.yar"
chmod 0644 "$src/rules.yar"

# A point: DIR/NAME-STAMP.tar (+ .sha256), AGE hours old.
point() {
	local dir=$1 name=$2 bytes=$3 age=$4 w
	mkdir -p "$dir/.p"
	head -c "$bytes" /dev/urandom >"$dir/.p/data.bin"
	tar -cf "$dir/$name-1.tar" -C "$dir/.p" data.bin
	rm -rf "$dir/.p"
	(cd "$dir" && sha256sum "$name-1.tar" >"$name-1.tar.sha256")
	w=$(($(date +%s) - age * 3600))
	touch -d "@$w" "$dir/$name-1.tar" "$dir/$name-1.tar.sha256"
	chmod -R a+rX "$dir"
}

plan() { # plan FILE PER_HOST TENANTS COPY_EXTRA INDICATORS STEP_TIMEOUT
	local f=$1 per=$2 n=$3 extra=$4 ind=$5 to=$6 i tn=""
	for ((i = 1; i <= n; i++)); do
		tn+="{ name = \"t$i\"; priority = $i; },"
	done
	cat >"$f" <<PLAN
version = 1;
name = "bench-scan";
defaults: { user = "drlab"; identity = "$DROVER_LAB_DIR/client/id_ed25519";
            known_hosts = "$DROVER_LAB_DIR/known_hosts"; port = 2222;
            timeout = "$to"; retries = 0; };
limits: { sessions = 32; per_site = 16; per_host = $per; };
vars = { root = "$root"; };
$ind
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; } ); },
  { name = "vault"; role = "vault";
    hosts = ( { name = "va-bk1"; address = "127.0.4.1"; roles = ["backup"]; } ); }
);
tenants = ( ${tn%,} );
services = (
  { name = "restore"; tier = 1; scope = "tenant"; steps = (
    { name = "prepare"; on = "to:db"; run = "mkdir -p $dst/\${tenant}"; },
    { name = "fetch";
      copy = { from = "vault:backup:$src/\${tenant}/p-*.tar";
               to = "to:db:$dst/\${tenant}/p.tar"; sha256 = "manifest"; $extra }; } ); }
);
PLAN
}

run() { # run PLAN: prints the run's wall time in seconds
	local st t0 t1
	st=$(mktemp -d "$tmp/state.XXXXXX")
	t0=$(date +%s.%N)
	DROVER_STATE_DIR=$st "$drover" failover "$1" --from milan --to torino --yes \
		>"$st/out" 2>&1 || die "run failed: $(tail -5 "$st/out")"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}

bytes=$(numfmt --from=iec "$SIZE")
note "making a $SIZE point"
mkdir -p "$src/t1"
point "$src/t1" p "$bytes" 2
yscan='out=$(yara -r '"$src"'/rules.yar {}) || exit 2; [ -z \"$out\" ] || { printf '"'%s\\\\n'"' \"$out\"; exit 1; }'
plan "$tmp/plain.cfg" 4 1 "" "" 30m
plan "$tmp/scan.cfg" 4 1 "scan = \"$yscan\"; scan_timeout = \"30m\";" \
	"indicators = { names = [\"README-LOCKBIT.txt\"]; extensions = [\".lockbit\"]; yara = \"$src/rules.yar\"; };" 30m
"$drover" validate "$tmp/scan.cfg" >/dev/null
plain=() scanned=()
for ((r = 1; r <= ROUNDS; r++)); do
	rm -rf "${dst:?}"/*
	plain+=("$(run "$tmp/plain.cfg")")
	rm -rf "${dst:?}"/*
	scanned+=("$(run "$tmp/scan.cfg")")
	cmp -s <(tar -xOf "$dst/t1/p.tar") <(tar -xOf "$src/t1/p-1.tar") ||
		die "the scanned copy did not arrive intact"
done
gb=$(awk -v b="$bytes" 'BEGIN { printf "%.3f", b / 1073741824 }')
printf '\n1. a %s restore point (%s GiB), %d rounds, wall seconds\n' "$SIZE" "$gb" "$ROUNDS"
printf '   plain copy:   %s\n' "${plain[*]}"
printf '   scanned copy: %s\n' "${scanned[*]}"
awk -v p="${plain[*]}" -v s="${scanned[*]}" -v gb="$gb" 'BEGIN {
	n = split(p, a, " "); split(s, b, " ")
	for (i = 1; i <= n; i++) { pa += a[i]; sb += b[i] }
	pa /= n; sb /= n
	printf "   mean: plain %.2f s, scanned %.2f s: the scan adds %.2f s, %.2f s per GiB restored\n",
		pa, sb, sb - pa, (sb - pa) / gb
}'
rm -rf "${src:?}/t1" "${dst:?}"/*

# 2. Parallel scans.
for ((i = 1; i <= TENANTS; i++)); do
	mkdir -p "$src/t$i"
	point "$src/t$i" p 1048576 2
done
log=$dst/scans.log
pscan="echo start \$(date +%s.%N) >>$log; sleep $HOLD; echo end \$(date +%s.%N) >>$log; exit 0"
printf '\n2. %d tenants, each a scan holding %ss\n' "$TENANTS" "$HOLD"
for per in 4 1; do
	rm -rf "${dst:?}"/*
	install -o drlab -g drlab -m 0644 /dev/null "$log"
	plan "$tmp/par$per.cfg" "$per" "$TENANTS" "scan = \"$pscan\"; scan_timeout = \"1m\";" "" 5m
	w=$(run "$tmp/par$per.cfg")
	most=$(sort -k2 -n "$log" | awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }')
	want=$((TENANTS < per ? TENANTS : per))
	printf '   per_host = %d: at most %d scans at once (the limit allows %d), run %s s\n' \
		"$per" "$most" "$want" "$w"
done
