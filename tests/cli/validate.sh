#!/bin/sh
# validate.sh: the "drover validate" command line against tests/plans/bad/
# and plans/.
#
#   tests/cli/validate.sh path/to/drover
#
# Each bad plan must exit 1 and print exactly N "FILE:LINE: message" lines,
# N being its "# expect: N" header; each example plan must exit 0; no
# argument is a usage error (2).
set -u

drover=${1:?usage: validate.sh path/to/drover}
if [ ! -x "$drover" ]; then
	echo "validate.sh: $drover: not an executable" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_init cli

# Regex-quotes a path for grep.
re() {
	printf '%s' "$1" | sed 's/[][\.*^$/]/\\&/g'
}

for f in "$top"/tests/plans/bad/*.cfg; do
	checks=$((checks + 1))
	want=$(sed -n '1s/^# expect: *\([0-9][0-9]*\).*/\1/p' "$f")
	if [ -z "$want" ]; then
		fail "$f: first line is not \"# expect: N\""
		continue
	fi
	"$drover" validate "$f" >"$tmp/out" 2>&1
	rc=$?
	got=$(grep -c "^$(re "$f"):[0-9][0-9]*: " "$tmp/out")
	if [ "$rc" -ne 1 ]; then
		fail "$f: exit $rc, want 1"
		sed 's/^/    /' "$tmp/out"
	elif [ "$got" -ne "$want" ]; then
		fail "$f: $got FILE:LINE diagnostics, want $want"
		sed 's/^/    /' "$tmp/out"
	fi
done

