#!/usr/bin/env bash
#
# deprovision.sh: stops and undefines the VMs libvirt/provision.sh created
# for DROVER_SITE and removes their disks, seed ISOs (which held the private
# host keys) and the site's record. A site with no record is not an error.
# See README.md.

set -euo pipefail
umask 077

readonly PROG=libvirt/deprovision.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=contrib/provision/libvirt/common.sh
. "$HERE/common.sh"

usage() {
	cat <<EOF
usage: $PROG [--help]

Removes site DROVER_SITE's VMs, disks and seed ISOs as recorded in
\$DROVER_LIBVIRT_STATE/SITE (default
\${XDG_STATE_HOME:-~/.local/state}/drover/libvirt/SITE), with the libvirt
connection recorded there; then the record. DROVER_RUN_ID and
DROVER_INVENTORY, when set, are only reported.
Exit: 0 done (or nothing to do), 1 failed, 2 bad or missing input.
EOF
}

main() {
	local site rec dom disk seed dirs=() d n=0
	case ${1:-} in
	-h | --help)
		usage
		return 0
		;;
	'') ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	require_env DROVER_SITE
	site=$DROVER_SITE
	check_site "$site"
	rec=$STATE_ROOT/$site
	if [[ ! -e $rec ]]; then
		note "$site: nothing to remove (no $rec)"
		return 0
	fi
	need virsh
	[[ ! -r $rec/uri ]] || read -r URI <"$rec/uri"
	note "$site: removing (run ${DROVER_RUN_ID:-unknown}, inventory ${DROVER_INVENTORY:-none}, $URI)"
	if [[ -r $rec/hosts ]]; then
		while read -r dom disk seed; do
			[[ -n $dom && $dom != '#'* ]] || continue
			[[ $dom == drover-"$site"-* && $disk == /* && $seed == /* ]] ||
				die "$rec/hosts: bad line '$dom $disk $seed'; remove that host by hand"
			remove_domain "$dom" "$disk" "$seed"
			dirs+=("${disk%/*}")
			n=$((n + 1))
		done <"$rec/hosts"
	fi
	for d in "${dirs[@]}"; do
		rmdir -- "$d" 2>/dev/null || true
	done
	rm -rf -- "${rec:?}"
	note "$site: $n host(s) removed"
}

main "$@"
