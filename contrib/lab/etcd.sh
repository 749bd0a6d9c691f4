# shellcheck shell=bash
#
# etcd.sh: the lab's three-member etcd cluster, one member per site (sourced
# by contrib/lab/lab; uses its note, die, clock_ms, pid_alive, stop_pids).
#
#   member  address      client            peer
#   milan   127.0.11.1   :2379             :2380
#   rome    127.0.11.2   :2379             :2380
#   torino  127.0.11.3   :2379             :2380
#
# 127.0.11 is used by no sshd of the lab (sites 127.0.1-8, the sshd test
# fixture 127.0.9, bench hosts 127.10.x). Data under $LAB/etcd/MEMBER,
# logs in $LAB/etcd/MEMBER.log (its stdout: MEMBER.out), pids in $LAB/etcd/MEMBER.pid. Short
# heartbeat and election timeouts: a lost member is noticed in about a
# second, as the HA tests want.

readonly ETCD=/usr/bin/etcd
readonly ETCD_DIR=$LAB/etcd
readonly -a ETCD_MEMBERS=(milan rome torino)
readonly -A ETCD_ADDR=([milan]=127.0.11.1 [rome]=127.0.11.2 [torino]=127.0.11.3)
readonly ETCD_CLIENT_PORT=2379
readonly ETCD_PEER_PORT=2380

etcd_client_urls() {
	local m out=''
	for m in "${ETCD_MEMBERS[@]}"; do
		out+=${out:+,}http://${ETCD_ADDR[$m]}:$ETCD_CLIENT_PORT
	done
	printf '%s\n' "$out"
}

etcd_cluster() {
	local m out=''
	for m in "${ETCD_MEMBERS[@]}"; do
		out+=${out:+,}$m=http://${ETCD_ADDR[$m]}:$ETCD_PEER_PORT
	done
	printf '%s\n' "$out"
}

# Sets ETCD_PID when member m runs (its pid file names a live etcd whose
# command line names its data directory: a recycled pid never matches).
etcd_running() {
	local m=$1 pid cmd
	ETCD_PID=''
	[[ -r $ETCD_DIR/$m.pid ]] || return 1
	read -r pid <"$ETCD_DIR/$m.pid" || return 1
	pid_alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"--data-dir $ETCD_DIR/$m "* ]] || return 1
	ETCD_PID=$pid
}

etcd_check_member() {
	local m=$1
	[[ -n ${ETCD_ADDR[$m]:-} ]] || die "etcd: no member '$m' (members: ${ETCD_MEMBERS[*]})"
}

etcd_start_member() {
	local m=$1 a=${ETCD_ADDR[$1]}
	etcd_running "$m" && return 0
	mkdir -p "$ETCD_DIR/$m"
	chmod 0700 "$ETCD_DIR" "$ETCD_DIR/$m"
	setsid "$ETCD" --name "$m" --data-dir "$ETCD_DIR/$m" \
		--listen-client-urls "http://$a:$ETCD_CLIENT_PORT" \
		--advertise-client-urls "http://$a:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://$a:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://$a:$ETCD_PEER_PORT" \
		--initial-cluster "$(etcd_cluster)" \
		--initial-cluster-state new --initial-cluster-token drover-lab \
		--heartbeat-interval 100 --election-timeout 1000 \
		--logger zap --log-outputs "$ETCD_DIR/$m.log" \
		</dev/null >>"$ETCD_DIR/$m.out" 2>&1 9>&- &
	echo $! >"$ETCD_DIR/$m.pid"
}

# Waits until every running member says it is healthy (needs a quorum).
etcd_wait_healthy() {
	local m deadline ok
	clock_ms
	deadline=$((NOW + READY_TIMEOUT * 1000))
	while :; do
		ok=1
		for m in "${ETCD_MEMBERS[@]}"; do
			etcd_running "$m" || continue
			ETCDCTL_API=3 etcdctl --endpoints="http://${ETCD_ADDR[$m]}:$ETCD_CLIENT_PORT" \
				--command-timeout=1s endpoint health >/dev/null 2>&1 || ok=0
		done
		((ok)) && return 0
		clock_ms
		((NOW < deadline)) || die "etcd: not healthy after ${READY_TIMEOUT}s; see $ETCD_DIR/*.log"
		sleep 0.1
	done
}

etcd_up() {
	local m
	if [[ ! -x $ETCD ]]; then
		note "etcd: $ETCD is missing (contrib/install-deps installs etcd-server); no etcd cluster"
		return 0
	fi
	for m in "${ETCD_MEMBERS[@]}"; do
		etcd_start_member "$m"
	done
	etcd_wait_healthy
	note "etcd: 3 members up: $(etcd_client_urls)"
}

etcd_down() {
	local m
	local -a pids=()
	for m in "${ETCD_MEMBERS[@]}"; do
		if etcd_running "$m"; then pids+=("$ETCD_PID"); fi
	done
	stop_pids "${pids[@]}"
	rm -f "$ETCD_DIR"/*.pid 2>/dev/null || true
}

# lab etcd-stop MEMBER / etcd-start MEMBER: fault tests lose a site's member.
etcd_stop_member() {
	etcd_check_member "$1"
	if etcd_running "$1"; then
		stop_pids "$ETCD_PID"
		note "etcd: $1 stopped"
	fi
}

etcd_start_one() {
	etcd_check_member "$1"
	etcd_start_member "$1"
	note "etcd: $1 started"
}

etcd_status() {
	local m
	for m in "${ETCD_MEMBERS[@]}"; do
		if etcd_running "$m"; then
			printf 'etcd    %-9s %-8s %-10s %-8s %-5s %s\n' member "$m" "${ETCD_ADDR[$m]}" etcd up "$ETCD_PID"
		else
			printf 'etcd    %-9s %-8s %-10s %-8s %-5s %s\n' member "$m" "${ETCD_ADDR[$m]}" etcd down -
		fi
	done
}
