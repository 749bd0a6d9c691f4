#!/bin/bash
# ssh-fanout.sh: run `true` on every bench host (default 200) with drover,
# pdsh and parallel OpenSSH clients (xargs -P), side by side, and compare wall
# time, CPU time and memory. A benchmark, not a test: it asserts nothing about
# timings; it fails only when a tool did not succeed on every host (then the
# comparison is void) or the setup is broken.
#
#   sudo tests/bench/ssh-fanout.sh [DROVER]     DROVER: binary or build dir
#                                               (default build-bench/drover)
# Environment:
#   HOSTS=200     bench hosts to use (1..250)
#   ROUNDS=5      timed rounds; each round runs every command once, in turn
#   WARMUP=1      warmup runs of each command (first round only)
#   MATCHED=1     also run pdsh and xargs with drover's algorithms
#                 (curve25519, aes-ctr, hmac-sha2); 0 skips them
#   PERF=0        1: also run drover once under `perf stat`
#   KEEP=0        1: keep the temporary directory
#
# Needs root (the lab starts sshd servers), hyperfine, pdsh, GNU time
# (contrib/install-deps --bench) and python3. Brings the lab and the bench
# hosts up when they are not, and puts them back as it found them. Writes
# tests/bench/results/ssh-fanout-DATE.md (gitignored) and prints it.
set -euo pipefail

PROG=ssh-fanout.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/contrib/lab/lab

HOSTS=${HOSTS:-200}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
MATCHED=${MATCHED:-1}
PERF=${PERF:-0}
KEEP=${KEEP:-0}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

# --- arguments and tools ------------------------------------------------------

drover=${1:-$repo/build-bench/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built (cmake -S $repo -B $repo/build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $repo/build-bench)"
drover=$(cd "$(dirname "$drover")" && pwd)/$(basename "$drover")
[[ $HOSTS =~ ^[0-9]+$ ]] && ((HOSTS >= 1 && HOSTS <= 250)) || die "HOSTS must be 1..250"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1)) || die "ROUNDS must be >= 1"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be >= 0"
(($(id -u) == 0)) || die "run as root: the lab starts sshd servers"
for t in hyperfine pdsh python3 /usr/bin/ssh /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 ||
		die "$t is not installed (contrib/install-deps --bench)"
done
/usr/bin/time -f %e true 2>/dev/null || die "/usr/bin/time is not GNU time"
if ((PERF)); then command -v perf >/dev/null 2>&1 || die "PERF=1: perf is not installed"; fi

# 200 ssh clients (each a few descriptors) under xargs or pdsh, or drover's
# 200 sockets plus logs: raise the descriptor limit well above that.
want_fd=$((HOSTS * 8 + 256))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= want_fd)) || die "ulimit -n is $(ulimit -n); need $want_fd"
# pdsh and xargs fork HOSTS ssh processes at once.
nproc_lim=$(ulimit -u)
[[ $nproc_lim == unlimited ]] || ((nproc_lim >= HOSTS * 4)) || die "ulimit -u is $nproc_lim"

# --- the lab: bring it up if needed, restore it on exit ------------------------

eval "$("$lab" env)"
brought_lab=0 bench_action=none prev_bench=0
tmp=

restore_lab() {
	local rc=$?
	set +e
	case $bench_action in
	down) "$lab" bench-down >/dev/null 2>&1 && note "bench hosts stopped (they were down)" ;;
	resize) "$lab" bench-up "$prev_bench" >/dev/null 2>&1 &&
		note "bench hosts put back to $prev_bench" ;;
	esac
	if ((brought_lab)); then
		"$lab" down >/dev/null 2>&1 && note "lab stopped (it was down)"
	fi
	if [[ -n $tmp ]]; then
		if ((KEEP)); then note "kept $tmp"; else rm -rf "$tmp"; fi
	fi
	exit "$rc"
}
trap restore_lab EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_status=$("$lab" status 2>/dev/null || true)
main_total=$(awk 'NR > 1 && NF == 7' <<<"$lab_status" | wc -l)
main_down=$(awk 'NR > 1 && NF == 7 && $6 == "down"' <<<"$lab_status" | wc -l)
read -r bench_up bench_total < <(sed -n 's/^bench: \([0-9]*\) of \([0-9]*\) hosts up.*/\1 \2/p' <<<"$lab_status") || true
bench_up=${bench_up:-0} bench_total=${bench_total:-0}

if ((main_total == 0 || main_down > 0)); then
	# Stop it again at the end only if every host was down.
	((main_total > 0 && main_down < main_total)) || brought_lab=1
	note "lab: $main_down of $main_total hosts down: lab up"
	"$lab" up
fi
if ((bench_total != HOSTS || bench_up != bench_total)); then
	if ((bench_up == 0)); then
		bench_action=down
	else
		bench_action=resize prev_bench=$bench_total
	fi
	note "bench: $bench_up of $bench_total hosts up: lab bench-up $HOSTS"
	"$lab" bench-up "$HOSTS"
fi

