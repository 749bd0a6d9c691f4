#!/bin/bash
# runbook-scale.sh: the runbook at the incident's size. plans/westpole.cfg
# with its 8 tenants, then with 300 and 1,300 generated ones (same services,
# same sites): for each, the Markdown, HTML and PDF runbooks' sizes, the
# PDF's pages and the time to render each, and optionally the report of a
# finished run (RUN_DIR). A benchmark, not a test: it prints figures and
# asserts nothing about them.
#
#   tests/bench/runbook-scale.sh [DROVER]   DROVER: binary or build dir
#                                            (default build-bench/drover)
# Environment:
#   SIZES="8 300 1300"   tenant counts (8: the plan as it is)
#   RUN_DIR=             a run directory (runs/RUN) whose report.html is
#                        printed to PDF and counted too
#   SHOTS=               a directory: PNG screenshots of the 1,300-tenant
#                        (largest size) runbook's first page and of the
#                        report, by headless Chromium
#   KEEP=0               1 keeps the temporary directory
#
# Needs chromium (the PDF), pdfinfo (poppler-utils) and GNU time. Writes
# tests/bench/results/runbook-scale-DATE.md (gitignored) and prints it.
set -euo pipefail

PROG=runbook-scale.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
SIZES=${SIZES:-8 300 1300}
RUN_DIR=${RUN_DIR:-}
SHOTS=${SHOTS:-}
KEEP=${KEEP:-0}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	note "$*"
	exit 1
}

drover=${1:-$repo/build-bench/drover}
[[ -d $drover ]] && drover=$drover/drover
[[ -x $drover ]] || die "$drover: not built"
chrome=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chrome ]] || die "chromium is not installed (apt-get install chromium)"
command -v pdfinfo >/dev/null || die "pdfinfo is not installed (apt-get install poppler-utils)"
/usr/bin/time -f %e true 2>/dev/null || die "/usr/bin/time is not GNU time"

tmp=$(mktemp -d /tmp/drover-runbook.XXXXXX)
cleanup() { ((KEEP)) || rm -rf "$tmp"; }
trap cleanup EXIT

# plan N FILE: westpole.cfg with N generated tenants (8: unchanged).
plan() {
	python3 - "$1" "$repo/plans/westpole.cfg" "$2" <<'PY'
import re, sys
n, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
text = open(src).read()
if n != 8:
    rows = ",\n".join(
        '  { name = "comune-%05d"; priority = %d; vars = { db = "c%05d"; '
        'port = "%d"; }; }' % (i, i + 1, i, 10000 + i) for i in range(n))
    text, k = re.subn(r"\ntenants = \(\n.*?\n\);\n",
                      "\ntenants = (\n" + rows + "\n);\n", text,
                      count=1, flags=re.S)
    if k != 1:
        sys.exit("no tenants block in " + src)
open(dst, "w").write(text)
PY
}

mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
pages() { pdfinfo "$1" | awk '/^Pages:/ { print $2 }'; }
timed() { # timed OUT CMD...: seconds of CMD, its output to OUT
	local out=$1
	shift
	/usr/bin/time -f %e -o "$tmp/t" "$@" >"$out" 2>"$tmp/err" ||
		die "$*: $(tail -3 "$tmp/err")"
	cat "$tmp/t"
}

shot() { # shot HTML PNG
	local prof
	prof=$(mktemp -d "$tmp/prof.XXXXXX")
	"$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$prof" --window-size=1240,1754 \
		--screenshot="$2" "file://$1" >/dev/null 2>&1 ||
		die "chromium could not screenshot $1"
}

out=$repo/tests/bench/results/runbook-scale-$(date -u +%Y%m%dT%H%M%SZ).md
mkdir -p "$(dirname "$out")"
{
	echo "# runbook-scale.sh $(date -u +%FT%TZ) on $(hostname) ($(nproc) cores)"
	echo
	echo "drover: $drover; plan: plans/westpole.cfg --from milan,rome --to torino"
	echo
	echo "| tenants | tasks | md | md s | html | html s | pdf | pdf pages | pdf s |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$out"
largest=
for n in $SIZES; do
	p=$tmp/westpole-$n.cfg
	plan "$n" "$p"
	# show numbers the tasks in order: the last number is the count
	tasks=$("$drover" show "$p" --from milan,rome --to torino |
		awk '$1 ~ /^[0-9]+$/ { n = $1 } END { print n }')
	rb=(runbook "$p" --from milan,rome --to torino)
	tm=$(timed "$tmp/rb-$n.md" "$drover" "${rb[@]}" --format md)
	th=$(timed "$tmp/rb-$n.html" "$drover" "${rb[@]}" --format html)
	tp=$(timed /dev/null "$drover" "${rb[@]}" --format pdf -o "$tmp/rb-$n.pdf")
	echo "| $n | $tasks | $(mib "$tmp/rb-$n.md") MB | $tm | $(mib "$tmp/rb-$n.html") MB | $th | $(mib "$tmp/rb-$n.pdf") MB | $(pages "$tmp/rb-$n.pdf") | $tp |" >>"$out"
	largest=$n
done
if [[ -n $RUN_DIR ]]; then
	[[ -f $RUN_DIR/report.html ]] || die "$RUN_DIR: no report.html"
	prof=$(mktemp -d "$tmp/prof.XXXXXX")
	"$chrome" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" \
		--no-pdf-header-footer --print-to-pdf="$tmp/report.pdf" \
		"file://$(readlink -f "$RUN_DIR/report.html")" >/dev/null 2>&1 ||
		die "chromium could not print $RUN_DIR/report.html"
	ntasks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tasks"]))' "$RUN_DIR/report.json")
	{
		echo
		echo "| report of | tasks | report.html | printed pages | report.json | report.md |"
		echo "| --- | --- | --- | --- | --- | --- |"
		echo "| $RUN_DIR | $ntasks | $(mib "$RUN_DIR/report.html") MB | $(pages "$tmp/report.pdf") | $(mib "$RUN_DIR/report.json") MB | $(mib "$RUN_DIR/report.md") MB |"
	} >>"$out"
fi
if [[ -n $SHOTS ]]; then
	mkdir -p "$SHOTS"
	shot "$tmp/rb-$largest.html" "$SHOTS/runbook-$largest.png"
	[[ -z $RUN_DIR ]] || shot "$(readlink -f "$RUN_DIR/report.html")" "$SHOTS/report.png"
	pdftoppm -r 60 -png -f 1 -l 4 "$tmp/rb-$largest.pdf" "$SHOTS/runbook-$largest-page"
	note "screenshots in $SHOTS"
fi
cat "$out"
note "wrote $out"
