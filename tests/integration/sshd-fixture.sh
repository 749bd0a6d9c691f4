#!/bin/sh
# sshd-fixture.sh start|stop DIR: four throwaway OpenSSH servers for tests.
#
# start: creates DIR with generated host keys (ed25519), a client key
# (DIR/id_ed25519), DIR/known_hosts pinning the servers, DIR/known_hosts_bad
# (server 2's name with server 1's key), validates each config with sshd -t,
# starts sshd on 127.0.9.1, .2, .3 and .4, port 2222 (logs DIR/sshdN.log)
# and waits until they accept connections. Server 3 runs each command in a
# forked subshell (ForceCommand), so the command is not a process group
# leader there. Server 4 allows two channels per connection (MaxSessions 2),
# fewer than drover opens by default. Servers 5 and 6 hand each command to
# tcsh and to fish (ForceCommand), as a csh or fish login shell would.
# Servers 7 and 8 run each command after a greeting on stdout (7) or a
# complaint on stderr (8), as a startup file such as ~/.bashrc might.
# DIR/env holds the settings as shell variables. Login user: drtest (shell
# /bin/sh, clean home), created if missing. Must run as root.
# stop: kills the servers by pid and removes DIR (KEEP=1 keeps it).
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}
user=drtest
port=2222
addrs="127.0.9.1 127.0.9.2 127.0.9.3 127.0.9.4 127.0.9.5 127.0.9.6 127.0.9.7 127.0.9.8"

stop() {
	for n in 1 2 3 4 5 6 7 8; do
		pf="$dir/sshd$n.pid"
		[ -f "$pf" ] || continue
		pid=$(cat "$pf")
		if kill "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$pf"
	done
}

case $cmd in
stop)
	[ -d "$dir" ] || exit 0
	stop
	[ -f "$dir/keys_dir" ] && rm -rf "$(cat "$dir/keys_dir")"
	[ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
	exit 0
	;;
start) ;;
*)
	echo "$0: unknown command $cmd" >&2
	exit 2
	;;
esac

[ "$(id -u)" = 0 ] || {
	echo "$0: must run as root (sshd needs it)" >&2
	exit 1
}
if ! id "$user" >/dev/null 2>&1; then
	useradd -m -d /home/$user -s /bin/sh "$user"
fi
# A locked password ("!") makes sshd refuse the account without PAM.
usermod -p '*' "$user"

[ -d "$dir" ] && stop
[ -f "$dir/keys_dir" ] && rm -rf "$(cat "$dir/keys_dir")"
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$dir"
mkdir -p /run/sshd

ssh-keygen -q -t ed25519 -N '' -C drover-test -f "$dir/id_ed25519"
# sshd reads AuthorizedKeysFile as the login user: $dir may sit in a
# directory only root can enter (a clone in a mktemp -d), so the key goes
# to a directory of its own that drtest can reach.
keys_dir=$(mktemp -d /tmp/drover-fixture-keys.XXXXXX)
chmod 755 "$keys_dir"
echo "$keys_dir" >"$dir/keys_dir"
cp "$dir/id_ed25519.pub" "$keys_dir/authorized_keys"
chmod 644 "$keys_dir/authorized_keys"
cp "$keys_dir/authorized_keys" "$dir/authorized_keys"
: >"$dir/known_hosts"
n=0
for a in $addrs; do
	n=$((n + 1))
	ssh-keygen -q -t ed25519 -N '' -C "host$n" -f "$dir/host$n"
	echo "[$a]:$port $(cut -d' ' -f1,2 "$dir/host$n.pub")" >>"$dir/known_hosts"
	cat >"$dir/sshd$n.conf" <<CONF
