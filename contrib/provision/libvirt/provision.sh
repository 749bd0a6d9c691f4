#!/usr/bin/env bash
#
# provision.sh: drover provisioner on libvirt with virt-install: one VM per
# role, a copy-on-write disk over a cloud image and a NoCloud seed ISO whose
# user-data installs the host key pair drover generated for it. Waits until
# each VM has an address and its sshd presents that key, then prints the
# inventory JSON on stdout and nothing else. See README.md.
#
#   provision.sh            create (or replace) the site's hosts
#   provision.sh --check    tools, base image, login key, libvirt, network
#   provision.sh --help

set -euo pipefail
umask 077

readonly PROG=libvirt/provision.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=contrib/provision/libvirt/common.sh
. "$HERE/common.sh"

readonly IMAGE=${DROVER_LIBVIRT_IMAGE:-}
readonly IMAGE_FORMAT=${DROVER_LIBVIRT_IMAGE_FORMAT:-qcow2}
readonly LOGIN_KEY=${DROVER_LIBVIRT_LOGIN_KEY:-}
readonly LOGIN_USER=${DROVER_LIBVIRT_USER:-drover}
readonly SUDO_RULE=${DROVER_LIBVIRT_SUDO-ALL=(ALL) NOPASSWD:ALL}
readonly NETWORK=${DROVER_LIBVIRT_NETWORK:-default}
readonly IMAGES_DIR=${DROVER_LIBVIRT_DIR:-/var/lib/libvirt/images/drover}
readonly MEMORY=${DROVER_LIBVIRT_MEMORY:-1024}
readonly VCPUS=${DROVER_LIBVIRT_VCPUS:-1}
readonly DISK_SIZE=${DROVER_LIBVIRT_DISK:-10G}
readonly OS_VARIANT=${DROVER_LIBVIRT_OS_VARIANT:-generic}
readonly ADDR_SOURCE=${DROVER_LIBVIRT_ADDR_SOURCE:-lease}
readonly SSH_PORT=${DROVER_LIBVIRT_SSH_PORT:-22}
readonly TIMEOUT=${DROVER_LIBVIRT_TIMEOUT:-300}

