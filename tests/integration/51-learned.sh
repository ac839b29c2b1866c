#!/bin/bash
# What the rebalancer learned outlives the daemon: a memory.max grown by
# on_oom: grow is still the service's after a kill -9 and after a
# daemon-reexec (status, the state file, and the limit a restart writes).
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
M=$((1024 * 1024))
echo "rebalance: {mode: enforce}" >"$T/paddockd.yaml"
# 36M does not fit the 32M it starts with; one 8M grow step makes room.
cat >"$T/services/g.yaml" <<YAML
services:
  grower:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "dd if=/dev/zero bs=36M count=1 | sleep 100000"]
    resources: {memory: {high: 32M, max: 64M}}
    on_oom: grow
    restart: {policy: always, delay: 100ms, limit: {burst: 100, interval: 60s}}
YAML
start_daemon -c "$T/paddockd.yaml"
last_grow() { ctl events --service grower --json | jq '[.[] | select(.type == "action" and .action == "grow" and .grown)] | last | .to // 0'; }
wait_for 30 bash -c "[ \$($PADDOCKCTL -s $T/run/control.sock events --service grower --json | jq '[.[] | select(.type == \"action\" and .action == \"grow\" and .grown)] | length') -ge 1 ]" ||
	fail "no grow: $(ctl events --service grower --json | jq -c '[.[] | select(.type == "oom-kill" or .action == "grow")]')"
wait_for 30 state_is grower running || fail "grower: $(svc_state grower)"
grown=$(last_grow)
[ "$grown" -ge $((40 * M)) ] || fail "grown to $grown"
in_state() { [ "$(jq -r '.services[] | select(.name == "grower") | .rebalance.grown_max // 0' "$T/state/state.json" 2>/dev/null)" = "$1" ]; }
wait_for 10 in_state "$grown" || fail "state file has no grown_max $grown: $(jq -c '.services[] | select(.name == "grower")' "$T/state/state.json")"
status_grown() { ctl status grower --json | jq -r '.[0].rebalance.grown_max // 0'; }
[ "$(status_grown)" = "$grown" ] || fail "status: $(status_grown)"
pass "grown to $((grown / M))M, in status and the state file"

if is_v1; then maxfile() { echo "$(service_cgdir grower memory)/memory.limit_in_bytes"; }; else maxfile() { echo "$(service_cgdir grower)/memory.max"; }; fi
check_kept() { # check_kept HOW
	[ "$(status_grown)" = "$grown" ] || fail "$1: status grown_max $(status_grown), want $grown"
	local pid=$(main_pid grower)
	ctl restart grower >/dev/null || fail "$1: restart"
	wait_for 20 bash -c "p=\$($PADDOCKCTL -s $T/run/control.sock status grower --json | jq -r '.[0].main_pid'); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ]" ||
		fail "$1: grower not restarted"
	wait_for 10 bash -c "[ \"\$(cat $(maxfile))\" = $grown ]" || fail "$1: restart wrote memory.max $(cat "$(maxfile)"), want $grown"
	pass "$1: still grown to $((grown / M))M, and a restart starts there"
}
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
start_daemon -c "$T/paddockd.yaml"
wait_for 10 state_is grower running || fail "not adopted: $(svc_state grower)"
check_kept "after kill -9"
wait_for 10 in_state "$grown" || fail "the new daemon's state file lost grown_max"
line=$(($(wc -l <"$T/daemon.log") + 1))
ctl daemon-reexec >/dev/null || fail "daemon-reexec"
ready_again() { sed -n "$line,\$p" "$T/daemon.log" | grep -q 'paddockd .* ready: '; }
wait_for 10 ready_again || fail "no new daemon after daemon-reexec"
check_kept "after daemon-reexec"
