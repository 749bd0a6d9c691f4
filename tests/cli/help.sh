#!/bin/bash
# ok always succeeds: A && ok || fail is if-then-else here.
# shellcheck disable=SC2015,SC2001
# help.sh: what the CLI says about itself, from the outside.
#
#   tests/cli/help.sh path/to/drover
#
# Every verb's --help exits 0 and describes each option the verb takes
# (drover __complete options VERB, from the same table as the parser);
# drover help VERB prints the same; the verb list; did you mean for a
# verb and an option; RUN as an id, a unique prefix or last (fake run
# directories in a temporary state directory); the man page renders
# without warnings and names every verb and option; the bash completion
# passes bash -n and, driven through COMP_WORDS/COMP_CWORD, offers the
# verbs, a verb's options, the run ids and the plan's sites.
set -u

drover=${1:?usage: help.sh path/to/drover}
case $drover in /*) ;; *) drover=$PWD/$drover ;; esac
if [ ! -x "$drover" ]; then
	echo "help.sh: $drover: not an executable" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
man=$top/contrib/man/drover.1
comp=$top/contrib/bash-completion/drover
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cli_init help

# expect STATUS CMD...: runs CMD with stdout in $tmp/out, stderr in
# $tmp/err, and checks its exit status.
expect() {
	local want=$1 rc
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$* exited $rc, not $want: $(head -c 300 "$tmp/err")"
	else
		ok
	fi
}

export DROVER_STATE_DIR=$tmp/state

verbs=$("$drover" __complete verbs)
[ "$(echo "$verbs" | wc -l)" -ge 13 ] || fail "__complete verbs: only $verbs"

# The verb list, on stdout with exit 0, from each way of asking.
for ask in --help -h help; do
	expect 0 "$drover" $ask
	for v in $verbs; do has "$tmp/out" "  $v " "drover $ask lists $v"; done
done
expect 2 "$drover"
has "$tmp/err" "commands:" "drover alone"
expect 0 "$drover" --version
grep -qE '^drover [0-9]+\.[0-9]+' "$tmp/out" && ok || fail "--version: $(cat "$tmp/out")"

# Every verb: --help and -h exit 0; each option is on a line of its own,
# followed by its description; help VERB says the same.
for v in $verbs; do
	expect 0 "$drover" "$v" --help
	cp "$tmp/out" "$tmp/help-$v"
	has "$tmp/out" "usage: drover $v" "$v --help"
	[ "$(grep -c '' "$tmp/out")" -ge 5 ] && ok || fail "$v --help: a usage line only"
	"$drover" __complete options "$v" | while read -r opt arg; do
		line=$(grep -nE "^  (-[a-z], )?$opt( |\$)" "$tmp/help-$v" | head -1 | cut -d: -f1)
		if [ -z "$line" ]; then
			echo "FAIL: $v --help does not list $opt" >>"$tmp/optfails"
			continue
		fi
		desc=$(sed -n "$((line + 1))p" "$tmp/help-$v")
		case $desc in
		"        "[a-z]*) ;;
		*) echo "FAIL: $v --help: $opt has no description ($desc)" >>"$tmp/optfails" ;;
		esac
		[ -n "$arg" ] && ! sed 's/^  -[a-z], /  /' "$tmp/help-$v" | grep -qxF -- "  $opt $arg" &&
			echo "FAIL: $v --help: $opt without its argument $arg" >>"$tmp/optfails"
		# The man page describes every option.
		grep -qF -- "\\fB\\-\\-${opt#--}\\fR" "$man" ||
			grep -qF -- "\\fB\\-\\-$(echo "${opt#--}" | sed 's/-/\\-/g')\\fR" "$man" ||
			echo "FAIL: the man page does not describe $opt" >>"$tmp/optfails"
	done
	expect 0 "$drover" "$v" -h
	cmp -s "$tmp/out" "$tmp/help-$v" && ok || fail "$v -h differs from $v --help"
	expect 0 "$drover" help "$v"
	cmp -s "$tmp/out" "$tmp/help-$v" && ok || fail "help $v differs from $v --help"
	# The man page has a section per verb, README's CLI reference a line.
	grep -qE "^\.SS \"$v( |\")" "$man" && ok || fail "the man page has no section for $v"
	grep -qE "^drover $v( |\$)" "$top/README.md" && ok || fail "README's CLI reference has no drover $v"
done
if [ -s "$tmp/optfails" ]; then
	while read -r l; do fail "${l#FAIL: }"; done <"$tmp/optfails"
fi
# What issue 12 found: these said "usage" with exit 2, or "no run --help".
expect 0 "$drover" audit verify --help
has "$tmp/out" "usage: drover audit" "audit verify --help"
expect 0 "$drover" status --help
expect 0 "$drover" help
expect 2 "$drover" help nosuchverb

# Did you mean: a verb, an option.
expect 2 "$drover" faliover plans/lab.cfg
has "$tmp/err" "did you mean failover?" "faliover"
expect 2 "$drover" stauts
has "$tmp/err" "did you mean status?" "stauts"
expect 2 "$drover" help reprot
has "$tmp/err" "did you mean report?" "help reprot"
expect 2 "$drover" xyzzy
has "$tmp/err" "commands:" "xyzzy lists the commands"
expect 2 "$drover" show "$top/plans/lab.cfg" --fromm milan --to torino
has "$tmp/err" "did you mean --from?" "show --fromm"
expect 2 "$drover" failover "$top/plans/lab.cfg" --auto-aprove
has "$tmp/err" "did you mean --auto-approve?" "failover --auto-aprove"

# --from: a site twice or an empty name is a typo, never fewer sites.
for v in failover drill show runbook check; do
	expect 2 "$drover" $v "$top/plans/lab.cfg" --from milan,milan --to torino
	has "$tmp/err" "--from names milan twice" "$v --from milan,milan"
done
for f in milan,,rome milan, ,milan; do
	expect 2 "$drover" show "$top/plans/lab.cfg" --from "$f" --to torino
	has "$tmp/err" "an empty site name" "show --from $f"
done
expect 0 "$drover" show "$top/plans/lab.cfg" --from milan,rome --to torino

# --incident-at and --clean-before are in the past: a later time is a typo
# (2062 for 2026) that would pass every restore point as taken before it.
# Refused before the plan is read, so nothing connects.
late=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
for o in --incident-at --clean-before; do
	for v in failover drill; do
		expect 2 "$drover" $v "$top/plans/lab.cfg" --from milan --to torino $o "$late"
		has "$tmp/err" "$o $late is later than this controller's clock" "$v $o in an hour"
	done
done

# RUN resolution: fake run directories (no journal: the verbs then say
# there is no such run, naming the id the operand resolved to).
runs=$DROVER_STATE_DIR/runs
mkdir -p "$runs/20261201T210310Z-lab-aaaa" "$runs/20261201T213000Z-lab-bbbb" \
	"$runs/20261202T010000Z-lab-cccc"
for v in "status" "report" "logs" "resume" "audit verify" "audit show"; do
	# shellcheck disable=SC2086
	expect 1 "$drover" $v last
	has "$tmp/err" "no run 20261202T010000Z-lab-cccc" "$v last"
	# shellcheck disable=SC2086
	expect 1 "$drover" $v 20261201T2130
	has "$tmp/err" "no run 20261201T213000Z-lab-bbbb" "$v PREFIX"
	# shellcheck disable=SC2086
	expect 2 "$drover" $v 20261201T21
	has "$tmp/err" "20261201T21 names 2 runs" "$v AMBIGUOUS"
	has "$tmp/err" "  20261201T210310Z-lab-aaaa" "$v AMBIGUOUS lists"
	has "$tmp/err" "  20261201T213000Z-lab-bbbb" "$v AMBIGUOUS lists"
	# shellcheck disable=SC2086
	expect 1 "$drover" $v 2027
	has "$tmp/err" "no run 2027 under" "$v UNKNOWN"
done
expect 2 "$drover" runbook "$top/plans/lab.cfg" --remaining 20261201T21
has "$tmp/err" "20261201T21 names 2 runs" "runbook --remaining AMBIGUOUS"
expect 1 "$drover" runbook "$top/plans/lab.cfg" --remaining last
has "$tmp/err" "no run 20261202T010000Z-lab-cccc" "runbook --remaining last"
DROVER_STATE_DIR=$tmp/empty expect 1 "$drover" status last
has "$tmp/err" "last: no runs" "status last without runs"

# The man page: renders without warnings, says what RUN and exit 4 are.
if command -v groff >/dev/null; then
	groff -man -ww -z "$man" 2>"$tmp/groff"
	[ -s "$tmp/groff" ] && fail "groff -ww: $(cat "$tmp/groff")" || ok
else
	echo "help.sh: no groff; the man page is not rendered"
fi
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -l "$man" >"$tmp/man.txt" 2>"$tmp/man.err"
	[ -s "$tmp/man.err" ] && fail "man -l: $(cat "$tmp/man.err")" || ok
	has "$tmp/man.txt" "EXIT STATUS" "man -l"
	has "$tmp/man.txt" "unique prefix" "man -l"
fi

# The completion: bash -n, then its function driven as bash would.
bash -n "$comp" && ok || fail "bash -n $comp"
if command -v shellcheck >/dev/null; then
	shellcheck -s bash "$comp" >"$tmp/sc" 2>&1 && ok || fail "shellcheck $comp: $(cat "$tmp/sc")"
fi
# complete WORD...: the completions of the last word, one a line.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_drover; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$drover" "$@"
}
plan=$top/plans/lab.cfg
complete_words "" >"$tmp/c"
for v in $verbs; do has "$tmp/c" "$v" "completion of the verb"; done
grep -q '^__complete' "$tmp/c" && fail "completion offers the hidden verb" || ok
complete_words fa >"$tmp/c"
[ "$(cat "$tmp/c")" = failover ] && ok || fail "completion of fa: $(cat "$tmp/c")"
complete_words failover "$plan" --au >"$tmp/c"
[ "$(cat "$tmp/c")" = --auto-approve ] && ok || fail "completion of --au: $(cat "$tmp/c")"
complete_words failover "$plan" -- >"$tmp/c"
for o in --from --to --dry-run --yes --only --json --metrics --incident-at --take-stale-lock --help; do
	has "$tmp/c" "$o" "completion of failover's options"
done
grep -qx -- --follow "$tmp/c" && fail "failover offers --follow" || ok
complete_words failover "$plan" --from "" >"$tmp/c"
[ "$(sort "$tmp/c" | tr '\n' ' ')" = "milan rome " ] && ok || fail "--from sites: $(cat "$tmp/c")"
complete_words failover "$plan" --from milan,r >"$tmp/c"
[ "$(cat "$tmp/c")" = milan,rome ] && ok || fail "--from milan,r: $(cat "$tmp/c")"
complete_words failover --yes "$plan" --from milan --to t >"$tmp/c"
[ "$(cat "$tmp/c")" = torino ] && ok || fail "--to t: $(cat "$tmp/c")"
complete_words failover "$plan" --to = "" >"$tmp/c"
has "$tmp/c" torino "--to= sites"
grep -qx milan "$tmp/c" && fail "--to offers a production site" || ok
complete_words status "" >"$tmp/c"
for id in 20261201T210310Z-lab-aaaa 20261201T213000Z-lab-bbbb 20261202T010000Z-lab-cccc last; do
	has "$tmp/c" "$id" "completion of status's RUN"
done
complete_words resume 20261202 >"$tmp/c"
[ "$(cat "$tmp/c")" = 20261202T010000Z-lab-cccc ] && ok || fail "resume 20261202: $(cat "$tmp/c")"
complete_words audit "" >"$tmp/c"
[ "$(tr '\n' ' ' <"$tmp/c")" = "verify show " ] && ok || fail "audit: $(cat "$tmp/c")"
complete_words audit verify 2026120 >"$tmp/c"
has "$tmp/c" 20261202T010000Z-lab-cccc "audit verify RUN"
complete_words report last --format "" >"$tmp/c"
[ "$(tr '\n' ' ' <"$tmp/c")" = "json md html " ] && ok || fail "report --format: $(cat "$tmp/c")"
complete_words runbook "$plan" --remaining "" >"$tmp/c"
has "$tmp/c" last "runbook --remaining"
complete_words help stat >"$tmp/c"
[ "$(cat "$tmp/c")" = status ] && ok || fail "help stat: $(cat "$tmp/c")"

echo "help.sh: $checks checks passed, $fails failed"
[ "$fails" -eq 0 ]