usage() {
	cat <<EOF
usage: $PROG [--check | --help]

Creates one libvirt VM per role of DROVER_ROLES with virt-install, host I
presenting DROVER_KEYS/key-I, waits for each address and host key, and prints
the Ansible inventory JSON on stdout.

drover sets: DROVER_SITE DROVER_ROLES DROVER_KEYS [DROVER_KEY_COUNT DROVER_RUN_ID]
you set (DROVER_LIBVIRT_*, default in brackets):
  IMAGE         base cloud image with cloud-init (required; stays in place:
                the hosts' disks are copy-on-write layers over it)
  IMAGE_FORMAT  its format [qcow2]
  LOGIN_KEY     file holding the public key drover logs in with (required)
  USER          the login user cloud-init creates [drover]
  SUDO          its sudoers rule, empty for none [ALL=(ALL) NOPASSWD:ALL]
  URI           libvirt connection [qemu:///system]
  NETWORK       libvirt network with DHCP [default]
  DIR           where disks and seed ISOs go [/var/lib/libvirt/images/drover]
  MEMORY VCPUS DISK  per host [1024 MiB, 1, 10G]
  OS_VARIANT    virt-install --os-variant [generic]
  ADDR_SOURCE   virsh domifaddr --source: lease, agent or arp [lease]
  SSH_PORT      the port sshd listens on in the image [22]
  TIMEOUT       seconds to wait for every address and host key [300]
  STATE         record root [\${XDG_STATE_HOME:-~/.local/state}/drover/libvirt]

--check  checks the tools, the image, the login key, the connection and the
         network (the hook for drover check). Changes nothing.
Exit: 0 done, 1 failed (a tool missing, a VM did not come up), 2 bad input.
EOF
}

ROLE_LIST=()
NAMES=()
DOMS=()
DISKS=()
SEEDS=()
PUBS=()    # "TYPE BASE64" of key-I.pub
ADDRS=()
SCRATCH=

parse_roles() {
	[[ $1 =~ $ROLES_RE ]] ||
		bad_input "DROVER_ROLES='$1': ROLE[,ROLE...], each lower-case letters, digits and '-'"
	IFS=, read -r -a ROLE_LIST <<<"$1"
}

# Sets ISO_TOOL to the first NoCloud seed builder found.
ISO_TOOL=
find_iso_tool() {
	local t
	ISO_TOOL=
	for t in cloud-localds genisoimage xorriso; do
		if command -v "$t" >/dev/null 2>&1; then
			ISO_TOOL=$t
			return 0
		fi
	done
	return 1
}

# Prints the login key as "TYPE BASE64" after checking it is one.
login_key_line() {
	local type key
	[[ -r $LOGIN_KEY ]] || return 1
	read -r type key _ <"$LOGIN_KEY" || [[ -n ${key:-} ]] || return 1
	[[ $type =~ ^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$ && $key =~ ^[A-Za-z0-9+/]+=*$ ]] ||
		return 1
	printf '%s %s\n' "$type" "$key"
}

# Every problem a provision would hit before creating anything, one message
# each; exit 1 if any.
run_check() {
	local t bad=0
	for t in virsh virt-install qemu-img jq ssh-keyscan; do
		command -v "$t" >/dev/null 2>&1 || {
			note "check: $t is not installed"
			bad=1
		}
	done
	find_iso_tool || {
		note "check: no seed ISO tool: install cloud-image-utils (cloud-localds), genisoimage or xorriso"
		bad=1
	}
	if [[ -z $IMAGE ]]; then
		note "check: DROVER_LIBVIRT_IMAGE is not set (the base cloud image)"
		bad=1
	elif [[ ! -f $IMAGE || ! -r $IMAGE ]]; then
		note "check: DROVER_LIBVIRT_IMAGE=$IMAGE: not a readable file"
		bad=1
	fi
	if [[ -z $LOGIN_KEY ]]; then
		note "check: DROVER_LIBVIRT_LOGIN_KEY is not set (the login public key file)"
		bad=1
	elif ! login_key_line >/dev/null; then
		note "check: DROVER_LIBVIRT_LOGIN_KEY=$LOGIN_KEY: not a readable OpenSSH public key"
		bad=1
	fi
	if command -v virsh >/dev/null 2>&1; then
		if ! virsh_ uri >/dev/null 2>&1; then
			note "check: cannot connect to libvirt at $URI"
			bad=1
		elif ! virsh_ net-info "$NETWORK" >/dev/null 2>&1; then
			note "check: libvirt network $NETWORK does not exist at $URI"
			bad=1
		fi
	fi
	((bad == 0)) || die "check: not ready"
	note "check: ok (virt-install, $ISO_TOOL, image $IMAGE, network $NETWORK at $URI)"
}

# Dies on settings that would end up in an option list or in YAML.
check_settings() {
	local v
	[[ -n $IMAGE ]] || bad_input "DROVER_LIBVIRT_IMAGE is not set (the base cloud image)"
	[[ -f $IMAGE && -r $IMAGE ]] || bad_input "DROVER_LIBVIRT_IMAGE=$IMAGE: not a readable file"
	[[ -n $LOGIN_KEY ]] || bad_input "DROVER_LIBVIRT_LOGIN_KEY is not set (the login public key file)"
	login_key_line >/dev/null || bad_input "DROVER_LIBVIRT_LOGIN_KEY=$LOGIN_KEY: not a readable OpenSSH public key"
	[[ $LOGIN_USER =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || bad_input "DROVER_LIBVIRT_USER=$LOGIN_USER: not a user name"
	[[ $SUDO_RULE != *[\"\\]* && $SUDO_RULE != *$'\n'* ]] ||
		bad_input "DROVER_LIBVIRT_SUDO: no quotes, backslashes or newlines"
	for v in MEMORY VCPUS SSH_PORT TIMEOUT; do
		[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bad_input "DROVER_LIBVIRT_$v=${!v}: not a positive number"
	done
	[[ $DISK_SIZE =~ ^[1-9][0-9]*[KMGT]?$ ]] || bad_input "DROVER_LIBVIRT_DISK=$DISK_SIZE: a size like 10G"
	[[ $ADDR_SOURCE =~ ^(lease|agent|arp)$ ]] || bad_input "DROVER_LIBVIRT_ADDR_SOURCE=$ADDR_SOURCE: lease, agent or arp"
	[[ $IMAGE_FORMAT =~ ^(qcow2|raw)$ ]] || bad_input "DROVER_LIBVIRT_IMAGE_FORMAT=$IMAGE_FORMAT: qcow2 or raw"
	[[ $NETWORK =~ ^[A-Za-z0-9_.-]+$ ]] || bad_input "DROVER_LIBVIRT_NETWORK=$NETWORK: not a network name"
	[[ $OS_VARIANT =~ ^[A-Za-z0-9_.=-]+$ ]] || bad_input "DROVER_LIBVIRT_OS_VARIANT=$OS_VARIANT: not an os variant"
	# virt-install splits --disk on commas.
	[[ $IMAGES_DIR == /* && $IMAGES_DIR != *,* ]] || bad_input "DROVER_LIBVIRT_DIR=$IMAGES_DIR: an absolute path without commas"
}

# Dies unless keys holds key-I and key-I.pub (ed25519) for each host; fills
# PUBS. key-I.user-data is used when present, else built from key-I.
check_keys() {
	local keys=$1 n=$2 i type key
	local -a missing=()
	[[ -d $keys ]] || bad_input "DROVER_KEYS=$keys: not a directory"
	for ((i = 1; i <= n; i++)); do
		[[ -r $keys/key-$i ]] || missing+=("key-$i")
		[[ -r $keys/key-$i.pub ]] || missing+=("key-$i.pub")
	done
	((${#missing[@]} == 0)) || bad_input "DROVER_KEYS=$keys has no ${missing[*]}: one key pair per host"
	if [[ -n ${DROVER_KEY_COUNT:-} ]]; then
		[[ $DROVER_KEY_COUNT =~ ^[0-9]+$ ]] || bad_input "DROVER_KEY_COUNT=$DROVER_KEY_COUNT: not a number"
		((10#$DROVER_KEY_COUNT >= n)) || bad_input "DROVER_KEY_COUNT=$DROVER_KEY_COUNT, but DROVER_ROLES names $n hosts"
	fi
	PUBS=()
	for ((i = 1; i <= n; i++)); do
		type='' key=''
		read -r type key _ <"$keys/key-$i.pub" || true
		[[ $type == ssh-ed25519 && $key =~ ^[A-Za-z0-9+/]+=*$ ]] ||
			bad_input "$keys/key-$i.pub: not an ssh-ed25519 public key"
		if [[ -e $keys/key-$i.user-data ]]; then
			grep -q '^ssh_keys:' "$keys/key-$i.user-data" ||
				bad_input "$keys/key-$i.user-data has no ssh_keys block"
		fi
		PUBS+=("$type $key")
	done
}

# Fills NAMES, DOMS, DISKS and SEEDS: host I is named after the site's first
# two letters and its role, counted per role (fresh: fr-db1, fr-app1).
plan_hosts() {
	local site=$1 role name
	local -A seen=()
	NAMES=() DOMS=() DISKS=() SEEDS=()
	for role in "${ROLE_LIST[@]}"; do
		seen[$role]=$((${seen[$role]:-0} + 1))
		name=${site:0:2}-$role${seen[$role]}
		NAMES+=("$name")
		DOMS+=("drover-$site-$name")
		DISKS+=("$IMAGES_DIR/$site/$name.qcow2")
		SEEDS+=("$IMAGES_DIR/$site/$name-seed.iso")
	done
}

# Writes host i's user-data to file: drover's key-I.user-data (or the same
# ssh_keys block built from key-I), then hostname and the login user. The
# private key goes from file to file only.
write_user_data() {
	local keys=$1 i=$2 out=$3 n=$(($2 + 1)) key line k
	local -a have=()
	{
		if [[ -e $keys/key-$n.user-data ]]; then
			cat -- "$keys/key-$n.user-data"
			[[ -z $(tail -c 1 -- "$keys/key-$n.user-data") ]] || printf '\n'
		else
			printf '%s\n' '#cloud-config' 'ssh_deletekeys: true' 'ssh_genkeytypes: []' \
				'ssh_keys:' '  ed25519_private: |'
			sed 's/^/    /' -- "$keys/key-$n"
			printf '  ed25519_public: %s\n' "${PUBS[i]}"
		fi
	} >"$out"
	# Top-level keys drover's document already sets are left to it.
	for k in hostname disable_root ssh_pwauth users; do
		grep -q "^$k:" "$out" && have+=("$k")
	done
	key=$(login_key_line)
	{
		[[ " ${have[*]} " == *" hostname "* ]] || printf 'hostname: %s\n' "${NAMES[i]}"
		[[ " ${have[*]} " == *" disable_root "* ]] || printf 'disable_root: true\n'
		[[ " ${have[*]} " == *" ssh_pwauth "* ]] || printf 'ssh_pwauth: false\n'
		if [[ " ${have[*]} " != *" users "* ]]; then
			printf '%s\n' 'users:' "  - name: $LOGIN_USER" '    shell: /bin/bash' '    lock_passwd: true'
			[[ -z $SUDO_RULE ]] || printf '    sudo: "%s"\n' "$SUDO_RULE"
			printf '%s\n' '    ssh_authorized_keys:'
			line="      - \"$key\""
			printf '%s\n' "$line"
		fi
	} >>"$out"
}

# Builds host i's seed ISO (volume id cidata: user-data, meta-data).
make_seed() {
	local keys=$1 i=$2 site=$3 run=$4 dir
	dir=$SCRATCH/seed-$((i + 1))
	mkdir -- "$dir"
	write_user_data "$keys" "$i" "$dir/user-data"
	printf 'instance-id: drover-%s-%s-%s\nlocal-hostname: %s\n' \
		"$run" "$site" "${NAMES[i]}" "${NAMES[i]}" >"$dir/meta-data"
	case $ISO_TOOL in
	cloud-localds) cloud-localds "${SEEDS[i]}" "$dir/user-data" "$dir/meta-data" ;;
	genisoimage)
		genisoimage -quiet -output "${SEEDS[i]}" -volid cidata -joliet -rock \
			"$dir/user-data" "$dir/meta-data"
		;;
	xorriso)
		xorriso -as mkisofs -quiet -output "${SEEDS[i]}" -volid cidata -joliet -rock \
			"$dir/user-data" "$dir/meta-data" 2>/dev/null
		;;
	esac || die "${NAMES[i]}: $ISO_TOOL could not build ${SEEDS[i]}"
	chmod 0600 "${SEEDS[i]}"
	rm -rf -- "$dir"
}

record_text() {
	local i
	printf '# domain disk seed; written by %s, read by deprovision.sh\n' "$PROG"
	for i in "${!DOMS[@]}"; do
		printf '%s %s %s\n' "${DOMS[i]}" "${DISKS[i]}" "${SEEDS[i]}"
	done
}

# Waits until every VM has an IPv4 address and its sshd presents key-I;
# fills ADDRS.
wait_hosts() {
	local deadline i addr got line ktype kval
	local -a pending=() still=() f=()
	local -A seen_key=()
	deadline=$((SECONDS + TIMEOUT))
	ADDRS=()
	for i in "${!DOMS[@]}"; do
		ADDRS+=("")
		pending+=("$i")
	done
	while ((${#pending[@]})); do
		still=()
		for i in "${pending[@]}"; do
			if [[ -z ${ADDRS[i]} ]]; then
				addr=
				while read -r -a f; do
					if [[ ${f[2]:-} == ipv4 && ${f[3]:-} == */* ]]; then
						addr=${f[3]%/*}
						break
					fi
				done < <(virsh_ domifaddr "${DOMS[i]}" --source "$ADDR_SOURCE" 2>/dev/null || true)
				if [[ -n $addr ]]; then
					ADDRS[i]=$addr
					note "${NAMES[i]}: address $addr"
				fi
			fi
			if [[ -n ${ADDRS[i]} ]]; then
				got=
				while read -r line; do
					[[ $line != '#'* ]] || continue
					read -r _ ktype kval _ <<<"$line"
					got="$ktype $kval"
				done < <(ssh-keyscan -T 5 -p "$SSH_PORT" -t ed25519 "${ADDRS[i]}" 2>/dev/null || true)
				[[ $got == "${PUBS[i]}" ]] && continue
				[[ -z $got ]] || seen_key[$i]=$got
			fi
			still+=("$i")
		done
		pending=("${still[@]}")
		((${#pending[@]})) || break
		if ((SECONDS >= deadline)); then
			for i in "${pending[@]}"; do
				if [[ -z ${ADDRS[i]} ]]; then
					note "${NAMES[i]}: no address from virsh domifaddr --source $ADDR_SOURCE after ${TIMEOUT}s"
				elif [[ -n ${seen_key[$i]:-} ]]; then
					note "${NAMES[i]}: ${ADDRS[i]}:$SSH_PORT presents another host key than key-$((i + 1)) (did cloud-init run? see: virsh console ${DOMS[i]})"
				else
					note "${NAMES[i]}: no sshd answering on ${ADDRS[i]}:$SSH_PORT after ${TIMEOUT}s"
				fi
			done
			die "${#pending[@]} host(s) did not come up; they stay defined: run deprovision.sh, or look at them first"
		fi
		sleep 3
	done
}

inventory_json() {
	local i
	local -a args=()
	for i in "${!NAMES[@]}"; do
		args+=("${NAMES[i]}" "${ADDRS[i]}" "${ROLE_LIST[i]}" "${PUBS[i]}")
	done
	jq -n --argjson port "$SSH_PORT" --arg user "$LOGIN_USER" '
		$ARGS.positional as $a
		| [range(0; $a | length; 4) as $i
		   | {name: $a[$i], address: $a[$i + 1], role: $a[$i + 2], key: $a[$i + 3]}]
		| (reduce .[] as $h ({}; .[$h.role].hosts += [$h.name]))
		  + {_meta: {hostvars: (map({key: .name, value: {
			ansible_host: .address, ansible_port: $port,
			ansible_user: $user, drover_host_key: .key}}) | from_entries)}}' \
		--args "${args[@]}"
}

main() {
	local site keys run rec n i t disk seed
	case ${1:-} in
	-h | --help)
		usage
		return 0
		;;
	--check)
		(($# == 1)) || bad_input "one option at most"
		run_check
		return 0
		;;
	'') ;;
	*)
		usage >&2
		exit 2
		;;
	esac

	for t in virsh virt-install qemu-img jq ssh-keyscan; do need "$t"; done
	find_iso_tool || die "no seed ISO tool: install cloud-image-utils (cloud-localds), genisoimage or xorriso"
	require_env DROVER_SITE DROVER_ROLES DROVER_KEYS
	site=$DROVER_SITE keys=$DROVER_KEYS
	run=${DROVER_RUN_ID:-manual}
	[[ $run =~ ^[A-Za-z0-9._:-]+$ ]] || bad_input "DROVER_RUN_ID=$run: letters, digits and ._:- only"
	check_site "$site"
	parse_roles "$DROVER_ROLES"
	n=${#ROLE_LIST[@]}
	check_settings
	check_keys "$keys" "$n"
	virsh_ uri >/dev/null || die "cannot connect to libvirt at $URI"
	virsh_ net-info "$NETWORK" >/dev/null || die "libvirt network $NETWORK does not exist at $URI"
	plan_hosts "$site"

	rec=$STATE_ROOT/$site
	mkdir -p -- "$rec"
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/drover-libvirt.XXXXXX")
	trap 'rm -rf -- "$SCRATCH"' EXIT

	# The site's previous hosts first (a provision run again makes new ones).
	if [[ -r $rec/hosts ]]; then
		note "$site: replacing its previous hosts"
		while read -r t disk seed; do
			[[ -n $t && $t != '#'* ]] || continue
			[[ $t == drover-"$site"-* ]] || die "$rec/hosts: $t is not one of $site's domains"
			remove_domain "$t" "$disk" "$seed"
		done <"$rec/hosts"
	fi
	for i in "${!DOMS[@]}"; do remove_domain "${DOMS[i]}" "${DISKS[i]}" "${SEEDS[i]}"; done
	printf '%s\n' "$URI" >"$rec/uri"
	record_text >"$rec/hosts"

	mkdir -p -- "$IMAGES_DIR/$site"
	chmod 0711 "$IMAGES_DIR/$site"
	for i in "${!DOMS[@]}"; do
		qemu-img create -q -f qcow2 -F "$IMAGE_FORMAT" -b "$(realpath -- "$IMAGE")" \
			"${DISKS[i]}" "$DISK_SIZE" || die "${NAMES[i]}: qemu-img could not create ${DISKS[i]}"
		make_seed "$keys" "$i" "$site" "$run"
		virt-install --connect "$URI" --name "${DOMS[i]}" --memory "$MEMORY" --vcpus "$VCPUS" \
			--import --os-variant "$OS_VARIANT" \
			--disk "path=${DISKS[i]},format=qcow2,bus=virtio" \
			--disk "path=${SEEDS[i]},device=cdrom" \
			--network "network=$NETWORK,model=virtio" \
			--graphics none --noautoconsole >&2 ||
			die "${NAMES[i]}: virt-install failed; run deprovision.sh to remove what was made"
		note "${NAMES[i]}: ${DOMS[i]} started"
	done
	wait_hosts
	inventory_json
	note "$site: $n host(s) up"
}

main "$@"