ListenAddress $a:$port
HostKey $dir/host$n
PidFile $dir/sshd$n.pid
AuthorizedKeysFile $keys_dir/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PermitRootLogin no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
MaxStartups 200
LogLevel VERBOSE
CONF
	if [ $n = 4 ]; then
		echo "MaxSessions 2" >>"$dir/sshd$n.conf"
	else
		echo "MaxSessions 20" >>"$dir/sshd$n.conf"
	fi
	# Server 3 runs every command in a forked subshell: the wrapper does
	# not lead a process group there, as with servers other than OpenSSH.
	if [ $n = 3 ]; then
		echo "ForceCommand /bin/sh -c '(eval \"\$SSH_ORIGINAL_COMMAND\"); exit \$?'" \
			>>"$dir/sshd$n.conf"
	fi
	# Servers 5 and 6: the command as a tcsh or fish login shell reads it
	# (sshd runs ForceCommand through drtest's /bin/sh, which passes the
	# original command to the other shell as one word).
	if [ $n = 5 ]; then
		echo "ForceCommand /usr/bin/tcsh -c \"\$SSH_ORIGINAL_COMMAND\"" \
			>>"$dir/sshd$n.conf"
	fi
	if [ $n = 6 ]; then
		echo "ForceCommand /usr/bin/fish -c \"\$SSH_ORIGINAL_COMMAND\"" \
			>>"$dir/sshd$n.conf"
	fi
	if [ $n = 7 ]; then
		echo "ForceCommand echo Welcome to the jump host; eval \"\$SSH_ORIGINAL_COMMAND\"" \
			>>"$dir/sshd$n.conf"
	fi
	if [ $n = 8 ]; then
		echo "ForceCommand echo stty: not a tty >&2; eval \"\$SSH_ORIGINAL_COMMAND\"" \
			>>"$dir/sshd$n.conf"
	fi
	/usr/sbin/sshd -t -f "$dir/sshd$n.conf"
done
# Server 2's name with server 1's key: a "changed" host key.
echo "[127.0.9.2]:$port $(cut -d' ' -f1,2 "$dir/host1.pub")" >"$dir/known_hosts_bad"

# Another server on our addresses would answer the readiness check below
# with other host keys: refuse to start instead.
for a in $addrs; do
	if bash -c "exec 3<>/dev/tcp/$a/$port" 2>/dev/null; then
		echo "$0: something already listens on $a:$port (another" \
			"fixture? sshd-fixture.sh stop ITS-DIR)" >&2
		exit 1
	fi
done
n=0
for a in $addrs; do
	n=$((n + 1))
	/usr/sbin/sshd -f "$dir/sshd$n.conf" -E "$dir/sshd$n.log"
done
for a in $addrs; do
	i=0
	until (exec 3<>/dev/tcp/$a/$port) 2>/dev/null ||
		bash -c "exec 3<>/dev/tcp/$a/$port" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "$0: sshd on $a:$port did not start" >&2
			cat "$dir"/sshd*.log >&2
			stop
			exit 1
		fi
		sleep 0.1
	done
done
# Our own servers answered: each pid file names a live sshd.
n=0
for a in $addrs; do
	n=$((n + 1))
	if ! kill -0 "$(cat "$dir/sshd$n.pid" 2>/dev/null)" 2>/dev/null; then
		echo "$0: sshd for $a:$port is not running" >&2
		cat "$dir/sshd$n.log" >&2
		stop
		exit 1
	fi
done
cat >"$dir/env" <<ENV
DROVER_TEST_USER=$user
DROVER_TEST_PORT=$port
DROVER_TEST_HOST1=127.0.9.1
DROVER_TEST_HOST2=127.0.9.2
DROVER_TEST_HOST3=127.0.9.3
DROVER_TEST_HOST4=127.0.9.4
DROVER_TEST_HOST5=127.0.9.5
DROVER_TEST_HOST6=127.0.9.6
DROVER_TEST_HOST7=127.0.9.7
DROVER_TEST_HOST8=127.0.9.8
DROVER_TEST_KEY=$dir/id_ed25519
DROVER_TEST_KNOWN_HOSTS=$dir/known_hosts
DROVER_TEST_KNOWN_HOSTS_BAD=$dir/known_hosts_bad
ENV
echo "sshd fixture ready in $dir"
