#!/bin/sh
# channels-test.sh DROVER FIXTURE_DIR: plan runs against the sshd fixture
# (sshd-fixture.sh) that count the SSH connections drover opens.
#
# 1. 40 tasks on one host (MaxSessions 20), per_host = 16, channels = 8:
#    the first 16 wait for each other (a barrier, so 16 do run at once), and
#    the host gets at most ceil(16 / 8) = 2 connections (drover's trace, and
#    sshd's "Accepted publickey" lines).
# 2. 24 tasks on the MaxSessions 2 server, per_host = 4, channels = 8: the
#    server refuses the third channel; every task still succeeds, the
#    session learns one command at a time (trace "ssh-commands: ...: 8 ->
#    1"), the refused commands are run again (trace "run -> acquire"), and
#    the host gets at least per_host connections, since each carries one.
# 3. In 1, libssh2 ciphers with drover's AES-CTR (trace "cipher aes128-ctr,
#    keystream made ahead"), and every task still succeeds over it.
# Must run as root (the fixture's user's home is cleaned directly).
set -eu

drover=$1
fix=$2
[ -x "$drover" ] && [ -r "$fix/env" ] || {
	echo "usage: $0 DROVER FIXTURE_DIR (sshd-fixture.sh start FIXTURE_DIR)" >&2
	exit 2
}
. "$fix/env"
work=$(mktemp -d /tmp/drover-channels.XXXXXX)
trap 'rm -rf "$work"' EXIT
home=$(getent passwd "$DROVER_TEST_USER" | cut -d: -f6)
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# plan FILE ADDRESS NTASKS PER_HOST CHANNELS BARRIER
plan() {
	{
		cat <<EOF
version = 1;
name = "channels-it";
defaults: { user = "$DROVER_TEST_USER"; identity = "$DROVER_TEST_KEY";
            known_hosts = "$DROVER_TEST_KNOWN_HOSTS"; port = $DROVER_TEST_PORT;
            timeout = "2m"; retries = 0; };
limits: { sessions = 64; per_site = 64; per_host = $4; channels = $5; };
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "$DROVER_TEST_HOST2"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "$2"; roles = ["db"]; } ); }
);
tenants = (
EOF
		i=1
		while [ $i -le "$3" ]; do
			sep=","
			[ $i -eq "$3" ] && sep=""
			printf '  { name = "t%03d"; priority = %d; }%s\n' $i $i "$sep"
			i=$((i + 1))
		done
		# The barrier: each task waits (up to 60 s, then fails) until
		# BARRIER tasks have started, so that BARRIER run at once.
		cat <<EOF
);
services = (
  { name = "payroll"; tier = 1; scope = "tenant"; steps = (
    { name = "restore"; on = "to:db";
      run = "mkdir -p ~/chan-bar && touch ~/chan-bar/\${tenant}; n=0; while [ \$(ls ~/chan-bar | wc -l) -lt $6 ] && [ \$n -lt 600 ]; do sleep 0.1; n=\$(expr \$n + 1); done; [ \$n -lt 600 ] && echo \${tenant} restored"; } ); }
);
EOF
	} >"$1"
}

accepted() {
	grep -c 'Accepted publickey' "$1" 2>/dev/null || true
}

# run NAME ADDRESS SSHD_LOG NTASKS PER_HOST CHANNELS BARRIER: sets conns,
# logins, trace
run() {
	name=$1
	rm -rf "$home/chan-bar"
	plan "$work/$name.cfg" "$2" "$4" "$5" "$6" "$7"
	"$drover" validate "$work/$name.cfg" >/dev/null
	before=$(accepted "$3")
	state="$work/state-$name"
	trace="$work/$name.trace"
	if ! DROVER_STATE_DIR="$state" DROVER_TRACE=1 "$drover" failover \
		"$work/$name.cfg" --from milan --to torino --yes \
		</dev/null >"$work/$name.out" 2>"$trace"; then
		fail "$name: drover failover exited $?"
		tail -20 "$work/$name.out" >&2
		grep -v '^trace: ' "$trace" | tail -20 >&2
	fi
	rid=$(ls "$state/runs")
	n=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sum(t["state"] == "succeeded" for t in r["tasks"]), len(r["tasks"]))' \
		"$state/runs/$rid/report.json")
	[ "$n" = "$4 $4" ] || fail "$name: succeeded/tasks: $n, want $4 $4"
	conns=$(grep -c '^trace: exec-conn: torino/to-db1: new -> connecting$' \
		"$trace" || true)
	# sshd logs the login before drover's handshake ends: wait for the
	# lines of the connections drover counted.
	i=0
	while [ $(($(accepted "$3") - before)) -lt "$conns" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	logins=$(($(accepted "$3") - before))
	echo "$name: $n tasks succeeded, $conns connections (sshd: $logins logins)"
	[ "$logins" = "$conns" ] ||
		fail "$name: sshd counted $logins logins, drover $conns connections"
}

run wide "$DROVER_TEST_HOST1" "$fix/sshd1.log" 40 16 8 16
# The 40 tasks ran over drover's AES-CTR (orchestrator/exec/aesctr.c): the
# binary exports EVP_aes_128_ctr, and libssh2's call bound to it.
grep -q '^trace: ssh: torino/to-db1: cipher aes128-ctr, keystream made ahead$' "$trace" ||
	fail "wide: libssh2 did not cipher with drover's AES-CTR: $(grep -m1 ': cipher ' "$trace")"
[ "$conns" -ge 1 ] && [ "$conns" -le 2 ] ||
	fail "wide: $conns connections for per_host 16, channels 8 (want 1..2)"
grep -q 'ssh-commands' "$trace" &&
	fail "wide: a channel was refused by a server that allows 20"

run narrow "$DROVER_TEST_HOST4" "$fix/sshd4.log" 24 4 8 4
grep -q '^trace: ssh-commands: torino/to-db1: 8 -> 1$' "$trace" ||
	fail "narrow: the session did not learn MaxSessions 2 (8 -> 1)"
grep -q '^trace: exec: .*: run -> acquire$' "$trace" ||
	fail "narrow: no refused command was run again"
# Each connection carries one command: four at once need four.
[ "$conns" -ge 4 ] && [ "$conns" -le 8 ] ||
	fail "narrow: $conns connections for per_host 4 on MaxSessions 2 (want 4..8)"

rm -rf "$home/chan-bar"
if [ "$failures" -ne 0 ]; then
	echo "$failures failed" >&2
	exit 1
fi
echo "2 passed, 0 failed"
