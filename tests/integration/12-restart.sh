#!/bin/bash
# Restart policy: kill -9 -> restarted with growing delays; start-limit ->
# failed; restart: never -> stays down; on-failure leaves a clean exit alone.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/r.yaml" <<YAML
services:
  victim:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    restart: {policy: always, delay: 200ms, max_delay: 5s, limit: {burst: 50, interval: 60s}}
  limited:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "exit 3"]
    restart: {policy: on-failure, delay: 10ms, max_delay: 20ms, limit: {burst: 3, interval: 60s}}
  once:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "exit 5"]
    restart: {policy: never}
  clean:
    rootfs: $T/root
    command: ["/bin/true"]
    restart: {policy: on-failure}
YAML
start_daemon
wait_for 10 state_is victim running || fail "victim not running"

# Three kills: each restart must come later after the exit than the one
# before. Measured by the daemon's own clock (exit time -> running since),
# so a slow poller (the VM) cannot blur it.
prev_delay=0
for i in 1 2 3; do
	pid=$(main_pid victim)
	signal_pid KILL "$pid"
	wait_for 30 bash -c "p=\$($PADDOCKCTL -s $T/run/control.sock list --json | jq -r '.[] | select(.name==\"victim\" and .state==\"running\") | .main_pid'); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && [ \"\$p\" != 0 ]" ||
		fail "victim not restarted after kill $i"
	st=$(ctl status victim --json)
	delay=$(($(echo "$st" | jq '.[0].since_ms') - $(echo "$st" | jq '.[0].last_exit.time_ms')))
	log "restart $i after ${delay} ms"
	[ "$delay" -gt "$prev_delay" ] || fail "delay did not grow: $prev_delay ms then $delay ms"
	prev_delay=$delay
done
[ "$(restarts victim)" = 3 ] || fail "restart count $(restarts victim), expected 3"
[ "$(svc_field victim last_exit.reason)" = "killed by SIGKILL" ] || fail "last_exit: $(svc_field victim last_exit.reason)"
pass "kill -9 restarts with growing delays ($prev_delay ms last), last exit recorded"

wait_for 10 state_is limited failed || fail "limited did not reach failed"
svc_field limited last_exit.reason | grep -q 'start-limit-hit' || fail "limited: reason $(svc_field limited last_exit.reason)"
pass "start limit puts the service in failed"

wait_for 10 state_is once failed || fail "once: $(svc_state once)"
[ "$(restarts once)" = 0 ] || fail "restart: never restarted"
[ "$(svc_field once last_exit.reason)" = "exited 5" ] || fail "once: $(svc_field once last_exit.reason)"
pass "restart: never stays down with exit 5 recorded"

wait_for 10 state_is clean stopped || fail "clean: $(svc_state clean)"
[ "$(restarts clean)" = 0 ] || fail "clean exit was restarted under on-failure"
pass "on-failure leaves a clean exit stopped"

# The operator can start a failed service again.
t1=$(svc_field once last_exit.time_ms)
ctl start once >/dev/null || fail "start once"
wait_for 10 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock status once --json | jq -r '.[0].last_exit.time_ms')\" != $t1 ]" || fail "once did not run again"
wait_for 10 state_is once failed || fail "once: $(svc_state once) after manual start"
pass "manual start of a failed service"
