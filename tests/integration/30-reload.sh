#!/bin/bash
# Reload (paddockctl reload and SIGHUP): a spec set with any error changes
# nothing and names every error; a memory.max change is applied live
# without a restart; a command change restarts; new services start,
# removed ones stop; the spec sets reloads replace do not pile up.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
spec() { # spec NAME COMMAND MEMMAX
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "%s"]\n    resources: {memory: {max: %s}}\n' \
		"$1" "$T/root" "$2" "$3"
}
for i in 1 2 3 4 5 6 7 8 9; do spec "s$i" "exec sleep 1000" 64M >"$T/services/s$i.yaml"; done
spec keep "exec sleep 1000" 64M >"$T/services/keep.yaml"
# Never ready: its readiness probe runs through every reload below, on the
# spec it started from (the ASan pass would see that spec freed under it).
probed() { spec probed "exec sleep 1000" "$1" >"$T/services/probed.yaml"; echo '    ready: {tcp: 8080, timeout: 10m}' >>"$T/services/probed.yaml"; }
probed 64M
start_daemon
for i in 1 2 3 4 5 6 7 8 9; do wait_for 10 state_is "s$i" running || fail "s$i not running"; done
wait_for 10 state_is keep running || fail "keep not running"
pids=$(ctl list --json | jq -c '[.[] | .main_pid]')
if is_v1; then mem() { cat "$(service_cgdir "$1" memory)/memory.limit_in_bytes"; }; else mem() { cat "$(service_cgdir "$1")/memory.max"; }; fi

# One broken file among ten: nothing changes, every error is reported.
cp "$T/services/s1.yaml" "$T/s1.good"
spec s1 "exec sleep 1000" 32M >"$T/services/s1.yaml"
printf 'services:\n  s5:\n    comand: ["/bin/true"]\n' >"$T/services/s5.yaml"
ctl reload >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "broken reload exit $rc: $(cat $T/out)"
grep -q "s5.yaml:3:5: unknown key 'comand'" "$T/out" || fail "error not named with its position: $(cat $T/out)"
[ "$(mem s1)" = $((64 * 1024 * 1024)) ] || fail "s1 changed although the reload was refused"
[ "$(ctl list --json | jq -c '[.[] | .main_pid]')" = "$pids" ] || fail "a service was restarted by a refused reload"
pass "a reload with one broken file of ten changes nothing: $(head -n 2 $T/out | tail -n 1)"

# Fixed: s1's memory.max changes live; s2's command changes (restart); s9 goes; new comes.
spec s5 "exec sleep 1000" 64M >"$T/services/s5.yaml"
spec s2 "echo v2; exec sleep 1000" 64M >"$T/services/s2.yaml"
rm "$T/services/s9.yaml"
spec newone "exec sleep 1000" 16M >"$T/services/newone.yaml"
probed 32M
p1=$(main_pid s1); p2=$(main_pid s2); pk=$(main_pid keep)
ctl reload >"$T/out" 2>&1 || fail "reload: $(cat $T/out)"
[ "$(mem s1)" = $((32 * 1024 * 1024)) ] || fail "s1 memory.max not applied: $(mem s1)"
[ "$(main_pid s1)" = "$p1" ] || fail "s1 was restarted for a memory change"
[ "$(mem probed)" = $((32 * 1024 * 1024)) ] && state_is probed starting || fail "probed: $(svc_state probed), memory.max $(mem probed)"
pass "memory.max applied live without a restart (also to a service whose readiness probe runs)"
wait_for 10 grep -q 'stdout v2' "$T/state/logs/s2.log" || fail "s2 not restarted with its new command"
[ "$(main_pid s2)" != "$p2" ] || fail "s2 kept its pid"
[ "$(main_pid keep)" = "$pk" ] || fail "an unchanged service was restarted"
# A reload's restart is counted apart: not in restarts (failures, on_oom, operator).
wait_for 10 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock status s2 --json | jq -c '[.[0].restarts, .[0].reloads]')\" = '[0,1]' ]" ||
	fail "s2 restarts/reloads: $(ctl status s2 --json | jq -c '[.[0].restarts, .[0].reloads]')"
ctl status s2 | grep -q 'Restarts: 0 (and 1 for reloads)' || fail "status text: $(ctl status s2 | grep Restarts)"
pass "a command change restarts; unchanged services are untouched; counted as a reload, not a restart"
wait_for 10 state_is newone running || fail "newone not started"
wait_for 10 bash -c "! $PADDOCKCTL -s $T/run/control.sock list --json | jq -e '.[] | select(.name == \"s9\")' >/dev/null" || fail "s9 not removed"
pass "new services start, removed ones stop and go"

# SIGHUP does the same.
spec keep "exec sleep 1000" 48M >"$T/services/keep.yaml"
kill -HUP "$DAEMON_PID"
wait_for 10 bash -c "[ \"\$(cat $( is_v1 && echo "$(service_cgdir keep memory)/memory.limit_in_bytes" || echo "$(service_cgdir keep)/memory.max"))\" = $((48 * 1024 * 1024)) ]" || fail "SIGHUP did not reload"
[ "$(main_pid keep)" = "$pk" ] || fail "SIGHUP reload restarted keep"
pass "SIGHUP reloads the same way"

# Reloads do not pile up: the sets they replace are freed once no service
# points into them (each used to stay until exit). RSS says so only for a
# plain daemon: ASan's quarantine and valgrind hold freed memory back.
if [ -n "${PADDOCK_DAEMON_WRAPPER:-}" ] || grep -q __asan_init "$PADDOCKD"; then
	stop_daemon || fail "exit status"
	exit 0
fi
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
# First fill the event ring (4096 events; this reload makes 12): it grows until full.
for i in $(seq 400); do ctl reload >/dev/null || fail "reload $i"; done
before=$(rss)
for i in $(seq 300); do ctl reload >/dev/null || fail "reload $i"; done
after=$(rss)
[ $((after - before)) -lt 1024 ] || fail "300 reloads grew paddockd by $((after - before)) KiB"
[ "$(main_pid keep)" = "$pk" ] || fail "the reloads restarted keep"
state_is probed starting || fail "probed: $(svc_state probed) after the reloads"
pass "300 reloads: paddockd's RSS moved by $((after - before)) KiB"
stop_daemon || fail "exit status"
