#!/bin/sh
# provision-adapters.sh: the provisioners' scripts, without root, network or
# hypervisor.
#
#   tests/cli/provision-adapters.sh [REPO_ROOT]
#
# - bash -n and shellcheck -x on contrib/lab/lab and every *.sh under
#   contrib/provision/ (shellcheck is required: contrib/install-deps);
# - --help of the lab and of each adapter: exit 0, usage on stdout;
# - the OpenTofu module: fmt -check, and init -backend=false + validate when
#   tofu or terraform is installed and can install the provider (skipped,
#   and said so, otherwise);
# - opentofu/provision.sh and deprovision.sh against a stub tofu, and
#   libvirt/provision.sh and deprovision.sh against stub virsh, virt-install,
#   qemu-img, genisoimage and ssh-keyscan: stdout is exactly the inventory,
#   bad input exits 2, deprovision removes everything (skipped without jq).
#
# The root is REPO_ROOT, else the current directory when it is the
# repository's root, else the one this script lives in. Exit 0 only when
# nothing failed.
set -u

me=provision-adapters
if [ $# -ge 1 ]; then
	top=$1
elif [ -f contrib/lab/lab ] && [ -d contrib/provision ]; then
	top=$(pwd)
else
	top=$(cd "$(dirname "$0")/../.." && pwd)
fi
if [ ! -f "$top/contrib/lab/lab" ] || [ ! -d "$top/contrib/provision" ]; then
	echo "$me: $top: not the drover repository root" >&2
	exit 2
fi
cd "$top" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-prov.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
passed=0
failed=0
skipped=0

pass() {
	passed=$((passed + 1))
	echo "ok: $*"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}
skip() {
	skipped=$((skipped + 1))
	echo "SKIP: $*"
}
# Prints a file indented, for a failure's context.
show() {
	[ -s "$1" ] && sed 's/^/    /' "$1"
	return 0
}

{
	echo contrib/lab/lab
	find contrib/provision -type f -name '*.sh' | sort
} >"$tmp/scripts"

# --- syntax and lint ---------------------------------------------------------

while read -r f; do
	if bash -n "$f" 2>"$tmp/err"; then
		pass "bash -n $f"
	else
		fail "bash -n $f"
		show "$tmp/err"
	fi
done <"$tmp/scripts"

if command -v shellcheck >/dev/null 2>&1; then
	while read -r f; do
		if shellcheck -x "$f" >"$tmp/out" 2>&1; then
			pass "shellcheck -x $f"
		else
			fail "shellcheck -x $f"
			show "$tmp/out"
		fi
	done <"$tmp/scripts"
else
	fail "shellcheck is not installed (contrib/install-deps installs it)"
fi

# --- --help --------------------------------------------------------------------

# help_ok NAME COMMAND...: exit 0 and a usage line on stdout.
help_ok() {
	name=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^usage:' "$tmp/out"; then
		pass "$name"
	else
		fail "$name: exit $rc, want 0 with usage on stdout"
		show "$tmp/out"
		show "$tmp/err"
	fi
}

help_ok "lab help" contrib/lab/lab help
help_ok "lab --help" contrib/lab/lab --help
help_ok "lab provision --help" contrib/lab/lab provision --help
help_ok "lab deprovision --help" contrib/lab/lab deprovision --help
for f in contrib/provision/*/provision.sh contrib/provision/*/deprovision.sh; do
	[ -f "$f" ] || continue
	if [ -x "$f" ]; then
		help_ok "$f --help" "$f" --help
	else
		fail "$f: not executable"
	fi
done

# --- the OpenTofu module -------------------------------------------------------

tf=
if command -v tofu >/dev/null 2>&1; then
	tf=tofu
elif command -v terraform >/dev/null 2>&1; then
	tf=terraform
fi
if [ -z "$tf" ]; then
	skip "tofu validate: neither tofu nor terraform is installed"
else
	mod=$tmp/tofu-module
	mkdir "$mod"
	cp contrib/provision/opentofu/*.tf "$mod/"
	if "$tf" fmt -check -diff "$mod" >"$tmp/out" 2>&1; then
		pass "$tf fmt -check contrib/provision/opentofu"
	else
		fail "$tf fmt -check contrib/provision/opentofu (parse error or unformatted)"
		show "$tmp/out"
	fi
	if TF_IN_AUTOMATION=1 "$tf" -chdir="$mod" init -backend=false -input=false \
		-no-color >"$tmp/out" 2>&1; then
		if "$tf" -chdir="$mod" validate -no-color >"$tmp/out" 2>&1; then
			pass "$tf validate contrib/provision/opentofu"
		else
			fail "$tf validate contrib/provision/opentofu"
			show "$tmp/out"
		fi
	elif grep -Eq 'could not connect to|Failed to query available provider packages|failed to request discovery document|no such host|dial tcp' "$tmp/out"; then
		skip "$tf validate: $tf init cannot install dmacvicar/libvirt here (no registry, mirror or plugin cache)"
	else
		fail "$tf init -backend=false contrib/provision/opentofu"
		show "$tmp/out"
	fi
fi

# --- the adapters against stubs --------------------------------------------------

missing=
for t in jq ssh-keygen python3; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
	skip "adapter runs against stubs: missing$missing"
	echo "$me: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
fi

keys=$tmp/keys
mkdir -m 0700 "$keys"
for i in 1 2 3; do
	ssh-keygen -q -t ed25519 -N '' -C "drover:test:fresh:key-$i" -f "$keys/key-$i" </dev/null
	{
		printf '%s\n' '#cloud-config' 'ssh_deletekeys: true' 'ssh_genkeytypes: []' \
			'ssh_keys:' '  ed25519_private: |'
		sed 's/^/    /' "$keys/key-$i"
		printf '  ed25519_public: %s\n' "$(cat "$keys/key-$i.pub")"
	} >"$keys/key-$i.user-data"
done
stub=$tmp/stub
mkdir -p "$stub/bin" "$stub/doms" "$stub/keyscan"

# check_inventory FILE USER PORT NAME:ROLE:ADDRESS:KEYNUM...: FILE is exactly
# the inventory of those hosts (python3 compares the whole document).
check_inventory() {
	python3 - "$keys" "$@" <<'EOF'
import json, sys

keys, path, user, port, hosts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
with open(path) as f:
    got = json.load(f)
want = {"_meta": {"hostvars": {}}}
for h in hosts:
    name, role, addr, n = h.split(":")
    with open(f"{keys}/key-{n}.pub") as f:
        key = " ".join(f.read().split()[:2])
    want.setdefault(role, {"hosts": []})["hosts"].append(name)
    want["_meta"]["hostvars"][name] = {"ansible_host": addr, "ansible_port": port,
                                       "ansible_user": user, "drover_host_key": key}
if got != want:
    print("got:  " + json.dumps(got, sort_keys=True))
    print("want: " + json.dumps(want, sort_keys=True))
    sys.exit(1)
EOF
}

# no_private_key FILE...: none of them holds a private key.
no_private_key() {
	! grep -l 'PRIVATE KEY' "$@" 2>/dev/null
}

# OpenTofu: a stub that prints what apply would have produced.
cat >"$stub/bin/tofu" <<'EOF'
#!/bin/sh
echo "tofu $*" >>"$STUB/calls"
dir=${1#-chdir=}
shift
case $1 in
output)
	# The hosts the real outputs.tf reports, from the inputs provision.sh wrote.
	jq --arg k1 "$(cut -d' ' -f1,2 "$KEYS/key-1.pub")" --arg k2 "$(cut -d' ' -f1,2 "$KEYS/key-2.pub")" \
		--arg k3 "$(cut -d' ' -f1,2 "$KEYS/key-3.pub")" '
		[$k1, $k2, $k3] as $k | .roles | to_entries
		| map({name: ("fr-" + .value + "1"), address: ("192.0.2." + (.key + 11 | tostring)),
		       port: 22, user: "drover", roles: [.value], host_key: $k[.key]})' \
		"$dir/drover.auto.tfvars.json"
	;;
*) echo "stub tofu $1: this must not reach stdout" ;;
esac
EOF
chmod +x "$stub/bin/tofu"
export STUB="$stub" KEYS="$keys"
tofu_env() {
	env DROVER_TOFU="$stub/bin/tofu" DROVER_TOFU_STATE="$stub/tofu-state" "$@"
}
p=contrib/provision/opentofu/provision.sh
tofu_env DROVER_SITE=fresh DROVER_ROLES=db,app,web DROVER_KEYS="$keys" DROVER_KEY_COUNT=3 \
	DROVER_RUN_ID=r1 "$p" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && check_inventory "$tmp/out" drover 22 fr-db1:db:192.0.2.11:1 \
	fr-app1:app:192.0.2.12:2 fr-web1:web:192.0.2.13:3 >"$tmp/cmp" 2>&1; then
	pass "$p: stdout is the inventory"
else
	fail "$p: exit $rc or wrong inventory"
	show "$tmp/cmp"
	show "$tmp/out"
	show "$tmp/err"
fi
if [ "$(jq -c .roles "$stub/tofu-state/fresh/drover.auto.tfvars.json" 2>/dev/null)" = '["db","app","web"]' ] &&
	no_private_key "$tmp/out" "$tmp/err" "$stub/tofu-state/fresh/drover.auto.tfvars.json" >/dev/null; then
	pass "$p: inputs file, no private key in its output"
else
	fail "$p: inputs file or output"
fi
tofu_env DROVER_SITE=fresh DROVER_ROLES=db,app,web,extra DROVER_KEYS="$keys" "$p" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q 'key-4' "$tmp/err"; then
	pass "$p: a missing key-4 is exit 2"
else
	fail "$p: a missing key-4: exit $rc, want 2 with a message"
	show "$tmp/err"
fi
tofu_env DROVER_SITE=fresh "$p" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q DROVER_ROLES "$tmp/err"; then
	pass "$p: no DROVER_ROLES is exit 2"
else
	fail "$p: no DROVER_ROLES: exit $rc, want 2"
	show "$tmp/err"
fi
tofu_env "$p" --check >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && grep -q ' plan ' "$stub/calls"; then
	pass "$p --check plans, prints nothing on stdout"
else
	fail "$p --check: exit $rc"
	show "$tmp/err"
fi
d=contrib/provision/opentofu/deprovision.sh
tofu_env DROVER_SITE=fresh "$d" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -e "$stub/tofu-state/fresh" ] && grep -q ' destroy ' "$stub/calls"; then
	pass "$d destroys and removes the state"
else
	fail "$d: exit $rc"
	show "$tmp/err"
fi
tofu_env DROVER_SITE=fresh "$d" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ]; then
	pass "$d: nothing provisioned is exit 0"
else
	fail "$d: nothing provisioned: exit $rc"
fi

# libvirt: stubs for the hypervisor side; host I gets 192.0.2.(20+I) and
# presents key-I.
cat >"$stub/bin/virsh" <<'EOF'
#!/bin/sh
echo "virsh $*" >>"$STUB/calls"
while [ "${1#--}" != "$1" ]; do
	[ "$1" = --connect ] && shift
	shift
done
cmd=$1
shift
case $cmd in
uri) echo qemu:///system ;;
net-info) echo "Name: $1" ;;
dominfo) [ -e "$STUB/doms/$1" ] ;;
domstate) echo running ;;
destroy) : ;;
undefine) rm -f "$STUB/doms/$1" ;;
domifaddr)
	i=$(cat "$STUB/doms/$1") || exit 1
	printf ' Name MAC Protocol Address\n---\n vnet0 52:54:00:00:00:0%s ipv4 192.0.2.%s/24\n' "$i" $((20 + i))
	;;
*) exit 1 ;;
esac
EOF
cat >"$stub/bin/virt-install" <<'EOF'
#!/bin/sh
echo "virt-install $*" >>"$STUB/calls"
while [ $# -gt 0 ]; do
	[ "$1" = --name ] && name=$2
	shift
done
i=$(($(ls "$STUB/doms" | wc -l) + 1))
echo "$i" >"$STUB/doms/$name"
cp "$KEYS/key-$i.pub" "$STUB/keyscan/192.0.2.$((20 + i))"
echo "Domain creation completed."
EOF
cat >"$stub/bin/qemu-img" <<'EOF'
#!/bin/sh
echo "qemu-img $*" >>"$STUB/calls"
for a; do
	prev=$last
	last=$a
done
: >"$prev"
EOF
cat >"$stub/bin/genisoimage" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in
	-output) out=$2; shift ;;
	*/user-data) cp "$1" "$STUB/last-user-data" ;;
	esac
	shift
