# shellcheck shell=bash
# common.sh: what provision.sh and deprovision.sh share (sourced, not run).
#
# Per site, everything lives in one private directory, $DROVER_TOFU_STATE/SITE
# (default ${XDG_STATE_HOME:-~/.local/state}/drover/opentofu/SITE, mode
# 0700): a copy of the module, drover.auto.tfvars.json (site, roles, key
# directory, run id), settings.auto.tfvars[.json] (a copy of the
# DROVER_TOFU_VARS file), .terraform/ and the state. The state holds the
# cloud-init user data, private host keys included: it never leaves that
# directory, and deprovision.sh removes the directory.

# ROLES_RE and STATE_ROOT are read by the scripts that source this file.
readonly NAME_RE='^[a-z][a-z0-9-]{0,31}$'
# shellcheck disable=SC2034
readonly ROLES_RE='^[a-z][a-z0-9-]{0,31}(,[a-z][a-z0-9-]{0,31})*$'
# shellcheck disable=SC2034
STATE_ROOT=${DROVER_TOFU_STATE:-${XDG_STATE_HOME:-${HOME:-/root}/.local/state}/drover/opentofu}
TF=
WORK=

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

# Sets TF: $DROVER_TOFU, else tofu, else terraform.
find_tf() {
	if [[ -n ${DROVER_TOFU:-} ]]; then
		command -v -- "$DROVER_TOFU" >/dev/null 2>&1 || die "DROVER_TOFU=$DROVER_TOFU: not found"
		TF=$DROVER_TOFU
	elif command -v tofu >/dev/null 2>&1; then
		TF=tofu
	elif command -v terraform >/dev/null 2>&1; then
		TF=terraform
	else
		die "neither tofu nor terraform is installed: install OpenTofu (or Terraform), or point DROVER_TOFU at one"
	fi
	export TF_IN_AUTOMATION=1 TF_INPUT=0
}

# Dies unless every variable named is set and not empty.
require_env() {
	local v
	for v; do
		[[ -n ${!v:-} ]] || bad_input "$v is not set (drover sets it for a provision step)"
	done
}

check_site() {
	[[ $1 =~ $NAME_RE ]] ||
		bad_input "DROVER_SITE='$1': lower-case letters, digits and '-', starting with a letter, at most 32"
}

# Runs tofu in WORK; its output goes to stderr, stdout is the inventory's.
tf() {
	"$TF" -chdir="$WORK" "$@" >&2
}

# Copies the module into WORK and initialises it with its state file there.
init_work() {
	local here=$1 f
	mkdir -p -- "$WORK"
	chmod 0700 "$WORK"
	for f in main.tf variables.tf outputs.tf; do
		cp -f -- "$here/$f" "$WORK/$f"
	done
	if [[ -f $here/.terraform.lock.hcl ]]; then
		cp -f -- "$here/.terraform.lock.hcl" "$WORK/.terraform.lock.hcl"
	fi
	tf init -input=false -no-color -backend-config="path=$WORK/terraform.tfstate" ||
		die "$TF init failed in $WORK (the provider dmacvicar/libvirt must be installable: registry access, a mirror or TF_PLUGIN_CACHE_DIR)"
}

# Copies the DROVER_TOFU_VARS file, if any, into WORK, where tofu reads it on
# every later command (deprovision.sh included).
copy_settings() {
	local f=${DROVER_TOFU_VARS:-}
	rm -f -- "$WORK/settings.auto.tfvars" "$WORK/settings.auto.tfvars.json"
	[[ -n $f ]] || return 0
	[[ -r $f ]] || bad_input "DROVER_TOFU_VARS=$f: cannot read it"
	case $f in
	*.tfvars.json) cp -f -- "$f" "$WORK/settings.auto.tfvars.json" ;;
	*.tfvars) cp -f -- "$f" "$WORK/settings.auto.tfvars" ;;
	*) bad_input "DROVER_TOFU_VARS=$f: name a .tfvars or .tfvars.json file" ;;
	esac
}