# --- inputs: host list, plan, ssh configs, wrappers ----------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-fanout.XXXXXX")
chmod 0755 "$tmp"
hostfile=$tmp/hosts
head -n "$HOSTS" "$DROVER_LAB_BENCH_HOSTS" >"$hostfile"
(($(wc -l <"$hostfile") == HOSTS)) || die "$DROVER_LAB_BENCH_HOSTS has fewer than $HOSTS hosts"
plan=$tmp/fanout.cfg
state=$tmp/state
mkdir -p "$state"
export DROVER_STATE_DIR=$state

{
	printf '%s\n' \
		'# written by tests/bench/ssh-fanout.sh' \
		'version = 1;' \
		'name = "ssh-fanout";' \
		'defaults: {' \
		"  user = \"$DROVER_LAB_USER\";" \
		"  identity = \"$DROVER_LAB_IDENTITY\";" \
		"  known_hosts = \"$DROVER_LAB_BENCH_KNOWN_HOSTS\";" \
		"  port = $DROVER_LAB_PORT;" \
		'  connect_timeout = "30s";' \
		'  timeout = "2m";' \
		'  retries = 0;' \
		'};' \
		'limits: { sessions = 256; per_site = 256; per_host = 1; };' \
		'sites = (' \
		'  { name = "gone"; role = "primary";' \
		'    hosts = ( { name = "gone-1"; address = "127.10.255.254"; roles = ["db"]; } ); },' \
		'  { name = "bench"; role = "standby";' \
		'    hosts = ('
	awk -v n="$HOSTS" '{ printf "      { name = \"bn-%03d\"; address = \"%s\"; roles = [\"node\"]; }%s\n", NR, $1, NR < n ? "," : "" }' "$hostfile"
	printf '%s\n' \
		'    ); }' \
		');' \
		'services = (' \
		'  { name = "noop"; tier = 0; scope = "global";' \
		'    steps = ( { name = "true"; on = "to:node"; run = "true"; } ); }' \
		');'
} >"$plan"
"$drover" validate "$plan" >/dev/null || die "$plan: invalid"

# OpenSSH client config: same key, port, user and pinned keys as drover.
ssh_cfg_text() {
	printf '%s\n' \
		'Host *' \
		"	User $DROVER_LAB_USER" \
		"	Port $DROVER_LAB_PORT" \
		"	IdentityFile $DROVER_LAB_IDENTITY" \
		'	IdentitiesOnly yes' \
		"	UserKnownHostsFile $DROVER_LAB_BENCH_KNOWN_HOSTS" \
		'	GlobalKnownHostsFile /dev/null' \
		'	StrictHostKeyChecking yes' \
		'	UpdateHostKeys no' \
		'	HostKeyAlgorithms ssh-ed25519' \
		'	BatchMode yes' \
		'	ForwardAgent no' \
		'	ForwardX11 no' \
		'	ClearAllForwardings yes' \
		'	ControlMaster no' \
		'	ControlPath none' \
		'	ConnectTimeout 30'
	if [[ ${1:-} == matched ]]; then
		# What drover negotiates (orchestrator/exec/ssh.c KEX_PREF, CIPHER_PREF, MAC_PREF).
		printf '%s\n' \
			'	KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org' \
			'	Ciphers aes128-ctr,aes192-ctr,aes256-ctr' \
			'	MACs hmac-sha2-256,hmac-sha2-512'
	fi
}
ssh_cfg_text >"$tmp/ssh_config"
ssh_cfg_text matched >"$tmp/ssh_config_matched"

# For the per-process pass: an `ssh` first in PATH that runs the real one
# under GNU time, one record file per client.
mkdir -p "$tmp/wbin" "$tmp/per"
cat >"$tmp/wbin/ssh" <<'EOF'
#!/bin/sh
exec /usr/bin/time -o "$FANOUT_PER/$$" -f '%x %M %U %S %e' /usr/bin/ssh "$@"
EOF
chmod 0755 "$tmp/wbin/ssh"

# The commands, as shell text (hyperfine runs them with sh -c and subtracts
# the shell's own start-up). Tool names index the arrays below.
names=(drover pdsh xargs-ssh)
cmds=(
	"$drover failover $plan --from gone --to bench --yes >/dev/null 2>>$tmp/drover.err"
	"PDSH_RCMD_TYPE=ssh PDSH_SSH_ARGS='-F $tmp/ssh_config %h' pdsh -S -R ssh -f $HOSTS -w ^$hostfile true"
	"xargs -P $HOSTS -I{} ssh -F $tmp/ssh_config {} true <$hostfile"
)
if ((MATCHED)); then
	names+=(pdsh-c25519 xargs-ssh-c25519)
	cmds+=(
		"PDSH_RCMD_TYPE=ssh PDSH_SSH_ARGS='-F $tmp/ssh_config_matched %h' pdsh -S -R ssh -f $HOSTS -w ^$hostfile true"
		"xargs -P $HOSTS -I{} ssh -F $tmp/ssh_config_matched {} true <$hostfile"
	)
fi

