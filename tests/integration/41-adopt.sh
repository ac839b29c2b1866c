#!/bin/bash
# Re-adoption cases after `kill -9 paddockd`:
#  - a service that exits while no daemon runs: its exit code is still
#    known (paddock's init left it in the pipe the fd holder kept) and its
#    restart policy applies;
#  - a corrupted state file: reported (log and event), services adopted
#    from the fd holder;
#  - the fd holder killed too: identity from the state file (pid + start
#    time); neither holder nor state file: from the cgroup alone;
#  - a transient `run` service comes back; a service whose spec was removed
#    while no daemon ran is stopped and its cgroup removed;
#  - the daemon killed in the middle of an image unpack: the next one
#    finishes it and the store holds no half layer; killed while it
#    starts services: each runs once;
#  - the fd holder killed under a running daemon: replaced and refilled;
#  - limits pinned with `set` and the last STATUS= stay, in force and
#    shown, after kill -9 and after daemon-reexec.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
svc() { # svc NAME SCRIPT
	printf 'services:\n  %s:\n    rootfs: %s\n    command: ["/bin/sh", "-c", "%s"]\n    restart: {delay: 100ms}\n' \
		"$1" "$T/root" "$2" >"$T/services/$1.yaml"
}
svc quiet "exec sleep 100000"
svc gone "exec sleep 100000"
svc quitter "while [ ! -e /quit ]; do usleep 20000; done; rm /quit; exit 3"
holder() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = paddock-fdstore ] &&
			[ "$(readlink "$p/cwd" 2>/dev/null)" = "$T/run" ] && echo "${p#/proc/}"
	done
	return 0
}
# Gone, or a zombie nobody reaps (its parent died with the daemon).
dead() { ! kill -0 "$1" 2>/dev/null || awk '{ sub(/.*\) /, ""); exit $1 != "Z" }' "/proc/$1/stat"; }
crash() { kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
identity() { # the daemon log's last word on how NAME was adopted
	grep "service $1: adopted pid" "$T/daemon.log" | tail -n 1 | sed 's/.*identity from the \(.*\))/\1/'
}

start_daemon
for s in quiet gone quitter; do wait_for 10 state_is $s running || fail "$s not running"; done
ctl run --name tr --rootfs "$T/root" -- sleep 100000 >/dev/null || fail "run"
wait_for 10 state_is tr running || fail "transient not running"
qpid=$(main_pid quiet) gpid=$(main_pid gone) xpid=$(main_pid quitter) tpid=$(main_pid tr)
[ -n "$(holder)" ] || fail "no fd holder process"

# 1. Exit while away; a removed spec; the transient.
crash
touch "$T/root/quit"
wait_for 10 dead "$xpid" || fail "quitter did not exit"
rm "$T/services/gone.yaml"
start_daemon
wait_for 10 state_is quiet running || fail "quiet not running after restart"
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet was restarted"
[ "$(identity quiet)" = "fd holder" ] || fail "quiet: identity from '$(identity quiet)'"
[ "$(main_pid tr)" = "$tpid" ] || fail "the transient service did not come back with its pid"
wait_for 10 bash -c "ctl events --service quitter --json | jq -e 'map(select(.type == \"exit\" and .kind == \"exited\" and .code == 3)) | length == 1' >/dev/null" ||
	fail "the exit while away was not recorded with its code: $(ctl events --service quitter --json | jq -c 'map(select(.type == "exit"))')"
restarted_once() { [ "$(main_pid quitter)" != "$xpid" ] && [ "$(restarts quitter)" = 1 ] && state_is quitter running; }
wait_for 10 restarted_once || fail "quitter not restarted by its policy: restarts $(restarts quitter)"
pass "an exit while no daemon ran keeps its code (3) and its restart policy applies"
dead "$gpid" || fail "the removed service's process still runs"
[ -z "$(ctl list --json | jq -r '.[] | select(.name == "gone") | .name')" ] || fail "gone is still listed"
[ -d "$(service_cgdir gone)" ] && fail "gone's cgroup is left"
ctl events --json | jq -e 'map(select(.type == "orphan-removed")) | length == 1' >/dev/null || fail "no orphan-removed event"
pass "a service removed while away is stopped and its cgroup removed; a transient comes back"

# 2. A corrupted state file.
crash
printf '{"version":1,"services":[{"name":"../x","pid":-1' >"$T/state/state.json"
start_daemon
wait_for 10 state_is quiet running || fail "quiet not running"
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet restarted after a corrupt state file"
grep -q "state file .*state.json: .*rebuilding" "$T/daemon.log" || fail "corruption not reported"
ctl events --json | jq -e 'map(select(.type == "state-corrupt")) | length >= 1' >/dev/null || fail "no state-corrupt event"
wait_for 5 bash -c "jq -e .version $T/state/state.json >/dev/null" || fail "state file not rewritten"
pass "a corrupt state file is reported and rebuilt; services untouched"

# 3. Holder gone too: the state file's pid and start time.
crash
kill -9 $(holder)
start_daemon
wait_for 10 state_is quiet running || fail "quiet not running"
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet restarted without the holder"
[ "$(identity quiet)" = "state file" ] || fail "quiet: identity from '$(identity quiet)'"
# 4. Neither holder nor state file: the cgroup.
crash
kill -9 $(holder)
rm -f "$T/state/state.json"
start_daemon
wait_for 10 state_is quiet running || fail "quiet not running"
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet restarted without holder and state"
[ "$(identity quiet)" = "cgroup scan" ] || fail "quiet: identity from '$(identity quiet)'"
pass "without the holder: identity from the state file; without both: from the cgroup"

# 5. Killed in the middle of an image unpack.
need_cmd umoci
make_image "$T/img"
b=$(mktemp -d "$T/big.XXXXXX")
umoci unpack --image "$T/img:v1" "$b/u" >/dev/null
head -c "$([ -n "${PADDOCK_IN_VM:-}" ] && echo 24M || echo 96M)" /dev/urandom >"$b/u/rootfs/big"
umoci repack --image "$T/img:v1" "$b/u" >/dev/null
rm -rf "$b"
printf 'services:\n  img:\n    image: %s\n    command: ["/bin/sh", "-c", "exec sleep 100000"]\n' \
	"$T/img:v1" >"$T/services/img.yaml"
ctl reload >/dev/null || fail "reload"
wait_for 10 bash -c "ls -a $T/state/layers 2>/dev/null | grep -q '^.tmp-'" || fail "no unpack seen in progress"
crash
helpers() { # processes forked by a daemon of ours, other than the fd holder
	for p in $(pgrep -f "paddockd.*$T/services"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = paddockd ] && ! dead "$p" && echo "$p"
	done
}
no_helpers() { [ -z "$(helpers)" ]; }
wait_for 10 no_helpers || fail "the unpack helper outlived its daemon: $(helpers)"
start_daemon
wait_for 60 state_is img running || fail "img not running after the interrupted unpack"
ls -a "$T/state/layers" | grep -q '^.tmp-' && fail "a half layer is left in the store"
for l in $(ls -A "$T/state/layers"); do
	[[ $l =~ ^([0-9a-f]{64}|l|empty|\.lock-[0-9a-f]{64})$ ]] || fail "odd entry in the layer store: $l"
done
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet restarted along the way"
pass "an unpack interrupted by the daemon's death leaves no half layer; the next daemon finishes it"

# 6. Killed while it starts services: each ends up running once, none twice.
for i in $(seq 1 20); do svc "m$i" "exec sleep 100000"; done
ctl reload >/dev/null &
sleep "0.0$((RANDOM % 9 + 1))"
crash
wait
start_daemon
m_running() { [ "$(ctl list --json | jq '[.[] | select((.name | startswith("m")) and .state == "running")] | length')" = 20 ]; }
wait_for 30 m_running || fail "not all m services running after a kill during their start"
for i in $(seq 1 20); do
	n=$(wc -l <"$(service_cgdir "m$i")/cgroup.procs")
	[ "$n" = 2 ] || fail "m$i: $n processes in its cgroup (init and sleep expected): started twice?"
done
pass "killed while starting services: each runs once afterwards"

# 7. The holder dies while paddockd runs: a new one gets every descriptor again.
old_holder=$(holder)
kill -9 $old_holder
new_holder() { local h; h=$(holder); [ -n "$h" ] && [ "$h" != "$old_holder" ]; }
wait_for 10 new_holder || fail "no new fd holder after the old one died"
crash
start_daemon
wait_for 10 state_is quiet running || fail "quiet not running"
[ "$(main_pid quiet)" = "$qpid" ] || fail "quiet restarted"
[ "$(identity quiet)" = "fd holder" ] || fail "quiet: identity from '$(identity quiet)' after the holder was replaced"
pass "a holder killed under a running daemon is replaced and refilled"

# 8. Pins and STATUS= outlive the daemon, kill -9 and daemon-reexec.
# STATUS= needs the sdnotify helper (in the VM only when put there):
# without it the pin is still checked.
SDN="$BUILD_DIR/tests/helpers/sdnotify"
[ -x "$SDN" ] || SDN=$(command -v sdnotify) || SDN=""
status_want=serving-42 notes='sdnotify --barrier READY=1 STATUS=serving-42 && '
mounts="mounts: [{type: bind, source: $SDN, target: /bin/sdnotify, readonly: true}]"
if [ -z "$SDN" ]; then
	log "no tests/helpers/sdnotify: STATUS= not checked"
	status_want="" notes="" mounts="mounts: []"
fi
cat >"$T/services/noted.yaml" <<YAML
services:
  noted:
    rootfs: $T/root
    ready: $([ -n "$SDN" ] && echo notify || echo none)
    isolation:
      $mounts
    command: ["/bin/sh", "-c", "${notes}exec sleep 100000"]
    resources: {memory: {max: 96M}, pids: {max: 50}}
YAML
ctl reload >/dev/null || fail "reload"
wait_for 10 state_is noted running || fail "noted not running"
if is_v1; then
	nmem() { cat "$(service_cgdir noted memory)/memory.limit_in_bytes"; }
	npids() { cat "$(service_cgdir noted pids)/pids.max"; }
else
	nmem() { cat "$(service_cgdir noted)/memory.max"; }
	npids() { cat "$(service_cgdir noted)/pids.max"; }
fi
M=$((1024 * 1024))
status_is() { [ "$(ctl status noted --json | jq -r '.[0].status_text // ""')" = "$status_want" ]; }
wait_for 10 status_is || fail "STATUS= not shown: $(svc_field noted status_text)"
ctl set noted memory.max=77M pids.max=21 >/dev/null || fail "set"
npid=$(main_pid noted)
kept() { # kept HOW: the pin in force (cgroupfs and status) and the STATUS= text shown
	[ "$(main_pid noted)" = "$npid" ] || fail "$1: noted was restarted"
	[ "$(nmem)" = $((77 * M)) ] || fail "$1: memory.max in cgroupfs is $(nmem), not the pinned 77M"
	[ "$(npids)" = 21 ] || fail "$1: pids.max in cgroupfs is $(npids), not the pinned 21"
	ctl status noted --json >"$T/noted.json" || fail "$1: status"
	jq -e '.[0].pinned == true' "$T/noted.json" >/dev/null || fail "$1: status does not show the pin"
	jq -e --arg m $((77 * M)) '.[0].limits["memory.max"] == $m' "$T/noted.json" >/dev/null ||
		fail "$1: status shows memory.max $(jq -r '.[0].limits["memory.max"]' "$T/noted.json")"
	jq -e --arg s "$status_want" '(.[0].status_text // "") == $s' "$T/noted.json" >/dev/null ||
		fail "$1: STATUS= text lost: $(jq -c '.[0].status_text' "$T/noted.json")"
	[ -z "$status_want" ] || ctl status noted | grep -q "Status: $status_want" ||
		fail "$1: status does not print the STATUS= text"
}
pinned_in_state() {
	jq -e --arg s "$status_want" '.services[] | select(.name == "noted") | .pin.memory.max == 80740352 and (.status_text // "") == $s' "$T/state/state.json"
}
wait_for 5 pinned_in_state || fail "the state file does not hold the pin and the STATUS= text"
crash
start_daemon
wait_for 10 state_is noted running || fail "noted not running after kill -9"
kept "kill -9"
line=$(($(wc -l <"$T/daemon.log") + 1))
ctl daemon-reexec >/dev/null || fail "daemon-reexec"
ready_again() { sed -n "$line,\$p" "$T/daemon.log" | grep -q 'paddockd .* ready: '; }
wait_for 10 ready_again || fail "no new daemon after daemon-reexec"
kept "daemon-reexec"
# The pin is the daemon's, not only the cgroup's: a new start applies it again.
ctl restart noted >/dev/null || fail "restart noted"
wait_for 10 state_is noted running || fail "noted not running after its restart"
[ "$(npids)" = 21 ] && [ "$(nmem)" = $((77 * M)) ] || fail "a restart after the takeover lost the pin: $(npids) $(nmem)"
ctl set noted --reset >/dev/null || fail "reset"
[ "$(npids)" = 50 ] || fail "reset after the takeover: pids.max $(npids)"
pass "pins (read back from cgroupfs and status) and STATUS= text survive kill -9 and daemon-reexec"
stop_daemon || fail "daemon exit status"
[ -z "$(holder)" ] || fail "holder left after a clean shutdown"
pass
