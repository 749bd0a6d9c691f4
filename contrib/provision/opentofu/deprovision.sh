#!/usr/bin/env bash
#
# deprovision.sh: destroys what opentofu/provision.sh created for DROVER_SITE
# and removes its state directory (which held the private host keys). A site
# with no state is not an error. See README.md.

set -euo pipefail
umask 077

readonly PROG=opentofu/deprovision.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=contrib/provision/opentofu/common.sh
. "$HERE/common.sh"

usage() {
	cat <<EOF
usage: $PROG [--help]

Destroys the VMs, disks and seed ISOs of site DROVER_SITE with the copy of
the module and settings kept beside its state, then removes that directory
(\$DROVER_TOFU_STATE/SITE, default
\${XDG_STATE_HOME:-~/.local/state}/drover/opentofu/SITE). DROVER_RUN_ID and
DROVER_INVENTORY, when set, are only reported.
Exit: 0 done (or nothing to do), 1 failed, 2 bad or missing input.
EOF
}

main() {
	local site
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
	WORK=$STATE_ROOT/$site
	if [[ ! -d $WORK ]]; then
		note "$site: nothing to destroy (no $WORK)"
		return 0
	fi
	[[ -f $WORK/main.tf ]] ||
		die "$site: $WORK has no main.tf, so provision.sh did not make it; look at it and remove it by hand"
	find_tf
	note "$site: destroying (run ${DROVER_RUN_ID:-unknown}, inventory ${DROVER_INVENTORY:-none})"
	tf init -input=false -no-color -backend-config="path=$WORK/terraform.tfstate" ||
		die "$site: $TF init failed in $WORK"
	tf destroy -auto-approve -input=false -no-color ||
		die "$site: $TF destroy failed; the state stays in $WORK: fix the cause and run again"
	rm -rf -- "${WORK:?}"
	note "$site: destroyed"
}

main "$@"
