#!/bin/sh
# systemd-verify.sh: contrib/systemd units pass "systemd-analyze verify",
# as templates and as an instance, with no warning at all.
#
#   tests/cli/systemd-verify.sh [path/to/drover]
#
# verify refuses an ExecStart= binary that does not exist, so the copies
# checked here point at the given drover (or /bin/true) when
# /usr/local/bin/drover is not installed. Exits 77 (skipped) without
# systemd-analyze.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
units="$top/contrib/systemd"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-verify.sh: no systemd-analyze: skipped"
	exit 77
fi
bin=/usr/local/bin/drover
if [ ! -x "$bin" ]; then
	bin=${1:-/bin/true}
	case $bin in
	/*) ;;
	*) bin=$(pwd)/$bin ;;
	esac
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_init units

# verify NAME...: runs systemd-analyze verify on units in $tmp; any output
# (warnings come with status 0) is a failure.
verify() {
	checks=$((checks + 1))
	(cd "$tmp" && systemd-analyze verify "$@") >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
		fail "systemd-analyze verify $*: exit $rc"
		sed 's/^/    /' "$tmp/out"
	fi
}

for u in drover-drill@.service drover-drill@.timer drover-standby@.service; do
	if [ ! -f "$units/$u" ]; then
		fail "$units/$u: missing"
		continue
	fi
	sed "s|/usr/local/bin/drover|$bin|g" "$units/$u" >"$tmp/$u"
	inst=$(echo "$u" | sed 's/@/@pa-recovery/')
	cp "$tmp/$u" "$tmp/$inst"
done
verify ./drover-drill@.service ./drover-drill@.timer
verify ./drover-drill@pa-recovery.service ./drover-drill@pa-recovery.timer
verify ./drover-standby@.service
verify ./drover-standby@pa-recovery.service

# The contract the README gives administrators.
svc="$units/drover-drill@.service"
tim="$units/drover-drill@.timer"
for want in 'Type=oneshot' 'User=drover' 'StateDirectory=drover' \
	'EnvironmentFile=-/etc/drover/drill-%i.env' \
	'Environment=DROVER_STATE_DIR=%S/drover' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'CapabilityBoundingSet=$' \
	'ExecStart=/usr/local/bin/drover drill /etc/drover/plans/%i.cfg --to ${DROVER_DRILL_SITE} --yes --auto-approve --metrics /var/lib/prometheus/node-exporter/drover-%i.prom$'; do
	checks=$((checks + 1))
	grep -q "^$want" "$svc" || fail "$svc: no line $want"
done
for want in 'Persistent=true' 'RandomizedDelaySec=' 'WantedBy=timers.target'; do
	checks=$((checks + 1))
	grep -q "^$want" "$tim" || fail "$tim: no line $want"
done
checks=$((checks + 1))
cal=$(sed -n 's/^OnCalendar=//p' "$tim")
systemd-analyze calendar "$cal" >/dev/null 2>&1 ||
	fail "$tim: OnCalendar=$cal is not a calendar expression"

echo "systemd-verify.sh: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
