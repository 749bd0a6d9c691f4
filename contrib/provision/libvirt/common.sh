# shellcheck shell=bash
# common.sh: what provision.sh and deprovision.sh share (sourced, not run).
#
# A site's record, $DROVER_LIBVIRT_STATE/SITE/ (default
# ${XDG_STATE_HOME:-~/.local/state}/drover/libvirt/SITE, mode 0700), holds
# "uri" (the libvirt connection) and "hosts" (one line per host: domain,
# root disk, seed ISO), written before the first VM is defined, so that
# deprovision.sh finds everything even after a provision that failed
# halfway. The disks and seed ISOs live in $DROVER_LIBVIRT_DIR/SITE/.

readonly NAME_RE='^[a-z][a-z0-9-]{0,31}$'
# ROLES_RE, STATE_ROOT, URI: read by the scripts that source this file.
# shellcheck disable=SC2034
readonly ROLES_RE='^[a-z][a-z0-9-]{0,31}(,[a-z][a-z0-9-]{0,31})*$'
# shellcheck disable=SC2034
STATE_ROOT=${DROVER_LIBVIRT_STATE:-${XDG_STATE_HOME:-${HOME:-/root}/.local/state}/drover/libvirt}
# shellcheck disable=SC2034
URI=${DROVER_LIBVIRT_URI:-qemu:///system}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

die() {
	note "$*"
	exit 1
}

# Exit 2: what drover (or the operator) passed is wrong.
bad_input() {
	note "$*"
	exit 2
}

need() {
	command -v -- "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+ ($2)}"
}

# Dies unless every variable named is set and not empty.
require_env() {
	local v
	for v; do
		[[ -n ${!v:-} ]] || bad_input "$v is not set"
	done
}

check_site() {
	[[ $1 =~ $NAME_RE ]] ||
		bad_input "DROVER_SITE='$1': lower-case letters, digits and '-', starting with a letter, at most 32"
}

virsh_() {
	virsh --quiet --connect "$URI" "$@"
}

# Stops and undefines a domain if it exists, then removes its files.
remove_domain() {
	local dom=$1 disk=$2 seed=$3
	if virsh_ dominfo "$dom" >/dev/null 2>&1; then
		if [[ $(virsh_ domstate "$dom" 2>/dev/null) != "shut off" ]]; then
			virsh_ destroy "$dom" >/dev/null 2>&1 || true
		fi
		virsh_ undefine "$dom" >/dev/null || die "$dom: virsh undefine failed"
		note "$dom: removed"
	fi
	rm -f -- "$disk" "$seed"
}