done
echo iso >"$out"
EOF
cat >"$stub/bin/ssh-keyscan" <<'EOF'
#!/bin/sh
for a; do addr=$a; done
[ -f "$STUB/keyscan/$addr" ] || exit 1
echo "$addr $(cut -d' ' -f1,2 "$STUB/keyscan/$addr")"
EOF
chmod +x "$stub/bin/virsh" "$stub/bin/virt-install" "$stub/bin/qemu-img" \
	"$stub/bin/genisoimage" "$stub/bin/ssh-keyscan"
: >"$stub/base.qcow2"
ssh-keygen -q -t ed25519 -N '' -C login -f "$stub/login" </dev/null
# Only the stubs' directory and the system's: no real virsh or cloud-localds.
lv_env() {
	env PATH="$stub/bin:/usr/bin:/bin" DROVER_LIBVIRT_IMAGE="$stub/base.qcow2" \
		DROVER_LIBVIRT_LOGIN_KEY="$stub/login.pub" DROVER_LIBVIRT_DIR="$stub/images" \
		DROVER_LIBVIRT_STATE="$stub/lv-state" DROVER_LIBVIRT_TIMEOUT=10 "$@"
}
if command -v cloud-localds >/dev/null 2>&1; then
	# It would be found before the stub genisoimage (same PATH).
	skip "libvirt adapter against stubs: cloud-localds is installed and would shadow the stub"