# Fail fast if one client cannot log in at all.
first=$(head -n 1 "$hostfile")
/usr/bin/ssh -F "$tmp/ssh_config" "$first" true ||
	die "ssh -F $tmp/ssh_config $first true failed"
/usr/bin/ssh -F "$tmp/ssh_config_matched" "$first" true ||
	die "ssh -F $tmp/ssh_config_matched $first true failed"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# Busy and total jiffies of the whole machine, to show what else was running.
cpu_jiffies() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }

# CPU seconds of the bench sshd servers: each listener's own time plus the
# time of the connection processes it reaped (cutime, cstime), so a delta
# around a run is the server side of that run.
server_cpu() {
	local f pid sum=0 tck
	tck=$(getconf CLK_TCK)
	for f in "$DROVER_LAB_DIR"/bench/sshd/bn-*/sshd.pid; do
		read -r pid <"$f" 2>/dev/null || continue
		# fields 14-17 of /proc/PID/stat: utime stime cutime cstime
		sum=$((sum + $(awk '{ sub(/.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	awk -v s="$sum" -v t="$tck" 'BEGIN { printf "%.2f\n", s / t }'
}

newest_report() { ls -td "$state"/runs/*/ 2>/dev/null | head -n 1; }

# --- pass 1: GNU time around each tool; successes; per-process peaks ----------

note "pass 1: /usr/bin/time around each tool, success count, per-process memory"
res=$tmp/res
mkdir -p "$res"
for i in "${!names[@]}"; do
	n=${names[i]}
	sleep 1
	s0=$(server_cpu)
	read -r b0 t0 < <(cpu_jiffies)
	l0=$(loadavg)
	set +e
	/usr/bin/time -o "$res/$n.time" -f '%e %U %S %M %x' \
		sh -c "${cmds[i]}" >"$res/$n.out" 2>"$res/$n.err"
	rc=$?
	set -e
	read -r b1 t1 < <(cpu_jiffies)
	sleep 1 # let the last server processes exit and be reaped
	s1=$(server_cpu)
	echo "$rc $((b1 - b0)) $((t1 - t0)) $s0 $s1 $l0" >"$res/$n.sys"
	if [[ $n == drover ]]; then
		rep=$(newest_report)
		cp "$rep/report.json" "$res/drover-report.json"
	else
		# Again with every ssh under GNU time: per-process exit and peak RSS.
		rm -f "$tmp/per"/*
		mkdir -p "$tmp/per"
		set +e
		FANOUT_PER=$tmp/per PATH=$tmp/wbin:$PATH \
			/usr/bin/time -o "$res/$n.wtime" -f '%e %U %S %M %x' \
			sh -c "${cmds[i]}" >/dev/null 2>"$res/$n.werr"
		set -e
		# Last line of each record (GNU time prefixes a failure line).
		for f in "$tmp/per"/*; do [[ -e $f ]] && tail -n 1 "$f"; done >"$res/$n.per"
	fi
done

# --- pass 2: hyperfine, interleaved rounds -------------------------------------

note "pass 2: hyperfine, $ROUNDS round(s) of ${#names[@]} commands, warmup $WARMUP"
for ((r = 1; r <= ROUNDS; r++)); do
	args=()
	for i in "${!names[@]}"; do args+=(-n "${names[i]}" "${cmds[i]}"); done
	w=0
	((r == 1)) && w=$WARMUP
	loadavg >"$res/round-$r.load"
	hyperfine --style basic --warmup "$w" --runs 1 \
		--export-json "$res/round-$r.json" "${args[@]}" >"$res/round-$r.txt" 2>&1 ||
		{
			cat "$res/round-$r.txt" >&2
			die "hyperfine round $r failed (a tool failed on some host: comparison void)"
		}
	note "round $r/$ROUNDS: $(python3 -c 'import json,sys; print(", ".join("%s %.2fs" % (x["command"], x["mean"]) for x in json.load(open(sys.argv[1]))["results"]))' "$res/round-$r.json")"
done

# --- optional: perf stat -------------------------------------------------------

if ((PERF)); then
	note "perf stat on one drover run"
	perf stat -e task-clock,context-switches,cpu-migrations,page-faults \
		-o "$res/perf-stat.txt" \
		"$drover" failover "$plan" --from gone --to bench --yes >/dev/null 2>&1 ||
		note "perf stat run failed"
fi

# --- report --------------------------------------------------------------------

mkdir -p "$here/results" "$tmp/cmds"
for i in "${!names[@]}"; do printf '%s\n' "${cmds[i]}" >"$tmp/cmds/${names[i]}"; done
export FANOUT_DROVER=$drover
FANOUT_GIT="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo ?) of $repo; binary built $(date -u -r "$drover" +%FT%TZ)"
export FANOUT_GIT
out=$here/results/ssh-fanout-$(date -u +%Y%m%dT%H%M%SZ).md
python3 "$here/ssh-fanout-report.py" "$res" "$HOSTS" "$ROUNDS" "$WARMUP" "$out" "${names[@]}"
