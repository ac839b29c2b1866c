#!/bin/bash
# Faults around the daemon, none of which may touch a running service:
#  - the state dir fills up (ENOSPC on a small tmpfs): the failed state
#    write is reported once and retried; once space is back the file is
#    written again and a kill -9 + restart still adopts everything;
#  - the daemon runs out of file descriptors (EMFILE): a start fails with
#    the reason, and works again once the limit is raised;
#  - an open files limit too low to keep the samplers' files open: every
#    service is still sampled, and the log says so.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
need_cmd prlimit
make_rootfs "$T/root"
svc() {
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "%s"]\n' \
		"$1" "$T/root" "$2" >"$T/services/$1.yaml"
}
svc keep "while :; do echo tick; usleep 50000; done"
svc later "exec sleep 100000"
printf '    restart: {policy: never}\n' >>"$T/services/later.yaml"

mount -t tmpfs -o size=4M paddock-test "$T/state" || fail "cannot mount a tmpfs"
start_daemon
wait_for 10 state_is keep running || fail "keep not running"
kpid=$(main_pid keep)
ctl stop later >/dev/null
wait_for 10 state_is later stopped || fail "later not stopped"

# 1. ENOSPC.
dd if=/dev/zero of="$T/state/fill" bs=64k 2>/dev/null
ctl start later >/dev/null || fail "start with a full state dir"
wait_for 10 state_is later running || fail "later did not start with a full state dir"
wait_for 10 grep -q "cannot write $T/state/state.json: No space left on device" "$T/daemon.log" ||
	fail "the failed state write was not reported"
[ "$(grep -c "cannot write $T/state/state.json" "$T/daemon.log")" = 1 ] || fail "reported more than once"
[ "$(main_pid keep)" = "$kpid" ] || fail "keep was disturbed by ENOSPC"
rm "$T/state/fill"
lpid=$(main_pid later)
has_later() { jq -e --argjson p "$lpid" '.services[] | select(.name == "later" and .pid == $p)' "$T/state/state.json" >/dev/null 2>&1; }
wait_for 10 has_later || fail "state file not written once space came back"
grep -q "state.json written again" "$T/daemon.log" || fail "recovery not reported"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
start_daemon
wait_for 10 state_is later running || fail "later not adopted"
[ "$(main_pid later)" = "$lpid" ] && [ "$(main_pid keep)" = "$kpid" ] || fail "restarted after ENOSPC"
pass "ENOSPC in the state dir: reported once, retried, recovered; services untouched"

# 2. EMFILE: leave the daemon three descriptors (a control connection and a little).
ctl stop later >/dev/null
wait_for 10 state_is later stopped || fail "later not stopped"
nfd=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
hard=$(prlimit --pid "$DAEMON_PID" --nofile -o HARD --noheadings | tr -d ' ')
prlimit --pid "$DAEMON_PID" --nofile=$((nfd + 3)):"$hard" || fail "prlimit"
out=$(ctl start later 2>&1)
wait_for 10 state_is later failed || fail "later did not fail to start without fds: $(svc_state later) $out"
reason=$(svc_field later last_exit.reason)
case $reason in *"Too many open files"*) ;; *) fail "reason does not say EMFILE: $reason" ;; esac
[ "$(main_pid keep)" = "$kpid" ] || fail "keep was disturbed by EMFILE"
prlimit --pid "$DAEMON_PID" --nofile="$hard":"$hard" || fail "prlimit"
ctl start later >/dev/null || fail "start after the limit was raised"
wait_for 10 state_is later running || fail "later did not start once fds were back"
pass "EMFILE: the start fails naming it; works again once the limit is raised"
stop_daemon || fail "daemon exit status"

# 3. An open files limit too low to keep every sampler's files open: all
# services are still sampled (by path), and paddockd says why.
for i in $(seq -w 1 24); do svc "many$i" "exec sleep 100000"; done
line=$(($(wc -l <"$T/daemon.log") + 1))
PADDOCK_DAEMON_WRAPPER="prlimit --nofile=400:400" start_daemon
all_sampled() {
	[ "$(ctl status --json $(printf 'many%s ' $(seq -w 1 24)) keep |
		jq '[.[] | select(.usage["cpu.usage_usec"] != null and .usage["memory.anon"] != null)] | length')" = 25 ]
}
wait_for 30 all_sampled || fail "not every service is sampled under a limit of 400 files: $(ctl status --json keep many01 many24 | jq -c '[.[] | .usage]')"
tail -n +"$line" "$T/daemon.log" | grep -q "open files limit 400 is too low to keep every service's cgroup files open" ||
	fail "paddockd did not say the limit is too low"
[ "$(ls "/proc/$DAEMON_PID/fd" | wc -l)" -lt 400 ] || fail "paddockd holds 400 files"
pass "open files limit 400 with 26 services: every one sampled (by path), the low limit logged"
stop_daemon || fail "daemon exit status"
pass
