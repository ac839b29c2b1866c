#!/bin/bash
# What an operator decided and what the daemon learned outlive the daemon:
# a service stopped with `paddockctl stop` stays stopped, and one that
# failed with no restart to come (restart: never) stays failed with its
# last exit, across `daemon-reexec` and across `kill -9` and a new start,
# while a running one keeps its pid. `start` brings a held service back;
# a clean shutdown (SIGTERM) leaves no state, so everything starts again.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq; setup
make_rootfs "$T/root"
svc() { # svc NAME SCRIPT [RESTART]
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "%s"]\n    restart: {policy: %s, delay: 100ms}\n' \
		"$1" "$T/root" "$2" "${3:-on-failure}" >"$T/services/$1.yaml"
}
svc keep "exec sleep 100000"
svc halt "exec sleep 100000"
svc once "exit 3" never
held() { # held NAME stopped|failed: the state file says so
	jq -e --arg n "$1" --arg h "$2" '.services[] | select(.name == $n) | .held == $h' \
		"$T/state/state.json" >/dev/null 2>&1
}
exit_reason() { ctl status "$1" --json | jq -r '.[0].last_exit.reason // empty'; }
# After a restart of the daemon: halt and once were not started again.
still_held() {
	state_is halt stopped || fail "$1: halt is $(svc_state halt), not stopped"
	state_is once failed || fail "$1: once is $(svc_state once), not failed"
	[ "$(main_pid halt)" = 0 ] || fail "$1: halt has a process ($(main_pid halt))"
	[ "$(exit_reason once)" = "exited 3" ] || fail "$1: once's last exit is '$(exit_reason once)'"
	[ "$(main_pid keep)" = "$kpid" ] || fail "$1: keep was restarted"
	grep -q "service halt: started" <(sed -n "$2,\$p" "$T/daemon.log") &&
		fail "$1: halt was started by the new daemon"
	grep -q "service once: started" <(sed -n "$2,\$p" "$T/daemon.log") &&
		fail "$1: once was started by the new daemon"
	return 0
}

start_daemon
wait_for 10 state_is keep running || fail "keep not running"
wait_for 10 state_is halt running || fail "halt not running"
wait_for 10 state_is once failed || fail "once did not fail: $(svc_state once)"
kpid=$(main_pid keep)
ctl stop halt >/dev/null || fail "stop halt"
wait_for 10 state_is halt stopped || fail "halt not stopped"
wait_for 10 held halt stopped || fail "state file does not hold halt stopped"
wait_for 10 held once failed || fail "state file does not hold once failed"
pass "stopped and failed services are recorded as held"

# 1. daemon-reexec: the new image keeps them as they were.
line=$(($(wc -l <"$T/daemon.log") + 1))
ctl daemon-reexec >/dev/null || fail "daemon-reexec"
ready_again() { sed -n "$line,\$p" "$T/daemon.log" | grep -q 'paddockd .* ready: '; }
wait_for 10 ready_again || fail "no new daemon after daemon-reexec"
still_held reexec "$line"
pass "daemon-reexec: halt stays stopped, once stays failed (exited 3), keep keeps pid $kpid"

# 2. kill -9 and a new daemon: the same.
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
line=$(($(wc -l <"$T/daemon.log") + 1))
start_daemon
wait_for 10 state_is keep running || fail "keep not running after kill -9"
still_held "kill -9" "$line"
ctl events --service halt --json | jq -e 'map(select(.type == "held")) | length == 1' >/dev/null ||
	fail "no held event for halt"
pass "kill -9: halt stays stopped, once stays failed, each with a held event"

# 3. An operator's start ends it; the record follows.
ctl start halt >/dev/null || fail "start halt"
wait_for 10 state_is halt running || fail "halt did not start"
not_held() { ! jq -e --arg n "$1" '.services[] | select(.name == $n) | .held' "$T/state/state.json"; }
wait_for 10 not_held halt || fail "halt still held in the state file after start"
pass "start brings a held service back"

# 4. A clean shutdown leaves no state: everything starts on the next start.
ctl stop halt >/dev/null || fail "stop halt again"
wait_for 10 held halt stopped || fail "halt not held again"
stop_daemon || fail "daemon exit status"
[ ! -e "$T/state/state.json" ] || fail "state file left after a clean shutdown"
start_daemon
wait_for 10 state_is halt running || fail "halt not started after a clean shutdown"
pass "after a clean shutdown every service starts again"
