#!/bin/bash
# v1/hybrid: service cgroups placed ahead of need (core/placer.h). The
# daemon keeps slots .slot-N in every v1 hierarchy, each holding one of
# its threads; a start renames a slot to the service and its thread clones
# the service inside, so the service is in all its cgroups with its limits
# and the daemon is in none; slots refill, never leak (stop, kill -9,
# restart) and PADDOCK_CGROUP_SLOTS=0 turns them off. Pure v2 needs none.
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; need_cmd jq
is_v1 || skip "pure v2: clone3 places children itself"
setup
make_rootfs "$T/root"

V1="memory cpu cpuacct pids cpuset blkio freezer"
root_dir() { local m o; m=$(cgroup_mount "$1"); o=$(own_cgroup "$1"); echo "$m${o%/}/$CGROOT"; }
slots_in() { find "$(root_dir "$1")" -mindepth 1 -maxdepth 1 -name '.slot-*' -type d 2>/dev/null | sort; }
nslots() { slots_in memory | wc -l; }
# Every slot in every v1 hierarchy holds exactly one task, a thread of the daemon.
slots_placed() {
	local c s t n
	for c in $V1; do
		[ -n "$(cgroup_mount "$c")" ] || continue
		n=0
		for s in $(slots_in "$c"); do
			t=$(cat "$s/tasks")
			[ "$(echo "$t" | wc -w)" = 1 ] || return 1
			[ -e "/proc/$DAEMON_PID/task/$t" ] || return 1
			[ "$t" != "$DAEMON_PID" ] || return 1
			n=$((n + 1))
		done
		[ "$n" = "$1" ] || return 1
	done
}

cat >"$T/services/s.yaml" <<YAML
services:
  web:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
    resources: {memory: {max: 48M}, pids: {max: 20}}
YAML
start_daemon
wait_for 10 slots_placed 2 || fail "no 2 placed slots: $(for c in $V1; do slots_in $c; done)"
pass "2 slots in every v1 hierarchy, each holding one daemon thread"

wait_for 10 state_is web running || fail "web not running"
pid=$(main_pid web)
for c in $V1; do
	[ -n "$(cgroup_mount "$c")" ] || continue
	d=$(service_cgdir web "$c")
	grep -qx "$pid" "$d/cgroup.procs" || fail "$c: $pid not in web's cgroup"
	for t in $(cat "$d/tasks"); do
		[ ! -e "/proc/$DAEMON_PID/task/$t" ] || fail "$c: daemon thread $t left in web's cgroup"
	done
done
[ "$(cat "$(service_cgdir web memory)/memory.limit_in_bytes")" = $((48 * 1024 * 1024)) ] ||
	fail "memory limit not applied to a placed cgroup"
[ "$(cat "$(service_cgdir web pids)/pids.max")" = 20 ] || fail "pids.max not applied"
grep -qx "$pid" "$(service_cgdir web "")/cgroup.procs" || fail "web not in its v2 cgroup"
pass "web is in its cgroups with its limits, v2 included, and no daemon thread is"
# Started with the daemon, before any slot was ready: web was attached.
wait_for 10 slots_placed 2 || fail "slots not placed"
out=$(ctl run --wait --rm --namespaces pid,mount,net --rootfs "$T/root" -- /bin/sh -c 'cat /proc/self/cgroup') || fail "run: $out"
echo "$out" | grep -q ':memory:.*/run-' || fail "run not in its memory cgroup: $out"
wait_for 10 slots_placed 2 || fail "slots did not refill"
slots_in memory | grep -q '/\.slot-[0-9]*-2$' || fail "the run did not take a slot: $(slots_in memory)"
pass "a run took a slot, which was refilled"

# A burst of transient runs: each one is placed, the pool keeps up.
for i in 1 2 3 4 5; do
	out=$(ctl run --wait --rm --namespaces pid,mount,net --rootfs "$T/root" --memory-max 32M -- /bin/sh -c 'cat /proc/self/cgroup') ||
		fail "run $i failed: $out"
	echo "$out" | grep -q ':memory:.*/run-' || fail "run $i not in its memory cgroup: $out"
done
wait_for 10 slots_placed 2 || fail "slots not refilled after a burst"
pass "5 transient runs placed; slots refilled"

# pids.max 1 leaves no room for the slot's thread: the start attaches instead.
out=$(ctl run --wait --rm --namespaces mount,net --rootfs "$T/root" --pids-max 1 -- /bin/cat /proc/self/cgroup) ||
	fail "pids.max 1 run failed: $out"
echo "$out" | grep -q ':pids:.*/run-' || fail "pids.max 1 run not in its pids cgroup: $out"
pass "pids.max 1 starts by attach"

# kill -9: the slots' threads die with it; the next daemon removes the slots left.
old=$(slots_in memory)
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
kill_fd_holders
start_daemon
wait_for 10 slots_placed 2 || fail "no 2 placed slots after kill -9"
for s in $old; do [ ! -d "$s" ] || fail "slot $s of the killed daemon is left"; done
pass "kill -9 and restart: old slots removed, 2 new ones placed"

ctl stop web >/dev/null
wait_for 15 state_is web stopped || fail "web did not stop"
stop_daemon || fail "daemon exit status $?"
for c in $V1; do
	[ -n "$(cgroup_mount "$c")" ] || continue
	[ -z "$(slots_in "$c")" ] || fail "$c: slots left after stop: $(slots_in "$c")"
done
pass "stop removes every slot"

PADDOCK_CGROUP_SLOTS=0 start_daemon
wait_for 10 state_is web running || fail "web not running without slots"
pid=$(main_pid web)
grep -qx "$pid" "$(service_cgdir web memory)/cgroup.procs" || fail "web not attached without slots"
[ "$(nslots)" = 0 ] || fail "PADDOCK_CGROUP_SLOTS=0 made slots: $(slots_in memory)"
pass "PADDOCK_CGROUP_SLOTS=0: no slots, starts attach"