ngood=0
for f in "$top"/plans/*.cfg; do
	[ -e "$f" ] || continue
	ngood=$((ngood + 1))
	checks=$((checks + 1))
	"$drover" validate "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$f: exit $rc, want 0"
		sed 's/^/    /' "$tmp/err"
	elif ! grep -q "^$(re "$f"): valid" "$tmp/out"; then
		fail "$f: no \"valid\" line on stdout"
	elif grep -v ": warning: " "$tmp/err" | grep -q .; then
		# Warnings (what a run would need from this controller) are
		# allowed; anything else on stderr is not.
		fail "$f: valid plan printed more than warnings to stderr"
		sed 's/^/    /' "$tmp/err"
	fi
done

# Several plans at once: one bad one makes the whole run fail.
if [ "$ngood" -gt 0 ]; then
	checks=$((checks + 1))
	good=$(ls "$top"/plans/*.cfg | head -n 1)
	"$drover" validate "$good" "$top/tests/plans/bad/cycle.cfg" \
		>"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "validate GOOD BAD: exit $rc, want 1"
	grep -q "dependency cycle: a -> b -> c -> a" "$tmp/out" ||
		fail "validate GOOD BAD: no cycle message"
fi

# What a run would need from this controller is a warning with FILE:LINE:
# a known_hosts file and a secret file that are not there.
checks=$((checks + 1))
mkdir -p "$tmp/w"
cat >"$tmp/w/plan.cfg" <<'PLAN'
version = 1;
name = "warn";
defaults: { known_hosts = "no-such-known_hosts";
            identity = "/no/such/key"; };
secrets = ( { name = "pw"; file = "no-such-secret"; } );
sites = (
  { name = "milan"; role = "primary";
    hosts = ( { name = "mi-db1"; address = "10.0.0.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby";
    hosts = ( { name = "to-db1"; address = "10.0.1.1"; roles = ["db"]; } ); } );
services = ( { name = "s"; tier = 1; scope = "global";
  steps = ( { name = "x"; on = "to:db"; run = "use ${secret.pw}"; } ); } );
PLAN
"$drover" validate "$tmp/w/plan.cfg" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || fail "warnings only: exit $rc, want 0"
for want in "plan.cfg:3: warning: known_hosts" \
	"plan.cfg:4: warning: private key /no/such/key" \
	"plan.cfg:5: warning: secret \"pw\""; do
	grep -qF "$want" "$tmp/err" || fail "no warning \"$want\" in: $(cat "$tmp/err")"
done

# Not a plan: a device, a directory, an include; bounded, never read whole.
for f in /dev/zero "$tmp"; do
	checks=$((checks + 1))
	timeout 10 "$drover" validate "$f" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "validate $f: exit $rc, want 1"
	grep -q "not a regular file" "$tmp/out" ||
		fail "validate $f: $(cat "$tmp/out")"
done
checks=$((checks + 1))
printf 'version = 1;\n@include "/dev/zero"\n' >"$tmp/inc.cfg"
timeout 10 "$drover" validate "$tmp/inc.cfg" >"$tmp/out" 2>&1
grep -q "inc.cfg:2: @include is not supported" "$tmp/out" ||
	fail "@include: $(cat "$tmp/out")"
checks=$((checks + 1))
head -c 17000000 /dev/zero | tr '\0' ' ' >"$tmp/big.cfg"
timeout 10 "$drover" validate "$tmp/big.cfg" >"$tmp/out" 2>&1
grep -q "more than the 16777216" "$tmp/out" ||
	fail "oversized plan: $(cat "$tmp/out")"
rm -f "$tmp/big.cfg"

checks=$((checks + 1))
"$drover" validate >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "validate with no plan: exit $rc, want 2"

checks=$((checks + 1))
"$drover" validate "$tmp/no-such-plan.cfg" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "validate of a missing file: exit $rc, want 1"
grep -q "no-such-plan.cfg" "$tmp/out" ||
	fail "validate of a missing file: the message does not name it"

# runbook with a known_hosts file that cannot be read: one message naming
# it, exit 1, no output file written.
checks=$((checks + 1))
"$drover" runbook "$top/plans/lab.cfg" --from milan --to torino \
	--known-hosts "$tmp/no-such-known-hosts" -o "$tmp/rb.md" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "runbook --known-hosts missing: exit $rc, want 1"
[ "$(cat "$tmp/out")" = "drover: runbook: --known-hosts $tmp/no-such-known-hosts: No such file or directory" ] ||
	fail "runbook --known-hosts missing: $(cat "$tmp/out")"
[ ! -e "$tmp/rb.md" ] || fail "runbook --known-hosts missing: wrote $tmp/rb.md"

# A secret whose variable is not set: the run refuses before it starts, and
# says where a person gets the value (the secret's hint), not only which
# variable drover reads.
checks=$((checks + 1))
cat >"$tmp/secret.cfg" <<'EOF'
version = 1;
name = "secret-hint";
sites = (
  { name = "milan"; role = "primary"; hosts = ( { name = "mi-db1"; address = "127.0.1.1"; roles = ["db"]; } ); },
  { name = "torino"; role = "standby"; hosts = ( { name = "to-db1"; address = "127.0.3.1"; roles = ["db"]; } ); }
);
secrets = ( { name = "pg"; env = "DROVER_TEST_UNSET_PG"; hint = "DBA vault, entry pg/torino"; } );
services = ( { name = "s"; tier = 1; scope = "global";
  steps = ( { name = "x"; on = "to:db"; run = "echo ${secret.pg}"; } ); } );
EOF
env -u DROVER_TEST_UNSET_PG DROVER_STATE_DIR="$tmp/secret-state" \
	"$drover" failover "$tmp/secret.cfg" --from milan --to torino --yes >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "unset secret: exit $rc, want 1"
grep -qF 'secret "pg": environment variable DROVER_TEST_UNSET_PG is not set; export it before the run; where to get it: DBA vault, entry pg/torino' "$tmp/out" ||
	fail "unset secret: no variable and hint in: $(cat "$tmp/out")"
[ ! -d "$tmp/secret-state/runs" ] || [ -z "$(ls -A "$tmp/secret-state/runs")" ] ||
	fail "unset secret: a run was started"

# A private key protected by a passphrase: drover never asks for one, so
# the run refuses before it starts and says to use ssh-agent; an
# unprotected key of the same format passes. OpenSSH's own format, PEM and
# PKCS#8. The plan pins no host keys, so no run connects anywhere.
if command -v ssh-keygen >/dev/null && command -v openssl >/dev/null; then
	ssh-keygen -q -t ed25519 -N 'long passphrase' -f "$tmp/k-openssh"
	ssh-keygen -q -t ecdsa -m PEM -N 'long passphrase' -f "$tmp/k-pem"
	openssl genpkey -algorithm ed25519 -aes256 -pass pass:longpassphrase \
		-out "$tmp/k-pkcs8" 2>/dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/plain-openssh"
	ssh-keygen -q -t ecdsa -m PEM -N '' -f "$tmp/plain-pem"
	chmod 600 "$tmp"/k-* "$tmp"/plain-*
	for k in k-openssh k-pem k-pkcs8 plain-openssh plain-pem; do
		checks=$((checks + 1))
		sed "s|^sites = (|defaults: { identity = \"$tmp/$k\"; };\nsites = (|" \
			"$tmp/secret.cfg" >"$tmp/key.cfg"
		env DROVER_TEST_UNSET_PG=x DROVER_STATE_DIR="$tmp/key-state" \
			"$drover" failover "$tmp/key.cfg" --from milan --to torino \
			--yes >"$tmp/out" 2>&1
		case $k in
		k-*)
			grep -qF "private key $tmp/$k is protected by a passphrase, and drover never asks for one: load it into ssh-agent (ssh-add $tmp/$k)" "$tmp/out" ||
				fail "$k: not refused as protected: $(cat "$tmp/out")"
			grep -q "nothing was started" "$tmp/out" ||
				fail "$k: the run was not refused: $(cat "$tmp/out")"
			;;
		*)
			# Stopped by the plan's missing known_hosts, not by the key.
			if ! grep -q "no known_hosts" "$tmp/out" ||
				grep -q "protected by a passphrase" "$tmp/out"; then
				fail "$k: an unprotected key refused: $(cat "$tmp/out")"
			fi
			;;
		esac
	done
else
	echo "validate.sh: no ssh-keygen or openssl; protected keys not checked"
fi

echo "validate.sh: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
