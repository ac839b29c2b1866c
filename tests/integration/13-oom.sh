#!/bin/bash
# A memory hog beyond memory.max is OOM-killed inside its own cgroup,
# recorded as oom-kill, and restarted; a fork bomb stops at pids.max;
# orphaned zombies are reaped by the service's init.
# vm: yes
. "${TESTS_DIR:-$(dirname "$0")/..}/lib.sh"
need_root; need_cgroups; setup
make_rootfs "$T/root"
cat >"$T/services/o.yaml" <<YAML
services:
  hog:
    rootfs: $T/root
    command: ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]
    resources: {memory: {max: 32M}}
    restart: {policy: on-failure, delay: 300ms, limit: {burst: 100, interval: 60s}}
  bomb:
    rootfs: $T/root
    # The forking shell dies when fork fails; the main process stays.
    command: ["/bin/sh", "-c", "(while :; do sleep 1000 & done) 2>/dev/null & exec sleep 1000"]
    resources: {pids: {max: 20}}
  zombies:
    rootfs: $T/root
    command: ["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do (sh -c 'exit 0' &) ; done; exec sleep 1000"]
  bystander:
    rootfs: $T/root
    command: ["/bin/sleep", "1000"]
YAML
start_daemon
wait_for 20 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock status hog --json | jq -r '.[0].last_exit.kind')\" = oom-kill ]" ||
	fail "hog not recorded as oom-kill: $(svc_field hog last_exit.reason)"
pass "hog recorded as oom-kill"
wait_for 20 bash -c "[ \"\$($PADDOCKCTL -s $T/run/control.sock list --json | jq -r '.[] | select(.name==\"hog\") | .restarts')\" -ge 1 ]" ||
	fail "hog not restarted after OOM"
pass "hog restarted after the OOM kill"
state_is bystander running || fail "bystander hurt: $(svc_state bystander)"
bpid=$(main_pid bystander); kill -0 "$bpid" || fail "bystander pid gone"
pass "bystander untouched"

# Fork bomb: pids.current stays at the limit, the host keeps answering.
if is_v1; then pdir=$(service_cgdir bomb pids); else pdir=$(service_cgdir bomb); fi
# pids.events counts forks refused at the limit (v1 and v2 alike).
wait_for 10 bash -c "grep -q '^max [1-9]' $pdir/pids.events" || fail "bomb never hit pids.max ($(cat $pdir/pids.current) pids)"
[ "$(cat "$pdir/pids.current")" -le 20 ] || fail "pids.current above pids.max"
state_is bomb running || fail "bomb: $(svc_state bomb)"
ctl list >/dev/null || fail "daemon unresponsive during fork bomb"
pass "fork bomb held at pids.max=20, daemon responsive"
ctl stop bomb >/dev/null || fail "cannot stop bomb"
[ -d "$pdir" ] && fail "bomb cgroup left after stop"
pass "fork bomb stopped and its cgroup removed"

# Zombies: all 8 orphans are reaped by the service's pid 1.
if is_v1; then zdir=$(service_cgdir zombies pids); else zdir=$(service_cgdir zombies); fi
nozombie() {
	local n=0
	for p in $(cat "$zdir/cgroup.procs"); do
		[ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] && return 1
		n=$((n + 1))
	done
	[ "$n" = 2 ]
}
wait_for 10 nozombie || fail "zombies or extra processes left in zombies: $(cat $zdir/cgroup.procs | xargs)"
pass "orphans reaped in the service's pid namespace"
