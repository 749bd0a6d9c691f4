#!/bin/bash
# ok always succeeds: A && ok || fail is if-then-else here.
# shellcheck disable=SC2015
# output-errors.sh: where the CLI's output goes when it is not a plain file.
#
#   tests/cli/output-errors.sh path/to/drover
#
# A verb whose standard output cannot be written (a full device, a closed
# descriptor) exits 1 and says why, never 0 over a short output. -o FILE
# replaces a regular file atomically, and otherwise: a device or a FIFO is
# written through and stays what it is (as root, a rename would have put a
# regular file in the place of /dev/null), a symbolic link stays a link and
# the file it names gets the bytes, a link to nothing and a directory are
# refused. The run is the recorded one of tests/golden (its journal in a
# temporary state directory).
set -u

drover=${1:?usage: output-errors.sh path/to/drover}
case $drover in /*) ;; *) drover=$PWD/$drover ;; esac
if [ ! -x "$drover" ]; then
	echo "output-errors.sh: $drover: not an executable" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
plan=$top/plans/westpole.cfg
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_init output

# status WANT GOT WHAT
status() {
	[ "$2" -eq "$1" ] && ok || fail "$3: exit $2, not $1: $(head -c 300 "$tmp/err")"
}

export DROVER_STATE_DIR=$tmp/state
run=$(sed -n '1s/.*"run":"\([^"]*\)".*/\1/p' "$top/tests/golden/lab-run.journal")
[ -n "$run" ] || {
	echo "output-errors.sh: no run id in tests/golden/lab-run.journal" >&2
	exit 2
}
mkdir -p "$DROVER_STATE_DIR/runs/$run"
cp "$top/tests/golden/lab-run.journal" "$DROVER_STATE_DIR/runs/$run/journal"
"$drover" status "$run" >"$tmp/out" 2>"$tmp/err"
status 0 $? "status of the recorded run"

# A full device of our own: as root a private node (a regression then
# replaces only that), else /dev/full itself (which only root could replace).
full=/dev/full
if [ "$(id -u)" -eq 0 ] && mknod "$tmp/full" c 1 7 2>/dev/null; then
	full=$tmp/full
fi
[ -c "$full" ] || {
	echo "output-errors.sh: $full is not a character device" >&2
	exit 2
}

# Standard output on a full device: exit 1, and why.
while IFS= read -r line; do
	# shellcheck disable=SC2086
	set -- $line
	"$drover" "$@" >"$full" 2>"$tmp/err"
	status 1 $? "$line >$full"
	has "$tmp/err" "No space left on device" "$line >$full"
done <<EOF
--help
--version
help status
validate $plan
runbook $plan --from milan,rome --to torino
status $run
report $run
report $run --format json
report $run --format html
logs $run
EOF

# Standard output closed.
"$drover" status "$run" >&- 2>"$tmp/err"
status 1 $? "status >&-"
has "$tmp/err" "cannot write the standard output" "status >&-"

# -o FILE: the runbook as it goes to stdout, and the report.
"$drover" runbook "$plan" --from milan,rome --to torino >"$tmp/runbook.md" 2>"$tmp/err"
status 0 $? "runbook to stdout"
"$drover" report "$run" --format md >"$tmp/report.md" 2>"$tmp/err"
status 0 $? "report to stdout"
runbook() { "$drover" runbook "$plan" --from milan,rome --to torino -o "$1" >"$tmp/out" 2>"$tmp/err"; }

# report -o: without --format the name's extension decides, as for runbook;
# --format wins over it; a .pdf name is refused, not filled with markdown.
for f in html json md; do
	"$drover" report "$run" --format "$f" >"$tmp/want.$f" 2>"$tmp/err"
	status 0 $? "report --format $f"
	"$drover" report "$run" -o "$tmp/by-ext.$f" >"$tmp/out" 2>"$tmp/err"
	status 0 $? "report -o x.$f"
	cmp -s "$tmp/by-ext.$f" "$tmp/want.$f" && ok || fail "report -o x.$f: not --format $f"
done
"$drover" report "$run" --format md -o "$tmp/forced.html" >"$tmp/out" 2>"$tmp/err"
cmp -s "$tmp/forced.html" "$tmp/want.md" && ok || fail "report --format md -o x.html: not md"
"$drover" report "$run" -o "$tmp/r.pdf" >"$tmp/out" 2>"$tmp/err"
status 2 $? "report -o x.pdf"
has "$tmp/err" "the report is json, md or html" "report -o x.pdf"
[ ! -e "$tmp/r.pdf" ] && ok || fail "report -o x.pdf wrote a file"
"$drover" report "$run" --format pdf >"$tmp/out" 2>"$tmp/err"
status 2 $? "report --format pdf"
has "$tmp/err" '"pdf" is not json, md or html' "report --format pdf"

runbook "$tmp/plain.md"
status 0 $? "runbook -o a new file"
cmp -s "$tmp/plain.md" "$tmp/runbook.md" && ok || fail "runbook -o a new file: not what stdout gets"

runbook "$full"
status 1 $? "runbook -o $full"
has "$tmp/err" "No space left on device" "runbook -o $full"
[ -c "$full" ] && ok || fail "runbook -o $full: no longer a character device: $(ls -l "$full")"

mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from-fifo" &
reader=$!
runbook "$tmp/fifo"
status 0 $? "runbook -o FIFO"
wait "$reader"
[ -p "$tmp/fifo" ] && ok || fail "runbook -o FIFO: no longer a FIFO: $(ls -l "$tmp/fifo")"
cmp -s "$tmp/from-fifo" "$tmp/runbook.md" && ok || fail "runbook -o FIFO: the reader got other bytes"

cat "$tmp/fifo" >"$tmp/from-fifo" &
reader=$!
"$drover" report "$run" --format md -o "$tmp/fifo" >"$tmp/out" 2>"$tmp/err"
status 0 $? "report -o FIFO"
wait "$reader"
[ -p "$tmp/fifo" ] && ok || fail "report -o FIFO: no longer a FIFO"
cmp -s "$tmp/from-fifo" "$tmp/report.md" && ok || fail "report -o FIFO: the reader got other bytes"

echo old >"$tmp/real.md"
ln -s real.md "$tmp/link.md"
runbook "$tmp/link.md"
status 0 $? "runbook -o LINK"
[ -L "$tmp/link.md" ] && ok || fail "runbook -o LINK: the link was replaced"
cmp -s "$tmp/real.md" "$tmp/runbook.md" && ok || fail "runbook -o LINK: its target did not get the runbook"

ln -s nothing.md "$tmp/dangling.md"
runbook "$tmp/dangling.md"
status 1 $? "runbook -o DANGLING"
has "$tmp/err" "No such file or directory" "runbook -o DANGLING"
[ -L "$tmp/dangling.md" ] && [ ! -e "$tmp/nothing.md" ] && ok ||
	fail "runbook -o DANGLING: the link or its target changed"

mkdir "$tmp/dir"
runbook "$tmp/dir"
status 1 $? "runbook -o DIR"
has "$tmp/err" "Is a directory" "runbook -o DIR"
[ -d "$tmp/dir" ] && [ -z "$(ls -A "$tmp/dir")" ] && ok || fail "runbook -o DIR: the directory changed"
left=$(find "$tmp" -maxdepth 1 -name '*.tmp.*')
[ -z "$left" ] && ok || fail "a temporary file was left: $left"

echo "output-errors.sh: $checks checks, $fails failures"
[ "$fails" -eq 0 ]
