#!/bin/sh
# plan-scale.sh: time "drover validate" and "drover show" on a 500-tenant
# plan (5 tenant services x 3 steps, sites of 2-3 hosts: about 12,500 tasks).
# A benchmark, not a test: it prints timings and asserts nothing about them.
#
#   tests/bench/plan-scale.sh BUILD_DIR [hyperfine options...]
#
# The plan is the one tests/unit/test_scale.c checks, written by
# "BUILD_DIR/tests/test_scale --write FILE" so that the two never drift.
set -eu

build=${1:?usage: plan-scale.sh BUILD_DIR [hyperfine options...]}
shift
drover=$build/drover
gen=$build/tests/test_scale
for f in "$drover" "$gen"; do
	if [ ! -x "$f" ]; then
		echo "plan-scale.sh: $f: not built (cmake --build $build)" >&2
		exit 2
	fi
done
if ! command -v hyperfine >/dev/null 2>&1; then
	echo "plan-scale.sh: hyperfine is not installed" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
plan=$tmp/scale.cfg
"$gen" --write "$plan"
"$drover" validate "$plan"
echo "plan: $(wc -c <"$plan") bytes, $(wc -l <"$plan") lines;" \
	"show lists $("$drover" show "$plan" --from milan,rome --to torino |
		wc -l) lines"

hyperfine --warmup 2 "$@" \
	-n validate "$drover validate $plan" \
	-n show "$drover show $plan --from milan,rome --to torino" \
	-n show-drill "$drover show $plan --from milan,rome --to drill --drill" \
	-n graph "$drover graph $plan --from milan,rome --to torino"