else
	p=contrib/provision/libvirt/provision.sh
	lv_env "$p" --check >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ]; then
		pass "$p --check"
	else
		fail "$p --check: exit $rc"
		show "$tmp/err"
	fi
	lv_env DROVER_SITE=fresh DROVER_ROLES=db,app,web DROVER_KEYS="$keys" DROVER_RUN_ID=r1 \
		"$p" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ] && check_inventory "$tmp/out" drover 22 fr-db1:db:192.0.2.21:1 \
		fr-app1:app:192.0.2.22:2 fr-web1:web:192.0.2.23:3 >"$tmp/cmp" 2>&1; then
		pass "$p: stdout is the inventory"
	else
		fail "$p: exit $rc or wrong inventory"
		show "$tmp/cmp"
		show "$tmp/out"
		show "$tmp/err"
	fi
	ud=$stub/last-user-data
	if [ -f "$ud" ] && head -n 1 "$ud" | grep -qx '#cloud-config' &&
		grep -q '^ssh_keys:' "$ud" && grep -q '^users:' "$ud" &&
		grep -q "$(cut -d' ' -f2 "$stub/login.pub")" "$ud" &&
		grep -qx 'hostname: fr-web1' "$ud" &&
		python3 -c '
import sys
try:
    import yaml
except ImportError:
    sys.exit(0)
d = yaml.safe_load(open(sys.argv[1]))
assert d["users"][0]["name"] == "drover" and d["ssh_keys"]["ed25519_private"].startswith("-----BEGIN OPENSSH")
' "$ud" && no_private_key "$tmp/out" "$tmp/err" >/dev/null; then
		pass "$p: user-data has drover's ssh_keys and the login user; no private key printed"
	else
		fail "$p: user-data or output"
		show "$ud"
	fi
	lv_env DROVER_SITE=fresh DROVER_ROLES=db DROVER_KEYS="$keys" DROVER_LIBVIRT_DIR=/a,b \
		"$p" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ]; then
		pass "$p: a bad setting is exit 2"
	else
		fail "$p: a bad setting: exit $rc, want 2"
	fi
	d=contrib/provision/libvirt/deprovision.sh
	lv_env DROVER_SITE=fresh "$d" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	left=$(ls "$stub/doms")
	if [ "$rc" -eq 0 ] && [ -z "$left" ] && [ ! -e "$stub/lv-state/fresh" ] &&
		[ ! -e "$stub/images/fresh" ]; then
		pass "$d removes domains, files and the record"
	else
		fail "$d: exit $rc; left: $left"
		show "$tmp/err"
	fi
fi

echo "$me: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
