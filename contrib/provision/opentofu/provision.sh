#!/usr/bin/env bash
#
# provision.sh: drover provisioner on OpenTofu (or Terraform) and the libvirt
# provider dmacvicar/libvirt: one VM per role, each booted with a cloud-init
# seed that installs the host key pair drover generated for it. Prints the
# inventory JSON on stdout and nothing else. See README.md.
#
#   provision.sh            create (or replace) the site's hosts
#   provision.sh --check    init, validate and plan; changes nothing
#   provision.sh --help

set -euo pipefail
umask 077

readonly PROG=opentofu/provision.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=contrib/provision/opentofu/common.sh
. "$HERE/common.sh"

usage() {
	cat <<EOF
usage: $PROG [--check | --help]

Creates one libvirt VM per role of DROVER_ROLES with OpenTofu (tofu, else
terraform), host I presenting DROVER_KEYS/key-I, and prints the Ansible
inventory JSON on stdout.

drover sets: DROVER_SITE DROVER_ROLES DROVER_KEYS
             [DROVER_KEY_COUNT DROVER_RUN_ID DROVER_MODE]
you set:     DROVER_TOFU_VARS  a .tfvars or .tfvars.json file: base_image and
                               authorized_key (required), libvirt_uri, pool,
                               network, memory, vcpu, disk_size, user, sudo,
                               ssh_port (or TF_VAR_* for each, which must
                               then be set for deprovision.sh too)
             DROVER_TOFU       the binary (default: tofu, else terraform)
             DROVER_TOFU_STATE state root (default:
                               \${XDG_STATE_HOME:-~/.local/state}/drover/opentofu)

--check  init, validate and plan in a scratch directory (throwaway keys when
         DROVER_KEYS is unset; site and roles default to "check" and "db"):
         the hook for drover check. Changes nothing.
Exit: 0 done, 1 failed (a tool missing, tofu failed), 2 bad or missing input.
EOF
}

# Dies unless keys holds key-I and key-I.pub for each of the n hosts.
check_keys() {
	local keys=$1 n=$2 i
	local -a missing=()
	[[ -d $keys ]] || bad_input "DROVER_KEYS=$keys: not a directory"
	for ((i = 1; i <= n; i++)); do
		[[ -r $keys/key-$i ]] || missing+=("key-$i")
		[[ -r $keys/key-$i.pub ]] || missing+=("key-$i.pub")
	done
	((${#missing[@]} == 0)) || bad_input "DROVER_KEYS=$keys has no ${missing[*]}: one key pair per host"
	if [[ -n ${DROVER_KEY_COUNT:-} ]]; then
		[[ $DROVER_KEY_COUNT =~ ^[0-9]+$ ]] || bad_input "DROVER_KEY_COUNT=$DROVER_KEY_COUNT: not a number"
		((10#$DROVER_KEY_COUNT >= n)) ||
			bad_input "DROVER_KEY_COUNT=$DROVER_KEY_COUNT, but DROVER_ROLES names $n hosts"
	fi
}

# Writes the inputs drover gave into WORK/drover.auto.tfvars.json.
write_inputs() {
	local site=$1 roles=$2 keys=$3 run=$4
	jq -n --arg site "$site" --arg roles "$roles" --arg keys "$keys" --arg run "$run" \
		'{site: $site, roles: ($roles | split(",")), keys_dir: $keys, run_id: $run}' \
		>"$WORK/drover.auto.tfvars.json"
}

# Turns `output -json hosts` (stdin) into drover's inventory: one group per
# role, hostvars per host. Fails when a host has no address or key.
inventory() {
	jq -e '
		def missing: (.address // "") == "" or (.host_key // "") == "";
		if (type != "array" or length == 0) then
			error("the output \"hosts\" is not a list of hosts")
		elif any(.[]; missing) then
			error("no address or host key for: " + ([.[] | select(missing) | .name] | join(" ")))
		else
			(reduce .[] as $h ({}; reduce $h.roles[] as $r (.; .[$r].hosts += [$h.name])))
			+ {_meta: {hostvars: (map({key: .name, value: {
				ansible_host: .address, ansible_port: .port,
				ansible_user: .user, drover_host_key: .host_key}}) | from_entries)}}
		end'
}

# Splits a role list into ROLE_LIST after checking it.
parse_roles() {
	[[ $1 =~ $ROLES_RE ]] ||
		bad_input "DROVER_ROLES='$1': ROLE[,ROLE...], each lower-case letters, digits and '-'"
	IFS=, read -r -a ROLE_LIST <<<"$1"
}

run_check() {
	local site=${DROVER_SITE:-check} roles=${DROVER_ROLES:-db} keys=${DROVER_KEYS:-} n i
	check_site "$site"
	parse_roles "$roles"
	n=${#ROLE_LIST[@]}
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/drover-tofu-check.XXXXXX")
	trap 'rm -rf -- "$WORK"' EXIT
	if [[ -z $keys ]]; then
		need ssh-keygen "openssh-client: throwaway keys for the plan"
		keys=$WORK/keys
		mkdir -- "$keys"
		for ((i = 1; i <= n; i++)); do
			ssh-keygen -q -t ed25519 -N '' -C "drover-check:key-$i" -f "$keys/key-$i" </dev/null
		done
	fi
	[[ $keys == /* ]] || keys=$PWD/$keys
	check_keys "$keys" "$n"
	init_work "$HERE"
	copy_settings
	write_inputs "$site" "$roles" "$keys" "${DROVER_RUN_ID:-check}"
	tf validate -no-color || die "check: $TF validate failed"
	tf plan -input=false -lock=false -no-color || die "check: $TF plan failed"
	note "check: ok ($TF plans $n host(s) for site $site)"
}

ROLE_LIST=()

main() {
	local site keys n out
	case ${1:-} in
	-h | --help)
		usage
		return 0
		;;
	--check | '') ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	(($# <= 1)) || bad_input "one option at most"
	find_tf
	need jq
	if [[ ${1:-} == --check ]]; then
		run_check
		return 0
	fi

	require_env DROVER_SITE DROVER_ROLES DROVER_KEYS
	site=$DROVER_SITE keys=$DROVER_KEYS
	check_site "$site"
	parse_roles "$DROVER_ROLES"
	n=${#ROLE_LIST[@]}
	[[ $keys == /* ]] || keys=$PWD/$keys
	check_keys "$keys" "$n"

	WORK=$STATE_ROOT/$site
	mkdir -p -- "$STATE_ROOT"
	init_work "$HERE"
	copy_settings
	write_inputs "$site" "$DROVER_ROLES" "$keys" "${DROVER_RUN_ID:-manual}"
	note "$site: creating $n host(s) with $TF (state in $WORK)"
	tf apply -auto-approve -input=false -no-color ||
		die "$site: $TF apply failed; the state is in $WORK: fix the cause and run again, or run deprovision.sh"
	out=$("$TF" -chdir="$WORK" output -no-color -json hosts) ||
		die "$site: $TF output failed"
	inventory <<<"$out" || die "$site: no usable inventory in the output \"hosts\" (state in $WORK)"
	note "$site: $n host(s) up"
}

main "$@"
