# lib.sh: what the tests/cli scripts share. Sourced (POSIX sh and bash):
#   . "$(dirname "$0")/lib.sh"; cli_init NAME
# cli_init makes $tmp (removed at exit and on INT or TERM) and zeroes the
# counters that fail and ok keep.

# cli_init NAME: $tmp is ${TMPDIR:-/tmp}/drover-NAME.XXXXXX.
cli_init() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-$1.XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT INT TERM
	fails=0
	checks=0
}

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

ok() { checks=$((checks + 1)); }

# has FILE TEXT WHAT: FILE contains TEXT (fixed string).
has() {
	if grep -qF -- "$2" "$1"; then ok; else fail "$3: no '$2' in: $(head -c 400 "$1")"; fi
}
